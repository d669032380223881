package common

import (
	"context"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

// quietStatus returns mgr with the client the managed reconcilers use:
// it reads single objects from the API server, not the manager's cache,
// and skips status updates that would change nothing (the object's
// resourceVersion is the one the cache holds, and so is its status).
//
// Reads: a reconcile starts by reading its managed resource and ends by
// updating its status from that copy. Read from the cache, the copy was
// often older than the provider's own last write, whose watch event lags
// on a busy API server, so the update was refused (HTTP 409) and the whole
// reconcile ran again: in make bench-e2e's 100-burst about 17 refusals
// per session, each a reconcile's worth of requests. A read of one object
// costs the API server less than the reconcile it saves. It also means the
// provider keeps no cache of every Secret in the cluster for the
// connection Secrets it writes.
//
// Status: crossplane-runtime's managed reconciler updates a managed
// resource's status at the end of every reconcile, changed or not. The API
// server does not store an update that changes nothing, but it is still a
// write request, made for each managed resource at every poll: with four
// per session and a one-minute poll, forty write requests per idle session
// every ten minutes (make bench-e2e, docs/benchmarks.md).
func quietStatus(mgr ctrl.Manager) ctrl.Manager {
	return quietManager{Manager: mgr, c: quietClient{Client: mgr.GetClient(), reader: mgr.GetAPIReader(), cache: mgr.GetCache(), scheme: mgr.GetScheme()}}
}

type quietManager struct {
	ctrl.Manager
	c client.Client
}

func (m quietManager) GetClient() client.Client { return m.c }

// A quietClient reads single objects from the API server and skips
// status updates that change nothing.
type quietClient struct {
	client.Client
	reader client.Reader
	cache  client.Reader
	scheme *runtime.Scheme
}

// Get reads obj from the API server. It sets obj's kind, as the cache
// does: the API server's answer, decoded into a typed object, has none,
// and crossplane-runtime names the managed resource by it (for example as
// the owner of its ProviderConfigUsage).
func (c quietClient) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if err := c.reader.Get(ctx, key, obj, opts...); err != nil {
		return err
	}
	gvk, err := apiutil.GVKForObject(obj, c.scheme)
	if err != nil {
		return errors.Wrapf(err, "cannot tell the kind of %T", obj)
	}
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	return nil
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
