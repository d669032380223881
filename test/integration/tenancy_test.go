//go:build integration

package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/clients/target/targettest"
	"github.com/provider-vdi/provider-vdi/test/poll"
)

// verifiedKubeconfig returns the control plane's admin kubeconfig with its
// token inline and the API server's certificate as its CA, as a tenant's
// kubeconfig must be.
func verifiedKubeconfig(t *testing.T) []byte {
	t.Helper()
	kc, err := clientcmd.LoadFromFile(cp.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := os.ReadFile(filepath.Join(cpDir, "pki", "apiserver.crt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range kc.Clusters {
		c.InsecureSkipTLSVerify = false
		c.CertificateAuthorityData = ca
	}
	b, err := clientcmd.Write(*kc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tenantConfig creates, in namespace ns, a kubeconfig Secret and a
// ProviderConfig named name that uses it and targets namespace target.
func tenantConfig(t *testing.T, ns, name, target string, kubeconfig []byte) {
	t.Helper()
	secret, pc := targettest.TenantConfig(ns, name, target, kubeconfig)
	for _, o := range []client.Object{secret, pc} {
		if err := kube.Create(context.Background(), o); err != nil {
			t.Fatal(err)
		}
	}
}

func usingProviderConfig(d *v1alpha1.Desktop, name string) *v1alpha1.Desktop {
	d.Spec.ProviderConfigReference = &xpv2.ProviderConfigReference{Kind: v1alpha1.ProviderConfigKind, Name: name}
	return d
}

// TestTenantKubeconfigCannotBorrowProviderToken gives a tenant's
// ProviderConfig a kubeconfig whose tokenFile names a file the provider
// process can read (standing in for its ServiceAccount token) and whose
// server is a TLS listener of the tenant's on loopback. The Desktop must
// show Synced=False saying why, and the listener must never be sent the
// token, nor anything at all.
func TestTenantKubeconfigCannotBorrowProviderToken(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t, "token-thief")
	const providerToken = "provider-serviceaccount-token"
	tokenFile := targettest.TokenFile(t, providerToken)
	srv := targettest.NewServer(t)
	tenantConfig(t, ns, "stolen", "", targettest.Kubeconfig(t, srv.URL, srv.CAPEM(), &clientcmdapi.AuthInfo{TokenFile: tokenFile}))
	d := usingProviderConfig(desktop(ns, "thief", "ghcr.io/selkies-project/nvidia-egl-desktop:24.04"), "stolen")
	if err := kube.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "Desktop shows Synced=False naming the tokenFile", timeout, poll.SyncedFalse(kube, d, `sets tokenFile, which reads a file of the provider's`))
	seen := srv.Authorizations()
	if len(seen) != 0 {
		t.Errorf("the tenant's listener was sent requests, with Authorization headers %q", seen)
	}
	for _, r := range seen {
		if strings.Contains(r, providerToken) {
			t.Errorf("the tenant's listener was sent the provider's token: %q", r)
		}
	}
}

// TestBlackHoleClusterDoesNotStallOthers gives a tenant a ProviderConfig
// whose cluster accepts connections and never answers. A Desktop on it
// shows Synced=False saying the cluster cannot be reached; a Desktop on the
// local cluster, created while the first is stuck, gets its Pod before
// that.
func TestBlackHoleClusterDoesNotStallOthers(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t, "black-hole")
	hole := targettest.NewBlackHole(t)

	tenantConfig(t, ns, "hole", "", targettest.Kubeconfig(t, hole.URL(), nil, &clientcmdapi.AuthInfo{Token: "tenant-token"}))
	stuck := usingProviderConfig(desktop(ns, "stuck", "ghcr.io/selkies-project/nvidia-egl-desktop:24.04"), "hole")
	if err := kube.Create(ctx, stuck); err != nil {
		t.Fatal(err)
	}
	select {
	case <-hole.Accepted:
	case <-time.After(timeout):
		t.Fatal("the provider never dialled the black-hole cluster")
	}

	fine := desktop(ns, "fine", "ghcr.io/selkies-project/nvidia-egl-desktop:24.04")
	if err := kube.Create(ctx, fine); err != nil {
		t.Fatal(err)
	}
	// The provider gives up on the black hole after its 10s dial timeout;
	// the local Desktop's Pod takes well under a second, and must not wait
	// for that.
	poll.Until(t, "the local Desktop's Pod is created while the black-hole Desktop is stuck", timeout, func(ctx context.Context) (bool, string, error) {
		if failed, said, _ := poll.SyncedFalse(kube, stuck, "")(ctx); failed {
			return false, "", fmt.Errorf("the black-hole Desktop failed (%s) before the local Desktop's Pod was created: the local Desktop waited for it", said)
		}
		_, err := getPod(ctx, ns, "fine")
		return err == nil, fmt.Sprint(err), nil
	})
	poll.Until(t, "the black-hole Desktop shows Synced=False", timeout, poll.SyncedFalse(kube, stuck, `cannot reach target cluster "`+hole.URL()+`"`))
	if !prov.running() {
		t.Errorf("the provider exited")
	}
}
