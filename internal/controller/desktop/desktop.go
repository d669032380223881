// Package desktop reconciles Desktops: the desktop Pod and its credentials
// Secret in the target cluster.
package desktop

import (
	"cmp"
	"context"
	"strings"
	"sync"
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
	// ConnectionLink is the session's signed link: the url with a token
	// that the gate in front of the desktop exchanges for a cookie. It is
	// empty while no desktop Pod serves.
	ConnectionLink = "link"
)

// Options of the Desktop controller.
type Options struct {
	// Bounds every Desktop is held to.
	Bounds Bounds
	// Gate in front of every desktop.
	Gate Gate
}

// Setup returns a Setup of the controller that reconciles Desktops with o.
// Besides its poll, a Desktop is reconciled whenever its Pod changes in the
// target cluster, so that Ready shows within seconds of the Pod becoming
// ready.
func Setup(o Options) func(mgr ctrl.Manager, co controller.Options, c *connection.Connector) error {
	return func(mgr ctrl.Manager, co controller.Options, c *connection.Connector) error {
		return common.Setup(mgr, co, v1alpha1.DesktopGroupVersionKind, &v1alpha1.Desktop{}, newConnector(c, o, password.Generate, time.Now), c.PodEvents(),
			managed.WithPollIntervalHook(nextPoll(o.Bounds, time.Now)))
	}
}

// newConnector connects Desktops to their target cluster; their passwords
// come from password, now tells whether their deadline has passed and
// which link to publish, and o bounds them and puts the gate in front of
// them.
func newConnector(c target.Clusters, o Options, password func() (string, error), now func() time.Time) *common.Connector[*v1alpha1.Desktop] {
	return common.NewConnector(c, func(cl *target.Cluster, cr *v1alpha1.Desktop) managed.TypedExternalClient[*v1alpha1.Desktop] {
		return &external{kube: cl.Client, namespace: cl.Namespace(cr), bounds: o.Bounds, gate: o.Gate, password: password, now: now}
	})
}

// policyRestoredPoll is how soon a Desktop whose running desktop's
// NetworkPolicy was missing or changed is observed again: Update restores
// the policy, and the desktop is Ready again within seconds, not at the
// next poll (a template's egress edit makes every desktop of it not Ready
// until then).
const policyRestoredPoll = 5 * time.Second

// nextPoll returns a poll interval hook that reconciles a Desktop again
// soon while its running desktop's NetworkPolicy is being restored, and
// just after its deadline within bounds b, when that comes before the next
// poll, so that the desktop stops on time even if nothing else wakes its
// controller.
func nextPoll(b Bounds, now func() time.Time) managed.PollIntervalHook {
	return func(mg resource.Managed, poll time.Duration) time.Duration {
		cr, ok := mg.(*v1alpha1.Desktop)
		if !ok {
			return poll
		}
		if ap := cr.Status.AtProvider; ap.Phase != "" && !ap.NetworkPolicyReady && !ap.Expired {
			poll = min(poll, policyRestoredPoll)
		}
		d := b.deadline(cr)
		if d == nil {
			return poll
		}
		if left := d.Sub(now()); left >= 0 && left < poll {
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
	gate      Gate
	password  func() (string, error)
	now       func() time.Time
}

// expired reports whether cr's deadline, within the bounds, has passed.
func (e *external) expired(cr *v1alpha1.Desktop) bool {
	d := e.bounds.deadline(cr)
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
	if !meta.WasDeleted(cr) && !e.expired(cr) {
		// A desktop out of bounds is refused before anything is read or
		// made; one that runs already keeps running as it was made, until
		// its deadline: past that, it is observed as expired (below)
		// whatever it asks for, so that its Pod is removed.
		if err := e.bounds.check(cr.Spec.ForProvider.Resources); err != nil {
			return managed.ExternalObservation{}, err
		}
		if err := checkGate(cr); err != nil {
			return managed.ExternalObservation{}, err
		}
		if err := checkEnv(cr); err != nil {
			return managed.ExternalObservation{}, err
		}
	}
	deadline := e.bounds.deadline(cr)
	desired, wantSecret, wantPolicy := buildPod(cr, e.namespace, e.gate), buildSecret(cr, e.namespace), buildPolicy(cr, e.namespace)
	pod, secret, policy := desired.DeepCopy(), wantSecret.DeepCopy(), wantPolicy.DeepCopy()
	// The three reads are independent: sent at once, they cost one round
	// trip to a busy API server instead of three, on every reconcile.
	var (
		wg                                    sync.WaitGroup
		podExists, secretExists, policyExists bool
		podErr, secretErr, policyErr          error
	)
	deleting := meta.WasDeleted(cr)
	wg.Go(func() { podExists, podErr = target.ObserveOwned(ctx, e.kube, pod, desired, deleting) })
	wg.Go(func() { secretExists, secretErr = target.ObserveOwned(ctx, e.kube, secret, wantSecret, deleting) })
	wg.Go(func() { policyExists, policyErr = target.ObserveOwned(ctx, e.kube, policy, wantPolicy, deleting) })
	wg.Wait()
	if err := cmp.Or(podErr, secretErr, policyErr); err != nil {
		return managed.ExternalObservation{}, err
	}
	if e.expired(cr) && !meta.WasDeleted(cr) {
		o := expiredObservation(cr, e.bounds.describeDeadline(cr), pod, desired, podExists)
		cr.Status.AtProvider.Deadline = deadline
		if secretExists {
			// No link past the deadline.
			o.ConnectionDetails = connectionDetails(cr, secret, "")
		}
		return o, nil
	}
	if !podExists {
		cr.Status.AtProvider = v1alpha1.DesktopObservation{Deadline: deadline}
		// A Desktop being deleted exists until its Secret and its
		// NetworkPolicy are gone too.
		return managed.ExternalObservation{ResourceExists: meta.WasDeleted(cr) && (secretExists || policyExists)}, nil
	}

	cr.Status.AtProvider = observe(pod, desired)
	cr.Status.AtProvider.Deadline = deadline
	cr.Status.AtProvider.NetworkPolicyReady = policyExists && policyCurrent(policy, wantPolicy)
	switch {
	case !secretExists:
		// The running desktop's password is lost with its Secret: replace
		// the desktop, and with it the password.
		cr.Status.AtProvider.PendingRestart = true
		cr.Status.AtProvider.Message = "the credentials Secret is gone; the desktop is replaced with a new password"
	case !cr.Status.AtProvider.NetworkPolicyReady:
		// Without its policy the desktop would be open to every Pod and
		// could reach anything: it is not Ready until the policy is back.
		// atProvider.ready stays the Pod's: the desktop itself still runs.
		cr.Status.AtProvider.Message = "the desktop's NetworkPolicy is missing or was changed; it is being restored"
	}
	switch {
	case cr.Status.AtProvider.Ready && cr.Status.AtProvider.NetworkPolicyReady:
		cr.SetConditions(xpv2.Available())
	case cr.Status.AtProvider.Message != "":
		cr.SetConditions(xpv2.Unavailable().WithMessage(cr.Status.AtProvider.Message))
	default:
		cr.SetConditions(xpv2.Unavailable().WithMessage("the desktop Pod is " + string(pod.Status.Phase) + " and not ready yet"))
	}

	o := managed.ExternalObservation{
		ResourceExists:   true,
		ResourceUpToDate: !cr.Status.AtProvider.PendingRestart && !terminated(pod) && cr.Status.AtProvider.NetworkPolicyReady,
	}
	if secretExists {
		link, err := e.gate.link(cr, deadline, pod, e.clock())
		if err != nil {
			return managed.ExternalObservation{}, err
		}
		o.ConnectionDetails = connectionDetails(cr, secret, link)
	}
	return o, nil
}

// terminated reports whether pod has run to its end and must be replaced.
func terminated(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

// expiredObservation is the observation of a Desktop past its deadline. It
// exists, so that nothing creates a new Pod, and is out of date while its
// Pod is still there, so that Update removes it. The credentials Secret stays
// until the Desktop is deleted.
func expiredObservation(cr *v1alpha1.Desktop, deadline string, pod, desired *corev1.Pod, podExists bool) managed.ExternalObservation {
	cr.Status.AtProvider = v1alpha1.DesktopObservation{}
	if podExists {
		cr.Status.AtProvider = observe(pod, desired)
	}
	cr.Status.AtProvider.Expired = true
	cr.Status.AtProvider.Ready = false
	cr.Status.AtProvider.Message = "the desktop passed its " + deadline + "; its Pod is removed and no new one is made"
	cr.SetConditions(xpv2.Unavailable().WithMessage(cr.Status.AtProvider.Message))
	return managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: !podExists}
}

// Create makes the credentials Secret, with a new random password, unless it
// exists, and the desktop's NetworkPolicy, and checks its home claim; then,
// once the claim is known to be its own and so that the desktop is never
// without its policy, the desktop Pod. The Secret outlives a Pod deleted out
// of band or an interrupted Create, so the password is kept then.
func (e *external) Create(ctx context.Context, cr *v1alpha1.Desktop) (managed.ExternalCreation, error) {
	if e.expired(cr) {
		return managed.ExternalCreation{}, errors.Errorf("cannot create desktop: its %s has passed", e.bounds.describeDeadline(cr))
	}
	// The three do not depend on each other and are done at once: at most
	// two round trips to a busy API server instead of up to five in a row.
	// The Pod waits for all three.
	var (
		wg                            sync.WaitGroup
		secret                        *corev1.Secret
		homeErr, secretErr, policyErr error
	)
	wg.Go(func() { homeErr = e.checkHome(ctx, cr) })
	wg.Go(func() { secret, secretErr = e.ensureSecret(ctx, cr) })
	wg.Go(func() { policyErr = e.ensurePolicy(ctx, cr) })
	wg.Wait()
	if err := cmp.Or(homeErr, secretErr, policyErr); err != nil {
		return managed.ExternalCreation{}, err
	}
	pod := buildPod(cr, e.namespace, e.gate)
	deadline := e.bounds.deadline(cr)
	withActiveDeadline(pod, deadline, e.clock())
	if err := target.Create(ctx, e.kube, pod); err != nil {
		return managed.ExternalCreation{}, err
	}
	link, err := e.gate.link(cr, deadline, pod, e.clock())
	if err != nil {
		return managed.ExternalCreation{}, err
	}
	return managed.ExternalCreation{ConnectionDetails: connectionDetails(cr, secret, link)}, nil
}

// ensureSecret returns the desktop's credentials Secret, making it with a
// new random password if it does not exist.
func (e *external) ensureSecret(ctx context.Context, cr *v1alpha1.Desktop) (*corev1.Secret, error) {
	secret := buildSecret(cr, e.namespace)
	exists, err := target.GetOwned(ctx, e.kube, secret, buildSecret(cr, e.namespace))
	if err != nil || exists {
		return secret, err
	}
	pw, err := e.password()
	if err != nil {
		return nil, errors.Wrap(err, "cannot generate desktop password")
	}
	secret = buildSecret(cr, e.namespace)
	secret.Data = map[string][]byte{passwordKey: []byte(pw)}
	// Should another Create have won the race, target.Create reads the
	// Secret it stored into secret: the password published is the stored
	// one, not the one generated here.
	if err := target.Create(ctx, e.kube, secret); err != nil {
		return nil, err
	}
	return secret, nil
}

// ensurePolicy makes the desktop's NetworkPolicy, or restores it to its
// spec if it was changed.
func (e *external) ensurePolicy(ctx context.Context, cr *v1alpha1.Desktop) error {
	want := buildPolicy(cr, e.namespace)
	np := want.DeepCopy()
	exists, err := target.GetOwned(ctx, e.kube, np, want)
	switch {
	case err != nil:
		return err
	case !exists:
		return target.Create(ctx, e.kube, want)
	case policyCurrent(np, want):
		return nil
	}
	return target.Update(ctx, e.kube, np, want, func() { np.Spec = want.Spec })
}

// checkHome refuses to mount a home claim that was not made for the
// desktop's own session, by a DesktopVolume of the desktop's own namespace
// (not of an earlier namespace of its name).
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
	// A namespace deleted and made again under its name is another one.
	if target.EarlierNamespace(claim, cr) {
		return errors.Errorf("cannot mount home claim %q: it was made in an earlier namespace %q (UID %s), not in the one there now (UID %s); a desktop mounts only its own namespace's home", claim.GetName(), cr.GetNamespace(), target.NamespaceUID(claim), target.NamespaceUID(cr))
	}
	return nil
}

// Update restores the desktop's NetworkPolicy if it is missing or was
// changed, and replaces a Pod that no longer matches the spec, has
// terminated or lost its credentials Secret, and removes one past its
// deadline, by deleting it: Pods are immutable, and the next reconcile
// creates the new one once the old one is gone. Until then the Desktop shows
// pendingRestart. A change to the policy alone never restarts the desktop.
func (e *external) Update(ctx context.Context, cr *v1alpha1.Desktop) (managed.ExternalUpdate, error) {
	if err := e.ensurePolicy(ctx, cr); err != nil {
		return managed.ExternalUpdate{}, err
	}
	desired := buildPod(cr, e.namespace, e.gate)
	pod := desired.DeepCopy()
	exists, err := target.GetOwned(ctx, e.kube, pod, desired)
	if err != nil || !exists {
		return managed.ExternalUpdate{}, err
	}
	secretExists, err := target.GetOwned(ctx, e.kube, buildSecret(cr, e.namespace), buildSecret(cr, e.namespace))
	if err != nil {
		return managed.ExternalUpdate{}, err
	}
	current := target.UpToDate(pod, desired) && secretExists && !terminated(pod)
	if current && !e.expired(cr) {
		return managed.ExternalUpdate{}, nil
	}
	return managed.ExternalUpdate{}, target.Delete(ctx, e.kube, desired)
}

// Delete deletes the desktop Pod and, once no Pod of its name is left, its
// NetworkPolicy and its Secret: the Pod never runs without its policy. A
// Pod of the desktop's name that is not its own (its managed-resource
// annotation was removed, say) still carries the desktop's label, which the
// policy selects: the policy stays, and the Desktop's deletion waits for
// that Pod, saying so, exactly as its Observe would have before deletion.
func (e *external) Delete(ctx context.Context, cr *v1alpha1.Desktop) (managed.ExternalDelete, error) {
	pod := buildPod(cr, e.namespace, e.gate)
	if err := target.Delete(ctx, e.kube, pod); err != nil {
		return managed.ExternalDelete{}, err
	}
	left := pod.DeepCopy()
	if found, err := target.Get(ctx, e.kube, left); err != nil || found {
		// Still terminating, or another's: the next reconcile deletes the
		// rest once it is gone.
		return managed.ExternalDelete{}, cmp.Or(err, target.Owned(left, pod))
	}
	if err := target.Delete(ctx, e.kube, buildPolicy(cr, e.namespace)); err != nil {
		return managed.ExternalDelete{}, err
	}
	return managed.ExternalDelete{}, target.Delete(ctx, e.kube, buildSecret(cr, e.namespace))
}

// Disconnect does nothing: the target cluster's client is shared.
func (e *external) Disconnect(_ context.Context) error { return nil }

// connectionDetails are what the user finds in the Desktop's connection
// Secret: the url, the username and password of the desktop's own basic
// authentication (which the gate supplies; they matter only to someone who
// reaches the desktop without it), and the signed link, "" while no desktop
// Pod serves. The link key is always there, so that publishing "" replaces
// a stale link.
func connectionDetails(cr *v1alpha1.Desktop, secret *corev1.Secret, link string) managed.ConnectionDetails {
	return managed.ConnectionDetails{
		ConnectionURL:      []byte(cr.Spec.ForProvider.URL),
		ConnectionUsername: []byte(cr.Spec.ForProvider.User),
		ConnectionPassword: secret.Data[passwordKey],
		ConnectionLink:     []byte(link),
	}
}
