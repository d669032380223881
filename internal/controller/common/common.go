// Package common holds what the managed resource controllers set up alike.
package common

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	kevent "sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/event"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"

	"github.com/provider-vdi/provider-vdi/internal/clients/target"
)

// ReconcilerOptions are the managed reconciler options every kind of this
// provider uses: deterministic external names (object names in the target
// cluster equal the managed resource's name), management policies (a
// retained home volume is composed without Delete), the provider's poll
// interval, logger, events and metrics.
func ReconcilerOptions(mgr ctrl.Manager, o controller.Options, name string) []managed.ReconcilerOption {
	return []managed.ReconcilerOption{
		managed.WithDeterministicExternalName(true),
		managed.WithManagementPolicies(),
		// Observe reads the target cluster directly, never through a cache,
		// so an object that is not there after Create is really gone (a
		// desktop Pod deleted out of band): create it again at once rather
		// than wait out the default 30s grace for eventually consistent APIs.
		managed.WithCreationGracePeriod(0),
		managed.WithLogger(o.Logger.WithValues("controller", name)),
		managed.WithPollInterval(o.PollInterval),
		managed.WithRecorder(event.NewAPIRecorder(mgr.GetEventRecorderFor(name))), //nolint:staticcheck // crossplane-runtime's event package still takes the legacy recorder.
		managed.WithMetricRecorder(o.MetricOptions.MRMetrics),
	}
}

// Setup adds a controller that reconciles the managed kind of obj, whose
// group kind and version kind are given, through conn. Events of the target
// cluster's objects arrive on targetEvents, when not nil, and wake the
// managed resource that owns the object. extra options come after the
// common ones.
func Setup[T resource.ModernManaged](mgr ctrl.Manager, o controller.Options, groupKind string, gvk schema.GroupVersionKind, obj T, conn managed.TypedExternalConnector[T], targetEvents <-chan kevent.GenericEvent, extra ...managed.ReconcilerOption) error {
	name := managed.ControllerName(groupKind)
	opts := append(ReconcilerOptions(mgr, o, name), managed.WithTypedExternalConnector[T](conn))
	r := managed.NewReconciler(mgr, resource.ManagedKind(gvk), append(opts, extra...)...)
	b := ctrl.NewControllerManagedBy(mgr).
		Named(name).
		WithOptions(o.ForControllerRuntime()).
		WithEventFilter(resource.DesiredStateChanged()).
		For(obj)
	if targetEvents != nil {
		b = b.WatchesRawSource(source.Channel(targetEvents, handler.EnqueueRequestsFromMapFunc(target.ForObject)))
	}
	return b.Complete(r)
}
