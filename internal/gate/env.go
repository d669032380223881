package gate

import "fmt"

// Environment variables that configure the gate (cmd/gate); the provider
// sets them in the gate's container.
const (
	// EnvListen is the address the gate serves on, e.g. ":8090".
	EnvListen = "VDI_GATE_LISTEN"
	// EnvUpstream is the desktop's URL on the Pod's loopback.
	EnvUpstream = "VDI_GATE_UPSTREAM"
	// EnvPublicKey is the PEM of the public key links are verified with.
	EnvPublicKey = "VDI_GATE_PUBLIC_KEY"
	// EnvAudience is the host of the desktop's URL.
	EnvAudience = "VDI_GATE_AUDIENCE"
	// EnvSubject is the desktop's user.
	EnvSubject = "VDI_GATE_SUBJECT"
	// EnvPodUID is the UID of the gate's own Pod (downward API).
	EnvPodUID = "VDI_GATE_POD_UID"
	// EnvUpstreamUser and EnvUpstreamPassword are the desktop's own basic
	// authentication, which the gate adds upstream.
	EnvUpstreamUser     = "VDI_GATE_UPSTREAM_USER"
	EnvUpstreamPassword = "VDI_GATE_UPSTREAM_PASSWORD" //nolint:gosec // The name of a variable, not a credential.
)

// VerifierFromEnv returns the Verifier of the links the gate accepts, as the
// environment that getenv reads configures it, or an error naming what is
// wrong.
func VerifierFromEnv(getenv func(string) string) (Verifier, error) {
	key, err := ParsePublicKeyPEM(getenv(EnvPublicKey))
	if err != nil {
		return Verifier{}, fmt.Errorf("%s: %w", EnvPublicKey, err)
	}
	return Verifier{Key: key, Audience: getenv(EnvAudience), Subject: getenv(EnvSubject), Pod: getenv(EnvPodUID)}, nil
}
