// Package common holds what the managed resource controllers set up alike.
package common

import (
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	crcontroller "sigs.k8s.io/controller-runtime/pkg/controller"
	kevent "sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/event"
	"github.com/crossplane/crossplane-runtime/v2/pkg/ratelimiter"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	"github.com/crossplane/crossplane-runtime/v2/pkg/statemetrics"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/clients/target"
)

// ReconcilerOptions are the managed reconciler options every kind of this
// provider uses: deterministic external names (object names in the target
// cluster equal the managed resource's name), the UID of the managed
// resource's namespace recorded on it (NamespaceRecorder), management
// policies (a retained home volume is composed without Delete), the
// provider's poll interval, logger, events and metrics.
func ReconcilerOptions(mgr ctrl.Manager, o controller.Options, name string) []managed.ReconcilerOption {
	rec := event.NewAPIRecorder(mgr.GetEventRecorderFor(name)) //nolint:staticcheck // crossplane-runtime's event package still takes the legacy recorder.
	opts := []managed.ReconcilerOption{
		managed.WithDeterministicExternalName(true),
		managed.WithInitializers(
			managed.NewNameAsExternalName(mgr.GetClient()),
			NewNamespaceRecorder(mgr.GetAPIReader(), mgr.GetClient(), rec),
		),
		managed.WithManagementPolicies(),
		// Observe reads the target cluster directly, never through a cache,
		// so an object that is not there after Create is really gone (a
		// desktop Pod deleted out of band): create it again at once rather
		// than wait out the default 30s grace for eventually consistent APIs.
		managed.WithCreationGracePeriod(0),
		managed.WithLogger(o.Logger.WithValues("controller", name)),
		managed.WithPollInterval(o.PollInterval),
		managed.WithRecorder(rec),
	}
	if o.MetricOptions != nil && o.MetricOptions.MRMetrics != nil {
		opts = append(opts, managed.WithMetricRecorder(o.MetricOptions.MRMetrics))
	}
	return opts
}

// Setup adds a controller that reconciles obj's managed kind, whose version
// kind is gvk, through conn, and records the kind's state metrics. The
// managed resources of the kind are reconciled when they change, when the
// ProviderConfig they use changes, and, when targetEvents is not nil, when an
// object of theirs in the target cluster changes (each event's object is
// that object). Reconciles are held to the provider's global rate. extra
// options come after the common ones.
func Setup[T resource.ModernManaged](mgr ctrl.Manager, o controller.Options, gvk schema.GroupVersionKind, obj T, conn managed.TypedExternalConnector[T], targetEvents <-chan kevent.GenericEvent, extra ...managed.ReconcilerOption) error {
	name := managed.ControllerName(gvk.GroupKind().String())
	if err := addStateMetrics(mgr, o, gvk); err != nil {
		return err
	}
	opts := append(ReconcilerOptions(mgr, o, name), managed.WithTypedExternalConnector[T](conn))
	r := managed.NewReconciler(quietStatus(mgr), resource.ManagedKind(gvk), append(opts, extra...)...)
	users := UsersOfProviderConfig(mgr.GetClient(), gvk, o.Logger.WithValues("controller", name))
	b := ctrl.NewControllerManagedBy(mgr).
		Named(name).
		WithOptions(ControllerOptions(o)).
		WithEventFilter(resource.DesiredStateChanged()).
		For(obj).
		Watches(&v1alpha1.ProviderConfig{}, users).
		Watches(&v1alpha1.ClusterProviderConfig{}, users)
	if targetEvents != nil {
		b = b.WatchesRawSource(source.Channel(targetEvents, handler.EnqueueRequestsFromMapFunc(target.Owner(mgr.GetClient(), gvk))))
	}
	return b.Complete(ratelimiter.NewReconciler(name, r, o.GlobalRateLimiter))
}

// RetryBaseDelay is the first delay before a managed resource whose
// reconcile asked to be requeued (a conflict, an error, or the steps of
// creating it: finalizer, then create, then observe) is reconciled again;
// each further retry of the same resource waits twice as long, up to
// RetryMaxDelay. crossplane-runtime's default starts at one second. While
// a session starts, Crossplane writes its managed resources as the provider
// does, so about one reconcile in four meets a conflict and asks again: at
// one second, then two, then four, those waits were most of the time from
// a Desktop's creation to its Pod's (make bench-e2e, docs/benchmarks.md).
const (
	RetryBaseDelay = 50 * time.Millisecond
	RetryMaxDelay  = time.Minute
)

// ControllerOptions are o's controller-runtime options, with retries that
// start at RetryBaseDelay.
func ControllerOptions(o controller.Options) crcontroller.Options {
	co := o.ForControllerRuntime()
	co.RateLimiter = workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](RetryBaseDelay, RetryMaxDelay)
	return co
}

// addStateMetrics records how many managed resources of kind gvk exist,
// are Ready and are Synced, every o's PollStateMetricInterval, when o asks
// for state metrics.
func addStateMetrics(mgr ctrl.Manager, o controller.Options, gvk schema.GroupVersionKind) error {
	if o.MetricOptions == nil || o.MetricOptions.MRStateMetrics == nil {
		return nil
	}
	lgvk := gvk.GroupVersion().WithKind(gvk.Kind + "List")
	ro, err := mgr.GetScheme().New(lgvk)
	if err != nil {
		return errors.Wrapf(err, "cannot make a list of %s", gvk.Kind)
	}
	l, ok := ro.(resource.ManagedList)
	if !ok {
		return errors.Errorf("%s is not a list of managed resources", lgvk.Kind)
	}
	r := statemetrics.NewMRStateRecorder(mgr.GetClient(), o.Logger, o.MetricOptions.MRStateMetrics, l, o.MetricOptions.PollStateMetricInterval)
	return errors.Wrapf(mgr.Add(r), "cannot add state metrics recorder of %s", gvk.Kind)
}
