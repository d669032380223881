package function

import (
	"time"

	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	fnresource "github.com/crossplane/function-sdk-go/resource"
	"github.com/crossplane/function-sdk-go/resource/composed"
)

// TestToStruct holds toStruct equal to the SDK's composed.From and
// resource.AsStruct for every managed resource the function composes.
func TestToStruct(t *testing.T) {
	full := func(mods ...func(*Session)) *plan {
		p, errs := validate(session(mods...), template(), input())
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		return p
	}
	cases := map[string]struct {
		reason string
		o      runtime.Object
	}{
		"Desktop":         {reason: "A GPU desktop with home, env, tolerations and node selector.", o: desktop(full(), created.Add(8*time.Hour))},
		"DesktopNoGPU":    {reason: "A desktop without GPU or home.", o: desktop(full(withGPU(0), withPersistence(Persistence{Enabled: ptr.To(false)})), created)},
		"DesktopVolume":   {reason: "A retained volume with management policies.", o: home(full(withPersistence(Persistence{RetainOnDelete: true})))},
		"DesktopService":  {reason: "A service.", o: service(full())},
		"DesktopRoute":    {reason: "A route with TLS and entry points.", o: route(full())},
		"EmptyDesktopRef": {reason: "A desktop without provider config.", o: desktop(&plan{session: session(), template: template(), input: &inputNoRef}, created)},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			cd, err := composed.From(tc.o)
			if err != nil {
				t.Fatal(err)
			}
			delete(cd.Object, "status")
			want, err := fnresource.AsStruct(cd)
			if err != nil {
				t.Fatal(err)
			}
			got, err := toStruct(tc.o)
			if err != nil {
				t.Fatalf("\n%s\ntoStruct(...): unexpected error: %v", tc.reason, err)
			}
			delete(got.Fields, "status")
			if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
				t.Errorf("\n%s\ntoStruct(...): -want (composed.From), +got:\n%s", tc.reason, diff)
			}
		})
	}
}

var inputNoRef = *input()

func init() { inputNoRef.ProviderConfigRef = nil }
