//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/gate/gatetest"
	"github.com/provider-vdi/provider-vdi/internal/localenv"
	"github.com/provider-vdi/provider-vdi/test/poll"
)

// TestSessionRuns: a session goes to Running with a URL; its Pod runs on a
// GPU node with the GPU limit asked for, behind the gate; its credentials
// Secret is in the session's namespace with a link the gate of that Pod
// accepts, and the password and the link's token are nowhere else.
func TestSessionRuns(t *testing.T) {
	ctx := context.Background()
	ns := userNamespace(t, "alice")
	s := started(t, session(ns, "dev", "alice", "ubuntu-gpu", map[string]any{"resources": map[string]any{"gpu": int64(2)}}))

	url, _, _ := unstructured.NestedString(s.Object, "status", "url")
	if url != "https://dev-alice-3.vdi.localhost/" {
		t.Errorf("status.url: got %q", url)
	}
	p := current(t, pod(ns, "dev-desktop"))
	if !strings.HasPrefix(p.Spec.NodeName, "gpu-") {
		t.Errorf("desktop runs on %q, want a GPU node", p.Spec.NodeName)
	}
	if got := p.Spec.Containers[0].Resources.Limits["nvidia.com/gpu"]; got.Value() != 2 {
		t.Errorf("GPU limit: got %s, want 2", got.String())
	}
	node, _, _ := unstructured.NestedString(s.Object, "status", "node")
	if node != p.Spec.NodeName {
		t.Errorf("status.node: got %q, want %q", node, p.Spec.NodeName)
	}

	secretName, _, _ := unstructured.NestedString(s.Object, "status", "credentialsSecretName")
	secret := &corev1.Secret{}
	if err := kube.Get(ctx, client.ObjectKey{Namespace: ns, Name: secretName}, secret); err != nil {
		t.Fatalf("credentials Secret %q of the session's namespace: %v", secretName, err)
	}
	password := string(secret.Data["password"])
	if len(password) < 16 || string(secret.Data["username"]) != "alice" || string(secret.Data["url"]) != url {
		t.Errorf("credentials Secret: username %q, url %q, password of %d characters", secret.Data["username"], secret.Data["url"], len(password))
	}
	nowhereElse(t, ns, "the desktop password", password)

	link := string(secret.Data["link"])
	if !strings.HasPrefix(link, url+"?token=") {
		t.Fatalf("credentials Secret: want link %s?token=…, got %q", url, link)
	}
	token := gatetest.Token(t, link)
	if _, err := gatetest.Verifier(t, p).Verify(token, time.Now()); err != nil {
		t.Errorf("the gate of the session's Pod refuses its published link: %v", err)
	}
	nowhereElse(t, ns, "the link's token", token)
}

// nowhereElse checks that secret, which is what, appears in no session or
// managed resource, event, or log of the provider, function or Crossplane.
func nowhereElse(t *testing.T, ns, what, password string) {
	t.Helper()
	ctx := context.Background()
	var places []string
	for _, kind := range []string{"VDISessionList", "DesktopList", "DesktopVolumeList", "DesktopServiceList", "DesktopRouteList"} {
		l := &unstructured.UnstructuredList{}
		gv := "vdi.m.kasm.io/v1alpha1"
		if kind == "VDISessionList" {
			gv = "vdi.kasm.io/v1alpha1"
		}
		l.SetAPIVersion(gv)
		l.SetKind(kind)
		if err := kube.List(ctx, l, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(l)
		if strings.Contains(string(b), password) {
			places = append(places, kind)
		}
	}
	events := &corev1.EventList{}
	if err := kube.List(ctx, events); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(events)
	if strings.Contains(string(b), password) {
		places = append(places, "events")
	}
	for _, log := range []string{"provider.log", "function.log", "crossplane.log"} {
		b, err := os.ReadFile(filepath.Join(dir, log))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), password) {
			places = append(places, log)
		}
	}
	if len(places) > 0 {
		t.Errorf("%s appears in %v", what, places)
	}
}

// TestStopAndResume: state Stopped removes the Pod, Service and Route and
// the credentials Secret with its link, and keeps the volume; back to
// Running reuses the same volume.
func TestStopAndResume(t *testing.T) {
	ctx := context.Background()
	ns := userNamespace(t, "bob")
	started(t, session(ns, "work", "bob", "ubuntu-gpu", nil))
	pvc := current(t, claim(ns, "work-home"))
	uid := pvc.UID

	setState(t, ns, "work", "Stopped")
	waitPhase(t, ns, "work", "Stopped")
	link := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "work-credentials"}}
	poll.Until(t, "Pod, Service, IngressRoute and the credentials with the link are removed", timeout, func(ctx context.Context) (bool, string, error) {
		p, s, r, l := exists(ctx, pod(ns, "work-desktop")), exists(ctx, service(ns, "work-service")), exists(ctx, route(ns, "work-route")), exists(ctx, link)
		return !p && !s && !r && !l, fmt.Sprintf("pod %v, service %v, route %v, link %v", p, s, r, l), nil
	})
	if err := kube.Get(ctx, client.ObjectKeyFromObject(pvc), pvc); err != nil || pvc.UID != uid {
		t.Fatalf("the home volume did not survive the stop: %v", err)
	}

	setState(t, ns, "work", "Running")
	waitPhase(t, ns, "work", "Running")
	p := current(t, pod(ns, "work-desktop"))
	if got := homeClaim(p); got != "work-home" {
		t.Errorf("resumed desktop mounts claim %q, want work-home", got)
	}
	if err := kube.Get(ctx, client.ObjectKeyFromObject(pvc), pvc); err != nil || pvc.UID != uid {
		t.Errorf("the resumed desktop does not reuse the same volume: %v", err)
	}
}

func homeClaim(p *corev1.Pod) string {
	for _, v := range p.Spec.Volumes {
		if v.PersistentVolumeClaim != nil {
			return v.PersistentVolumeClaim.ClaimName
		}
	}
	return ""
}

// restart stops session ns/name, waits for its desktop Pod to be gone, and
// starts it again.
func restart(t *testing.T, ns, name string) {
	t.Helper()
	setState(t, ns, name, "Stopped")
	waitPhase(t, ns, name, "Stopped")
	poll.Until(t, "the desktop Pod is gone after Stop", timeout, func(ctx context.Context) (bool, string, error) {
		return !exists(ctx, pod(ns, name+"-desktop")), "Pod " + name + "-desktop still exists", nil
	})
	setState(t, ns, name, "Running")
	waitPhase(t, ns, name, "Running")
}

func setState(t *testing.T, ns, name, state string) {
	t.Helper()
	s := localenv.Session()
	s.SetNamespace(ns)
	s.SetName(name)
	patch := []byte(fmt.Sprintf(`{"spec":{"state":%q}}`, state))
	if err := kube.Patch(context.Background(), s, client.RawPatch("application/merge-patch+json", patch)); err != nil {
		t.Fatalf("cannot set state %s: %v", state, err)
	}
}

// TestExpiry: a short timeout expires the session: phase Expired, Pod gone,
// volume kept. Crossplane re-runs the function at expiry because the
// function returns a TTL that ends then.
func TestExpiry(t *testing.T) {
	ctx := context.Background()
	ns := userNamespace(t, "carol")
	started(t, session(ns, "quick", "carol", "ubuntu-gpu", map[string]any{"timeout": "45s"}))
	waitPhase(t, ns, "quick", "Expired")
	poll.Until(t, "expired desktop Pod is removed", timeout, func(ctx context.Context) (bool, string, error) {
		return !exists(ctx, pod(ns, "quick-desktop")), "pod still exists", nil
	})
	if !exists(ctx, claim(ns, "quick-home")) {
		t.Errorf("the home volume of an expired session was deleted")
	}
}

// TestDelete: deleting a session removes everything, except a volume asked
// to be retained.
func TestDelete(t *testing.T) {
	ctx := context.Background()
	ns := userNamespace(t, "dave")
	create(t, session(ns, "kept", "dave", "ubuntu-gpu", map[string]any{"persistence": map[string]any{"enabled": true, "retainOnDelete": true}}))
	create(t, session(ns, "gone", "dave", "ubuntu-gpu", nil))
	waitPhase(t, ns, "kept", "Running")
	waitPhase(t, ns, "gone", "Running")
	// The UID of the namespace the provider records on the composed
	// volume survives Crossplane's applies of it, and is on its claim.
	uid := string(current(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}).GetUID())
	mr := &v1alpha1.DesktopVolume{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "kept-home"}}
	for _, o := range []client.Object{current(t, mr), current(t, claim(ns, "kept-home"))} {
		if got := o.GetAnnotations()[v1alpha1.AnnotationNamespaceUID]; got != uid {
			t.Errorf("%T %s: namespace UID %q, want %q", o, o.GetName(), got, uid)
		}
	}
	for _, name := range []string{"kept", "gone"} {
		s := localenv.Session()
		s.SetNamespace(ns)
		s.SetName(name)
		if err := kube.Delete(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	poll.Until(t, "sessions and their objects are deleted", timeout, func(ctx context.Context) (bool, string, error) {
		var left []string
		for _, o := range []client.Object{
			pod(ns, "kept-desktop"), service(ns, "kept-service"), route(ns, "kept-route"),
			pod(ns, "gone-desktop"), service(ns, "gone-service"), route(ns, "gone-route"), claim(ns, "gone-home"),
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gone-credentials"}},
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gone-desktop-credentials"}},
		} {
			if exists(ctx, o) {
				left = append(left, o.GetName())
			}
		}
		mrs := &unstructured.UnstructuredList{}
		mrs.SetAPIVersion("vdi.m.kasm.io/v1alpha1")
		mrs.SetKind("DesktopList")
		_ = kube.List(ctx, mrs, client.InNamespace(ns))
		for _, mr := range mrs.Items {
			left = append(left, "Desktop "+mr.GetName())
		}
		return len(left) == 0, fmt.Sprintf("still there: %v", left), nil
	})
	if !exists(ctx, claim(ns, "kept-home")) {
		t.Errorf("the volume asked to be retained was deleted with its session")
	}
}

// TestMissingTemplate: a session naming a missing template says so and
// creates nothing; deleting the template of a running session deletes
// nothing.
func TestMissingTemplate(t *testing.T) {
	ctx := context.Background()
	ns := userNamespace(t, "erin")
	create(t, session(ns, "lost", "erin", "no-such-template", nil))
	waitSays(t, "the session says its template is missing", ns, "lost", "no-such-template")
	if pods, _ := managedPods(ctx, ns); len(pods) != 0 {
		t.Errorf("a session without a template created %d Pods", len(pods))
	}

	// A template of its own, so that deleting it breaks no other test.
	mine := copyTemplate(t, "ubuntu-gpu", "erin-gpu")
	started(t, session(ns, "dev", "erin", "erin-gpu", nil))
	p := current(t, pod(ns, "dev-desktop"))
	if err := kube.Delete(ctx, mine); err != nil {
		t.Fatal(err)
	}
	waitSays(t, "the running session reports its template is gone", ns, "dev", "erin-gpu")
	for _, o := range []client.Object{p, claim(ns, "dev-home"), service(ns, "dev-service"), route(ns, "dev-route")} {
		uid := o.GetUID()
		if err := kube.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil || (uid != "" && o.GetUID() != uid) {
			t.Errorf("%s was deleted or replaced after its template was deleted: %v", o.GetName(), err)
		}
	}
}

// TestTemplateEditWaitsForNextStart: an edit of a template, here to an
// image that does not exist and to its egress, does not restart the
// desktops that run from it, not even while the provider restores their
// NetworkPolicy for the new egress (their Desktops are not Ready then);
// their sessions say that the change waits, and it applies when the
// session starts again.
func TestTemplateEditWaitsForNextStart(t *testing.T) {
	ctx := context.Background()
	ns := userNamespace(t, "ivan")
	mine := copyTemplate(t, "ubuntu-gpu", "ivan-gpu")
	started(t, session(ns, "dev", "ivan", "ivan-gpu", nil))
	p := current(t, pod(ns, "dev-desktop"))
	was := desktopImage(p)
	// held checks that the running desktop and its Desktop keep the image
	// it started with. Crossplane applies the composed resources before it
	// writes the session's status, so once the session says something, the
	// Desktop holds what the function composed in that run.
	held := func(when string) {
		t.Helper()
		d := current(t, &v1alpha1.Desktop{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "dev-desktop"}})
		if d.Spec.ForProvider.Image != was {
			t.Errorf("%s: the running session's Desktop asks for image %s, want %s until it starts again", when, d.Spec.ForProvider.Image, was)
		}
		if cur := current(t, pod(ns, "dev-desktop")); cur.UID != p.UID || desktopImage(cur) != was {
			t.Errorf("%s: the template edit replaced the running desktop: Pod %s runs %s, want Pod %s running %s", when, cur.UID, desktopImage(cur), p.UID, was)
		}
	}

	const typo = "ghcr.io/selkies-project/nvidia-egl-desktop:no-such-tag"
	edit := fmt.Sprintf(`{"spec":{"image":%q,"egress":[{"to":[{"ipBlock":{"cidr":"10.0.0.0/8"}}],"ports":[{"port":443}]}]}}`, typo)
	if err := kube.Patch(ctx, mine, client.RawPatch(types.MergePatchType, []byte(edit))); err != nil {
		t.Fatal(err)
	}
	// The new egress makes the provider restore the desktop's policy. Its
	// Desktop is not Ready for the seconds that takes, and the session is
	// composed again then: the hold must last through it.
	poll.Until(t, "the Desktop is not Ready while its NetworkPolicy is restored", timeout, func(ctx context.Context) (bool, string, error) {
		d := current(t, &v1alpha1.Desktop{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "dev-desktop"}})
		r := d.GetCondition(xpv2.TypeReady)
		return r.Status == corev1.ConditionFalse, fmt.Sprintf("%s %s: %s", r.Status, r.Reason, r.Message), nil
	})
	poll.Until(t, "the desktop's NetworkPolicy has the new egress", timeout, func(ctx context.Context) (bool, string, error) {
		np := &networkingv1.NetworkPolicy{}
		if err := kube.Get(ctx, client.ObjectKey{Namespace: ns, Name: "dev-desktop"}, np); err != nil {
			return false, err.Error(), nil
		}
		return len(np.Spec.Egress) == 2, fmt.Sprintf("%d egress rules", len(np.Spec.Egress)), nil
	})
	poll.Until(t, "the Desktop is Ready again", timeout, func(ctx context.Context) (bool, string, error) {
		d := current(t, &v1alpha1.Desktop{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "dev-desktop"}})
		r := d.GetCondition(xpv2.TypeReady)
		return r.Status == corev1.ConditionTrue, fmt.Sprintf("%s %s: %s", r.Status, r.Reason, r.Message), nil
	})
	waitSays(t, "the running session says the template's change waits for its next start", ns, "dev", "applies when it starts again")
	held("after the NetworkPolicy was restored")

	restart(t, ns, "dev")
	if got := desktopImage(current(t, pod(ns, "dev-desktop"))); got != typo {
		t.Errorf("the desktop started again runs %s, want the template's %s", got, typo)
	}
}

// desktopImage is the image of a desktop Pod's desktop container.
func desktopImage(p *corev1.Pod) string {
	for _, c := range p.Spec.Containers {
		if c.Name == "desktop" {
			return c.Image
		}
	}
	return ""
}

// waitSays waits until the conditions or the message of session ns/name
// say want; what says what is awaited.
func waitSays(t *testing.T, what, ns, name, want string) {
	t.Helper()
	poll.Until(t, what, timeout, func(ctx context.Context) (bool, string, error) {
		s := localenv.Session()
		if err := kube.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, s); err != nil {
			return false, err.Error(), nil
		}
		msg := conditionMessages(s)
		return strings.Contains(msg, want), msg, nil
	})
}

// conditionMessages returns the conditions and the message of session s
// in one line.
func conditionMessages(s *unstructured.Unstructured) string {
	conds, _, _ := unstructured.NestedSlice(s.Object, "status", "conditions")
	msgs := []string{}
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok {
			msgs = append(msgs, fmt.Sprintf("%v=%v: %v", m["type"], m["status"], m["message"]))
		}
	}
	msg, _, _ := unstructured.NestedString(s.Object, "status", "message")
	return strings.Join(append(msgs, msg), "; ")
}
