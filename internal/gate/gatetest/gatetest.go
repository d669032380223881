// Package gatetest reads, for the integration and end-to-end tests, what
// the gate of a desktop Pod accepts and what a session link carries.
package gatetest

import (
	"net/url"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/provider-vdi/provider-vdi/internal/gate"
)

// Verifier returns the Verifier that the gate container of pod runs, as
// cmd/gate reads it from its environment and the downward API; a Pod
// without a gate fails t at once.
func Verifier(t *testing.T, pod *corev1.Pod) gate.Verifier {
	t.Helper()
	for _, c := range pod.Spec.Containers {
		if c.Name != "gate" {
			continue
		}
		env := map[string]string{gate.EnvPodUID: string(pod.UID)}
		for _, e := range c.Env {
			if e.ValueFrom == nil {
				env[e.Name] = e.Value
			}
		}
		v, err := gate.VerifierFromEnv(func(k string) string { return env[k] })
		if err != nil {
			t.Fatalf("the gate of Pod %s: %v", pod.Name, err)
		}
		return v
	}
	t.Fatalf("Pod %s has no gate: containers %v", pod.Name, pod.Spec.Containers)
	return gate.Verifier{}
}

// Token returns the token of link.
func Token(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get(gate.TokenParameter)
}
