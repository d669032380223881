// Package controller wires every controller of provider-vdi into a manager.
package controller

import (
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"

	"github.com/provider-vdi/provider-vdi/internal/clients/target/connection"
	"github.com/provider-vdi/provider-vdi/internal/controller/config"
	"github.com/provider-vdi/provider-vdi/internal/controller/desktop"
	"github.com/provider-vdi/provider-vdi/internal/controller/route"
	"github.com/provider-vdi/provider-vdi/internal/controller/service"
	"github.com/provider-vdi/provider-vdi/internal/controller/volume"
)

// Setup adds every controller of the provider to mgr. All of them reach
// target clusters through c, which caches one client per credential set;
// desktops may have at most b.
func Setup(mgr ctrl.Manager, o controller.Options, c *connection.Connector, b desktop.Bounds) error {
	for _, setup := range []func(ctrl.Manager, controller.Options, *connection.Connector) error{
		config.Setup,
		desktop.SetupWithBounds(b),
		volume.Setup,
		service.Setup,
		route.Setup,
	} {
		if err := setup(mgr, o, c); err != nil {
			return err
		}
	}
	return nil
}
