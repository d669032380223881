package controller

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/clients/target/connection"
	"github.com/provider-vdi/provider-vdi/internal/controller/controllertest"
	"github.com/provider-vdi/provider-vdi/internal/controller/desktop"
	"github.com/provider-vdi/provider-vdi/internal/controller/volume"
)

// gate records what is registered with it.
type gate struct {
	gvks      []schema.GroupVersionKind
	callbacks []func()
}

func (g *gate) Register(fn func(), gvks ...schema.GroupVersionKind) {
	g.gvks = append(g.gvks, gvks...)
	g.callbacks = append(g.callbacks, fn)
}

func (g *gate) Set(schema.GroupVersionKind, bool) bool { return false }

func TestSetupGated(t *testing.T) {
	mgr := controllertest.Manager(t, controllertest.Scheme(t))
	g := &gate{}
	o := controllertest.Options()
	o.Gate = g
	conn := connection.NewConnector(mgr.GetClient(), &rest.Config{})
	if err := SetupGated(mgr, o, conn, Options{Desktop: desktop.Options{Bounds: desktop.DefaultBounds}, MaxHomeSize: volume.DefaultMaxSize}); err != nil {
		t.Fatalf("SetupGated(...): %v", err)
	}
	want := []schema.GroupVersionKind{
		v1alpha1.DesktopGroupVersionKind, v1alpha1.DesktopVolumeGroupVersionKind,
		v1alpha1.DesktopServiceGroupVersionKind, v1alpha1.DesktopRouteGroupVersionKind,
	}
	less := func(a, b schema.GroupVersionKind) bool { return a.String() < b.String() }
	if diff := cmp.Diff(want, g.gvks, cmpopts.SortSlices(less)); diff != "" {
		t.Errorf("\nSetupGated should gate the controller of every managed kind, each on its own kind:\n-want, +got:\n%s", diff)
	}
	// Opening the gate sets each controller up; one that could not be set
	// up would panic.
	for _, fn := range g.callbacks {
		fn()
	}

	o.Gate = nil
	if err := SetupGated(mgr, o, conn, Options{Desktop: desktop.Options{Bounds: desktop.DefaultBounds}, MaxHomeSize: volume.DefaultMaxSize}); err == nil {
		t.Errorf("\nSetupGated without a gate should be an error, not start ungated controllers:\nSetupGated(...): want error, got none")
	}
}
