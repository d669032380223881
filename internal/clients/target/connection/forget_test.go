package connection

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/rest"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/clients/target/targettest"
)

// TestRotatedKubeconfigStopsOldWatch rotates the kubeconfig of a config and
// checks that the old cluster's watch stops, unless another config still
// uses the old kubeconfig, and that a stopped manager stops every watch.
func TestRotatedKubeconfigStopsOldWatch(t *testing.T) {
	type want struct {
		// stopped says, per watch started, whether it has been stopped.
		stopped []bool
		hosts   []string
	}
	cases := map[string]struct {
		reason string
		// also connects a second config that uses the first kubeconfig too.
		shared bool
		want   want
	}{
		"Rotated": {
			reason: "A config whose kubeconfig changed should get a new client and watch, and the old watch should stop.",
			want:   want{stopped: []bool{true, false}, hosts: []string{"https://old.example", "https://new.example"}},
		},
		"StillUsed": {
			reason: "A kubeconfig that another config still uses should keep its watch when one config moves away from it.",
			shared: true,
			want:   want{stopped: []bool{false, false}, hosts: []string{"https://old.example", "https://new.example"}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			old := tenantKubeconfig("https://old.example", nil, []string{"token: t"})
			kube := kube(t,
				clusterProviderConfig("gpu", withSecretRef("crossplane-system", "gpu", "kubeconfig")),
				clusterProviderConfig("other", withSecretRef("crossplane-system", "other", "kubeconfig")),
				secret("crossplane-system", "gpu", map[string][]byte{"kubeconfig": old}),
				secret("crossplane-system", "other", map[string][]byte{"kubeconfig": old}),
			)
			r := &recorder{}
			c := NewConnector(kube, &rest.Config{}, WithNewClientFn(r.newFn), WithWatchFn(r.watchFn))
			mustConnect := func(name, config string) {
				t.Helper()
				if _, err := tryConnect(t, c, targettest.Desktop(targettest.Named(name), withUID(name), usingConfig(v1alpha1.ClusterProviderConfigKind, config))); err != nil {
					t.Fatalf("Connect(%s): %v", name, err)
				}
			}
			mustConnect("a", "gpu")
			if tc.shared {
				mustConnect("b", "other")
			}
			s := secret("crossplane-system", "gpu", map[string][]byte{"kubeconfig": tenantKubeconfig("https://new.example", nil, []string{"token: t"})})
			if err := kube.Update(context.Background(), s); err != nil {
				t.Fatal(err)
			}
			mustConnect("a", "gpu")

			if diff := cmp.Diff(tc.want.hosts, r.watchHost); diff != "" {
				t.Errorf("\n%s\nwatches started: -want, +got:\n%s", tc.reason, diff)
			}
			stopped := make([]bool, len(r.stopped))
			for i, ctx := range r.stopped {
				stopped[i] = ctx.Err() != nil
			}
			if diff := cmp.Diff(tc.want.stopped, stopped); diff != "" {
				t.Errorf("\n%s\nwatches stopped: -want, +got:\n%s", tc.reason, diff)
			}

			// The manager stopping stops every watch.
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error)
			go func() { done <- c.Start(ctx) }()
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Start(...): %v", err)
			}
			for i, ctx := range r.stopped {
				if ctx.Err() == nil {
					t.Errorf("\n%s\nwatch %d still runs after the manager stopped", tc.reason, i)
				}
			}
		})
	}
}
