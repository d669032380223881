// Package controlplane brings up a real local Kubernetes control plane from
// the pinned binaries that cluster/tools/build.sh builds: etcd,
// kube-apiserver and, when asked, kube-controller-manager. The integration
// and end-to-end tests and `make run` share it.
package controlplane

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

// Options of a control plane.
type Options struct {
	// Bin is the folder holding etcd, kube-apiserver and
	// kube-controller-manager.
	Bin string
	// Dir receives the data, certificates, kubeconfig and logs. It must
	// exist.
	Dir string
	// ControllerManager also starts kube-controller-manager, for garbage
	// collection, service account tokens and namespace deletion.
	ControllerManager bool
	// Nodes also starts kube-scheduler and kwok, and registers these fake
	// nodes, which kwok keeps Ready and whose Pods it runs. It implies
	// ControllerManager, whose node lifecycle controller lifts the not-ready
	// taint from new nodes.
	Nodes []Node
	// Stages is the folder of kwok's node and pod stages (make tools copies
	// them to .cache/tools/kwok).
	Stages string
	// Progress receives a line per step; nil discards them.
	Progress io.Writer
	// Detach keeps the processes running after the caller exits, for
	// `make run`; they are then stopped by PID with StopPIDs.
	Detach bool
	// RealNode also runs a real worker node (containerd, runc, CNI bridge,
	// kubelet) beside kwok's fake ones, and kube-scheduler. One real node
	// runs per machine: Start waits for RealNodeLock.
	RealNode *RealNodeOptions
	// AuditLog, when set, is where the API server writes an audit event
	// (level Metadata: user, user agent, verb, resource) for every request,
	// as JSON lines: the API server's own metrics do not say which client
	// made a request, its audit log does. `make bench-e2e` reads it.
	AuditLog string
	// QuietLogs runs Crossplane at its default log level, as its Helm
	// chart does, rather than with --debug: make bench-e2e measures what
	// users run, and Crossplane's debug log of a burst costs CPU seconds.
	QuietLogs bool
	// SyncInterval, when set, is Crossplane core's --sync-interval, how
	// often it re-runs every composite resource; else
	// DefaultCrossplaneSyncInterval. make bench-e2e shortens it to measure
	// what a resync costs.
	SyncInterval time.Duration
	// CrossplaneConcurrency, when set, is Crossplane core's
	// --max-concurrent-reconciles, how many reconciles of one kind (such as
	// the composites of one XRD) it runs at once; else
	// DefaultCrossplaneConcurrency.
	CrossplaneConcurrency int
}

// DefaultCrossplaneConcurrency is the --max-concurrent-reconciles Crossplane
// core runs with here, not its own default of 100. Crossplane runs a
// composite again for every change of it or of its composed resources, and
// each run applies all of them: with a hundred runs at once a burst of
// sessions saturates this machine's API server, so each run is slow, so more
// changes arrive between runs, so each session is run more often (16 to 28
// times in make bench-e2e's 100-burst). With five at once a session's
// changes wait in Crossplane's queue and are taken together (2 runs), and
// the 100-burst was Running 2 to 4 times sooner (docs/benchmarks.md).
const DefaultCrossplaneConcurrency = 5

// DefaultCrossplaneSyncInterval is the --sync-interval Crossplane core runs
// with here, not its own default of an hour. At each resync every informer
// of Crossplane's delivers every object again, and the session's own, its
// four managed resources' and its template's each make Crossplane run the
// session, re-applying all five objects: about 4 runs and 24 write requests
// per session that change nothing (make bench-e2e with BENCH_XP_SYNC=2m),
// 4 per session per 10 minutes at an hour. provider-vdi needs no resync:
// changes come from Crossplane's watches, expiry from the function's TTL.
// At 12h an idle session costs Crossplane 0.33 writes per 10 minutes.
const DefaultCrossplaneSyncInterval = 12 * time.Hour

// A ControlPlane is a running local control plane.
type ControlPlane struct {
	// Kubeconfig is the path of an admin kubeconfig.
	Kubeconfig string
	// Config is the admin REST config.
	Config *rest.Config
	// Host is the API server's URL.
	Host string

	opts  Options
	procs []*exec.Cmd
	names []string
	node  *RealNode
}

// RealNode returns the real node, or nil if Options asked for none.
func (cp *ControlPlane) RealNode() *RealNode { return cp.node }

// A Process is a component the control plane started.
type Process struct {
	Name string
	PID  int
}

// adminToken authenticates the admin user, in group system:masters. The API
// server listens on loopback only.
const adminToken = "provider-vdi-admin-token"

// Start brings up the control plane and waits until the API server is ready.
// On error it stops whatever it started.
func Start(ctx context.Context, o Options) (*ControlPlane, error) {
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	cp := &ControlPlane{opts: o}
	if err := cp.start(ctx); err != nil {
		cp.Stop()
		return nil, err
	}
	return cp, nil
}

func (cp *ControlPlane) start(ctx context.Context) error {
	o := cp.opts
	ports, err := freePorts(4)
	if err != nil {
		return err
	}
	etcdClient, etcdPeer, apiPort, kcmPort := ports[0], ports[1], ports[2], ports[3]
	if len(o.Nodes) > 0 || o.RealNode != nil {
		o.ControllerManager = true
	}

	pki := filepath.Join(o.Dir, "pki")
	if err := os.MkdirAll(pki, 0o700); err != nil {
		return errors.Wrap(err, "cannot create pki folder")
	}
	saKey := filepath.Join(pki, "sa.key")
	saPub := filepath.Join(pki, "sa.pub")
	if err := writeServiceAccountKeys(saKey, saPub); err != nil {
		return err
	}
	var tokenLines strings.Builder
	tokenLines.WriteString(adminToken + `,admin,admin,"system:masters"` + "\n")
	var nodeFlags []string
	authz := "RBAC"
	if o.RealNode != nil {
		// The kubelet authenticates as system:node:<name>; the Node
		// authorizer and NodeRestriction give it exactly its own node's
		// objects.
		authz = "Node,RBAC"
		if nodeFlags, err = cp.prepareRealNode(ctx, &tokenLines); err != nil {
			return err
		}
	}
	tokens := filepath.Join(pki, "tokens.csv")
	if err := os.WriteFile(tokens, []byte(tokenLines.String()), 0o600); err != nil {
		return errors.Wrap(err, "cannot write token file")
	}

	progress(o.Progress, "controlplane: starting etcd on 127.0.0.1:%d\n", etcdClient)
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", etcdClient)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", etcdPeer)
	if err := cp.run("etcd",
		"--data-dir="+filepath.Join(o.Dir, "etcd"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=default="+peerURL,
		"--unsafe-no-fsync", "--log-level=warn",
	); err != nil {
		return err
	}

	progress(o.Progress, "controlplane: starting kube-apiserver on 127.0.0.1:%d\n", apiPort)
	audit, err := auditFlags(pki, o.AuditLog)
	if err != nil {
		return err
	}
	if err := cp.run("kube-apiserver", append(append(audit,
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(apiPort),
		"--cert-dir="+pki,
		"--token-auth-file="+tokens,
		"--authorization-mode="+authz,
		"--service-account-key-file="+saPub,
		"--service-account-signing-key-file="+saKey,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-cluster-ip-range=10.96.0.0/16",
		"--allow-privileged=true",
		// API priority and fairness stays on, as in every cluster: with it
		// off, the API server's plain in-flight limits refused (HTTP 429)
		// every client but system:masters, i.e. only the provider, once a
		// burst of sessions saturated it (docs/benchmarks.md).
		"--v=1",
	), nodeFlags...)...); err != nil {
		return err
	}

	cp.Host = fmt.Sprintf("https://127.0.0.1:%d", apiPort)
	cp.Config = &rest.Config{
		Host:            cp.Host,
		BearerToken:     adminToken,
		TLSClientConfig: rest.TLSClientConfig{Insecure: true},
		QPS:             200,
		Burst:           400,
	}
	cp.Kubeconfig = filepath.Join(o.Dir, "kubeconfig")
	if err := WriteKubeconfig(cp.Kubeconfig, &clientcmdapi.Cluster{Server: cp.Host, InsecureSkipTLSVerify: true}, "admin", adminToken); err != nil {
		return err
	}
	if err := cp.waitReady(ctx); err != nil {
		return err
	}

	if o.ControllerManager {
		progress(o.Progress, "controlplane: starting kube-controller-manager\n")
		if err := cp.run("kube-controller-manager",
			"--kubeconfig="+cp.Kubeconfig,
			"--controllers=*,-nodeipam",
			"--service-account-private-key-file="+saKey,
			"--root-ca-file="+filepath.Join(pki, "apiserver.crt"),
			"--use-service-account-credentials=false",
			"--leader-elect=false",
			"--bind-address=127.0.0.1",
			"--secure-port="+strconv.Itoa(kcmPort),
			"--concurrent-gc-syncs=5",
		); err != nil {
			return err
		}
	}
	if len(o.Nodes) > 0 || o.RealNode != nil {
		if err := cp.startNodes(ctx); err != nil {
			return err
		}
	}
	if o.RealNode != nil {
		if err := cp.startRealNode(ctx); err != nil {
			return err
		}
	}
	progress(o.Progress, "controlplane: ready at %s (kubeconfig %s)\n", cp.Host, cp.Kubeconfig)
	return nil
}

// run starts a binary of Options.Bin with its output in Dir/<name>.log. The
// process is in its own process group so that Stop ends it and its children.
func (cp *ControlPlane) run(name string, args ...string) error {
	return cp.runEnv(name, name, nil, args...)
}

// runEnv starts binary bin of Options.Bin as component name, with env added
// to the environment.
func (cp *ControlPlane) runEnv(name, bin string, env []string, args ...string) error {
	log, err := os.Create(filepath.Join(cp.opts.Dir, name+".log"))
	if err != nil {
		return errors.Wrapf(err, "cannot create log of %s", name)
	}
	bin = filepath.Join(cp.opts.Bin, bin)
	if _, err := os.Stat(bin); err != nil {
		return errors.Errorf("%s is missing: run `make tools` to build the pinned control plane", bin)
	}
	_, err = cp.spawn(name, log, bin, env, nil, args...)
	return err
}

// spawn starts bin as component name with args, its output in log and env
// added to its environment, passing it files, in its own process group
// (its own session when detached, so that it outlives `make run`), and
// records it for Stop.
func (cp *ControlPlane) spawn(name string, log *os.File, bin string, env []string, files []*os.File, args ...string) (*exec.Cmd, error) {
	cmd := Command(log, env, bin, args...)
	cmd.ExtraFiles = files
	if cp.opts.Detach {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	}
	err := cmd.Start()
	// The process has its own copy of the log's descriptor.
	_ = log.Close()
	if err != nil {
		return nil, errors.Wrapf(err, "cannot start %s", name)
	}
	cp.procs = append(cp.procs, cmd)
	cp.names = append(cp.names, name)
	return cmd, nil
}

// Command returns the command that runs bin with args in a process group
// of its own, killed when the process that starts it dies, with env added
// to its environment and its output in log. StopProcess ends it.
func Command(log *os.File, env []string, bin string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	return cmd
}

// Processes returns the running components, in the order they started.
func (cp *ControlPlane) Processes() []Process {
	ps := make([]Process, 0, len(cp.procs))
	for i, p := range cp.procs {
		ps = append(ps, Process{Name: cp.names[i], PID: p.Process.Pid})
	}
	return ps
}

// Stop ends every process Start started, newest first, and waits for them;
// the real node first, with what it leaves on the host.
func (cp *ControlPlane) Stop() {
	if cp.node != nil {
		cp.teardownRealNode()
	}
	for i := len(cp.procs) - 1; i >= 0; i-- {
		StopProcess(cp.procs[i], 10*time.Second)
	}
	cp.procs, cp.names = nil, nil
}

// StopPIDs ends the process groups of pids, newest first: SIGTERM, then
// SIGKILL for any still running after timeout. It returns the PIDs it had to
// kill.
func StopPIDs(pids []int, timeout time.Duration) []int {
	var killed []int
	for i := len(pids) - 1; i >= 0; i-- {
		pid := pids[i]
		if syscall.Kill(pid, 0) != nil {
			continue
		}
		_ = syscall.Kill(-pid, syscall.SIGTERM)
		_ = syscall.Kill(pid, syscall.SIGTERM)
		deadline := time.Now().Add(timeout)
		for syscall.Kill(pid, 0) == nil && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if syscall.Kill(pid, 0) == nil {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			_ = syscall.Kill(pid, syscall.SIGKILL)
			killed = append(killed, pid)
		}
	}
	return killed
}

func (cp *ControlPlane) waitReady(ctx context.Context) error {
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // A loopback API server with a self-signed certificate.
	deadline := time.Now().Add(2 * time.Minute)
	last := time.Now()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, cp.Host+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		rsp, err := hc.Do(req)
		if err == nil {
			_ = rsp.Body.Close()
			if rsp.StatusCode == http.StatusOK {
				return nil
			}
		}
		for _, p := range cp.procs {
			if Exited(p) {
				return errors.Errorf("%s exited early; see its log in %s", filepath.Base(p.Path), cp.opts.Dir)
			}
		}
		if time.Now().After(deadline) {
			return errors.Errorf("kube-apiserver was not ready within 2m; see %s", filepath.Join(cp.opts.Dir, "kube-apiserver.log"))
		}
		if time.Since(last) > 10*time.Second {
			progress(cp.opts.Progress, "controlplane: waiting for kube-apiserver to be ready\n")
			last = time.Now()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// auditPolicy logs every request once it completes (watches once they
// start), at level Metadata.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
`

// auditFlags are the API server's flags for an audit log at path, none if
// path is empty. Batch mode writes the log off the request path.
func auditFlags(dir, path string) ([]string, error) {
	if path == "" {
		return nil, nil
	}
	policy := filepath.Join(dir, "audit-policy.yaml")
	if err := os.WriteFile(policy, []byte(auditPolicy), 0o600); err != nil {
		return nil, errors.Wrap(err, "cannot write audit policy")
	}
	return []string{
		"--audit-policy-file=" + policy, "--audit-log-path=" + path,
		// maxsize 0 means lumberjack's default of 100 MB, not "never":
		// a rotation in the middle of a scenario loses its requests.
		"--audit-log-format=json", "--audit-log-mode=batch", "--audit-log-maxsize=1000000",
	}, nil
}

func writeServiceAccountKeys(keyPath, pubPath string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return errors.Wrap(err, "cannot generate service account key")
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return errors.Wrap(err, "cannot marshal service account public key")
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		return errors.Wrap(err, "cannot write service account key")
	}
	return errors.Wrap(os.WriteFile(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o600), "cannot write service account public key")
}

// WriteKubeconfig writes to path a kubeconfig whose one context, "local",
// reaches cluster as user with token.
func WriteKubeconfig(path string, cluster *clientcmdapi.Cluster, user, token string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = cluster
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["local"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: user}
	cfg.CurrentContext = "local"
	return errors.Wrapf(clientcmd.WriteToFile(*cfg, path), "cannot write the kubeconfig of %s", user)
}

// freePorts returns n distinct free TCP ports on loopback.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, errors.Wrap(err, "cannot find a free port")
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port) //nolint:forcetypeassert // A TCP listener's address.
	}
	return ports, nil
}

// FreePorts returns n distinct free TCP ports on loopback, as strings.
func FreePorts(n int) ([]string, error) {
	ports, err := freePorts(n)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, n)
	for _, p := range ports {
		out = append(out, strconv.Itoa(p))
	}
	return out, nil
}

// progress writes one line of progress; a progress writer that fails loses
// only the line.
func progress(w io.Writer, format string, args ...any) {
	_, _ = fmt.Fprintf(w, format, args...)
}
