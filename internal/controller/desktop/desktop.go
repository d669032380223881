// Package desktop reconciles Desktops: the desktop Pod and its credentials
// Secret in the target cluster.
package desktop

import (
	"context"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/password"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/clients/target"
	"github.com/provider-vdi/provider-vdi/internal/clients/target/connection"
	"github.com/provider-vdi/provider-vdi/internal/controller/common"
)

// Connection detail keys a Desktop publishes.
const (
	ConnectionURL      = "url"
	ConnectionUsername = "username"
	ConnectionPassword = "password"
)

// Setup adds a controller that reconciles Desktops. Besides its poll, a
// Desktop is reconciled whenever its Pod changes in the target cluster, so
// that Ready shows within seconds of the Pod becoming ready.
func Setup(mgr ctrl.Manager, o controller.Options, c *connection.Connector) error {
	return SetupWithBounds(DefaultBounds)(mgr, o, c)
}

// SetupWithBounds returns a Setup whose Desktops may have at most b.
func SetupWithBounds(b Bounds) func(mgr ctrl.Manager, o controller.Options, c *connection.Connector) error {
	return func(mgr ctrl.Manager, o controller.Options, c *connection.Connector) error {
		return common.Setup(mgr, o, v1alpha1.DesktopGroupKind, v1alpha1.DesktopGroupVersionKind, &v1alpha1.Desktop{}, newConnector(c, b, password.Generate, time.Now), c.PodEvents(),
			managed.WithPollIntervalHook(untilDeadline(time.Now)))
	}
}

// newConnector connects Desktops to their target cluster; their passwords
// come from password, now tells whether their deadline has passed, and b
// bounds them.
func newConnector(c target.Clusters, b Bounds, password func() (string, error), now func() time.Time) *common.Connector[*v1alpha1.Desktop] {
	return common.NewConnector(c, func(cl *target.Cluster, cr *v1alpha1.Desktop) managed.TypedExternalClient[*v1alpha1.Desktop] {
		return &external{kube: cl.Client, namespace: cl.Namespace(cr), bounds: b, password: password, now: now}
	})
}

// untilDeadline returns a poll interval hook that reconciles a Desktop again
// just after its deadline, when that comes before the next poll, so that the
// desktop stops on time even if nothing else wakes its controller.
func untilDeadline(now func() time.Time) managed.PollIntervalHook {
	return func(mg resource.Managed, poll time.Duration) time.Duration {
		cr, ok := mg.(*v1alpha1.Desktop)
		if !ok || cr.Spec.ForProvider.Deadline == nil {
			return poll
		}
		if left := cr.Spec.ForProvider.Deadline.Sub(now()); left >= 0 && left < poll {
			return left + time.Second
		}
		return poll
	}
}

// An external manages the desktop Pod and its Secret in one namespace of the
// target cluster.
type external struct {
	kube      client.Client
	namespace string
	bounds    Bounds
	password  func() (string, error)
	now       func() time.Time
}

// expired reports whether cr's deadline has passed.
func (e *external) expired(cr *v1alpha1.Desktop) bool {
	d := cr.Spec.ForProvider.Deadline
	return d != nil && !e.clock().Before(d.Time)
}

func (e *external) clock() time.Time {
	if e.now == nil {
		return time.Now()
	}
	return e.now()
}

// Observe reads the desktop Pod and its credentials Secret. The Desktop
// exists while its Pod does (or, once it is being deleted, while either
// does); it is up to date when the Pod was made from the current spec, still
// runs, and its Secret is there; it is Available only when the Pod runs and
// passes its readiness probe. Observe writes nothing to the target cluster.
func (e *external) Observe(ctx context.Context, cr *v1alpha1.Desktop) (managed.ExternalObservation, error) {
	if !meta.WasDeleted(cr) {
		// A desktop out of bounds is refused before anything is read or
		// made; one that runs already keeps running as it was made.
		if err := e.bounds.check(cr.Spec.ForProvider.Resources); err != nil {
			return managed.ExternalObservation{}, err
		}
	}
	desired, wantSecret := buildPod(cr, e.namespace), credentials(cr, e.namespace)
	pod, secret := desired.DeepCopy(), wantSecret.DeepCopy()
	podExists, err := target.GetOwned(ctx, e.kube, pod, desired)
	if err != nil {
		return managed.ExternalObservation{}, err
	}
	secretExists, err := target.GetOwned(ctx, e.kube, secret, wantSecret)
	if err != nil {
		return managed.ExternalObservation{}, err
	}
	if e.expired(cr) && !meta.WasDeleted(cr) {
		return expiredObservation(cr, pod, desired, podExists), nil
	}
	if !podExists {
		cr.Status.AtProvider = v1alpha1.DesktopObservation{}
		// A Desktop being deleted exists until its Secret is gone too.
		return managed.ExternalObservation{ResourceExists: meta.WasDeleted(cr) && secretExists}, nil
	}

	cr.Status.AtProvider = observe(pod, desired)
	if !secretExists {
		// The running desktop's password is lost with its Secret: replace
		// the desktop, and with it the password.
		cr.Status.AtProvider.PendingRestart = true
		cr.Status.AtProvider.Message = "the credentials Secret is gone; the desktop is replaced with a new password"
	}
	switch {
	case cr.Status.AtProvider.Ready:
		cr.SetConditions(xpv2.Available())
	case cr.Status.AtProvider.Message != "":
		cr.SetConditions(xpv2.Unavailable().WithMessage(cr.Status.AtProvider.Message))
	default:
		cr.SetConditions(xpv2.Unavailable().WithMessage("the desktop Pod is " + string(pod.Status.Phase) + " and not ready yet"))
	}

	terminal := pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
	o := managed.ExternalObservation{
		ResourceExists:   true,
		ResourceUpToDate: !cr.Status.AtProvider.PendingRestart && !terminal,
	}
	if secretExists {
		o.ConnectionDetails = connectionDetails(cr, secret)
	}
	return o, nil
}

// expiredObservation is the observation of a Desktop past its deadline. It
// exists, so that nothing creates a new Pod, and is out of date while its
// Pod is still there, so that Update removes it. The credentials Secret stays
// until the Desktop is deleted.
func expiredObservation(cr *v1alpha1.Desktop, pod, desired *corev1.Pod, podExists bool) managed.ExternalObservation {
	cr.Status.AtProvider = v1alpha1.DesktopObservation{}
	if podExists {
		cr.Status.AtProvider = observe(pod, desired)
	}
	cr.Status.AtProvider.Expired = true
	cr.Status.AtProvider.Ready = false
	cr.Status.AtProvider.Message = "the desktop passed its deadline of " + cr.Spec.ForProvider.Deadline.UTC().Format(time.RFC3339) + "; its Pod is removed and no new one is made"
	cr.SetConditions(xpv2.Unavailable().WithMessage(cr.Status.AtProvider.Message))
	return managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: !podExists}
}

// Create makes the credentials Secret, with a new random password, unless it
// exists, and then the desktop Pod. The Secret outlives a Pod deleted out of
// band or an interrupted Create, so the password is kept then.
func (e *external) Create(ctx context.Context, cr *v1alpha1.Desktop) (managed.ExternalCreation, error) {
	if e.expired(cr) {
		return managed.ExternalCreation{}, errors.Errorf("cannot create desktop: its deadline %s has passed", cr.Spec.ForProvider.Deadline.UTC().Format(time.RFC3339))
	}
	if err := e.checkHome(ctx, cr); err != nil {
		return managed.ExternalCreation{}, err
	}
	pod := buildPod(cr, e.namespace)
	withActiveDeadline(pod, cr.Spec.ForProvider.Deadline, e.clock())
	secret := credentials(cr, e.namespace)
	exists, err := target.GetOwned(ctx, e.kube, secret, credentials(cr, e.namespace))
	if err != nil {
		return managed.ExternalCreation{}, err
	}
	if !exists {
		pw, err := e.password()
		if err != nil {
			return managed.ExternalCreation{}, errors.Wrap(err, "cannot generate desktop password")
		}
		secret = credentials(cr, e.namespace)
		secret.Data = map[string][]byte{passwordKey: []byte(pw)}
		if err := target.Create(ctx, e.kube, secret); err != nil {
			return managed.ExternalCreation{}, err
		}
		// Another Create may have won the race; publish the password that
		// was stored, not the one generated here.
		if _, err := target.Get(ctx, e.kube, secret); err != nil {
			return managed.ExternalCreation{}, err
		}
	}
	if err := target.Create(ctx, e.kube, pod); err != nil {
		return managed.ExternalCreation{}, err
	}
	return managed.ExternalCreation{ConnectionDetails: connectionDetails(cr, secret)}, nil
}

// checkHome refuses to mount a home claim that was not made for the
// desktop's own session, by a DesktopVolume of the desktop's own namespace.
// A claim that does not exist yet is no one's: the Pod waits for it, and
// only a DesktopVolume of this namespace can make a claim of that name (see
// target.QualifiedName).
func (e *external) checkHome(ctx context.Context, cr *v1alpha1.Desktop) error {
	h := cr.Spec.ForProvider.Home
	if h == nil {
		return nil
	}
	claim := &corev1.PersistentVolumeClaim{}
	claim.SetNamespace(e.namespace)
	claim.SetName(target.QualifiedName(cr.GetNamespace(), e.namespace, h.ClaimName))
	exists, err := target.Get(ctx, e.kube, claim)
	if err != nil || !exists {
		return err
	}
	mr, _, _ := strings.Cut(claim.GetAnnotations()[v1alpha1.AnnotationManagedResource], "/")
	if session := claim.GetLabels()[v1alpha1.LabelSession]; mr != cr.GetNamespace() || session != cr.Spec.ForProvider.Session {
		return errors.Errorf("cannot mount home claim %q: it belongs to session %q of namespace %q, not to session %q of namespace %q; a desktop mounts only its own session's home", claim.GetName(), session, mr, cr.Spec.ForProvider.Session, cr.GetNamespace())
	}
	return nil
}

// Update replaces a Pod that no longer matches the spec, has terminated, or
// lost its credentials Secret, and removes one past its deadline, by
// deleting it: Pods are immutable, and the
// next reconcile creates the new one once the old one is gone. Until then the
// Desktop shows pendingRestart.
func (e *external) Update(ctx context.Context, cr *v1alpha1.Desktop) (managed.ExternalUpdate, error) {
	return managed.ExternalUpdate{}, target.Delete(ctx, e.kube, buildPod(cr, e.namespace))
}

// Delete deletes the desktop Pod and its Secret.
func (e *external) Delete(ctx context.Context, cr *v1alpha1.Desktop) (managed.ExternalDelete, error) {
	if err := target.Delete(ctx, e.kube, buildPod(cr, e.namespace)); err != nil {
		return managed.ExternalDelete{}, err
	}
	return managed.ExternalDelete{}, target.Delete(ctx, e.kube, credentials(cr, e.namespace))
}

// Disconnect does nothing: the target cluster's client is shared.
func (e *external) Disconnect(_ context.Context) error { return nil }

func connectionDetails(cr *v1alpha1.Desktop, secret *corev1.Secret) managed.ConnectionDetails {
	return managed.ConnectionDetails{
		ConnectionURL:      []byte(cr.Spec.ForProvider.URL),
		ConnectionUsername: []byte(cr.Spec.ForProvider.User),
		ConnectionPassword: secret.Data[passwordKey],
	}
}
