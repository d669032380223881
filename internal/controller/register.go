// Package controller wires every controller of provider-vdi into a manager.
package controller

import (
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/clients/target/connection"
	"github.com/provider-vdi/provider-vdi/internal/controller/config"
	"github.com/provider-vdi/provider-vdi/internal/controller/desktop"
	"github.com/provider-vdi/provider-vdi/internal/controller/route"
	"github.com/provider-vdi/provider-vdi/internal/controller/service"
	"github.com/provider-vdi/provider-vdi/internal/controller/volume"
)

// A kind is the controller of one managed kind, and the kind.
type kind struct {
	setup func(ctrl.Manager, controller.Options, *connection.Connector) error
	gvk   schema.GroupVersionKind
}

// Options are what the managed kinds' controllers are run with, set by the
// platform with the provider's flags.
type Options struct {
	// Desktop are the Desktops' bounds and gate.
	Desktop desktop.Options
	// MaxHomeSize is the largest home volume the provider makes; zero sets
	// no limit.
	MaxHomeSize resource.Quantity
}

// managedKinds are the controllers of the managed kinds, run with mo.
func managedKinds(mo Options) []kind {
	return []kind{
		{desktop.Setup(mo.Desktop), v1alpha1.DesktopGroupVersionKind},
		{volume.Setup(mo.MaxHomeSize), v1alpha1.DesktopVolumeGroupVersionKind},
		{service.Setup, v1alpha1.DesktopServiceGroupVersionKind},
		{route.Setup, v1alpha1.DesktopRouteGroupVersionKind},
	}
}

// Setup adds every controller of the provider to mgr. All of them reach
// target clusters through c, which caches one client per credential set;
// the managed kinds are reconciled with mo.
func Setup(mgr ctrl.Manager, o controller.Options, c *connection.Connector, mo Options) error {
	if err := config.Setup(mgr, o, c); err != nil {
		return err
	}
	for _, k := range managedKinds(mo) {
		if err := k.setup(mgr, o, c); err != nil {
			return err
		}
	}
	return nil
}

// SetupGated adds the ProviderConfig controllers to mgr at once, and the
// controller of each managed kind once o.Gate says the kind is served: with
// the safe-start capability, Crossplane creates a managed kind's CRD only
// when a ManagedResourceActivationPolicy activates it, and a controller of a
// kind that is not served cannot start. The ProviderConfig kinds are not
// managed resources and are always installed.
func SetupGated(mgr ctrl.Manager, o controller.Options, c *connection.Connector, mo Options) error {
	if o.Gate == nil {
		return errors.New("SetupGated needs a gate in the controller options")
	}
	if err := config.Setup(mgr, o, c); err != nil {
		return err
	}
	for _, k := range managedKinds(mo) {
		o.Gate.Register(func() {
			if err := k.setup(mgr, o, c); err != nil {
				// As provider-template does: a controller that cannot be
				// set up is a programming error, and the gate has no
				// caller to return it to.
				panic(errors.Wrapf(err, "cannot set up the controller of %s", k.gvk.Kind))
			}
		}, k.gvk)
	}
	return nil
}
