//go:build e2e

package e2e

import (
	"context"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
)

// A tenant allowed to create managed resources and ProviderConfigs in their
// own namespace, trying to reach what is not theirs.

// tenantDesktop is a Desktop of namespace ns that uses the namespaced
// ProviderConfig pc.
func tenantDesktop(ns, name, pc string) *v1alpha1.Desktop {
	return &v1alpha1.Desktop{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.DesktopSpec{
			ManagedResourceSpec: xpv2.ManagedResourceSpec{ProviderConfigReference: &xpv2.ProviderConfigReference{Kind: v1alpha1.ProviderConfigKind, Name: pc}},
			ForProvider: v1alpha1.DesktopParameters{
				Owner: v1alpha1.Owner{Session: name, User: "mallory"},
				Image: "ghcr.io/selkies-project/nvidia-egl-desktop:24.04",
				Resources: v1alpha1.ComputeResources{
					CPU:    ptr.To(resource.MustParse("1")),
					Memory: ptr.To(resource.MustParse("1Gi")),
				},
			},
		},
	}
}

// tenantKubeconfig creates, in namespace ns, a Secret holding a kubeconfig
// of server whose user is user, and a ProviderConfig named name using it.
func tenantKubeconfig(t *testing.T, ns, name, server string, ca []byte, user *clientcmdapi.AuthInfo) {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["gpu"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	kc.AuthInfos["tenant"] = user
	kc.Contexts["gpu"] = &clientcmdapi.Context{Cluster: "gpu", AuthInfo: "tenant"}
	kc.CurrentContext = "gpu"
	b, err := clientcmd.Write(*kc)
	if err != nil {
		t.Fatal(err)
	}
	create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: map[string][]byte{"kubeconfig": b}})
	create(t, &v1alpha1.ProviderConfig{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.ProviderConfigSpec{Credentials: v1alpha1.ProviderCredentials{
			Source:    xpv2.CredentialsSourceSecret,
			SecretRef: &xpv2.SecretKeySelector{SecretReference: xpv2.SecretReference{Name: name}, Key: "kubeconfig"},
		}},
	})
}

func syncedOf(ctx context.Context, d *v1alpha1.Desktop) (xpv2.Condition, error) {
	err := kube.Get(ctx, client.ObjectKeyFromObject(d), d)
	return d.GetCondition(xpv2.TypeSynced), err
}

// TestTokenStealingKubeconfig: a tenant's kubeconfig whose tokenFile names a
// file the provider can read (standing in for its ServiceAccount token, which
// a provider in a cluster has at a well-known path) and whose server is the
// tenant's own TLS listener. The Desktop says why it is refused, and the
// listener is never sent anything, least of all the token.
func TestTokenStealingKubeconfig(t *testing.T) {
	ns := userNamespace(t, "thief")
	const providerToken = "provider-serviceaccount-token"
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(providerToken), 0o600); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		_, _ = w.Write([]byte(`{"major":"1","minor":"35"}`))
	}))
	defer srv.Close()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})

	tenantKubeconfig(t, ns, "stolen", srv.URL, ca, &clientcmdapi.AuthInfo{TokenFile: tokenFile})
	d := tenantDesktop(ns, "thief", "stolen")
	create(t, d)
	eventually(t, "the Desktop shows Synced=False naming the tokenFile", func(ctx context.Context) (bool, string) {
		s, err := syncedOf(ctx, d)
		return err == nil && s.Status == corev1.ConditionFalse && strings.Contains(s.Message, "tokenFile"), fmt.Sprintf("%s (%v)", s.Message, err)
	})
	mu.Lock()
	defer mu.Unlock()
	for _, r := range seen {
		if strings.Contains(r, providerToken) {
			t.Errorf("the tenant's listener was sent the provider's token: %q", r)
		}
	}
	if len(seen) != 0 {
		t.Errorf("the tenant's listener was sent requests: %q", seen)
	}
}

// TestBlackHoleCluster: a tenant's ProviderConfig names a cluster that
// accepts connections and never answers. A session on the local cluster,
// started while the provider is stuck dialling it, still goes to Running,
// and the black-hole Desktop says it cannot reach its cluster.
func TestBlackHoleCluster(t *testing.T) {
	ns := userNamespace(t, "hole")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	accepted := make(chan struct{}, 1)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			select {
			case accepted <- struct{}{}:
			default:
			}
		}
	}()
	defer func() {
		_ = l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	}()

	tenantKubeconfig(t, ns, "hole", "https://"+l.Addr().String(), nil, &clientcmdapi.AuthInfo{Token: "tenant-token"})
	stuck := tenantDesktop(ns, "stuck", "hole")
	create(t, stuck)
	select {
	case <-accepted:
	case <-time.After(90 * time.Second):
		t.Fatal("the provider never dialled the black-hole cluster")
	}

	// The provider gives up on the black hole after its 10s dial timeout; a
	// session on the local cluster must not wait for that.
	other := userNamespace(t, "hole-neighbour")
	create(t, session(other, "fine", "nina", "ubuntu-gpu", nil))
	eventually(t, "the neighbour's desktop Pod exists while the black-hole Desktop is still stuck", func(ctx context.Context) (bool, string) {
		if s, err := syncedOf(ctx, stuck); err == nil && s.Status == corev1.ConditionFalse {
			t.Fatalf("the black-hole Desktop failed (%s) before the neighbour's Pod was created: the neighbour waited for it", s.Message)
		}
		return exists(ctx, pod(other, "fine-desktop")), "no Pod yet"
	})
	waitPhase(t, other, "fine", "Running")
	eventually(t, "the black-hole Desktop shows Synced=False", func(ctx context.Context) (bool, string) {
		s, err := syncedOf(ctx, stuck)
		return err == nil && s.Status == corev1.ConditionFalse && strings.Contains(s.Message, "cannot reach target cluster"), fmt.Sprintf("%s (%v)", s.Message, err)
	})
}
