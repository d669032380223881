package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"

	"github.com/provider-vdi/provider-vdi/apis"
	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/controller/controllertest"
)

func TestKinds(t *testing.T) {
	cases := map[string]struct {
		reason string
		config resource.ProviderConfigKinds
		want   resource.ProviderConfigKinds
	}{
		"ProviderConfig": {
			reason: "A ProviderConfig's usages should be the shared ProviderConfigUsage kind.",
			config: kinds(v1alpha1.ProviderConfigGroupVersionKind),
			want: resource.ProviderConfigKinds{
				Config:    v1alpha1.ProviderConfigGroupVersionKind,
				Usage:     v1alpha1.ProviderConfigUsageGroupVersionKind,
				UsageList: v1alpha1.ProviderConfigUsageListGroupVersionKind,
			},
		},
		"ClusterProviderConfig": {
			reason: "A ClusterProviderConfig's usages should be the same namespaced ProviderConfigUsage kind, since every managed resource is namespaced.",
			config: kinds(v1alpha1.ClusterProviderConfigGroupVersionKind),
			want: resource.ProviderConfigKinds{
				Config:    v1alpha1.ClusterProviderConfigGroupVersionKind,
				Usage:     v1alpha1.ProviderConfigUsageGroupVersionKind,
				UsageList: v1alpha1.ProviderConfigUsageListGroupVersionKind,
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.config); diff != "" {
				t.Errorf("\n%s\nkinds(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestSetup(t *testing.T) {
	cases := map[string]struct {
		reason  string
		scheme  func() *runtime.Scheme
		wantErr bool
	}{
		"BothKinds": {
			reason: "The controllers of both config kinds should be set up with a scheme that knows them.",
			scheme: func() *runtime.Scheme {
				s := runtime.NewScheme()
				_ = apis.AddToScheme(s)
				return s
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := Setup(controllertest.Manager(t, tc.scheme()), controllertest.Options(), nil)
			if (err != nil) != tc.wantErr {
				t.Errorf("\n%s\nSetup(...): want error %v, got %v", tc.reason, tc.wantErr, err)
			}
		})
	}
}
