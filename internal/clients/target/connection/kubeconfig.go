package connection

import (
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

// A Trust says how far a kubeconfig is trusted.
type Trust int

const (
	// Trusted kubeconfigs are the platform's: those of ClusterProviderConfigs,
	// which only cluster administrators create. They may use everything
	// client-go supports, including local files and exec plugins.
	Trusted Trust = iota

	// Restricted kubeconfigs are a tenant's: those of namespaced
	// ProviderConfigs. They must carry their credentials inline and may not
	// make the provider read its own files, run commands, call auth plugins,
	// use a proxy, or skip verifying the server's certificate: each would let
	// a tenant borrow the provider's identity or network position.
	Restricted
)

// RESTConfig parses kubeconfig into the REST config of its current context.
// A Restricted kubeconfig that asks for anything RestrictedProblems lists is
// refused with an error naming every problem.
func RESTConfig(kubeconfig []byte, t Trust) (*rest.Config, error) {
	kc, err := clientcmd.Load(kubeconfig)
	if err != nil {
		return nil, err
	}
	if t == Restricted {
		if p := RestrictedProblems(kc); len(p) > 0 {
			return nil, errors.Errorf("a namespaced ProviderConfig's kubeconfig must carry its credentials inline and reach its server directly over verified TLS; refusing it: %s", strings.Join(p, "; "))
		}
	}
	cfg, err := clientcmd.NewDefaultClientConfig(*kc, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, err
	}
	if t == Restricted {
		// client-go fills gaps from defaults (a missing server becomes
		// http://localhost:8080, from $KUBERNETES_MASTER): check what it
		// will really do, too.
		if p := restConfigProblems(cfg); len(p) > 0 {
			return nil, errors.Errorf("a namespaced ProviderConfig's kubeconfig must reach its server directly over verified TLS; refusing it: %s", strings.Join(p, "; "))
		}
	}
	return cfg, nil
}

// A setting is a field of a kubeconfig, whether it is set, and why a
// restricted kubeconfig may not set it.
type setting struct {
	set    bool
	field  string
	reason string
}

// refused returns, for each entry of m (the kubeconfig's users or
// clusters, of kind "user" or "cluster") in name order, a problem for each
// of the entry's settings that is set.
func refused[V any](kind string, m map[string]*V, settings func(*V) []setting) []string {
	var p []string
	for _, name := range slices.Sorted(maps.Keys(m)) {
		if m[name] == nil {
			continue
		}
		for _, s := range settings(m[name]) {
			if s.set {
				p = append(p, kind+" "+strconv.Quote(name)+" sets "+s.field+", which "+s.reason)
			}
		}
	}
	return p
}

// RestrictedProblems lists what a Restricted kubeconfig may not ask for, in
// every cluster and user it holds, not only the current context's:
//
//   - users: tokenFile, client-certificate, client-key (files of the
//     provider's file system, such as its ServiceAccount token), exec (runs
//     a command as the provider), auth-provider (plugins that read the
//     provider's environment and files). Inline token, client certificate
//     and key data, username and password, and impersonation are allowed:
//     they are the tenant's own credentials, and the target cluster checks
//     what they may do.
//   - clusters: certificate-authority (a file), insecure-skip-tls-verify
//     (with it, anyone between the provider and the server can read the
//     tenant's credentials, and the provider will talk to any HTTPS server),
//     proxy-url (sends the provider's traffic through a host of the tenant's
//     choosing, including SOCKS proxies into other networks), and a server
//     that is not https:// (plain HTTP would reach services such as cloud
//     metadata endpoints, whose answers could surface in error messages).
//     certificate-authority-data and tls-server-name are allowed.
func RestrictedProblems(kc *clientcmdapi.Config) []string {
	users := refused("user", kc.AuthInfos, func(u *clientcmdapi.AuthInfo) []setting {
		return []setting{
			{u.TokenFile != "", "tokenFile", "reads a file of the provider's; put the token in token"},
			{u.ClientCertificate != "", "client-certificate", "reads a file of the provider's; use client-certificate-data"},
			{u.ClientKey != "", "client-key", "reads a file of the provider's; use client-key-data"},
			{u.Exec != nil, "exec", "runs a command as the provider"},
			{u.AuthProvider != nil, "auth-provider", "runs an auth plugin as the provider"},
		}
	})
	clusters := refused("cluster", kc.Clusters, func(c *clientcmdapi.Cluster) []setting {
		return []setting{
			{c.CertificateAuthority != "", "certificate-authority", "reads a file of the provider's; use certificate-authority-data"},
			{c.InsecureSkipTLSVerify, "insecure-skip-tls-verify", "would not verify the server; give its CA in certificate-authority-data"},
			{c.ProxyURL != "", "proxy-url", "routes the provider's traffic through another host"},
			{!isHTTPS(c.Server), "server " + strconv.Quote(c.Server), "is not an https:// URL"},
		}
	})
	return append(users, clusters...)
}

// restConfigProblems lists what a REST config built from a Restricted
// kubeconfig may still not do.
func restConfigProblems(cfg *rest.Config) []string {
	var p []string
	if !isHTTPS(cfg.Host) {
		p = append(p, "its server "+strconv.Quote(cfg.Host)+" is not an https:// URL")
	}
	if cfg.BearerTokenFile != "" || cfg.CAFile != "" || cfg.CertFile != "" || cfg.KeyFile != "" {
		p = append(p, "it reads files of the provider's")
	}
	if cfg.ExecProvider != nil || cfg.AuthProvider != nil {
		p = append(p, "it runs commands or auth plugins as the provider")
	}
	if cfg.Insecure || cfg.Proxy != nil {
		p = append(p, "it skips TLS verification or uses a proxy")
	}
	return p
}

func isHTTPS(server string) bool {
	u, err := url.Parse(server)
	return err == nil && u.Scheme == "https" && u.Host != ""
}
