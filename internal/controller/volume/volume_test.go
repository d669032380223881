package volume

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/test"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/clients/target"
	"github.com/provider-vdi/provider-vdi/internal/clients/target/targettest"
)

// volume returns the DesktopVolume alice-home of namespace team-a asking for
// 10Gi, modified by mods.
func volume(mods ...func(*v1alpha1.DesktopVolume)) *v1alpha1.DesktopVolume {
	return targettest.Managed(&v1alpha1.DesktopVolume{Spec: v1alpha1.DesktopVolumeSpec{ForProvider: v1alpha1.DesktopVolumeParameters{
		Owner: targettest.Alice,
		Size:  resource.MustParse("10Gi"),
	}}}, "alice-home", mods...)
}

func withSize(q string) func(*v1alpha1.DesktopVolume) {
	return func(v *v1alpha1.DesktopVolume) { v.Spec.ForProvider.Size = resource.MustParse(q) }
}

func withStorageClass(sc string) func(*v1alpha1.DesktopVolume) {
	return func(v *v1alpha1.DesktopVolume) { v.Spec.ForProvider.StorageClassName = &sc }
}

func withAccessModes(m ...corev1.PersistentVolumeAccessMode) func(*v1alpha1.DesktopVolume) {
	return func(v *v1alpha1.DesktopVolume) { v.Spec.ForProvider.AccessModes = m }
}

func withAtProvider(o v1alpha1.DesktopVolumeObservation) func(*v1alpha1.DesktopVolume) {
	return func(v *v1alpha1.DesktopVolume) { v.Status.AtProvider = o }
}

var withConditions = targettest.Conditions[*v1alpha1.DesktopVolume]

// claim returns the claim alice-home in namespace desktops, as the provider
// would have made it of volume(), modified by mods.
func claim(mods ...func(*corev1.PersistentVolumeClaim)) *corev1.PersistentVolumeClaim {
	c := &corev1.PersistentVolumeClaim{
		ObjectMeta: targettest.Made("home", "alice-home", "alice-home"),
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")},
			},
		},
	}
	return targettest.Modified(c, mods...)
}

func requesting(q string) func(*corev1.PersistentVolumeClaim) {
	return func(c *corev1.PersistentVolumeClaim) {
		c.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse(q)
	}
}

func bound(capacity string) func(*corev1.PersistentVolumeClaim) {
	return func(c *corev1.PersistentVolumeClaim) {
		c.Spec.VolumeName = "pv-1"
		c.Status.Phase = corev1.ClaimBound
		c.Status.Capacity = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(capacity)}
	}
}

func phase(p corev1.PersistentVolumeClaimPhase) func(*corev1.PersistentVolumeClaim) {
	return func(c *corev1.PersistentVolumeClaim) { c.Status.Phase = p }
}

func storageClass(sc string) func(*corev1.PersistentVolumeClaim) {
	return func(c *corev1.PersistentVolumeClaim) { c.Spec.StorageClassName = &sc }
}

var (
	volumeUID = targettest.NamespaceUID[*v1alpha1.DesktopVolume]
	claimUID  = targettest.NamespaceUID[*corev1.PersistentVolumeClaim]
)

func beingDeleted() func(*v1alpha1.DesktopVolume) {
	return func(v *v1alpha1.DesktopVolume) {
		v.SetDeletionTimestamp(&metav1.Time{Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	}
}

func deleting() func(*corev1.PersistentVolumeClaim) {
	return func(c *corev1.PersistentVolumeClaim) {
		c.DeletionTimestamp = &metav1.Time{Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		c.Finalizers = []string{"kubernetes.io/pvc-protection"}
	}
}

func TestConnect(t *testing.T) { kind.TestConnect(t, cmp.AllowUnexported(external{})) }

func TestBuildClaim(t *testing.T) {
	cases := map[string]struct {
		reason string
		cr     *v1alpha1.DesktopVolume
		want   *corev1.PersistentVolumeClaim
	}{
		"Defaults": {
			reason: "A volume with only a size should be a ReadWriteOnce claim of that size of the default storage class.",
			cr:     volume(),
			want:   claim(),
		},
		"StorageClassAndAccessModes": {
			reason: "A volume's storage class and access modes should be passed to its claim.",
			cr:     volume(withSize("50Gi"), withStorageClass("fast"), withAccessModes(corev1.ReadWriteMany)),
			want: claim(requesting("50Gi"), storageClass("fast"), func(c *corev1.PersistentVolumeClaim) {
				c.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}
			}),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, buildClaim(tc.cr, "team-a")); diff != "" {
				t.Errorf("\n%s\nbuildClaim(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

type observed = targettest.Observed[*v1alpha1.DesktopVolume]

func TestObserve(t *testing.T) {
	kind.TestObserve(t)
	cases := map[string]struct {
		reason string
		kube   client.Client
		cr     *v1alpha1.DesktopVolume
		want   observed
	}{
		"Missing": {
			reason: "A volume whose claim does not exist should not exist.",
			kube:   targettest.Kube(),
			cr:     volume(),
			want:   observed{O: managed.ExternalObservation{ResourceExists: false}, CR: volume()},
		},
		"Bound": {
			reason: "A bound claim of the desired size should be Available and up to date, and report its phase, capacity and storage class.",
			kube:   targettest.Kube(claim(bound("10Gi"), storageClass("fast"))),
			cr:     volume(),
			want: observed{
				O: managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: true},
				CR: volume(
					withConditions(xpv2.Available()),
					withAtProvider(v1alpha1.DesktopVolumeObservation{Phase: corev1.ClaimBound, Capacity: "10Gi", StorageClassName: "fast"}),
				),
			},
		},
		"Pending": {
			reason: "A claim still waiting for its first consumer should be Available, so that the desktop that binds it can be created.",
			kube:   targettest.Kube(claim(phase(corev1.ClaimPending))),
			cr:     volume(),
			want: observed{
				O:  managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: true},
				CR: volume(withConditions(xpv2.Available()), withAtProvider(v1alpha1.DesktopVolumeObservation{Phase: corev1.ClaimPending})),
			},
		},
		"Lost": {
			reason: "A claim that lost its volume should be Unavailable saying so.",
			kube:   targettest.Kube(claim(bound("10Gi"), phase(corev1.ClaimLost))),
			cr:     volume(),
			want: observed{
				O: managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: true},
				CR: volume(
					withConditions(xpv2.Unavailable().WithMessage("the claim lost its PersistentVolume")),
					withAtProvider(v1alpha1.DesktopVolumeObservation{Phase: corev1.ClaimLost, Capacity: "10Gi"}),
				),
			},
		},
		"BeingDeleted": {
			reason: "A claim being deleted should be Unavailable saying so.",
			kube:   targettest.Kube(claim(bound("10Gi"), deleting())),
			cr:     volume(),
			want: observed{
				O: managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: true},
				CR: volume(
					withConditions(xpv2.Unavailable().WithMessage("the claim is being deleted")),
					withAtProvider(v1alpha1.DesktopVolumeObservation{Phase: corev1.ClaimBound, Capacity: "10Gi"}),
				),
			},
		},
		"EquivalentSize": {
			reason: "A claim that requests the desired size, written another way, should be up to date.",
			kube:   targettest.Kube(claim(requesting("10240Mi"), bound("10Gi"))),
			cr:     volume(),
			want: observed{
				O:  managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: true},
				CR: volume(withConditions(xpv2.Available()), withAtProvider(v1alpha1.DesktopVolumeObservation{Phase: corev1.ClaimBound, Capacity: "10Gi"})),
			},
		},
		"Grown": {
			reason: "A claim smaller than the desired size should not be up to date, so that Update grows it.",
			kube:   targettest.Kube(claim(bound("10Gi"))),
			cr:     volume(withSize("20Gi")),
			want: observed{
				O:  managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: false},
				CR: volume(withSize("20Gi"), withConditions(xpv2.Available()), withAtProvider(v1alpha1.DesktopVolumeObservation{Phase: corev1.ClaimBound, Capacity: "10Gi"})),
			},
		},
		"EarlierNamespace": {
			reason: "A claim made for a volume of the same name in an earlier namespace of this name should not be taken over, and the error should name both namespace UIDs.",
			kube:   targettest.Kube(claim(bound("10Gi"), claimUID("uid-before"))),
			cr:     volume(volumeUID("uid-now")),
			want: observed{
				Err: targettest.ErrEarlierNamespace("PersistentVolumeClaim", "alice-home", "team-a", "team-a/alice-home", "uid-before", "uid-now"),
				CR:  volume(volumeUID("uid-now")),
			},
		},
		"EarlierNamespaceWhileDeleted": {
			reason: "A volume being deleted should read an earlier namespace's claim as absent, so that its deletion is not held up and the claim is left alone.",
			kube:   targettest.Kube(claim(bound("10Gi"), claimUID("uid-before"))),
			cr:     volume(volumeUID("uid-now"), beingDeleted()),
			want:   observed{O: managed.ExternalObservation{ResourceExists: false}, CR: volume(volumeUID("uid-now"), beingDeleted())},
		},
		"MadeBeforeNamespaceUIDs": {
			reason: "A claim made before the provider recorded namespace UIDs should be its volume's, but not up to date, so that Update records the namespace's UID on it.",
			kube:   targettest.Kube(claim(bound("10Gi"))),
			cr:     volume(volumeUID("uid-now")),
			want: observed{
				O:  managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: false},
				CR: volume(volumeUID("uid-now"), withConditions(xpv2.Available()), withAtProvider(v1alpha1.DesktopVolumeObservation{Phase: corev1.ClaimBound, Capacity: "10Gi"})),
			},
		},
		"Shrunk": {
			reason: "A claim larger than the desired size should not be up to date either, so that Update refuses it with a clear error.",
			kube:   targettest.Kube(claim(requesting("20Gi"), bound("20Gi"))),
			cr:     volume(),
			want: observed{
				O:  managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: false},
				CR: volume(withConditions(xpv2.Available()), withAtProvider(v1alpha1.DesktopVolumeObservation{Phase: corev1.ClaimBound, Capacity: "20Gi"})),
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := &external{kube: tc.kube, namespace: "team-a"}
			targettest.CheckObserve(t, tc.reason, e, tc.cr, tc.want)
		})
	}
}

// kind is the DesktopVolume's external client, for the cases that every
// kind shares.
var kind = targettest.Kind[*v1alpha1.DesktopVolume]{
	Kind:     "PersistentVolumeClaim",
	Resource: "persistentvolumeclaims",
	CR:       func() *v1alpha1.DesktopVolume { return volume() },
	Changed:  func() *v1alpha1.DesktopVolume { return volume(withSize("20Gi")) },
	Object:   func() client.Object { return claim(bound("10Gi")) },
	External: func(kube client.Client) managed.TypedExternalClient[*v1alpha1.DesktopVolume] {
		return &external{kube: kube, namespace: "team-a", location: "/team-a", maxSize: resource.MustParse("1Ti")}
	},
	Connect: func(c target.Clusters) managed.TypedExternalConnector[*v1alpha1.DesktopVolume] {
		return newConnector(c, resource.MustParse("1Ti"))
	},
}

func TestCreate(t *testing.T) {
	kind.TestCreate(t)
	kube := targettest.Kube()
	e := &external{kube: kube, namespace: "team-a"}
	if _, err := e.Create(context.Background(), volume()); err != nil {
		t.Fatalf("Create(...): %v", err)
	}
	got := &corev1.PersistentVolumeClaim{}
	targettest.MustGet(t, "Create should create the claim.", kube, "alice-home", got)
	if diff := cmp.Diff(claim().Spec, got.Spec); diff != "" {
		t.Errorf("\nCreate(...): -want claim spec, +got claim spec:\n%s", diff)
	}
}

func TestUpdate(t *testing.T) {
	kind.TestUpdate(t)
	type want struct {
		err error
		// claim the target cluster should hold afterwards; nil when not
		// checked.
		claim *corev1.PersistentVolumeClaim
	}
	cases := map[string]struct {
		reason string
		kube   client.Client
		cr     *v1alpha1.DesktopVolume
		want   want
	}{
		"Grow": {
			reason: "Update should grow the claim to the desired size, keeping what the cluster set, such as its volume name.",
			kube:   targettest.Kube(claim(bound("10Gi"))),
			cr:     volume(withSize("20Gi")),
			want:   want{claim: claim(bound("10Gi"), requesting("20Gi"))},
		},
		"RecordsNamespaceUID": {
			reason: "Update should record the namespace's UID on a claim made before the provider recorded them, keeping its other annotations.",
			kube:   targettest.Kube(claim(bound("10Gi"))),
			cr:     volume(volumeUID("uid-now")),
			want:   want{claim: claim(bound("10Gi"), claimUID("uid-now"))},
		},
		"SameSize": {
			reason: "Update at the current size should succeed and bring the labels back.",
			kube: targettest.Kube(claim(bound("10Gi"), func(c *corev1.PersistentVolumeClaim) {
				c.Labels = map[string]string{"extra": "kept"}
			})),
			cr: volume(),
			want: want{claim: claim(bound("10Gi"), func(c *corev1.PersistentVolumeClaim) {
				c.Labels["extra"] = "kept"
			})},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := &external{kube: tc.kube, namespace: "team-a"}
			_, err := e.Update(context.Background(), tc.cr)
			targettest.CheckError(t, tc.reason, "Update", tc.want.err, err)
			if tc.want.claim == nil {
				return
			}
			got := &corev1.PersistentVolumeClaim{}
			targettest.MustGet(t, tc.reason, tc.kube, "alice-home", got)
			if diff := cmp.Diff(tc.want.claim.Spec, got.Spec); diff != "" {
				t.Errorf("\n%s\nUpdate(...): -want claim spec, +got claim spec:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.want.claim.Labels, got.Labels); diff != "" {
				t.Errorf("\n%s\nUpdate(...): -want claim labels, +got claim labels:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.want.claim.Annotations, got.Annotations); diff != "" {
				t.Errorf("\n%s\nUpdate(...): -want claim annotations, +got claim annotations:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestUpdateRefusesShrink(t *testing.T) {
	cases := map[string]struct {
		reason string
		have   string
		want   string
		err    error
	}{
		"Shrink": {
			reason: "Update should refuse to shrink a claim, naming both sizes, and write nothing.",
			have:   "20Gi",
			want:   "10Gi",
			err:    errors.Errorf("cannot shrink home volume %q from %s to %s: volumes only grow; set forProvider.size to at least %s", "alice-home", "20Gi", "10Gi", "20Gi"),
		},
		"ShrinkByOneByte": {
			reason: "Update should refuse even the smallest shrink.",
			have:   "10Gi",
			want:   "10737418239",
			err:    errors.Errorf("cannot shrink home volume %q from %s to %s: volumes only grow; set forProvider.size to at least %s", "alice-home", "10Gi", "10737418239", "10Gi"),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			updates := 0
			kube := &test.MockClient{
				MockGet: test.NewMockGetFn(nil, func(o client.Object) error {
					claim(requesting(tc.have)).DeepCopyInto(o.(*corev1.PersistentVolumeClaim))
					return nil
				}),
				MockUpdate: func(_ context.Context, _ client.Object, _ ...client.UpdateOption) error {
					updates++
					return nil
				},
				MockPatch: func(_ context.Context, _ client.Object, _ client.Patch, _ ...client.PatchOption) error {
					updates++
					return nil
				},
			}
			e := &external{kube: kube, namespace: "team-a"}
			_, err := e.Update(context.Background(), volume(withSize(tc.want)))
			targettest.CheckError(t, tc.reason, "Update", tc.err, err)
			if diff := cmp.Diff(0, updates); diff != "" {
				t.Errorf("\n%s\nUpdate(...): -want writes, +got writes:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestMaxSize(t *testing.T) {
	errTooLarge := errors.New("forProvider.size 2Ti is more than 1Ti, the largest home volume this provider makes (--max-home-size)")
	type want struct {
		err error
		// claim the target cluster should hold afterwards; nil for none.
		claim *corev1.PersistentVolumeClaim
	}
	cases := map[string]struct {
		reason  string
		kube    client.Client
		maxSize string
		cr      *v1alpha1.DesktopVolume
		op      func(context.Context, *external, *v1alpha1.DesktopVolume) error
		want    want
	}{
		"CreateAbove": {
			reason:  "Create should refuse a claim larger than the provider's bound, saying so, and make nothing.",
			kube:    targettest.Kube(),
			maxSize: "1Ti",
			cr:      volume(withSize("2Ti")),
			op:      create,
			want:    want{err: errTooLarge},
		},
		"CreateAtBound": {
			reason:  "Create should make a claim of exactly the provider's bound.",
			kube:    targettest.Kube(),
			maxSize: "1Ti",
			cr:      volume(withSize("1024Gi")),
			op:      create,
			want:    want{claim: claim(requesting("1024Gi"))},
		},
		"CreateUnbounded": {
			reason:  "With no bound, Create should make a claim of any size.",
			kube:    targettest.Kube(),
			maxSize: "0",
			cr:      volume(withSize("2Ti")),
			op:      create,
			want:    want{claim: claim(requesting("2Ti"))},
		},
		"RecordAboveLoweredBound": {
			reason:  "Update should record the namespace's UID on a claim kept at a size above a bound lowered since: nothing grows.",
			kube:    targettest.Kube(claim(requesting("2Ti"), bound("2Ti"))),
			maxSize: "1Ti",
			cr:      volume(withSize("2Ti"), volumeUID("uid-now")),
			op:      update,
			want:    want{claim: claim(requesting("2Ti"), bound("2Ti"), claimUID("uid-now"))},
		},
		"GrowAbove": {
			reason:  "Update should refuse to grow a claim past the provider's bound and leave it as it was.",
			kube:    targettest.Kube(claim(bound("10Gi"))),
			maxSize: "1Ti",
			cr:      volume(withSize("2Ti")),
			op:      update,
			want:    want{err: errTooLarge, claim: claim(bound("10Gi"))},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := &external{kube: tc.kube, namespace: "team-a", maxSize: resource.MustParse(tc.maxSize)}
			err := tc.op(context.Background(), e, tc.cr)
			targettest.CheckError(t, tc.reason, "op", tc.want.err, err)
			got := &corev1.PersistentVolumeClaim{}
			exists := targettest.Get(t, tc.reason, tc.kube, "alice-home", got)
			if tc.want.claim == nil {
				if exists {
					t.Errorf("\n%s\nwant no claim, got %s", tc.reason, got.Spec.Resources.Requests.Storage())
				}
				return
			}
			if diff := cmp.Diff(tc.want.claim.Spec, got.Spec); diff != "" {
				t.Errorf("\n%s\n-want claim spec, +got claim spec:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.want.claim.Annotations, got.Annotations); diff != "" {
				t.Errorf("\n%s\n-want claim annotations, +got claim annotations:\n%s", tc.reason, diff)
			}
		})
	}
}

// TestMaxSizeKeepsLargerClaim checks that lowering the bound below a claim
// that exists changes nothing: the claim is observed, Available and up to
// date, and nothing is refused until it would be grown.
func TestMaxSizeKeepsLargerClaim(t *testing.T) {
	e := &external{kube: targettest.Kube(claim(requesting("2Ti"), bound("2Ti"))), namespace: "team-a", maxSize: resource.MustParse("1Ti")}
	want := observed{
		O:  managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: true},
		CR: volume(withSize("2Ti"), withConditions(xpv2.Available()), withAtProvider(v1alpha1.DesktopVolumeObservation{Phase: corev1.ClaimBound, Capacity: "2Ti"})),
	}
	targettest.CheckObserve(t, "A claim larger than a bound lowered since should be kept and observed as it is.", e, volume(withSize("2Ti")), want)
}

func create(ctx context.Context, e *external, cr *v1alpha1.DesktopVolume) error {
	_, err := e.Create(ctx, cr)
	return err
}

func update(ctx context.Context, e *external, cr *v1alpha1.DesktopVolume) error {
	_, err := e.Update(ctx, cr)
	return err
}

func TestDelete(t *testing.T) { kind.TestDelete(t) }
