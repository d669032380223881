package volume

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/clients/target/targettest"
)

func retainMarked() func(*corev1.PersistentVolumeClaim) {
	return func(c *corev1.PersistentVolumeClaim) {
		if c.Annotations == nil {
			c.Annotations = map[string]string{}
		}
		c.Annotations[v1alpha1.AnnotationRetain] = "true"
	}
}

func withRetain() func(*v1alpha1.DesktopVolume) {
	return func(v *v1alpha1.DesktopVolume) { v.Spec.ForProvider.RetainOnDelete = true }
}

func volumeDeleting() func(*v1alpha1.DesktopVolume) {
	return func(v *v1alpha1.DesktopVolume) { v.SetDeletionTimestamp(&metav1.Time{Time: time.Now()}) }
}

// TestRetention holds that retention sticks to the claim: once marked, no
// DesktopVolume deletes it, not even a later one of the same name that does
// not ask for retention.
func TestRetention(t *testing.T) {
	ctx := context.Background()
	// checkRetained fails t, saying reason, unless the claim in kube is
	// marked retained.
	checkRetained := func(t *testing.T, kube client.Client, reason string) {
		t.Helper()
		got := &corev1.PersistentVolumeClaim{}
		targettest.MustGet(t, reason, kube, "alice-home", got)
		if !retained(got) {
			t.Errorf("\n%s\nclaim annotations: %v", reason, got.Annotations)
		}
	}

	t.Run("MarkedOnCreate", func(t *testing.T) {
		kube := targettest.Kube()
		e := &external{kube: kube, namespace: "team-a"}
		if _, err := e.Create(ctx, volume(withRetain())); err != nil {
			t.Fatal(err)
		}
		checkRetained(t, kube, "A volume asking for retention should make a claim marked retained.")
	})

	t.Run("MarkedOnUpdate", func(t *testing.T) {
		kube := targettest.Kube(claim(bound("10Gi")))
		e := &external{kube: kube, namespace: "team-a"}
		o, err := e.Observe(ctx, volume(withRetain()))
		if err != nil {
			t.Fatal(err)
		}
		if o.ResourceUpToDate {
			t.Fatalf("\nAn unmarked claim of a volume asking for retention should not be up to date, so that Update marks it")
		}
		if _, err := e.Update(ctx, volume(withRetain())); err != nil {
			t.Fatal(err)
		}
		checkRetained(t, kube, "Update should mark the claim retained.")
	})

	t.Run("MarkNeverRemoved", func(t *testing.T) {
		kube := targettest.Kube(claim(bound("10Gi"), retainMarked()))
		e := &external{kube: kube, namespace: "team-a"}
		if _, err := e.Update(ctx, volume(withSize("20Gi"))); err != nil {
			t.Fatal(err)
		}
		checkRetained(t, kube, "An Update of a volume that no longer asks for retention must keep the claim's mark.")
	})

	t.Run("AdoptedClaimNotDeleted", func(t *testing.T) {
		// A later session of the same name, not asking for retention,
		// deletes its DesktopVolume over a claim a former one retained.
		kube := targettest.Kube(claim(bound("10Gi"), retainMarked()))
		e := &external{kube: kube, namespace: "team-a"}
		if _, err := e.Delete(ctx, volume()); err != nil {
			t.Fatal(err)
		}
		targettest.CheckExists(t, "Delete must keep a claim marked retained.", kube, &corev1.PersistentVolumeClaim{}, "alice-home", true)
		o, err := e.Observe(ctx, volume(volumeDeleting()))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(managed.ExternalObservation{}, o); diff != "" {
			t.Errorf("\nA DesktopVolume being deleted over a retained claim should let go of it (not exist), so its deletion completes: -want, +got:\n%s", diff)
		}
	})

	t.Run("UnmarkedClaimDeleted", func(t *testing.T) {
		kube := targettest.Kube(claim(bound("10Gi")))
		e := &external{kube: kube, namespace: "team-a"}
		if _, err := e.Delete(ctx, volume()); err != nil {
			t.Fatal(err)
		}
		targettest.CheckExists(t, "Delete should delete a claim that is not retained.", kube, &corev1.PersistentVolumeClaim{}, "alice-home", false)
	})
}

// TestHomeMoved holds that a DesktopVolume whose claim was made in one
// cluster or namespace refuses to make a new, empty one elsewhere, e.g. once
// its ProviderConfig points at another cluster, rather than hand the user
// an empty home.
func TestHomeMoved(t *testing.T) {
	ctx := context.Background()
	moved := func(v *v1alpha1.DesktopVolume) {
		v.Status.AtProvider.Location = "https://old-gpu-cluster:6443/desktops"
	}
	cases := map[string]struct {
		reason string
		cr     *v1alpha1.DesktopVolume
		want   error
		exists bool
	}{
		"Moved": {
			reason: "A claim that is missing here but was made elsewhere should be an error naming both places, and not read as one to create.",
			cr:     volume(moved),
			want:   errors.New(`the home claim "alice-home" lives in https://old-gpu-cluster:6443/desktops, but the ProviderConfig now points at https://gpu-cluster:6443/team-a; refusing to make a new, empty home there: point the ProviderConfig back, or move the claim there`),
		},
		"MovedWhileDeleted": {
			reason: "A DesktopVolume being deleted should not be held up by a moved claim: there is nothing here to delete.",
			cr:     volume(moved, volumeDeleting()),
		},
		"NeverMade": {
			reason: "A DesktopVolume that never had a claim should read as one to create.",
			cr:     volume(),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := &external{kube: targettest.Kube(), namespace: "team-a", location: "https://gpu-cluster:6443/team-a"}
			o, err := e.Observe(ctx, tc.cr)
			targettest.CheckError(t, tc.reason, "Observe", tc.want, err)
			if o.ResourceExists != tc.exists {
				t.Errorf("\n%s\nObserve(...): want ResourceExists %t, got %t", tc.reason, tc.exists, o.ResourceExists)
			}
		})
	}

	t.Run("Recorded", func(t *testing.T) {
		kube := targettest.Kube(claim(bound("10Gi")))
		e := &external{kube: kube, namespace: "team-a", location: "https://gpu-cluster:6443/team-a"}
		cr := volume()
		if _, err := e.Observe(ctx, cr); err != nil {
			t.Fatal(err)
		}
		if cr.Status.AtProvider.Location != "https://gpu-cluster:6443/team-a" {
			t.Errorf("\nObserve should record where the claim lives, got %q", cr.Status.AtProvider.Location)
		}
	})
}
