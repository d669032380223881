//go:build integration

package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/gate"
	"github.com/provider-vdi/provider-vdi/internal/gate/gatetest"
	"github.com/provider-vdi/provider-vdi/internal/gate/signingkey"
	"github.com/provider-vdi/provider-vdi/test/poll"
)

func desktop(ns, name, image string) *v1alpha1.Desktop {
	return &v1alpha1.Desktop{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.DesktopSpec{
			ManagedResourceSpec: xpv2.ManagedResourceSpec{
				WriteConnectionSecretToReference: &xpv2.LocalSecretReference{Name: name + "-connection"},
			},
			ForProvider: v1alpha1.DesktopParameters{
				Owner: v1alpha1.Owner{Session: name, User: "alice"},
				Image: image,
				Port:  8080,
				Resources: v1alpha1.ComputeResources{
					CPU:    ptr.To(resource.MustParse("2")),
					Memory: ptr.To(resource.MustParse("4Gi")),
					GPU:    &v1alpha1.GPUResources{Count: 1, ResourceName: "nvidia.com/gpu"},
				},
				ShmSize: ptr.To(resource.MustParse("2Gi")),
				URL:     "https://" + v1alpha1.HostLabel(name, ns) + ".vdi.example.org/",
			},
		},
	}
}

func getPod(ctx context.Context, ns, name string) (*corev1.Pod, error) {
	p := &corev1.Pod{}
	err := kube.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, p)
	return p, err
}

// createDesktop creates d and returns its Pod once the provider made it and
// the API server admitted it.
func createDesktop(t *testing.T, d *v1alpha1.Desktop) *corev1.Pod {
	t.Helper()
	if err := kube.Create(context.Background(), d); err != nil {
		t.Fatalf("cannot create Desktop: %v", err)
	}
	var pod *corev1.Pod
	poll.Until(t, "desktop Pod is created and admitted", timeout, func(ctx context.Context) (bool, string, error) {
		p, err := getPod(ctx, d.Namespace, d.Name)
		pod = p
		return err == nil, fmt.Sprint(err), nil
	})
	return pod
}

// recreatePod deletes pod out of band and returns the Pod the provider makes
// in its place.
func recreatePod(t *testing.T, pod *corev1.Pod) *corev1.Pod {
	t.Helper()
	if err := kube.Delete(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
	next := pod
	poll.Until(t, "the deleted Pod comes back", timeout, func(ctx context.Context) (bool, string, error) {
		p, err := getPod(ctx, pod.Namespace, pod.Name)
		if err != nil {
			return false, err.Error(), nil
		}
		next = p
		return p.UID != pod.UID, "same Pod", nil
	})
	return next
}

// markReady does what the kubelet would: the Pod runs and passes its
// readiness probe.
func markReady(t *testing.T, ns, name string) {
	t.Helper()
	ctx := context.Background()
	p, err := getPod(ctx, ns, name)
	if err != nil {
		t.Fatalf("cannot get Pod: %v", err)
	}
	now := metav1.Now()
	p.Status.Phase = corev1.PodRunning
	p.Status.PodIP = "10.244.0.7"
	p.Status.StartTime = &now
	p.Status.Conditions = []corev1.PodCondition{
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
	}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "desktop", Ready: true, Image: p.Spec.Containers[0].Image, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}}}
	if err := kube.Status().Update(ctx, p); err != nil {
		t.Fatalf("cannot mark Pod ready: %v", err)
	}
}

func connectionPassword(ctx context.Context, ns, name string) (string, error) {
	s := &corev1.Secret{}
	if err := kube.Get(ctx, types.NamespacedName{Namespace: ns, Name: name + "-connection"}, s); err != nil {
		return "", err
	}
	return string(s.Data["password"]), nil
}

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

func TestDesktop(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t, "desktop-restricted")
	d := desktop(ns, "alice-dev", "ghcr.io/selkies-project/nvidia-egl-desktop:24.04")

	// The Pod is admitted in a namespace that enforces the restricted Pod
	// Security profile, with what the spec asks for.
	pod := createDesktop(t, d)
	c := pod.Spec.Containers[0]
	if got := c.Resources.Limits["nvidia.com/gpu"]; got.Value() != 1 {
		t.Errorf("GPU limit: want 1, got %s", got.String())
	}
	if pod.Spec.AutomountServiceAccountToken == nil || *pod.Spec.AutomountServiceAccountToken {
		t.Errorf("automountServiceAccountToken: want false")
	}
	if pod.Labels[v1alpha1.LabelSession] != "alice-dev" || pod.Labels[v1alpha1.LabelUser] != "alice" || pod.Labels[v1alpha1.LabelManagedBy] != "provider-vdi" {
		t.Errorf("labels: got %v", pod.Labels)
	}

	// The password reaches the connection Secret, and nowhere in the
	// Desktop's status.
	var password string
	poll.Until(t, "connection secret is published", timeout, func(ctx context.Context) (bool, string, error) {
		pw, err := connectionPassword(ctx, ns, "alice-dev")
		password = pw
		return err == nil && pw != "", fmt.Sprint(err), nil
	})
	got := &v1alpha1.Desktop{}
	if err := kube.Get(ctx, client.ObjectKeyFromObject(d), got); err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprintf("%+v", got.Status); password != "" && strings.Contains(s, password) {
		t.Errorf("the password appears in the Desktop's status: %s", s)
	}

	// The desktop's NetworkPolicy exists with the Pod: only the ingress
	// namespace reaches it, and it reaches only the cluster's DNS.
	np := &networkingv1.NetworkPolicy{}
	if err := kube.Get(ctx, types.NamespacedName{Namespace: ns, Name: "alice-dev"}, np); err != nil {
		t.Fatalf("the desktop has no NetworkPolicy: %v", err)
	}
	if len(np.Spec.PolicyTypes) != 2 || len(np.Spec.Egress) != 1 || np.Spec.Egress[0].Ports[0].Port.IntValue() != 53 {
		t.Errorf("NetworkPolicy: want ingress and egress denied but for DNS, got %+v", np.Spec)
	}

	// Readiness comes from the Pod watch: the provider polls only every 10m.
	markReady(t, ns, "alice-dev")
	poll.Until(t, "Desktop is Ready", timeout, func(ctx context.Context) (bool, string, error) {
		got := &v1alpha1.Desktop{}
		if err := kube.Get(ctx, client.ObjectKeyFromObject(d), got); err != nil {
			return false, "", err
		}
		r := got.GetCondition(xpv2.TypeReady)
		return r.Status == corev1.ConditionTrue && got.Status.AtProvider.Ready, fmt.Sprintf("%s %s: %s", r.Status, r.Reason, r.Message), nil
	})

	// A policy edited to allow all egress is drift: the provider restores it
	// without restarting the desktop (the edit wakes it at the next poll,
	// or, here, a spec change of the Desktop).
	uid0 := pod.UID
	np.Spec.Egress = append(np.Spec.Egress, networkingv1.NetworkPolicyEgressRule{})
	if err := kube.Update(ctx, np); err != nil {
		t.Fatal(err)
	}
	edit(t, d.DeepCopy(), func(d *v1alpha1.Desktop) { d.Spec.ForProvider.URL += "?policy" })
	poll.Until(t, "the edited NetworkPolicy is restored", timeout, func(ctx context.Context) (bool, string, error) {
		if err := kube.Get(ctx, client.ObjectKeyFromObject(np), np); err != nil {
			return false, "", err
		}
		return len(np.Spec.Egress) == 1, fmt.Sprintf("%d egress rules", len(np.Spec.Egress)), nil
	})
	if p, err := getPod(ctx, ns, "alice-dev"); err != nil || p.UID != uid0 {
		t.Errorf("restoring the NetworkPolicy restarted the desktop (err %v)", err)
	}
	// The Desktop is Ready again within seconds of the policy's restoring
	// (nextPoll), not at the next poll, which is 10 minutes here.
	poll.Until(t, "Desktop is Ready again with its NetworkPolicy restored", timeout, func(ctx context.Context) (bool, string, error) {
		cur := &v1alpha1.Desktop{}
		if err := kube.Get(ctx, client.ObjectKeyFromObject(d), cur); err != nil {
			return false, "", err
		}
		r := cur.GetCondition(xpv2.TypeReady)
		return r.Status == corev1.ConditionTrue && cur.Status.AtProvider.NetworkPolicyReady, fmt.Sprintf("%s %s: %s", r.Status, r.Reason, r.Message), nil
	})

	// A Pod deleted out of band comes back.
	recreatePod(t, pod)

	// The password survives reconciles and a killed provider.
	prov.kill()
	if err := prov.start(); err != nil {
		t.Fatal(err)
	}
	// An image change recreates the Pod; its reconcile also republishes the
	// connection details.
	edit(t, got, func(d *v1alpha1.Desktop) {
		d.Spec.ForProvider.Image = "ghcr.io/selkies-project/nvidia-egl-desktop:24.04-next"
	})
	poll.Until(t, "image change recreates the Pod", timeout, func(ctx context.Context) (bool, string, error) {
		p, err := getPod(ctx, ns, "alice-dev")
		if err != nil {
			return false, err.Error(), nil
		}
		return p.Spec.Containers[0].Image == got.Spec.ForProvider.Image, "image " + p.Spec.Containers[0].Image, nil
	})
	markReady(t, ns, "alice-dev")
	poll.Until(t, "Desktop is Ready again without a pending restart", timeout, func(ctx context.Context) (bool, string, error) {
		cur := &v1alpha1.Desktop{}
		if err := kube.Get(ctx, client.ObjectKeyFromObject(d), cur); err != nil {
			return false, "", err
		}
		return cur.GetCondition(xpv2.TypeReady).Status == corev1.ConditionTrue && !cur.Status.AtProvider.PendingRestart,
			fmt.Sprintf("ready=%s pendingRestart=%v", cur.GetCondition(xpv2.TypeReady).Status, cur.Status.AtProvider.PendingRestart), nil
	})
	if pw, err := connectionPassword(ctx, ns, "alice-dev"); err != nil || pw != password {
		t.Errorf("password changed across reconciles and a provider restart (err %v)", err)
	}

	// Deleting the Desktop removes the Pod and its Secret.
	if err := kube.Delete(ctx, d); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "Pod and Secret are deleted", timeout, func(ctx context.Context) (bool, string, error) {
		_, perr := getPod(ctx, ns, "alice-dev")
		serr := kube.Get(ctx, types.NamespacedName{Namespace: ns, Name: "alice-dev-credentials"}, &corev1.Secret{})
		return kerrors.IsNotFound(perr) && kerrors.IsNotFound(serr), fmt.Sprintf("pod: %v, secret: %v", perr, serr), nil
	})
	if !prov.running() {
		t.Errorf("the provider exited")
	}

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
	poll.Until(t, "the link is published in the connection Secret", timeout, func(ctx context.Context) (bool, string, error) {
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
	poll.Until(t, "the new Pod's link replaces the old one", timeout, func(ctx context.Context) (bool, string, error) {
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
	poll.Until(t, "the Pod and the link are gone", timeout, func(ctx context.Context) (bool, string, error) {
		_, perr := getPod(ctx, ns, "bob-dev")
		l, exists, err := connectionLink(ctx, ns, "bob-dev")
		return kerrors.IsNotFound(perr) && !exists && err == nil, fmt.Sprintf("pod: %v, link %q", perr, l), err
	})
}

// TestDesktopDeadline holds that the provider removes a desktop at its
// deadline, even though nothing but its own poll hook wakes it (the
// provider polls every 10m here), makes no new Pod after it, and that the
// API server lets a deadline only move earlier.
func TestDesktopDeadline(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t, "deadline")
	d := desktop(ns, "bob-dev", "ghcr.io/selkies-project/nvidia-egl-desktop:24.04")
	// Whole seconds: metav1.Time keeps no more.
	deadline := time.Now().Add(8 * time.Second).Truncate(time.Second)
	d.Spec.ForProvider.Deadline = &metav1.Time{Time: deadline}
	if err := kube.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "Pod is created with the kubelet's backstop", timeout, func(ctx context.Context) (bool, string, error) {
		p, err := getPod(ctx, ns, "bob-dev")
		if err != nil {
			return false, err.Error(), nil
		}
		return p.Spec.ActiveDeadlineSeconds != nil && *p.Spec.ActiveDeadlineSeconds <= 8, fmt.Sprintf("activeDeadlineSeconds %v", p.Spec.ActiveDeadlineSeconds), nil
	})

	later := d.DeepCopy()
	if err := kube.Get(ctx, client.ObjectKeyFromObject(d), later); err != nil {
		t.Fatal(err)
	}
	later.Spec.ForProvider.Deadline = &metav1.Time{Time: deadline.Add(time.Hour)}
	if err := kube.Update(ctx, later); err == nil || !strings.Contains(err.Error(), "deadline may only move earlier once set") {
		t.Errorf("moving the deadline later: want refused with %q, got %v", "deadline may only move earlier once set", err)
	}

	poll.Until(t, "Pod is removed at the deadline and the Desktop says why", timeout, func(ctx context.Context) (bool, string, error) {
		_, perr := getPod(ctx, ns, "bob-dev")
		got := &v1alpha1.Desktop{}
		if err := kube.Get(ctx, client.ObjectKeyFromObject(d), got); err != nil {
			return false, "", err
		}
		r := got.GetCondition(xpv2.TypeReady)
		return kerrors.IsNotFound(perr) && got.Status.AtProvider.Expired && strings.Contains(r.Message, "passed its deadline"),
			fmt.Sprintf("pod: %v, expired %t, ready %s: %s", perr, got.Status.AtProvider.Expired, r.Status, r.Message), nil
	})
	// Nothing makes a new Pod past the deadline: a reconcile forced by a
	// spec change (an earlier deadline is allowed) must not bring it back.
	// The provider writes the Desktop too: read it again on a conflict.
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur := &v1alpha1.Desktop{}
		if err := kube.Get(ctx, client.ObjectKeyFromObject(d), cur); err != nil {
			return err
		}
		cur.Spec.ForProvider.Deadline = &metav1.Time{Time: deadline.Add(-time.Second)}
		return kube.Update(ctx, cur)
	}); err != nil {
		t.Fatalf("moving the deadline earlier: want admitted, got %v", err)
	}
	poll.Until(t, "the Desktop observed its new spec", timeout, func(ctx context.Context) (bool, string, error) {
		got := &v1alpha1.Desktop{}
		if err := kube.Get(ctx, client.ObjectKeyFromObject(d), got); err != nil {
			return false, "", err
		}
		s := got.GetCondition(xpv2.TypeSynced)
		return s.ObservedGeneration == got.Generation && s.Status == corev1.ConditionTrue, fmt.Sprintf("synced %s at generation %d of %d", s.Status, s.ObservedGeneration, got.Generation), nil
	})
	if _, err := getPod(ctx, ns, "bob-dev"); !kerrors.IsNotFound(err) {
		t.Errorf("a Pod exists past the deadline: %v", err)
	}
	if err := kube.Delete(ctx, d); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "an expired Desktop deletes cleanly", timeout, func(ctx context.Context) (bool, string, error) {
		err := kube.Get(ctx, client.ObjectKeyFromObject(d), &v1alpha1.Desktop{})
		serr := kube.Get(ctx, types.NamespacedName{Namespace: ns, Name: "bob-dev-credentials"}, &corev1.Secret{})
		return kerrors.IsNotFound(err) && kerrors.IsNotFound(serr), fmt.Sprintf("desktop: %v, secret: %v", err, serr), nil
	})
}

// TestDesktopBounds holds that the API server refuses a desktop whose CPU
// or memory is 0 (no limit at all) and that the provider refuses one
// without limits, saying so on the Desktop and making no Pod.
func TestDesktopBounds(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t, "bounds")
	zero := desktop(ns, "zero", "x")
	zero.Spec.ForProvider.Resources.CPU = ptr.To(resource.MustParse("0"))
	if err := kube.Create(ctx, zero); err == nil || !strings.Contains(err.Error(), "cpu must be more than 0") {
		t.Errorf("cpu 0: want refused with %q, got %v", "cpu must be more than 0", err)
	}
	many := desktop(ns, "many", "x")
	many.Spec.ForProvider.Resources.GPU.Count = 17
	if err := kube.Create(ctx, many); err == nil || !strings.Contains(err.Error(), "spec.forProvider.resources.gpu.count") {
		t.Errorf("17 GPUs: want refused, got %v", err)
	}

	unbounded := desktop(ns, "unbounded", "x")
	unbounded.Spec.ForProvider.Resources = v1alpha1.ComputeResources{}
	if err := kube.Create(ctx, unbounded); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "Synced=False says the desktop needs limits", timeout, poll.SyncedFalse(kube, unbounded, "forProvider.resources.cpu is required"))
	if _, err := getPod(ctx, ns, "unbounded"); !kerrors.IsNotFound(err) {
		t.Errorf("a Pod was made for a desktop without limits: %v", err)
	}
}
