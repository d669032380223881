//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/clients/target/targettest"
)

// tenantDesktop creates, in namespace ns, a kubeconfig Secret and a
// ProviderConfig named config that uses it, as a tenant allowed to run
// desktops on their own cluster would, and a Desktop named name on it.
func tenantDesktop(t *testing.T, ns, config, name string, kubeconfig []byte) *v1alpha1.Desktop {
	t.Helper()
	create(t, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: config},
		Data:       map[string][]byte{"kubeconfig": kubeconfig},
	})
	create(t, &v1alpha1.ProviderConfig{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: config},
		Spec: v1alpha1.ProviderConfigSpec{Credentials: v1alpha1.ProviderCredentials{
			Source:    xpv2.CredentialsSourceSecret,
			SecretRef: &xpv2.SecretKeySelector{SecretReference: xpv2.SecretReference{Name: config}, Key: "kubeconfig"},
		}},
	})
	d := &v1alpha1.Desktop{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.DesktopSpec{
			ManagedResourceSpec: xpv2.ManagedResourceSpec{
				ProviderConfigReference: &xpv2.ProviderConfigReference{Kind: v1alpha1.ProviderConfigKind, Name: config},
			},
			ForProvider: v1alpha1.DesktopParameters{
				Owner: v1alpha1.Owner{Session: name, User: ns},
				Image: "ghcr.io/selkies-project/nvidia-egl-desktop:24.04",
				Port:  8080,
				Resources: v1alpha1.ComputeResources{
					CPU:    ptr.To(resource.MustParse("1")),
					Memory: ptr.To(resource.MustParse("1Gi")),
				},
				URL: "https://" + name + ".vdi.example.org/",
			},
		},
	}
	create(t, d)
	return d
}

// syncedFalse reports whether d is Synced=False with a message containing
// want, and its Synced message.
func syncedFalse(ctx context.Context, d *v1alpha1.Desktop, want string) (bool, string) {
	if err := kube.Get(ctx, client.ObjectKeyFromObject(d), d); err != nil {
		return false, err.Error()
	}
	s := d.GetCondition(xpv2.TypeSynced)
	return s.Status == corev1.ConditionFalse && strings.Contains(s.Message, want), fmt.Sprintf("%s: %s", s.Status, s.Message)
}

// TestTenantKubeconfigCannotBorrowProviderToken: a tenant's kubeconfig
// whose tokenFile names a file the provider can read (standing in for its
// ServiceAccount token), aimed at a TLS listener of the tenant's on
// loopback, is refused with Synced=False; the listener is sent nothing.
func TestTenantKubeconfigCannotBorrowProviderToken(t *testing.T) {
	ns := userNamespace(t, "mallory")
	const providerToken = "provider-serviceaccount-token"
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(providerToken), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := targettest.NewServer(t)
	d := tenantDesktop(t, ns, "stolen", "thief", targettest.Kubeconfig(t, srv.URL, srv.CAPEM(), &clientcmdapi.AuthInfo{TokenFile: tokenFile}))
	eventually(t, "the Desktop shows Synced=False naming the tokenFile", func(ctx context.Context) (bool, string) {
		return syncedFalse(ctx, d, `sets tokenFile, which reads a file of the provider's`)
	})
	if seen := srv.Authorizations(); len(seen) != 0 {
		t.Errorf("the tenant's listener was sent requests, with Authorization headers %q", seen)
	}
}

// TestBlackHoleClusterDoesNotStallSessions: while the provider is stuck
// dialling a tenant's cluster that accepts connections and never answers,
// another user's session still gets its desktop Pod; the stuck Desktop then
// shows Synced=False saying the cluster cannot be reached.
func TestBlackHoleClusterDoesNotStallSessions(t *testing.T) {
	hole := targettest.NewBlackHole(t)
	stuck := tenantDesktop(t, userNamespace(t, "trudy"), "hole", "stuck", targettest.Kubeconfig(t, hole.URL(), nil, &clientcmdapi.AuthInfo{Token: "tenant-token"}))
	select {
	case <-hole.Accepted:
	case <-time.After(3 * time.Minute):
		t.Fatal("the provider never dialled the black-hole cluster")
	}

	// The provider gives up on the black hole after its 10s dial timeout;
	// a session's desktop Pod takes a few seconds, and must not wait for
	// that.
	ns := userNamespace(t, "victor")
	create(t, session(ns, "dev", "victor", "ubuntu-gpu", nil))
	eventually(t, "the other session's desktop Pod is created while the black-hole Desktop is stuck", func(ctx context.Context) (bool, string) {
		if failed, msg := syncedFalse(ctx, stuck, ""); failed {
			t.Fatalf("the black-hole Desktop failed (%s) before the other session's Pod was created: the session waited for it", msg)
		}
		pods := &corev1.PodList{}
		if err := kube.List(ctx, pods, client.InNamespace(ns), client.MatchingLabels{v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue}); err != nil {
			return false, err.Error()
		}
		return len(pods.Items) > 0, fmt.Sprintf("%d desktop Pods", len(pods.Items))
	})
	eventually(t, "the black-hole Desktop shows Synced=False", func(ctx context.Context) (bool, string) {
		return syncedFalse(ctx, stuck, `cannot reach target cluster "`+hole.URL()+`"`)
	})
	waitPhase(t, ns, "dev", "Running")
}
