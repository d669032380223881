//go:build e2e

package e2e

import (
	"net/url"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/provider-vdi/provider-vdi/internal/gate"
)

// gateOf returns the Verifier the gate container of pod runs, as cmd/gate
// reads it from its environment and the downward API.
func gateOf(t *testing.T, pod *corev1.Pod) gate.Verifier {
	t.Helper()
	env := map[string]string{}
	for _, c := range pod.Spec.Containers {
		if c.Name != "gate" {
			continue
		}
		for _, e := range c.Env {
			env[e.Name] = e.Value
		}
	}
	key, err := gate.ParsePublicKeyPEM(env[gate.EnvPublicKey])
	if err != nil {
		t.Fatalf("the gate of Pod %s: %v", pod.Name, err)
	}
	return gate.Verifier{Key: key, Audience: env[gate.EnvAudience], Subject: env[gate.EnvSubject], Pod: string(pod.UID)}
}

// tokenOf returns the token of link.
func tokenOf(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get(gate.TokenParameter)
}
