package desktop

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/clients/target"
)

// defaultIngressNamespace is where the ingress controller runs unless the
// Desktop says otherwise; the CRD defaults to the same.
const defaultIngressNamespace = "traefik"

// dnsEgress lets a desktop resolve names through the cluster's DNS, the
// kube-dns Pods of kube-system (CoreDNS keeps that label).
var dnsEgress = networkingv1.NetworkPolicyEgressRule{
	To: []networkingv1.NetworkPolicyPeer{{
		NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: "kube-system"}},
		PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"k8s-app": "kube-dns"}},
	}},
	Ports: []networkingv1.NetworkPolicyPort{
		{Protocol: ptr.To(corev1.ProtocolUDP), Port: ptr.To(intstr.FromInt32(53))},
		{Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(intstr.FromInt32(53))},
	},
}

// buildPolicy returns the desired NetworkPolicy of cr's desktop in
// namespace ns, named like its Pod. Ingress: only Pods of the ingress
// controller's namespace, only on the gate's port: the desktop's own port
// is reached only through the gate, on the Pod's loopback. Egress: only the
// cluster's DNS and what cr allows; none else, so that a desktop reaches
// neither the API server, nor the cloud's metadata service, nor other Pods.
func buildPolicy(cr *v1alpha1.Desktop, ns string) *networkingv1.NetworkPolicy {
	p := cr.Spec.ForProvider
	om := target.ObjectMeta(cr, ns, target.ComponentDesktop, p.Owner)
	ingressNS := p.Network.IngressNamespace
	if ingressNS == "" {
		ingressNS = defaultIngressNamespace
	}
	egress := make([]networkingv1.NetworkPolicyEgressRule, 0, 1+len(p.Network.Egress))
	egress = append(egress, *dnsEgress.DeepCopy())
	for _, r := range p.Network.Egress {
		r = *r.DeepCopy()
		for i := range r.Ports {
			// The API server defaults a port's protocol to TCP; do the
			// same so that the policy compares equal to what it stores.
			if r.Ports[i].Protocol == nil {
				r.Ports[i].Protocol = ptr.To(corev1.ProtocolTCP)
			}
		}
		egress = append(egress, r)
	}
	return &networkingv1.NetworkPolicy{
		ObjectMeta: om,
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{v1alpha1.LabelDesktop: om.Name}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From: []networkingv1.NetworkPolicyPeer{{
					NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: ingressNS}},
				}},
				Ports: []networkingv1.NetworkPolicyPort{{
					Protocol: ptr.To(corev1.ProtocolTCP),
					Port:     ptr.To(intstr.FromInt32(v1alpha1.GatePort)),
				}},
			}},
			Egress: egress,
		},
	}
}

// policyCurrent reports whether actual, the policy read from the cluster,
// still says what desired says. It compares the specs themselves, not a
// hash of what the provider once wrote, so that any edit shows as drift.
func policyCurrent(actual, desired *networkingv1.NetworkPolicy) bool {
	return actual.DeletionTimestamp == nil && equality.Semantic.DeepEqual(actual.Spec, desired.Spec)
}
