// Package service reconciles DesktopServices: the headless Service in front
// of a desktop. The desktop's NetworkPolicy is the Desktop's own, so that it
// exists before the Pod does.
package service

import (
	"cmp"
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/clients/target"
	"github.com/provider-vdi/provider-vdi/internal/clients/target/connection"
	"github.com/provider-vdi/provider-vdi/internal/controller/common"
)

// Setup adds a controller that reconciles DesktopServices.
func Setup(mgr ctrl.Manager, o controller.Options, c *connection.Connector) error {
	return common.Setup(mgr, o, v1alpha1.DesktopServiceGroupVersionKind, &v1alpha1.DesktopService{}, newConnector(c), nil)
}

// newConnector connects DesktopServices to their target cluster.
func newConnector(c target.Clusters) *common.Connector[*v1alpha1.DesktopService] {
	return common.NewConnector(c, func(cl *target.Cluster, cr *v1alpha1.DesktopService) managed.TypedExternalClient[*v1alpha1.DesktopService] {
		return &external{kube: cl.Client, namespace: cl.Namespace(cr)}
	})
}

type external struct {
	kube      client.Client
	namespace string
}

// buildService returns the desired Service of cr in namespace ns: it selects
// the desktop Pod by name and serves the desktop's port, forwarding to the
// gate in front of the desktop, never to the desktop itself. The Service is
// headless: Traefik routes an IngressRoute to the Service's endpoints, not to
// a cluster IP, so a desktop needs none. Allocating one is the API server's
// slowest step of a Service create (an IPAddress object, since Kubernetes
// 1.33): under make bench-e2e's bursts hundreds of those creates timed out
// (docs/benchmarks.md), and every desktop would hold one address of the
// cluster's Service range for nothing.
func buildService(cr *v1alpha1.DesktopService, ns string) *corev1.Service {
	p := cr.Spec.ForProvider
	desktop := target.QualifiedName(cr.GetNamespace(), ns, p.DesktopName)
	s := &corev1.Service{
		ObjectMeta: target.ObjectMeta(cr, ns, target.ComponentService, p.Owner),
		Spec: corev1.ServiceSpec{
			Type:      corev1.ServiceTypeClusterIP,
			ClusterIP: corev1.ClusterIPNone,
			Selector:  map[string]string{v1alpha1.LabelDesktop: desktop},
			Ports: []corev1.ServicePort{{
				Name:       "http",
				Protocol:   corev1.ProtocolTCP,
				Port:       cmp.Or(p.Port, v1alpha1.DefaultDesktopPort),
				TargetPort: intstr.FromInt32(v1alpha1.GatePort),
			}},
		},
	}
	target.Stamp(s, struct {
		Labels map[string]string  `json:"labels"`
		Spec   corev1.ServiceSpec `json:"spec"`
	}{s.Labels, s.Spec})
	return s
}

// Observe reads the Service. The DesktopService exists and is Available when
// the Service does, and is up to date when the Service was made from the
// current spec. A Service made before the provider made them headless keeps
// its cluster IP: it is immutable, and Traefik ignores it.
func (e *external) Observe(ctx context.Context, cr *v1alpha1.DesktopService) (managed.ExternalObservation, error) {
	want := buildService(cr, e.namespace)
	svc := want.DeepCopy()
	exists, err := target.ObserveOwned(ctx, e.kube, svc, want, meta.WasDeleted(cr))
	if err != nil || !exists {
		return managed.ExternalObservation{}, err
	}
	cr.Status.AtProvider.ClusterIP = svc.Spec.ClusterIP
	cr.SetConditions(xpv2.Available())
	return managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: target.UpToDate(svc, want)}, nil
}

// Create creates the Service.
func (e *external) Create(ctx context.Context, cr *v1alpha1.DesktopService) (managed.ExternalCreation, error) {
	return managed.ExternalCreation{}, target.Create(ctx, e.kube, buildService(cr, e.namespace))
}

// Update brings the Service's selector and ports to the current spec; its
// cluster IP is immutable.
func (e *external) Update(ctx context.Context, cr *v1alpha1.DesktopService) (managed.ExternalUpdate, error) {
	want := buildService(cr, e.namespace)
	svc := want.DeepCopy()
	if _, err := target.Get(ctx, e.kube, svc); err != nil {
		return managed.ExternalUpdate{}, err
	}
	return managed.ExternalUpdate{}, target.Update(ctx, e.kube, svc, want, func() {
		svc.Spec.Selector = want.Spec.Selector
		svc.Spec.Ports = want.Spec.Ports
	})
}

// Delete deletes the Service.
func (e *external) Delete(ctx context.Context, cr *v1alpha1.DesktopService) (managed.ExternalDelete, error) {
	return managed.ExternalDelete{}, target.Delete(ctx, e.kube, buildService(cr, e.namespace))
}

// Disconnect does nothing: the target cluster's client is shared.
func (e *external) Disconnect(_ context.Context) error { return nil }
