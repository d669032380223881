// Package volume reconciles DesktopVolumes: the PersistentVolumeClaim that
// holds a user's home directory.
package volume

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/clients/target"
	"github.com/provider-vdi/provider-vdi/internal/clients/target/connection"
	"github.com/provider-vdi/provider-vdi/internal/controller/common"
)

// DefaultMaxSize is the provider flag --max-home-size's default.
var DefaultMaxSize = resource.MustParse("1Ti")

// Setup returns a Setup of the controller that reconciles DesktopVolumes,
// making no claim larger than maxSize (zero: no limit). Templates cap the
// home of every session, but anyone allowed to create DesktopVolumes
// directly bypasses templates: maxSize is the platform's own bound.
func Setup(maxSize resource.Quantity) func(mgr ctrl.Manager, o controller.Options, c *connection.Connector) error {
	return func(mgr ctrl.Manager, o controller.Options, c *connection.Connector) error {
		return common.Setup(mgr, o, v1alpha1.DesktopVolumeGroupVersionKind, &v1alpha1.DesktopVolume{}, newConnector(c, maxSize), c.ClaimEvents())
	}
}

// newConnector connects DesktopVolumes to their target cluster.
func newConnector(c target.Clusters, maxSize resource.Quantity) *common.Connector[*v1alpha1.DesktopVolume] {
	return common.NewConnector(c, func(cl *target.Cluster, cr *v1alpha1.DesktopVolume) managed.TypedExternalClient[*v1alpha1.DesktopVolume] {
		return &external{kube: cl.Client, namespace: cl.Namespace(cr), location: cl.Location(cr), maxSize: maxSize}
	})
}

type external struct {
	kube      client.Client
	namespace string
	// location names the cluster and namespace the claim is to live in.
	location string
	// maxSize is the largest claim the provider makes or grows a claim to;
	// zero sets no limit.
	maxSize resource.Quantity
}

// checkSize refuses a size above the provider's bound. It is checked where
// the size takes effect, when a claim is made or grown, so that a claim
// made before the bound was lowered is kept, and reported, as it is.
func (e *external) checkSize(cr *v1alpha1.DesktopVolume) error {
	size := cr.Spec.ForProvider.Size
	if e.maxSize.IsZero() || size.Cmp(e.maxSize) <= 0 {
		return nil
	}
	return errors.Errorf("forProvider.size %s is more than %s, the largest home volume this provider makes (--max-home-size)", size.String(), e.maxSize.String())
}

// buildClaim returns the desired claim of cr in namespace ns.
func buildClaim(cr *v1alpha1.DesktopVolume, ns string) *corev1.PersistentVolumeClaim {
	p := cr.Spec.ForProvider
	modes := p.AccessModes
	if len(modes) == 0 {
		modes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
	}
	om := target.ObjectMeta(cr, ns, target.ComponentHome, p.Owner)
	if p.RetainOnDelete {
		om.Annotations[v1alpha1.AnnotationRetain] = "true"
	}
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: om,
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      modes,
			StorageClassName: p.StorageClassName,
			Resources: corev1.VolumeResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceStorage: p.Size},
			},
		},
	}
}

// Observe reads the claim. A claim that exists is Available even before it
// binds: with a WaitForFirstConsumer storage class it binds only once the
// desktop that mounts it is scheduled. The claim is up to date when it
// requests the desired size; a smaller desired size also reads as not up to
// date, so that Update can refuse it with a clear error.
func (e *external) Observe(ctx context.Context, cr *v1alpha1.DesktopVolume) (managed.ExternalObservation, error) {
	want := buildClaim(cr, e.namespace)
	desired := want.Spec.Resources.Requests[corev1.ResourceStorage]
	pvc := want.DeepCopy()
	exists, err := target.ObserveOwned(ctx, e.kube, pvc, want, meta.WasDeleted(cr))
	if err != nil {
		return managed.ExternalObservation{}, err
	}
	if !exists {
		// A home made elsewhere is not to be replaced by an empty one here.
		if was := cr.Status.AtProvider.Location; was != "" && was != e.location && !meta.WasDeleted(cr) {
			return managed.ExternalObservation{}, errors.Errorf("the home claim %q lives in %s, but the ProviderConfig now points at %s; refusing to make a new, empty home there: point the ProviderConfig back, or move the claim there", want.Name, was, e.location)
		}
		return managed.ExternalObservation{}, nil
	}
	if meta.WasDeleted(cr) && retained(pvc) {
		// The claim outlives the DesktopVolume: the DesktopVolume is gone
		// as far as its deletion is concerned.
		return managed.ExternalObservation{}, nil
	}
	cr.Status.AtProvider = v1alpha1.DesktopVolumeObservation{
		Phase:            pvc.Status.Phase,
		StorageClassName: ptr.Deref(pvc.Spec.StorageClassName, ""),
		Retained:         retained(pvc),
		Location:         e.location,
	}
	if c, ok := pvc.Status.Capacity[corev1.ResourceStorage]; ok {
		cr.Status.AtProvider.Capacity = c.String()
	}
	switch {
	case pvc.Status.Phase == corev1.ClaimLost:
		cr.SetConditions(xpv2.Unavailable().WithMessage("the claim lost its PersistentVolume"))
	case pvc.DeletionTimestamp != nil:
		cr.SetConditions(xpv2.Unavailable().WithMessage("the claim is being deleted"))
	default:
		cr.SetConditions(xpv2.Available())
	}
	requested := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	// A claim asked to be retained but not yet marked is out of date, so
	// that Update marks it; so is one made before the provider recorded
	// namespace UIDs, so that Update records its namespace's and the claim
	// is not taken by name once that namespace is gone (target.Owned).
	marked := !cr.Spec.ForProvider.RetainOnDelete || retained(pvc)
	stamped := target.NamespaceUID(want) == "" || target.NamespaceUID(pvc) != ""
	return managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: requested.Cmp(desired) == 0 && marked && stamped}, nil
}

// Create creates the claim, unless it would be larger than the provider's
// bound.
func (e *external) Create(ctx context.Context, cr *v1alpha1.DesktopVolume) (managed.ExternalCreation, error) {
	if err := e.checkSize(cr); err != nil {
		return managed.ExternalCreation{}, err
	}
	return managed.ExternalCreation{}, target.Create(ctx, e.kube, buildClaim(cr, e.namespace))
}

// Update grows the claim to the desired size, and adds its retain mark and
// namespace UID. It refuses to shrink it, changing nothing: Kubernetes
// cannot shrink a volume, and a smaller size is far more likely a mistake
// than a wish to lose data. It refuses to grow it past the provider's bound
// likewise; a claim kept at its size, above a bound lowered since, is
// still marked.
func (e *external) Update(ctx context.Context, cr *v1alpha1.DesktopVolume) (managed.ExternalUpdate, error) {
	desired := buildClaim(cr, e.namespace)
	want := desired.Spec.Resources.Requests[corev1.ResourceStorage]
	pvc := desired.DeepCopy()
	if _, err := target.Get(ctx, e.kube, pvc); err != nil {
		return managed.ExternalUpdate{}, err
	}
	have := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	if want.Cmp(have) < 0 {
		return managed.ExternalUpdate{}, errors.Errorf("cannot shrink home volume %q from %s to %s: volumes only grow; set forProvider.size to at least %s", pvc.Name, have.String(), want.String(), have.String())
	}
	if want.Cmp(have) > 0 {
		if err := e.checkSize(cr); err != nil {
			return managed.ExternalUpdate{}, err
		}
	}
	// Update merges desired's annotations into the claim's, so a retain
	// mark is added but never removed.
	return managed.ExternalUpdate{}, target.Update(ctx, e.kube, pvc, desired, func() {
		pvc.Spec.Resources.Requests[corev1.ResourceStorage] = want
	})
}

// retained reports whether pvc is marked to outlive its DesktopVolume.
func retained(pvc *corev1.PersistentVolumeClaim) bool {
	return pvc.GetAnnotations()[v1alpha1.AnnotationRetain] == "true"
}

// Delete deletes the claim, unless the claim is marked retained: then it
// leaves it, and the DesktopVolume goes without it. The mark outlives the
// DesktopVolume that asked for it, so a later session of the same name that
// adopts the claim cannot delete it either. (A session asking for retention
// also composes its volume without the Delete management policy, so that
// Crossplane does not call this at all.)
func (e *external) Delete(ctx context.Context, cr *v1alpha1.DesktopVolume) (managed.ExternalDelete, error) {
	want := buildClaim(cr, e.namespace)
	pvc := want.DeepCopy()
	exists, err := target.ObserveOwned(ctx, e.kube, pvc, want, true)
	if err != nil || !exists {
		return managed.ExternalDelete{}, err
	}
	if retained(pvc) {
		return managed.ExternalDelete{}, nil
	}
	return managed.ExternalDelete{}, target.Delete(ctx, e.kube, want)
}

// Disconnect does nothing: the target cluster's client is shared.
func (e *external) Disconnect(_ context.Context) error { return nil }
