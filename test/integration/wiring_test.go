//go:build integration

package integration

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/test/poll"
)

// TestProviderConfigChangeReconcilesUsers changes the ProviderConfig a Ready
// DesktopService uses into one the provider refuses. The provider polls
// only every 10 minutes here, so the DesktopService shows Synced=False
// within the test only if the change of its config reconciles it.
func TestProviderConfigChangeReconcilesUsers(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t, "pc-change")
	pc := &v1alpha1.ProviderConfig{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "local"},
		Spec:       v1alpha1.ProviderConfigSpec{Credentials: v1alpha1.ProviderCredentials{Source: xpv2.CredentialsSourceInjectedIdentity}},
	}
	if err := kube.Create(ctx, pc); err != nil {
		t.Fatal(err)
	}
	svc := &v1alpha1.DesktopService{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "carol-dev"},
		Spec: v1alpha1.DesktopServiceSpec{
			ManagedResourceSpec: xpv2.ManagedResourceSpec{ProviderConfigReference: &xpv2.ProviderConfigReference{Kind: v1alpha1.ProviderConfigKind, Name: "local"}},
			ForProvider:         v1alpha1.DesktopServiceParameters{Owner: v1alpha1.Owner{Session: "carol-dev", User: "carol"}, DesktopName: "carol-dev"},
		},
	}
	if err := kube.Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "DesktopService is Ready", timeout, func(ctx context.Context) (bool, string, error) { return ready(ctx, svc) })

	edit(t, pc, func(pc *v1alpha1.ProviderConfig) { pc.Spec.TargetNamespace = "elsewhere" })
	poll.Until(t, "the changed ProviderConfig's user shows Synced=False", timeout, poll.SyncedFalse(kube, svc, "may only target its own namespace"))
}

// TestStateMetrics reads the provider's metrics: the managed resource state
// metrics (--poll-state-metric) must be recorded for each managed kind.
func TestStateMetrics(t *testing.T) {
	poll.Until(t, "state metrics of every managed kind are served", timeout, func(ctx context.Context) (bool, string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+prov.metrics+"/metrics", nil)
		if err != nil {
			return false, "", err
		}
		rsp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, err.Error(), nil
		}
		defer rsp.Body.Close() //nolint:errcheck // Read only.
		b, err := io.ReadAll(rsp.Body)
		if err != nil {
			return false, err.Error(), nil
		}
		for _, kind := range []string{v1alpha1.DesktopKind, v1alpha1.DesktopVolumeKind, v1alpha1.DesktopServiceKind, v1alpha1.DesktopRouteKind} {
			want := fmt.Sprintf(`crossplane_managed_resource_exists{gvk="%s"}`, v1alpha1.SchemeGroupVersion.WithKind(kind).String())
			if !strings.Contains(string(b), want) {
				return false, "no " + want, nil
			}
		}
		return true, "", nil
	})
}
