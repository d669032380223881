package target_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/clients/target"
	"github.com/provider-vdi/provider-vdi/internal/clients/target/targettest"
)

func TestClusterNamespace(t *testing.T) {
	cases := map[string]struct {
		reason    string
		namespace string
		mg        *v1alpha1.Desktop
		want      string
	}{
		"TargetNamespace": {
			reason:    "A Cluster whose config sets a target namespace should put every object there.",
			namespace: "desktops",
			mg:        targettest.Desktop(),
			want:      "desktops",
		},
		"ManagedResourceNamespace": {
			reason: "A Cluster without a target namespace should put objects in the managed resource's namespace.",
			mg:     targettest.Desktop(),
			want:   "team-a",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := target.NewCluster(nil, tc.namespace)
			if diff := cmp.Diff(tc.want, c.Namespace(tc.mg)); diff != "" {
				t.Errorf("\n%s\nNamespace(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestScheme(t *testing.T) {
	cases := map[string]struct {
		reason string
		o      client.Object
		want   schema.GroupVersionKind
	}{
		"Pod": {
			reason: "The scheme should know desktop Pods.",
			o:      &corev1.Pod{},
			want:   corev1.SchemeGroupVersion.WithKind("Pod"),
		},
		"Secret": {
			reason: "The scheme should know credentials Secrets.",
			o:      &corev1.Secret{},
			want:   corev1.SchemeGroupVersion.WithKind("Secret"),
		},
		"NetworkPolicy": {
			reason: "The scheme should know the NetworkPolicies of desktop Services.",
			o:      &networkingv1.NetworkPolicy{},
			want:   networkingv1.SchemeGroupVersion.WithKind("NetworkPolicy"),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			gvks, _, err := target.Scheme().ObjectKinds(tc.o)
			if err != nil {
				t.Fatalf("\n%s\nObjectKinds(...): %v", tc.reason, err)
			}
			if diff := cmp.Diff([]schema.GroupVersionKind{tc.want}, gvks); diff != "" {
				t.Errorf("\n%s\ntarget.Scheme().ObjectKinds(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
