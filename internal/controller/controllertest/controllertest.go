// Package controllertest holds what the tests of the provider's controller
// setup share: a manager that is never started and the options a provider
// passes its controllers.
package controllertest

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	"github.com/crossplane/crossplane-runtime/v2/pkg/ratelimiter"

	"github.com/provider-vdi/provider-vdi/apis"
)

// Scheme returns a scheme that knows Kubernetes' own kinds and every kind
// of the provider.
func Scheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := apis.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

// Manager returns a manager of scheme s that is never started: setting
// controllers up only registers them and their runnables with it. It
// reaches no API server and serves no metrics.
func Manager(t *testing.T, s *runtime.Scheme) ctrl.Manager {
	t.Helper()
	mgr, err := ctrl.NewManager(&rest.Config{Host: "https://127.0.0.1:1"}, ctrl.Options{
		Scheme:  s,
		Metrics: metricsserver.Options{BindAddress: "0"},
		// Tests set up controllers of the same names again and again.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return mgr
}

// Options returns the provider's default controller options, logging
// nothing and held to a global rate of one reconcile a second.
func Options() controller.Options {
	o := controller.DefaultOptions()
	o.Logger = logging.NewNopLogger()
	o.GlobalRateLimiter = ratelimiter.NewGlobal(1)
	return o
}
