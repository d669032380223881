package common

import (
	"context"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// quietStatus returns mgr with a client whose status updates are skipped
// when they would change nothing: the object's resourceVersion is the one
// the manager's cache holds and so is its status.
//
// crossplane-runtime's managed reconciler updates a managed resource's
// status at the end of every reconcile, changed or not. The API server
// does not store an update that changes nothing, but it is still a write
// request, made for each managed resource at every poll: with four per
// session and a one-minute poll, forty write requests per idle session every
// ten minutes (make bench-e2e, docs/benchmarks.md).
func quietStatus(mgr ctrl.Manager) ctrl.Manager {
	return quietManager{Manager: mgr, c: quietClient{Client: mgr.GetClient(), cache: mgr.GetCache()}}
}

type quietManager struct {
	ctrl.Manager
	c client.Client
}

func (m quietManager) GetClient() client.Client { return m.c }

// A quietClient skips status updates that change nothing.
type quietClient struct {
	client.Client
	cache client.Reader
}

func (c quietClient) Status() client.SubResourceWriter {
	return quietStatusWriter{SubResourceWriter: c.Client.Status(), cache: c.cache}
}

type quietStatusWriter struct {
	client.SubResourceWriter
	cache client.Reader
}

// Update updates obj's status unless the cache holds obj at the same
// resourceVersion with the same status.
func (w quietStatusWriter) Update(ctx context.Context, obj client.Object, opts ...client.SubResourceUpdateOption) error {
	if len(opts) == 0 && unchanged(ctx, w.cache, obj) {
		return nil
	}
	return w.SubResourceWriter.Update(ctx, obj, opts...)
}

// unchanged reports whether cache holds obj at its resourceVersion with
// the same status.
func unchanged(ctx context.Context, cache client.Reader, obj client.Object) bool {
	cur, ok := obj.DeepCopyObject().(client.Object)
	if !ok || obj.GetResourceVersion() == "" {
		return false
	}
	if err := cache.Get(ctx, client.ObjectKeyFromObject(obj), cur); err != nil || cur.GetResourceVersion() != obj.GetResourceVersion() {
		return false
	}
	a, err := runtime.DefaultUnstructuredConverter.ToUnstructured(cur)
	if err != nil {
		return false
	}
	b, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return false
	}
	return equality.Semantic.DeepEqual(a["status"], b["status"])
}
