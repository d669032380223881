// Package service reconciles DesktopServices: the ClusterIP Service in front
// of a desktop and the NetworkPolicy that admits only the ingress controller.
package service

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/clients/target"
	"github.com/provider-vdi/provider-vdi/internal/clients/target/connection"
	"github.com/provider-vdi/provider-vdi/internal/controller/common"
)

// Setup adds a controller that reconciles DesktopServices.
func Setup(mgr ctrl.Manager, o controller.Options, c *connection.Connector) error {
	return common.Setup(mgr, o, v1alpha1.DesktopServiceGroupKind, v1alpha1.DesktopServiceGroupVersionKind, &v1alpha1.DesktopService{}, newConnector(c), nil)
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

func port(cr *v1alpha1.DesktopService) int32 {
	if cr.Spec.ForProvider.Port == 0 {
		return 8080
	}
	return cr.Spec.ForProvider.Port
}

// buildService returns the desired Service of cr in namespace ns: it selects
// the desktop Pod by name and serves its port.
func buildService(cr *v1alpha1.DesktopService, ns string) *corev1.Service {
	p := cr.Spec.ForProvider
	desktop := target.QualifiedName(cr.GetNamespace(), ns, p.DesktopName)
	s := &corev1.Service{
		ObjectMeta: target.ObjectMeta(cr, ns, target.ComponentService, p.Owner),
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: map[string]string{v1alpha1.LabelDesktop: desktop},
			Ports: []corev1.ServicePort{{
				Name:       "http",
				Protocol:   corev1.ProtocolTCP,
				Port:       port(cr),
				TargetPort: intstr.FromInt32(port(cr)),
			}},
		},
	}
	target.Stamp(s, struct {
		Labels map[string]string  `json:"labels"`
		Spec   corev1.ServiceSpec `json:"spec"`
	}{s.Labels, s.Spec})
	return s
}

// buildPolicy returns the desired NetworkPolicy of cr in namespace ns: only
// Pods of the ingress controller's namespace reach the desktop, and only on
// its port.
func buildPolicy(cr *v1alpha1.DesktopService, ns string) *networkingv1.NetworkPolicy {
	p := cr.Spec.ForProvider
	desktop := target.QualifiedName(cr.GetNamespace(), ns, p.DesktopName)
	ingressNS := p.IngressNamespace
	if ingressNS == "" {
		ingressNS = "traefik"
	}
	np := &networkingv1.NetworkPolicy{
		ObjectMeta: target.ObjectMeta(cr, ns, target.ComponentService, p.Owner),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{v1alpha1.LabelDesktop: desktop}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From: []networkingv1.NetworkPolicyPeer{{
					NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: ingressNS}},
				}},
				Ports: []networkingv1.NetworkPolicyPort{{
					Protocol: ptr.To(corev1.ProtocolTCP),
					Port:     ptr.To(intstr.FromInt32(port(cr))),
				}},
			}},
		},
	}
	target.Stamp(np, struct {
		Labels map[string]string              `json:"labels"`
		Spec   networkingv1.NetworkPolicySpec `json:"spec"`
	}{np.Labels, np.Spec})
	return np
}

// Observe reads the Service and the NetworkPolicy. The DesktopService exists
// when both do, is up to date when both were made from the current spec, and
// is Available once the Service has a cluster IP.
func (e *external) Observe(ctx context.Context, cr *v1alpha1.DesktopService) (managed.ExternalObservation, error) {
	wantSvc, wantNP := buildService(cr, e.namespace), buildPolicy(cr, e.namespace)
	svc, np := wantSvc.DeepCopy(), wantNP.DeepCopy()
	svcExists, err := target.GetOwned(ctx, e.kube, svc, wantSvc)
	if err != nil {
		return managed.ExternalObservation{}, err
	}
	npExists, err := target.GetOwned(ctx, e.kube, np, wantNP)
	if err != nil {
		return managed.ExternalObservation{}, err
	}
	if !svcExists || !npExists {
		return managed.ExternalObservation{}, nil
	}
	cr.Status.AtProvider.ClusterIP = svc.Spec.ClusterIP
	if svc.Spec.ClusterIP != "" {
		cr.SetConditions(xpv2.Available())
	} else {
		cr.SetConditions(xpv2.Unavailable().WithMessage("the Service has no cluster IP yet"))
	}
	return managed.ExternalObservation{
		ResourceExists:   true,
		ResourceUpToDate: target.UpToDate(svc, wantSvc) && target.UpToDate(np, wantNP),
	}, nil
}

// Create creates whichever of the Service and the NetworkPolicy is missing.
func (e *external) Create(ctx context.Context, cr *v1alpha1.DesktopService) (managed.ExternalCreation, error) {
	if err := target.Create(ctx, e.kube, buildService(cr, e.namespace)); err != nil {
		return managed.ExternalCreation{}, err
	}
	return managed.ExternalCreation{}, target.Create(ctx, e.kube, buildPolicy(cr, e.namespace))
}

// Update brings the Service and the NetworkPolicy to the current spec,
// keeping the Service's cluster IP.
func (e *external) Update(ctx context.Context, cr *v1alpha1.DesktopService) (managed.ExternalUpdate, error) {
	wantSvc, wantNP := buildService(cr, e.namespace), buildPolicy(cr, e.namespace)
	svc, np := wantSvc.DeepCopy(), wantNP.DeepCopy()
	if _, err := target.Get(ctx, e.kube, svc); err != nil {
		return managed.ExternalUpdate{}, err
	}
	if err := target.Update(ctx, e.kube, svc, wantSvc, func() {
		svc.Spec.Selector = wantSvc.Spec.Selector
		svc.Spec.Ports = wantSvc.Spec.Ports
	}); err != nil {
		return managed.ExternalUpdate{}, err
	}
	if _, err := target.Get(ctx, e.kube, np); err != nil {
		return managed.ExternalUpdate{}, err
	}
	return managed.ExternalUpdate{}, target.Update(ctx, e.kube, np, wantNP, func() { np.Spec = wantNP.Spec })
}

// Delete deletes the Service and the NetworkPolicy.
func (e *external) Delete(ctx context.Context, cr *v1alpha1.DesktopService) (managed.ExternalDelete, error) {
	if err := target.Delete(ctx, e.kube, buildService(cr, e.namespace)); err != nil {
		return managed.ExternalDelete{}, err
	}
	return managed.ExternalDelete{}, target.Delete(ctx, e.kube, buildPolicy(cr, e.namespace))
}

// Disconnect does nothing: the target cluster's client is shared.
func (e *external) Disconnect(_ context.Context) error { return nil }
