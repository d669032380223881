package desktop

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
)

func withNetwork(n v1alpha1.DesktopNetwork) func(*v1alpha1.Desktop) {
	return func(d *v1alpha1.Desktop) { d.Spec.ForProvider.Network = n }
}

func TestBuildPolicy(t *testing.T) {
	ingressFrom := func(ns string, port int32) []networkingv1.NetworkPolicyIngressRule {
		return []networkingv1.NetworkPolicyIngressRule{{
			From:  []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: ns}}}},
			Ports: []networkingv1.NetworkPolicyPort{{Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(intstr.FromInt32(port))}},
		}}
	}
	proxy := networkingv1.NetworkPolicyEgressRule{
		To:    []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "192.0.2.10/32"}}},
		Ports: []networkingv1.NetworkPolicyPort{{Port: ptr.To(intstr.FromInt32(3128))}},
	}
	proxyTCP := *proxy.DeepCopy()
	proxyTCP.Ports[0].Protocol = ptr.To(corev1.ProtocolTCP)

	cases := map[string]struct {
		reason string
		cr     *v1alpha1.Desktop
		ns     string
		want   networkingv1.NetworkPolicySpec
	}{
		"Default": {
			reason: "A desktop should admit only the traefik namespace, only on the gate's port 8090 (never the desktop's own), and reach only the cluster's DNS.",
			cr:     desktop(),
			ns:     "team-a",
			want: networkingv1.NetworkPolicySpec{
				PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{v1alpha1.LabelDesktop: "alice-desktop"}},
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
				Ingress:     ingressFrom("traefik", 8090),
				Egress:      []networkingv1.NetworkPolicyEgressRule{dnsEgress},
			},
		},
		"EgressAndIngressNamespace": {
			reason: "A desktop's allowed egress should follow DNS, with the port protocol the API server would default, and its ingress namespace be used, on the gate's port whatever the desktop's; in a shared namespace it selects the desktop by its qualified name.",
			cr:     desktop(withPort(3000), withNetwork(v1alpha1.DesktopNetwork{IngressNamespace: "ingress-nginx", Egress: []networkingv1.NetworkPolicyEgressRule{proxy}})),
			ns:     "shared",
			want: networkingv1.NetworkPolicySpec{
				PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{v1alpha1.LabelDesktop: "alice-desktop-team-a-13"}},
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
				Ingress:     ingressFrom("ingress-nginx", 8090),
				Egress:      []networkingv1.NetworkPolicyEgressRule{dnsEgress, proxyTCP},
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := buildPolicy(tc.cr, tc.ns)
			if diff := cmp.Diff(tc.want, got.Spec); diff != "" {
				t.Errorf("\n%s\nbuildPolicy(...): -want spec, +got spec:\n%s", tc.reason, diff)
			}
			if got.Name != buildPod(tc.cr, tc.ns, testGate).Name {
				t.Errorf("\n%s\nbuildPolicy(...): want the policy named like the Pod %q, got %q", tc.reason, buildPod(tc.cr, tc.ns, testGate).Name, got.Name)
			}
			if tc.cr.Spec.ForProvider.Network.Egress != nil && tc.cr.Spec.ForProvider.Network.Egress[0].Ports[0].Protocol != nil {
				t.Errorf("\n%s\nbuildPolicy(...): must not modify the Desktop's spec", tc.reason)
			}
		})
	}
}
