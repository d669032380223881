package common

import (
	"context"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
)

// UsersOfProviderConfig returns a handler that, when a ProviderConfig or
// ClusterProviderConfig changes, enqueues every managed resource of kind gvk
// that uses it, found through their ProviderConfigUsages, so that a new
// target namespace or new credentials take effect at once rather than at
// the next poll. It is the managed resources' counterpart of
// resource.EnqueueRequestForProviderConfig, which enqueues a config when its
// usages change.
func UsersOfProviderConfig(kube client.Reader, gvk schema.GroupVersionKind, log logging.Logger) handler.EventHandler {
	return handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
		kind := v1alpha1.ProviderConfigKind
		if _, ok := o.(*v1alpha1.ClusterProviderConfig); ok {
			kind = v1alpha1.ClusterProviderConfigKind
		}
		opts := []client.ListOption{client.MatchingLabels{xpv2.LabelKeyProviderName: o.GetName(), xpv2.LabelKeyProviderKind: kind}}
		if kind == v1alpha1.ProviderConfigKind {
			// A namespaced config serves only its own namespace.
			opts = append(opts, client.InNamespace(o.GetNamespace()))
		}
		l := &v1alpha1.ProviderConfigUsageList{}
		if err := kube.List(ctx, l, opts...); err != nil {
			log.Info("Cannot list the users of a changed ProviderConfig; they will see the change at their next poll", "kind", kind, "name", o.GetName(), "error", err.Error())
			return nil
		}
		var reqs []reconcile.Request
		for _, u := range l.Items {
			ref := u.ResourceReference
			if ref.Kind != gvk.Kind || ref.APIVersion != gvk.GroupVersion().String() {
				continue
			}
			reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: u.GetNamespace(), Name: ref.Name}})
		}
		return reqs
	})
}
