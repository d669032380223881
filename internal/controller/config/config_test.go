package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	"github.com/crossplane/crossplane-runtime/v2/pkg/ratelimiter"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"

	"github.com/provider-vdi/provider-vdi/apis"
	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
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
			mgr, err := ctrl.NewManager(&rest.Config{Host: "https://127.0.0.1:1"}, ctrl.Options{
				Scheme:     tc.scheme(),
				Metrics:    metricsserver.Options{BindAddress: "0"},
				Controller: ctrlconfig.Controller{SkipNameValidation: ptr.To(true)},
			})
			if err != nil {
				t.Fatal(err)
			}
			o := controller.DefaultOptions()
			o.Logger = logging.NewNopLogger()
			o.GlobalRateLimiter = ratelimiter.NewGlobal(1)
			err = Setup(mgr, o, nil)
			if (err != nil) != tc.wantErr {
				t.Errorf("\n%s\nSetup(...): want error %v, got %v", tc.reason, tc.wantErr, err)
			}
		})
	}
}
