// Package watch watches the objects the provider makes in a target cluster,
// so that a managed resource shows a change of its Pod or claim within
// seconds rather than at its next poll.
package watch

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/clients/target"
)

// DiscoveryTimeout bounds each discovery request a watch makes before it
// runs, when cfg sets no timeout of its own: a cluster that accepts
// connections and never answers must not hold a watch's start forever.
const DiscoveryTimeout = 30 * time.Second

// Sinks are where a watch sends the events of what it watches; the object of
// each event is the changed object.
type Sinks struct {
	// Pods receives the events of desktop Pods.
	Pods chan<- event.GenericEvent
	// Claims receives the events of home PersistentVolumeClaims.
	Claims chan<- event.GenericEvent
}

// DesktopPodsAndClaims starts informers on the desktop Pods and home claims
// the provider made in the cluster cfg reaches, across namespaces, and sends
// every add, update and delete to sinks until ctx is done. It returns once the
// informers are set up, without waiting for them to sync; it returns an error
// if they cannot be set up, for example when the cluster does not answer
// discovery within cfg's timeout (DiscoveryTimeout if cfg sets none).
func DesktopPodsAndClaims(ctx context.Context, cfg *rest.Config, sinks Sinks) error {
	selector := func(component string) labels.Selector {
		return labels.SelectorFromSet(labels.Set{v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue, v1alpha1.LabelComponent: component})
	}
	watched := []struct {
		obj  client.Object
		by   cache.ByObject
		sink chan<- event.GenericEvent
	}{
		{&corev1.Pod{}, cache.ByObject{Label: selector(target.ComponentDesktop)}, sinks.Pods},
		{&corev1.PersistentVolumeClaim{}, cache.ByObject{Label: selector(target.ComponentHome)}, sinks.Claims},
	}

	// Watches are long requests: their client has no overall timeout. Only
	// discovery, which GetInformer does before anything runs, is bounded.
	streaming := rest.CopyConfig(cfg)
	streaming.Timeout = 0
	hc, err := rest.HTTPClientFor(streaming)
	if err != nil {
		return errors.Wrap(err, "cannot create HTTP client for watches")
	}
	bounded := rest.CopyConfig(cfg)
	if bounded.Timeout == 0 {
		bounded.Timeout = DiscoveryTimeout
	}
	dhc, err := rest.HTTPClientFor(bounded)
	if err != nil {
		return errors.Wrap(err, "cannot create HTTP client for discovery")
	}
	mapper, err := apiutil.NewDynamicRESTMapper(bounded, dhc)
	if err != nil {
		return errors.Wrap(err, "cannot create REST mapper")
	}
	by := make(map[client.Object]cache.ByObject, len(watched))
	for _, w := range watched {
		by[w.obj] = w.by
	}
	ca, err := cache.New(streaming, cache.Options{
		HTTPClient:       hc,
		Mapper:           mapper,
		Scheme:           target.Scheme(),
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject:         by,
	})
	if err != nil {
		return errors.Wrap(err, "cannot create cache of desktop Pods and home claims")
	}
	for _, w := range watched {
		inf, err := ca.GetInformer(ctx, w.obj, cache.BlockUntilSynced(false))
		if err != nil {
			return errors.Wrapf(err, "cannot get informer of %T", w.obj)
		}
		if _, err := inf.AddEventHandler(handler(ctx, w.sink)); err != nil {
			return errors.Wrapf(err, "cannot handle events of %T", w.obj)
		}
	}
	go func() { _ = ca.Start(ctx) }()
	return nil
}

// handler sends every added, updated and deleted object to sink until ctx
// is done.
func handler(ctx context.Context, sink chan<- event.GenericEvent) toolscache.ResourceEventHandler {
	send := func(o any) {
		if tomb, ok := o.(toolscache.DeletedFinalStateUnknown); ok {
			o = tomb.Obj
		}
		if obj, ok := o.(client.Object); ok {
			select {
			case sink <- event.GenericEvent{Object: obj}:
			case <-ctx.Done():
			}
		}
	}
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc:    send,
		UpdateFunc: func(_, o any) { send(o) },
		DeleteFunc: send,
	}
}
