//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/localenv"
	"github.com/provider-vdi/provider-vdi/test/measure"
	"github.com/provider-vdi/provider-vdi/test/poll"
)

// TestPodDeletedOutOfBand: a desktop Pod deleted by someone else comes back.
func TestPodDeletedOutOfBand(t *testing.T) {
	ctx := context.Background()
	ns := userNamespace(t, "frank")
	started(t, session(ns, "dev", "frank", "ubuntu-gpu", nil))
	p := current(t, pod(ns, "dev-desktop"))
	uid := p.UID
	if err := kube.Delete(ctx, p); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "the deleted Pod comes back and runs", timeout, func(ctx context.Context) (bool, string, error) {
		np := pod(ns, "dev-desktop")
		if err := kube.Get(ctx, client.ObjectKeyFromObject(np), np); err != nil {
			return false, err.Error(), nil
		}
		return np.UID != uid && np.Status.Phase == corev1.PodRunning, fmt.Sprintf("uid changed %v, phase %s", np.UID != uid, np.Status.Phase), nil
	})
	waitPhase(t, ns, "dev", "Running")
}

// TestProviderKilledWhileCreating: the provider SIGKILLed and restarted in
// the middle of creating sessions leaves no duplicate or orphaned object.
func TestProviderKilledWhileCreating(t *testing.T) {
	ctx := context.Background()
	ns := userNamespace(t, "grace")
	names := []string{"s1", "s2", "s3", "s4", "s5"}
	for _, n := range names {
		create(t, session(ns, n, "grace", "ubuntu-gpu", map[string]any{"persistence": map[string]any{"enabled": false}}))
	}
	// Kill the provider once it has started on them.
	poll.Until(t, "the provider starts creating", timeout, func(ctx context.Context) (bool, string, error) {
		pods, err := managedPods(ctx, ns)
		return err == nil && len(pods) > 0, fmt.Sprintf("%d desktop Pods", len(pods)), nil
	})
	env.KillProvider()
	t.Log("provider killed with SIGKILL")
	if err := env.StartProvider(); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		waitPhase(t, ns, n, "Running")
	}

	pods, err := managedPods(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	perSession := map[string]int{}
	for _, p := range pods {
		perSession[p.Labels[v1alpha1.LabelSession]]++
	}
	for _, n := range names {
		if perSession[n] != 1 {
			t.Errorf("session %s has %d desktop Pods, want 1", n, perSession[n])
		}
	}
	if len(pods) != len(names) {
		t.Errorf("%d desktop Pods for %d sessions", len(pods), len(names))
	}
	// Every object the provider made belongs to a managed resource that
	// exists.
	for _, l := range []client.ObjectList{&corev1.PodList{}, &corev1.SecretList{}, &corev1.ServiceList{}} {
		if err := kube.List(ctx, l, client.InNamespace(ns), client.MatchingLabels{v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue}); err != nil {
			t.Fatal(err)
		}
		var items []client.Object
		switch l := l.(type) {
		case *corev1.PodList:
			for i := range l.Items {
				items = append(items, &l.Items[i])
			}
		case *corev1.SecretList:
			for i := range l.Items {
				items = append(items, &l.Items[i])
			}
		case *corev1.ServiceList:
			for i := range l.Items {
				items = append(items, &l.Items[i])
			}
		}
		for _, o := range items {
			if !ownerExists(ctx, o) {
				t.Errorf("%T %s is orphaned: its managed resource %s is gone", o, o.GetName(), o.GetAnnotations()[v1alpha1.AnnotationManagedResource])
			}
		}
	}
}

func ownerExists(ctx context.Context, o client.Object) bool {
	ref := o.GetAnnotations()[v1alpha1.AnnotationManagedResource]
	kind := map[string]string{"desktop": "Desktop", "service": "DesktopService"}[o.GetLabels()[v1alpha1.LabelComponent]]
	if kind == "" {
		return true
	}
	for i := 0; i < len(ref); i++ {
		if ref[i] == '/' {
			u := &unstructured.Unstructured{}
			u.SetAPIVersion("vdi.m.kasm.io/v1alpha1")
			u.SetKind(kind)
			return kube.Get(ctx, client.ObjectKey{Namespace: ref[:i], Name: ref[i+1:]}, u) == nil
		}
	}
	return false
}

// TestTwentySessions: twenty sessions applied at once all reach Running. The
// test logs how long each took from its creation (the watch's ADDED event) to
// Running (the first watch event with status.phase Running), p50 and p99,
// measured as `make bench-e2e` measures (test/measure). This is a
// measurement, not an assertion on time.
func TestTwentySessions(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ns := userNamespace(t, "load")
	dyn, err := dynamic.NewForConfig(env.CP.Config)
	if err != nil {
		t.Fatal(err)
	}
	sessions := schema.GroupVersionResource{Group: "vdi.kasm.io", Version: "v1alpha1", Resource: "vdisessions"}
	tr, err := measure.Track(ctx, dyn, sessions, ns, map[string]measure.Mark{"Running": func(u *unstructured.Unstructured) bool {
		phase, _ := localenv.Phase(u)
		return phase == "Running"
	}})
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	names := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		names[i] = fmt.Sprintf("s%02d", i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := session(ns, names[i], "load", "ubuntu-gpu", map[string]any{"persistence": map[string]any{"enabled": false}})
			if err := kube.Create(ctx, s); err != nil {
				t.Errorf("cannot create session %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if err := tr.Wait(ctx, names, "Running", 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	s := measure.Summarize(tr.Durations(names, measure.Added, "Running"))
	t.Logf("claim→Running over %d sessions applied at once: p50 %.2fs, p99 %.2fs, max %.2fs (watched)", s.N, s.P50, s.P99, s.Max)
}
