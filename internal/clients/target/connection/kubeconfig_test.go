package connection

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/rest"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/clients/target/targettest"
)

// tenantKubeconfig returns a kubeconfig of one cluster and one user, with
// the given lines added to the cluster and the user.
func tenantKubeconfig(server string, cluster, user []string) []byte {
	indent := func(l []string) string {
		if len(l) == 0 {
			return ""
		}
		return "    " + strings.Join(l, "\n    ") + "\n"
	}
	return fmt.Appendf(nil, `apiVersion: v1
kind: Config
clusters:
- name: gpu
  cluster:
    server: %s
%susers:
- name: tenant
  user:
%scontexts:
- name: gpu
  context: {cluster: gpu, user: tenant}
current-context: gpu
`, server, indent(cluster), indent(user))
}

func TestRESTConfig(t *testing.T) {
	const server = "https://gpu.example:6443"
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("provider-token"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		reason     string
		kubeconfig []byte
		trust      Trust
		// wantErr are parts of the error; none means no error.
		wantErr []string
	}{
		"BasicAuth": {
			reason:     "A tenant's kubeconfig may carry a username and password: they are its own.",
			kubeconfig: tenantKubeconfig(server, nil, []string{"username: tenant", "password: secret"}),
			trust:      Restricted,
		},
		"InlineCredentials": {
			reason:     "A tenant's kubeconfig with an inline token, client certificate data and CA data should be used.",
			kubeconfig: tenantKubeconfig(server, []string{"certificate-authority-data: " + b64("ca")}, []string{"client-certificate-data: " + b64("cert"), "client-key-data: " + b64("key")}),
			trust:      Restricted,
		},
		"Impersonation": {
			reason:     "A tenant's kubeconfig may impersonate: the target cluster checks whether the tenant's own identity may.",
			kubeconfig: tenantKubeconfig(server, nil, []string{"token: tenant-token", "as: someone", "as-groups: [team]"}),
			trust:      Restricted,
		},
		"TLSServerName": {
			reason:     "A tenant's kubeconfig may name the server's certificate: it is still verified.",
			kubeconfig: tenantKubeconfig(server, []string{"tls-server-name: api.gpu.example"}, []string{"token: tenant-token"}),
			trust:      Restricted,
		},
		"TokenFile": {
			reason:     "A tenant's kubeconfig must not make the provider send a token from its own files, such as its ServiceAccount token.",
			kubeconfig: tenantKubeconfig(server, nil, []string{"tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token"}),
			trust:      Restricted,
			wantErr:    []string{`user "tenant" sets tokenFile`},
		},
		"ClientCertificateFiles": {
			reason:     "A tenant's kubeconfig must not make the provider present a certificate and key from its own files.",
			kubeconfig: tenantKubeconfig(server, nil, []string{"client-certificate: /etc/provider/tls.crt", "client-key: /etc/provider/tls.key"}),
			trust:      Restricted,
			wantErr:    []string{`user "tenant" sets client-certificate`, `user "tenant" sets client-key`},
		},
		"Exec": {
			reason:     "A tenant's kubeconfig must not make the provider run a command.",
			kubeconfig: tenantKubeconfig(server, nil, []string{"exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/sh, args: [-c, 'cat /var/run/secrets/kubernetes.io/serviceaccount/token'], interactiveMode: Never}"}),
			trust:      Restricted,
			wantErr:    []string{`user "tenant" sets exec`},
		},
		"AuthProvider": {
			reason:     "A tenant's kubeconfig must not make the provider run an auth plugin.",
			kubeconfig: tenantKubeconfig(server, nil, []string{"auth-provider: {name: oidc, config: {idp-issuer-url: https://idp.example}}"}),
			trust:      Restricted,
			wantErr:    []string{`user "tenant" sets auth-provider`},
		},
		"CertificateAuthorityFile": {
			reason:     "A tenant's kubeconfig must not make the provider read a CA file of its own.",
			kubeconfig: tenantKubeconfig(server, []string{"certificate-authority: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt"}, []string{"token: tenant-token"}),
			trust:      Restricted,
			wantErr:    []string{`cluster "gpu" sets certificate-authority`},
		},
		"InsecureSkipTLSVerify": {
			reason:     "A tenant's kubeconfig must not turn off verifying the server.",
			kubeconfig: tenantKubeconfig(server, []string{"insecure-skip-tls-verify: true"}, []string{"token: tenant-token"}),
			trust:      Restricted,
			wantErr:    []string{`cluster "gpu" sets insecure-skip-tls-verify`},
		},
		"ProxyURL": {
			reason:     "A tenant's kubeconfig must not route the provider's traffic through a proxy.",
			kubeconfig: tenantKubeconfig(server, []string{"proxy-url: socks5://127.0.0.1:1080"}, []string{"token: tenant-token"}),
			trust:      Restricted,
			wantErr:    []string{`cluster "gpu" sets proxy-url`},
		},
		"PlainHTTP": {
			reason:     "A tenant's kubeconfig must reach its server over TLS.",
			kubeconfig: tenantKubeconfig("http://169.254.169.254", nil, []string{"token: tenant-token"}),
			trust:      Restricted,
			wantErr:    []string{`cluster "gpu" sets server "http://169.254.169.254", which is not an https:// URL`},
		},
		"NoServer": {
			reason:     "A tenant's kubeconfig without a server must not fall back to client-go's default server.",
			kubeconfig: tenantKubeconfig(`""`, nil, []string{"token: tenant-token"}),
			trust:      Restricted,
			wantErr:    []string{`cluster "gpu" sets server "", which is not an https:// URL`},
		},
		"OtherContext": {
			reason:     "Every user and cluster of a tenant's kubeconfig is checked, not only the current context's.",
			kubeconfig: append(tenantKubeconfig(server, nil, []string{"token: tenant-token"}), []byte("preferences: {}\n")...),
			trust:      Restricted,
		},
		"TrustedTokenFile": {
			reason:     "A ClusterProviderConfig's kubeconfig is the platform's and may read the provider's files.",
			kubeconfig: tenantKubeconfig(server, []string{"proxy-url: http://proxy.example:3128"}, []string{"tokenFile: " + tokenFile}),
			trust:      Trusted,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := RESTConfig(tc.kubeconfig, tc.trust)
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Errorf("\n%s\nRESTConfig(...): %v", tc.reason, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("\n%s\nRESTConfig(...): want an error, got none", tc.reason)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("\n%s\nRESTConfig(...): want an error containing %q, got %q", tc.reason, w, err)
				}
			}
		})
	}
}

func TestRestrictedProblemsEveryEntry(t *testing.T) {
	kc := []byte(`apiVersion: v1
kind: Config
clusters:
- name: good
  cluster: {server: "https://good.example"}
- name: bad
  cluster: {server: "https://bad.example", proxy-url: "http://127.0.0.1:3128"}
users:
- name: good
  user: {token: t}
- name: bad
  user: {tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token}
contexts:
- name: good
  context: {cluster: good, user: good}
current-context: good
`)
	_, err := RESTConfig(kc, Restricted)
	want := `a namespaced ProviderConfig's kubeconfig must carry its credentials inline and reach its server directly over verified TLS; refusing it: user "bad" sets tokenFile, which reads a file of the provider's; put the token in token; cluster "bad" sets proxy-url, which routes the provider's traffic through another host`
	if diff := cmp.Diff(want, fmt.Sprint(err)); diff != "" {
		t.Errorf("\nA tenant's kubeconfig should be refused for a bad entry outside its current context, naming every problem:\nRESTConfig(...): -want error, +got error:\n%s", diff)
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// caData returns the certificate of srv as certificate-authority-data.
func caData(srv *targettest.Server) string { return b64(string(srv.CAPEM())) }

// TestTenantKubeconfigNeverSendsProviderToken connects through a tenant's
// kubeconfig whose tokenFile names a file only the provider should read
// (standing in for its ServiceAccount token) and whose server is a TLS
// listener of the tenant's: the listener must never see that token, and
// Connect must say why it refused. The same kubeconfig with the token
// inline reaches the listener, which shows the listener does record what it
// is sent.
func TestTenantKubeconfigNeverSendsProviderToken(t *testing.T) {
	const providerToken = "provider-serviceaccount-token"
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(providerToken), 0o600); err != nil {
		t.Fatal(err)
	}

	cases := map[string]struct {
		reason  string
		user    []string
		cluster func(ca string) []string
		kind    string
		wantErr string
		// wantAuth is what the listener must have been sent.
		wantAuth []string
	}{
		"TokenFile": {
			reason:  "A namespaced ProviderConfig's kubeconfig that reads the provider's token file should be refused before any request is sent.",
			user:    []string{"tokenFile: " + tokenFile},
			kind:    v1alpha1.ProviderConfigKind,
			wantErr: `user "tenant" sets tokenFile, which reads a file of the provider's; put the token in token`,
		},
		"TokenFileAndInsecure": {
			reason:  "A namespaced ProviderConfig's kubeconfig that reads the provider's token file and skips TLS verification should be refused for both.",
			user:    []string{"tokenFile: " + tokenFile},
			cluster: func(string) []string { return []string{"insecure-skip-tls-verify: true"} },
			kind:    v1alpha1.ProviderConfigKind,
			wantErr: `insecure-skip-tls-verify`,
		},
		"InlineToken": {
			reason:   "A namespaced ProviderConfig's kubeconfig with its own token inline should reach its server with that token, and no other.",
			user:     []string{"token: tenant-token"},
			kind:     v1alpha1.ProviderConfigKind,
			wantAuth: []string{"Bearer tenant-token"},
		},
		"ClusterProviderConfigTokenFile": {
			reason:   "A ClusterProviderConfig's kubeconfig is the platform's: its token file is read and sent, which shows the listener sees a token file's token when one is used.",
			user:     []string{"tokenFile: " + tokenFile},
			kind:     v1alpha1.ClusterProviderConfigKind,
			wantAuth: []string{"Bearer " + providerToken},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			srv := targettest.NewServer(t)
			cluster := []string{"certificate-authority-data: " + caData(srv)}
			if tc.cluster != nil {
				cluster = tc.cluster(caData(srv))
			}
			kc := tenantKubeconfig(srv.URL, cluster, tc.user)
			kube := kube(t,
				namespacedConfig(withSecretRef("team-a", "gpu", "kubeconfig")),
				clusterProviderConfig("gpu", withSecretRef("team-a", "gpu", "kubeconfig")),
				secret("team-a", "gpu", map[string][]byte{"kubeconfig": kc}),
			)
			r := &recorder{}
			c := NewConnector(kube, &rest.Config{Host: "https://local.invalid"}, WithWatchFn(r.watchFn))
			name := "default"
			if tc.kind == v1alpha1.ClusterProviderConfigKind {
				name = "gpu"
			}
			_, err := tryConnect(t, c, targettest.Desktop(withUID("u1"), usingConfig(tc.kind, name)))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("\n%s\nConnect(...): %v", tc.reason, err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("\n%s\nConnect(...): want an error containing %q, got %v", tc.reason, tc.wantErr, err)
			}
			if diff := cmp.Diff(tc.wantAuth, srv.Authorizations()); diff != "" {
				t.Errorf("\n%s\nAuthorization headers the listener got: -want, +got:\n%s", tc.reason, diff)
			}
			for _, a := range srv.Authorizations() {
				if tc.kind == v1alpha1.ProviderConfigKind && strings.Contains(a, providerToken) {
					t.Errorf("\n%s\nthe listener got the provider's token", tc.reason)
				}
			}
		})
	}
}
