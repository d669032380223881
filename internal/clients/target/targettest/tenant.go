package targettest

import (
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
)

// TenantConfig returns what a tenant creates in namespace ns to bring its
// own target cluster: a Secret holding kubeconfig under the key
// "kubeconfig", and a ProviderConfig that reaches the cluster with it and
// puts objects in namespace target ("" for the default), both named name.
func TenantConfig(ns, name, target string, kubeconfig []byte) (*corev1.Secret, *v1alpha1.ProviderConfig) {
	om := metav1.ObjectMeta{Namespace: ns, Name: name}
	return &corev1.Secret{ObjectMeta: om, Data: map[string][]byte{"kubeconfig": kubeconfig}},
		&v1alpha1.ProviderConfig{
			ObjectMeta: om,
			Spec: v1alpha1.ProviderConfigSpec{
				TargetNamespace: target,
				Credentials: v1alpha1.ProviderCredentials{
					Source:    xpv2.CredentialsSourceSecret,
					SecretRef: &xpv2.SecretKeySelector{SecretReference: xpv2.SecretReference{Name: name}, Key: "kubeconfig"},
				},
			},
		}
}

// TokenFile writes token to a file the provider can read, standing in for
// its ServiceAccount token, and returns the file's path.
func TokenFile(t testing.TB, token string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(f, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}
