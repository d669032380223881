package controlplane

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

// Crossplane's namespace, service account and TLS Secrets, as its Helm chart
// names them.
const (
	CrossplaneNamespace   = "crossplane-system"
	crossplaneSA          = "crossplane"
	rootCASecret          = "crossplane-root-ca"
	clientTLSSecret       = "crossplane-tls-client"
	crossplaneCoreBinary  = "crossplane-core"
	crossplaneCoreLogName = "crossplane"
)

// StartCrossplane runs Crossplane core out of cluster, as a local process
// against the control plane: `crossplane core init` installs its CRDs (from
// the crds folder) and makes its TLS Secrets, then `crossplane core start`
// runs its controllers with Providers in the Deployment runtime and Functions
// in the External runtime, so that our function runs as a local process.
func (cp *ControlPlane) StartCrossplane(ctx context.Context, crds string) error {
	o := cp.opts
	cs, err := kubernetes.NewForConfig(cp.Config)
	if err != nil {
		return errors.Wrap(err, "cannot create clientset")
	}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: CrossplaneNamespace}}, metav1.CreateOptions{}); err != nil && !kerrors.IsAlreadyExists(err) {
		return errors.Wrap(err, "cannot create Crossplane's namespace")
	}
	if _, err := cs.CoreV1().ServiceAccounts(CrossplaneNamespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: crossplaneSA}}, metav1.CreateOptions{}); err != nil && !kerrors.IsAlreadyExists(err) {
		return errors.Wrap(err, "cannot create Crossplane's service account")
	}

	env := []string{
		"KUBECONFIG=" + cp.Kubeconfig,
		"POD_NAMESPACE=" + CrossplaneNamespace,
		"POD_SERVICE_ACCOUNT=" + crossplaneSA,
		"ENABLE_WEBHOOKS=false",
		"CRDS_PATH=" + crds,
		"TLS_CA_SECRET_NAME=" + rootCASecret,
		"TLS_CLIENT_SECRET_NAME=" + clientTLSSecret,
	}
	progress(o.Progress, "controlplane: crossplane core init\n")
	initLog, err := os.Create(filepath.Join(o.Dir, "crossplane-init.log"))
	if err != nil {
		return errors.Wrap(err, "cannot create log of crossplane core init")
	}
	defer initLog.Close() //nolint:errcheck // Only a log.
	// init installs the core CRDs and then applies objects of those kinds;
	// it fails while the fresh CRDs are not yet served, so try again.
	for attempt := 1; ; attempt++ {
		// No default activation policy: provider-vdi declares safe-start,
		// and its own policy (examples/provider/activation-policy.yaml,
		// which localenv applies) must be what activates its kinds.
		init := exec.CommandContext(ctx, filepath.Join(o.Bin, crossplaneCoreBinary), "core", "init")
		init.Env = append(os.Environ(), env...)
		init.Stdout, init.Stderr = initLog, initLog
		err := init.Run()
		if err == nil {
			break
		}
		if attempt == 10 {
			return errors.Wrapf(err, "crossplane core init failed %d times; see %s", attempt, initLog.Name())
		}
		time.Sleep(time.Second)
	}

	certs := filepath.Join(o.Dir, "crossplane-client-certs")
	if err := cp.writeSecretFiles(ctx, cs, clientTLSSecret, certs, "ca.crt", "tls.crt", "tls.key"); err != nil {
		return err
	}
	ports, err := freePorts(2)
	if err != nil {
		return err
	}
	progress(o.Progress, "controlplane: starting Crossplane core (metrics 127.0.0.1:%d)\n", ports[0])
	args := []string{"core", "start", "--poll-interval=1m",
		// Starting one session makes about a hundred watch events on its
		// VDISession (its own status, four managed resources each
		// initialised, created and observed), which is the default burst of
		// Crossplane's per-XR circuit breaker: it would then drop the user's
		// next edits for up to its 5m cooldown. A platform running
		// provider-vdi should raise the burst likewise.
		"--circuit-breaker-burst=400"}
	args = append(args, "--sync-interval="+cmp.Or(o.SyncInterval, DefaultCrossplaneSyncInterval).String())
	args = append(args, "--max-concurrent-reconciles="+strconv.Itoa(cmp.Or(o.CrossplaneConcurrency, DefaultCrossplaneConcurrency)))
	if err := cp.runEnv(crossplaneCoreLogName, crossplaneCoreBinary, append(env,
		"TLS_CLIENT_CERTS_DIR="+certs,
		"XPKG_CACHE_DIR="+filepath.Join(o.Dir, "xpkg-cache"),
		"PACKAGE_RUNTIME=Provider=Deployment;Function=External",
		"METRICS_PORT="+strconv.Itoa(ports[0]),
		"HEALTH_PROBE_PORT="+strconv.Itoa(ports[1]),
	),
		logLevel(o.QuietLogs, args...)...); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(o.Dir, "xpkg-cache"), 0o750); err != nil {
		return errors.Wrap(err, "cannot create package cache")
	}
	return waitHTTP(ctx, fmt.Sprintf("http://127.0.0.1:%d/readyz", ports[1]), time.Minute)
}

// StartRBACManager runs Crossplane's RBAC manager out of cluster, as
// `crossplane rbac start`: it binds each provider revision's ServiceAccount
// to the ClusterRole of the provider's own kinds (plus Secrets, ConfigMaps,
// Events and Leases), and aggregates XRDs into Crossplane's ClusterRoles, as
// the Helm chart's crossplane-rbac-manager Deployment does. It runs as the
// admin user, as the chart's manager runs with escalate and bind. The
// pinned core binary serves no controller-runtime metrics by default
// (cluster/tools/build.sh), so it listens on no port.
func (cp *ControlPlane) StartRBACManager(_ context.Context) error {
	progress(cp.opts.Progress, "controlplane: starting Crossplane's RBAC manager\n")
	return cp.runEnv("crossplane-rbac", crossplaneCoreBinary, []string{
		"KUBECONFIG=" + cp.Kubeconfig, "POD_NAMESPACE=" + CrossplaneNamespace,
	}, logLevel(cp.opts.QuietLogs, "rbac", "start", "--poll-interval=1m")...)
}

// logLevel returns a Crossplane binary's arguments args with --debug, unless
// quiet.
func logLevel(quiet bool, args ...string) []string {
	if quiet {
		return args
	}
	return append(args, "--debug")
}

// writeSecretFiles writes the keys of Secret name in Crossplane's namespace
// as files of dir.
func (cp *ControlPlane) writeSecretFiles(ctx context.Context, cs kubernetes.Interface, name, dir string, keys ...string) error {
	s, err := cs.CoreV1().Secrets(CrossplaneNamespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return errors.Wrapf(err, "cannot get Secret %s/%s", CrossplaneNamespace, name)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return errors.Wrapf(err, "cannot create %s", dir)
	}
	for _, k := range keys {
		if len(s.Data[k]) == 0 {
			return errors.Errorf("Secret %s/%s has no %q", CrossplaneNamespace, name, k)
		}
		if err := os.WriteFile(filepath.Join(dir, k), s.Data[k], 0o600); err != nil {
			return errors.Wrapf(err, "cannot write %s", k)
		}
	}
	return nil
}

// FunctionTLS makes a server certificate for a function served at
// localhost, signed by Crossplane's root CA, so that Crossplane dials it with
// mTLS. It stores the certificate in Secret name of Crossplane's namespace,
// for the FunctionRevision's tlsServerSecretName, and writes tls.crt, tls.key
// and ca.crt to dir, for the function's --tls-certs-dir.
func (cp *ControlPlane) FunctionTLS(ctx context.Context, name, dir string) error {
	cs, err := kubernetes.NewForConfig(cp.Config)
	if err != nil {
		return errors.Wrap(err, "cannot create clientset")
	}
	root, err := cs.CoreV1().Secrets(CrossplaneNamespace).Get(ctx, rootCASecret, metav1.GetOptions{})
	if err != nil {
		return errors.Wrap(err, "cannot get Crossplane's root CA")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return errors.Wrapf(err, "cannot create %s", dir)
	}
	ca, err := LoadCA(dir, "ca", root.Data["tls.crt"], root.Data["tls.key"])
	if err != nil {
		return errors.Wrap(err, "cannot load Crossplane's root CA")
	}
	crt, key, err := ca.Issue(dir, Leaf{
		Name:          "tls",
		CommonName:    name,
		Organizations: []string{"Crossplane"},
		DNSNames:      []string{"localhost", name},
		IPs:           []net.IP{net.ParseIP("127.0.0.1")},
	})
	if err != nil {
		return err
	}
	files := map[string][]byte{"ca.crt": root.Data["tls.crt"]}
	for f, path := range map[string]string{"tls.crt": crt, "tls.key": key} {
		if files[f], err = os.ReadFile(path); err != nil {
			return errors.Wrapf(err, "cannot read %s", f)
		}
	}
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: CrossplaneNamespace},
		Type:       corev1.SecretTypeTLS,
		Data:       files,
	}
	if _, err := cs.CoreV1().Secrets(CrossplaneNamespace).Create(ctx, s, metav1.CreateOptions{}); err != nil {
		return errors.Wrapf(err, "cannot create Secret %s/%s", CrossplaneNamespace, name)
	}
	return nil
}

// StartRegistry serves a local OCI registry (crane registry serve) on
// loopback and returns its host:port. Package references must name it as
// 127.0.0.1:<port>, with a dot, for Crossplane's package validation.
func (cp *ControlPlane) StartRegistry(ctx context.Context) (string, error) {
	ports, err := freePorts(1)
	if err != nil {
		return "", err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	disk := filepath.Join(cp.opts.Dir, "registry")
	if err := os.MkdirAll(disk, 0o750); err != nil {
		return "", errors.Wrap(err, "cannot create registry folder")
	}
	progress(cp.opts.Progress, "controlplane: starting an OCI registry at %s\n", addr)
	if err := cp.run("crane", "registry", "serve", "--address", addr, "--disk", disk); err != nil {
		return "", err
	}
	return addr, waitHTTP(ctx, "http://"+addr+"/v2/", 30*time.Second)
}

// waitHTTP waits until url answers 200.
func waitHTTP(ctx context.Context, url string, timeout time.Duration) error {
	hc := &http.Client{Timeout: 2 * time.Second}
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		rsp, err := hc.Do(req)
		if err != nil {
			return false, nil //nolint:nilerr // Not up yet.
		}
		_ = rsp.Body.Close()
		return rsp.StatusCode == http.StatusOK, nil
	})
	return errors.Wrapf(err, "%s did not answer within %s", url, timeout)
}
