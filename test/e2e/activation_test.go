//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/provider-vdi/provider-vdi/test/poll"
)

// TestActivationPolicy holds that provider-vdi's kinds exist because of its
// own activation policy: the provider is safe-start, so its MRDs start
// inactive, and the environment's Crossplane has no other policy. Every
// other test's sessions then show the kinds working.
func TestActivationPolicy(t *testing.T) {
	ctx := context.Background()
	want := []string{
		"desktoproutes.vdi.m.kasm.io",
		"desktops.vdi.m.kasm.io",
		"desktopservices.vdi.m.kasm.io",
		"desktopvolumes.vdi.m.kasm.io",
		"vditemplates.vdi.kasm.io",
	}

	policies := &unstructured.UnstructuredList{}
	policies.SetAPIVersion("apiextensions.crossplane.io/v1alpha1")
	policies.SetKind("ManagedResourceActivationPolicyList")
	if err := kube.List(ctx, policies); err != nil {
		t.Fatalf("cannot list activation policies: %v", err)
	}
	var names []string
	for _, p := range policies.Items {
		names = append(names, p.GetName())
	}
	if !slices.Equal(names, []string{"provider-vdi"}) {
		t.Fatalf("activation policies: want only provider-vdi's, got %v", names)
	}

	poll.Until(t, "provider-vdi's policy has activated its five MRDs", timeout, func(ctx context.Context) (bool, string, error) {
		p := &unstructured.Unstructured{}
		p.SetAPIVersion("apiextensions.crossplane.io/v1alpha1")
		p.SetKind("ManagedResourceActivationPolicy")
		if err := kube.Get(ctx, client.ObjectKey{Name: "provider-vdi"}, p); err != nil {
			return false, err.Error(), nil
		}
		got, _, _ := unstructured.NestedStringSlice(p.Object, "status", "activated")
		slices.Sort(got)
		return slices.Equal(got, want), fmt.Sprintf("activated %v", got), nil
	})
	for _, name := range want {
		mrd := &unstructured.Unstructured{}
		mrd.SetAPIVersion("apiextensions.crossplane.io/v1alpha1")
		mrd.SetKind("ManagedResourceDefinition")
		if err := kube.Get(ctx, client.ObjectKey{Name: name}, mrd); err != nil {
			t.Errorf("cannot get ManagedResourceDefinition %q: %v", name, err)
			continue
		}
		if state, _, _ := unstructured.NestedString(mrd.Object, "spec", "state"); state != "Active" {
			t.Errorf("ManagedResourceDefinition %q: want state Active, got %q", name, state)
		}
	}
}
