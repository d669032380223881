//go:build integration

package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/gate"
	"github.com/provider-vdi/provider-vdi/internal/gate/gatetest"
	"github.com/provider-vdi/provider-vdi/internal/gate/signingkey"
)

// gateOf returns the gate container of pod.
func gateOf(t *testing.T, pod *corev1.Pod) corev1.Container {
	t.Helper()
	for _, c := range pod.Spec.Containers {
		if c.Name == "gate" {
			return c
		}
	}
	t.Fatalf("the desktop Pod has no gate: containers %v", pod.Spec.Containers)
	return corev1.Container{}
}

// connectionLink returns the link in the Desktop name's connection Secret,
// and whether that Secret exists.
func connectionLink(ctx context.Context, ns, name string) (string, bool, error) {
	s := &corev1.Secret{}
	err := kube.Get(ctx, types.NamespacedName{Namespace: ns, Name: name + "-connection"}, s)
	if kerrors.IsNotFound(err) {
		return "", false, nil
	}
	return string(s.Data["link"]), err == nil, err
}

// TestDesktopLink holds that a desktop Pod, in a namespace that enforces the
// restricted Pod Security profile, has the gate in front of it; that the
// provider publishes a signed link in the Desktop's connection Secret which
// the gate of that very Pod accepts; that the key signing it stays in the
// provider's namespace; and that a new Pod, or deleting the Desktop, leaves
// the old link opening nothing.
func TestDesktopLink(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t, "desktop-link")
	d := desktop(ns, "bob-dev", "ghcr.io/selkies-project/nvidia-egl-desktop:24.04")
	pod := createDesktop(t, d) // Admitted under the restricted profile.

	// The gate: our image, on its port, restricted on its own, bound to the
	// session's host and user and to its own Pod through the downward API.
	g := gateOf(t, pod)
	sc := g.SecurityContext
	if g.Image != gateImage || len(g.Ports) != 1 || g.Ports[0].ContainerPort != v1alpha1.GatePort ||
		sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
		t.Errorf("gate container: got image %q ports %v securityContext %+v", g.Image, g.Ports, sc)
	}
	v := gatetest.Verifier(t, pod)
	if aud := v1alpha1.HostLabel("bob-dev", ns) + ".vdi.example.org"; v.Audience != aud || v.Subject != "alice" {
		t.Errorf("gate: want audience %s and subject alice, got %q and %q", aud, v.Audience, v.Subject)
	}

	// The link is published beside the url, and the gate of this Pod
	// accepts it.
	markReady(t, ns, "bob-dev")
	var link string
	eventually(t, "the link is published in the connection Secret", func(ctx context.Context) (bool, string, error) {
		l, _, err := connectionLink(ctx, ns, "bob-dev")
		link = l
		return err == nil && l != "", fmt.Sprint(err), nil
	})
	if !strings.HasPrefix(link, d.Spec.ForProvider.URL+"?token=") {
		t.Errorf("link: want %s?token=…, got %q", d.Spec.ForProvider.URL, link)
	}
	c, err := v.Verify(gatetest.Token(t, link), time.Now())
	if err != nil {
		t.Fatalf("the gate of the Pod refuses the published link: %v", err)
	}
	if left := time.Until(c.ExpiresAt.Time); left < gate.Lifetime-gate.Window-time.Minute || left > gate.Lifetime {
		t.Errorf("link: want between %s and %s left, got %s", gate.Lifetime-gate.Window, gate.Lifetime, left)
	}

	// The token is nowhere in the Desktop's status, and the signing key
	// is in the provider's namespace, not the tenant's.
	got := &v1alpha1.Desktop{}
	if err := kube.Get(ctx, client.ObjectKeyFromObject(d), got); err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprintf("%+v", got.Status); strings.Contains(s, gatetest.Token(t, link)) {
		t.Errorf("the link's token appears in the Desktop's status: %s", s)
	}
	key := &corev1.Secret{}
	if err := kube.Get(ctx, types.NamespacedName{Namespace: providerNamespace, Name: "provider-vdi-link-signing-key"}, key); err != nil || len(key.Data[signingkey.Key]) == 0 {
		t.Errorf("the link signing key is not in the provider's namespace: %v", err)
	}
	secrets := &corev1.SecretList{}
	if err := kube.List(ctx, secrets, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets.Items {
		for k, b := range s.Data {
			if strings.Contains(string(b), "PRIVATE KEY") {
				t.Errorf("Secret %s of the tenant's namespace holds a private key in %q", s.Name, k)
			}
		}
	}

	// A new Pod (a restart, or Stop and Start) gets a new link; the old one
	// does not open it.
	pod = recreatePod(t, pod)
	markReady(t, ns, "bob-dev")
	eventually(t, "the new Pod's link replaces the old one", func(ctx context.Context) (bool, string, error) {
		l, _, err := connectionLink(ctx, ns, "bob-dev")
		if err != nil || l == "" || l == link {
			return false, "old link", err
		}
		_, verr := gatetest.Verifier(t, pod).Verify(gatetest.Token(t, l), time.Now())
		return verr == nil, fmt.Sprint(verr), nil
	})
	if _, err := gatetest.Verifier(t, pod).Verify(gatetest.Token(t, link), time.Now()); err == nil {
		t.Errorf("the new Pod's gate accepts the old Pod's link")
	}

	// Deleting the Desktop (what Stop and expiry do to the session's
	// Desktop) removes the Pod and the connection Secret with its link.
	if err := kube.Delete(ctx, d); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the Pod and the link are gone", func(ctx context.Context) (bool, string, error) {
		_, perr := getPod(ctx, ns, "bob-dev")
		l, exists, err := connectionLink(ctx, ns, "bob-dev")
		return kerrors.IsNotFound(perr) && !exists && err == nil, fmt.Sprintf("pod: %v, link %q", perr, l), err
	})
}
