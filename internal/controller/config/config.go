// Package config reconciles ProviderConfigs and ClusterProviderConfigs: it
// counts their users and keeps one that is in use from being deleted.
package config

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/event"
	"github.com/crossplane/crossplane-runtime/v2/pkg/ratelimiter"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/providerconfig"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/clients/target/connection"
	"github.com/provider-vdi/provider-vdi/internal/controller/common"
)

// Setup adds the controllers of both ProviderConfig kinds.
func Setup(mgr ctrl.Manager, o controller.Options, _ *connection.Connector) error {
	for _, k := range []struct {
		groupKind string
		kind      string
		config    resource.ProviderConfigKinds
		object    resource.ProviderConfig
	}{
		{v1alpha1.ProviderConfigGroupKind, v1alpha1.ProviderConfigKind, kinds(v1alpha1.ProviderConfigGroupVersionKind), &v1alpha1.ProviderConfig{}},
		{v1alpha1.ClusterProviderConfigGroupKind, v1alpha1.ClusterProviderConfigKind, kinds(v1alpha1.ClusterProviderConfigGroupVersionKind), &v1alpha1.ClusterProviderConfig{}},
	} {
		name := providerconfig.ControllerName(k.groupKind)
		r := providerconfig.NewReconciler(mgr, k.config,
			providerconfig.WithLogger(o.Logger.WithValues("controller", name)),
			providerconfig.WithRecorder(event.NewAPIRecorder(mgr.GetEventRecorderFor(name)))) //nolint:staticcheck // crossplane-runtime's event package still takes the legacy recorder.
		if err := ctrl.NewControllerManagedBy(mgr).
			Named(name).
			WithOptions(common.ControllerOptions(o)).
			For(k.object).
			// Both kinds share one usage kind: each controller takes only
			// the usages of its own kind.
			Watches(&v1alpha1.ProviderConfigUsage{}, &resource.EnqueueRequestForProviderConfig{Kind: k.kind}).
			Complete(ratelimiter.NewReconciler(name, r, o.GlobalRateLimiter)); err != nil {
			return err
		}
	}
	return nil
}

// kinds are the kinds the ProviderConfig reconciler needs for config: both
// config kinds share one usage kind, since every managed resource is
// namespaced.
func kinds(config schema.GroupVersionKind) resource.ProviderConfigKinds {
	return resource.ProviderConfigKinds{
		Config:    config,
		Usage:     v1alpha1.ProviderConfigUsageGroupVersionKind,
		UsageList: v1alpha1.ProviderConfigUsageListGroupVersionKind,
	}
}
