package target_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/provider-vdi/provider-vdi/apis"
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

func TestOwner(t *testing.T) {
	s := runtime.NewScheme()
	if err := apis.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	// alice of team-a, externally named alice-7f3c, and bob of team-b.
	kube := fake.NewClientBuilder().WithScheme(s).WithObjects(
		targettest.Desktop(targettest.ExternalName("alice-7f3c")),
		targettest.Desktop(func(d *v1alpha1.Desktop) { d.SetNamespace("team-b"); d.SetName("bob") }, targettest.ExternalName("bob")),
	).Build()
	pod := func(ns, name, mr string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: map[string]string{v1alpha1.AnnotationManagedResource: mr}}}
	}
	alice := []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: "team-a", Name: "alice"}}}
	cases := map[string]struct {
		reason string
		o      client.Object
		want   []reconcile.Request
	}{
		"Own": {
			reason: "An object named by its managed resource's external name, in that resource's namespace, should map to the managed resource its annotation names.",
			o:      pod("team-a", "alice-7f3c", "team-a/alice"),
			want:   alice,
		},
		"SharedNamespace": {
			reason: "An object in a shared target namespace, named <external name>-<namespace>-<length>, should map to its managed resource.",
			o:      pod("desktops", "alice-7f3c-team-a-10", "team-a/alice"),
			want:   alice,
		},
		"NoSuchManagedResource": {
			reason: "An annotation naming a managed resource that does not exist should map to nothing, however many names a tenant writes.",
			o:      pod("team-a", "x", "team-a/x"),
		},
		"OtherNamesObject": {
			reason: "A tenant's object naming another namespace's managed resource, whose object it is not, should map to nothing.",
			o:      pod("team-c", "mine", "team-b/bob"),
		},
		"WrongName": {
			reason: "An object in the managed resource's namespace but not named as its object should map to nothing.",
			o:      pod("team-a", "alice", "team-a/alice"),
		},
		"NoAnnotation": {
			reason: "An object without the annotation should map to nothing.",
			o:      &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "alice-7f3c"}},
		},
		"NoSeparator": {
			reason: "An annotation without a namespace/name separator should map to nothing.",
			o:      pod("team-a", "alice-7f3c", "alice"),
		},
		"EmptyName": {
			reason: "An annotation with an empty name should map to nothing.",
			o:      pod("team-a", "alice-7f3c", "team-a/"),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := target.Owner(kube, v1alpha1.DesktopGroupVersionKind)(context.Background(), tc.o)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("\n%s\nOwner(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
