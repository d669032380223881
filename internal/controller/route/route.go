// Package route reconciles DesktopRoutes: the Traefik IngressRoute that
// serves a desktop at its URL.
package route

import (
	"context"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	xpmeta "github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/clients/target"
	"github.com/provider-vdi/provider-vdi/internal/clients/target/connection"
	"github.com/provider-vdi/provider-vdi/internal/controller/common"
)

// Setup adds a controller that reconciles DesktopRoutes.
func Setup(mgr ctrl.Manager, o controller.Options, c *connection.Connector) error {
	return common.Setup(mgr, o, v1alpha1.DesktopRouteGroupVersionKind, &v1alpha1.DesktopRoute{}, newConnector(c), nil)
}

// newConnector connects DesktopRoutes to their target cluster.
func newConnector(c target.Clusters) *common.Connector[*v1alpha1.DesktopRoute] {
	return common.NewConnector(c, func(cl *target.Cluster, cr *v1alpha1.DesktopRoute) managed.TypedExternalClient[*v1alpha1.DesktopRoute] {
		return &external{kube: cl.Client, namespace: cl.Namespace(cr)}
	})
}

type external struct {
	kube      client.Client
	namespace string
}

// traefikMissing explains an error that means the target cluster does not
// serve Traefik's IngressRoute kind.
func traefikMissing(err error) error {
	if meta.IsNoMatchError(err) {
		return errors.Wrap(err, "the target cluster does not serve traefik.io/v1alpha1 IngressRoute; install Traefik's CRDs there")
	}
	return err
}

// Observe reads the IngressRoute. It exists, is Available, and reports its URL
// as soon as Traefik has it; it is up to date when made from the current spec.
func (e *external) Observe(ctx context.Context, cr *v1alpha1.DesktopRoute) (managed.ExternalObservation, error) {
	if err := checkHost(cr); err != nil && !xpmeta.WasDeleted(cr) {
		return managed.ExternalObservation{}, err
	}
	want := buildIngressRoute(cr, e.namespace)
	ir := &unstructured.Unstructured{}
	ir.SetGroupVersionKind(IngressRouteGVK)
	ir.SetNamespace(want.GetNamespace())
	ir.SetName(want.GetName())
	exists, err := target.ObserveOwned(ctx, e.kube, ir, want, xpmeta.WasDeleted(cr))
	if err != nil || !exists {
		return managed.ExternalObservation{}, traefikMissing(err)
	}
	cr.Status.AtProvider.URL = cr.Spec.ForProvider.URL()
	cr.SetConditions(xpv2.Available())
	return managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: target.UpToDate(ir, want)}, nil
}

// checkHost refuses a host whose first label is not that of the route's own
// session and namespace: a route must never serve at, or shadow, the host of
// another namespace's desktop.
func checkHost(cr *v1alpha1.DesktopRoute) error {
	if !v1alpha1.OwnsHost(cr.Spec.ForProvider.Host, cr.Spec.ForProvider.Session, cr.GetNamespace()) {
		want := v1alpha1.HostLabel(cr.Spec.ForProvider.Session, cr.GetNamespace())
		return errors.Errorf("forProvider.host %q must start with %q, the host label of session %q in namespace %q (<session>-<namespace>-<length of session>); a route may not serve another session's host", cr.Spec.ForProvider.Host, want+".", cr.Spec.ForProvider.Session, cr.GetNamespace())
	}
	return nil
}

// Create creates the IngressRoute.
func (e *external) Create(ctx context.Context, cr *v1alpha1.DesktopRoute) (managed.ExternalCreation, error) {
	return managed.ExternalCreation{}, traefikMissing(target.Create(ctx, e.kube, buildIngressRoute(cr, e.namespace)))
}

// Update brings the IngressRoute's spec to the current one.
func (e *external) Update(ctx context.Context, cr *v1alpha1.DesktopRoute) (managed.ExternalUpdate, error) {
	want := buildIngressRoute(cr, e.namespace)
	ir := want.DeepCopy()
	if _, err := target.Get(ctx, e.kube, ir); err != nil {
		return managed.ExternalUpdate{}, traefikMissing(err)
	}
	return managed.ExternalUpdate{}, target.Update(ctx, e.kube, ir, want, func() { ir.Object["spec"] = want.Object["spec"] })
}

// Delete deletes the IngressRoute.
func (e *external) Delete(ctx context.Context, cr *v1alpha1.DesktopRoute) (managed.ExternalDelete, error) {
	return managed.ExternalDelete{}, traefikMissing(target.Delete(ctx, e.kube, buildIngressRoute(cr, e.namespace)))
}

// Disconnect does nothing: the target cluster's client is shared.
func (e *external) Disconnect(_ context.Context) error { return nil }
