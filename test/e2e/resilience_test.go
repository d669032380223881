//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/localenv"
)

// TestPodDeletedOutOfBand: a desktop Pod deleted by someone else comes back.
func TestPodDeletedOutOfBand(t *testing.T) {
	ctx := context.Background()
	ns := userNamespace(t, "frank")
	create(t, session(ns, "dev", "frank", "ubuntu-gpu", nil))
	waitPhase(t, ns, "dev", "Running")
	p := pod(ns, "dev-desktop")
	if err := kube.Get(ctx, client.ObjectKeyFromObject(p), p); err != nil {
		t.Fatal(err)
	}
	uid := p.UID
	if err := kube.Delete(ctx, p); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the deleted Pod comes back and runs", func(ctx context.Context) (bool, string) {
		np := pod(ns, "dev-desktop")
		if err := kube.Get(ctx, client.ObjectKeyFromObject(np), np); err != nil {
			return false, err.Error()
		}
		return np.UID != uid && np.Status.Phase == corev1.PodRunning, fmt.Sprintf("uid changed %v, phase %s", np.UID != uid, np.Status.Phase)
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
	eventually(t, "the provider starts creating", func(ctx context.Context) (bool, string) {
		pods, err := managedPods(ctx, ns)
		return err == nil && len(pods) > 0, fmt.Sprintf("%d desktop Pods", len(pods))
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
// test logs how long each took from its creation to Running, p50 and p99.
// This is a measurement, not an assertion on time.
func TestTwentySessions(t *testing.T) {
	ctx := context.Background()
	ns := userNamespace(t, "load")
	const n = 20
	created := make([]time.Time, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			created[i] = time.Now()
			s := session(ns, fmt.Sprintf("s%02d", i), "load", "ubuntu-gpu", map[string]any{"persistence": map[string]any{"enabled": false}})
			if err := kube.Create(ctx, s); err != nil {
				t.Errorf("cannot create session %d: %v", i, err)
			}
		}()
	}
	wg.Wait()

	running := make([]time.Duration, n)
	done := 0
	var last string
	deadline := time.Now().Add(5 * time.Minute)
	for done < n && time.Now().Before(deadline) {
		l := &unstructured.UnstructuredList{}
		l.SetAPIVersion("vdi.kasm.io/v1alpha1")
		l.SetKind("VDISessionList")
		if err := kube.List(ctx, l, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		phases := map[string]int{}
		for _, s := range l.Items {
			var i int
			if _, err := fmt.Sscanf(s.GetName(), "s%02d", &i); err != nil {
				continue
			}
			phase, _ := localenv.Phase(&s)
			phases[phase]++
			if phase == "Running" && running[i] == 0 {
				running[i] = time.Since(created[i])
				done++
			}
		}
		last = fmt.Sprint(phases)
		time.Sleep(100 * time.Millisecond)
	}
	if done < n {
		t.Fatalf("%d of %d sessions reached Running; phases %s", done, n, last)
	}
	sort.Slice(running, func(i, j int) bool { return running[i] < running[j] })
	p := func(q float64) time.Duration { return running[int(q*float64(n-1)+0.5)] }
	t.Logf("claim→Running over %d sessions applied at once: p50 %s, p99 %s, max %s (poll every 100ms)",
		n, p(0.50).Round(10*time.Millisecond), p(0.99).Round(10*time.Millisecond), running[n-1].Round(10*time.Millisecond))
}
