// Package localenv brings up provider-vdi the way users run it, on a local
// control plane: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler and kwok with fake GPU nodes, Crossplane core and its RBAC
// manager out of cluster, a local OCI registry holding our three packages
// (built with their runtime images by internal/packaging), the install
// manifests of examples/install, the configuration installed with
// `crossplane xpkg install` (the provider and function come in as its
// dependencies), and the provider and function binaries extracted from the
// runtime images of the installed packages, run as local processes: the
// provider as its ServiceAccount, with exactly the RBAC a platform grants.
// `make run` and the end-to-end tests share it.
package localenv

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	storagev1 "k8s.io/api/storage/v1"
	extv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"

	"github.com/provider-vdi/provider-vdi/apis"
	"github.com/provider-vdi/provider-vdi/internal/controlplane"
	"github.com/provider-vdi/provider-vdi/internal/packaging"
)

// Names of our packages, as the configuration's dependsOn and the
// Composition's functionRef know them. Crossplane names a dependency after
// its repository: ghcr.io/provider-vdi/function-vdi becomes Function
// provider-vdi-function-vdi.
const (
	PackageOrg      = packaging.DefaultRegistry + "/" + packaging.Org
	ProviderName    = "provider-vdi-provider-vdi"
	FunctionName    = "provider-vdi-function-vdi"
	Configuration   = "configuration-vdi"
	functionTLSName = "function-vdi-tls-server"
	storageClass    = "standard"
)

// ProviderServiceAccount is the ServiceAccount of examples/install that the
// provider runs as.
const ProviderServiceAccount = "provider-vdi"

// Options of a local environment.
type Options struct {
	// Root of the repository.
	Root string
	// Tools is the cache `make tools` fills: bin/, kwok/, crossplane-crds/,
	// crds/.
	Tools string
	// Dir receives logs, data, kubeconfig, certificates and binaries.
	Dir string
	// GPUNodes is the number of fake GPU nodes, each with GPUsPerNode GPUs.
	GPUNodes int
	// GPUsPerNode is the number of GPUs of each fake GPU node; default 4.
	GPUsPerNode int64
	// AuditLog, when set, is where the API server writes its audit log
	// (see controlplane.Options.AuditLog).
	AuditLog string
	// QuietLogs runs Crossplane and the provider at their default log
	// level, as installed packages run, rather than with --debug (see
	// controlplane.Options.QuietLogs).
	QuietLogs bool
	// SyncInterval is Crossplane core's --sync-interval, when set (see
	// controlplane.Options.SyncInterval).
	SyncInterval time.Duration
	// CrossplaneConcurrency is Crossplane core's
	// --max-concurrent-reconciles, when set (see
	// controlplane.Options.CrossplaneConcurrency).
	CrossplaneConcurrency int
	// Volumes is the number of static 100Gi volumes in the default storage
	// class, for home volumes.
	Volumes int
	// Detach leaves everything running when the caller exits (make run).
	Detach bool
	// RealNode also runs a real worker node (see controlplane.RealNode)
	// with the web desktop image and Images imported, local volumes on it
	// in the default storage class, and Traefik serving the sessions'
	// routes on IngressAddress. One runs per machine: Up waits for the
	// node's lock while another environment holds it.
	RealNode bool
	// Images are more image tarballs for the real node to import.
	Images []string
	// Progress receives a line per step.
	Progress io.Writer
}

// An Env is a running local environment.
type Env struct {
	CP       *controlplane.ControlPlane
	Kube     client.Client
	Registry string
	// Version of the packages, from git describe.
	Version string
	// ProviderKubeconfig is the kubeconfig the provider runs with: a token
	// of its ServiceAccount.
	ProviderKubeconfig string
	// Binaries are the provider's and function's executables, extracted
	// from the amd64 runtime images of the installed packages, by name
	// (provider-vdi, function-vdi).
	Binaries map[string]Binary
	// IngressCA is the CA certificate that Traefik's certificate for
	// *.Domain chains to, with Options.RealNode.
	IngressCA string
	// ProviderPprof is the loopback address where the provider serves Go's
	// profiles (/debug/pprof/).
	ProviderPprof string

	opts     Options
	bin      string
	provider *exec.Cmd
	function *exec.Cmd
	traefik  *exec.Cmd
	fnAddr   string
	starts   int
}

// Scheme knows every kind the environment and its tests read typed.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(s)
	_ = extv1.AddToScheme(s)
	_ = apis.AddToScheme(s)
	return s
}

func (e *Env) progress(format string, args ...any) {
	_, _ = fmt.Fprintf(e.opts.Progress, "localenv: "+format+"\n", args...)
}

// Up brings up the environment. On error it leaves what it started running
// for inspection; call Stop (or stop the Processes by PID) to end it.
func Up(ctx context.Context, o Options) (*Env, error) {
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.GPUNodes == 0 {
		o.GPUNodes = 2
	}
	if o.GPUsPerNode == 0 {
		o.GPUsPerNode = 4
	}
	nodes := []controlplane.Node{controlplane.SystemNode("system-0")}
	for i := range o.GPUNodes {
		nodes = append(nodes, controlplane.GPUNode(fmt.Sprintf("gpu-%d", i), o.GPUsPerNode))
	}
	e := &Env{opts: o, bin: filepath.Join(o.Dir, "bin"), Binaries: map[string]Binary{}}
	cp, err := controlplane.Start(ctx, controlplane.Options{
		Bin: filepath.Join(o.Tools, "bin"), Dir: o.Dir, Nodes: nodes,
		Stages: filepath.Join(o.Tools, "kwok"), Detach: o.Detach, Progress: o.Progress,
		RealNode: o.realNodeOptions(),
		AuditLog: o.AuditLog, QuietLogs: o.QuietLogs, SyncInterval: o.SyncInterval,
		CrossplaneConcurrency: o.CrossplaneConcurrency,
	})
	if err != nil {
		return nil, err
	}
	e.CP = cp
	if e.Kube, err = client.New(cp.Config, client.Options{Scheme: Scheme()}); err != nil {
		return e, errors.Wrap(err, "cannot create client")
	}
	return e, e.up(ctx)
}

func (e *Env) up(ctx context.Context) error {
	o := e.opts
	var err error
	if e.Registry, err = e.CP.StartRegistry(ctx); err != nil {
		return err
	}
	if n := e.CP.RealNode(); n != nil {
		// Images pushed to the local registry are pullable on the node.
		if err := n.TrustRegistry(e.Registry); err != nil {
			return err
		}
	}
	if err := e.CP.StartCrossplane(ctx, filepath.Join(o.Tools, "crossplane-crds")); err != nil {
		return err
	}
	// provider-vdi is safe-start: its kinds exist only once a policy
	// activates them, as a platform would with this example.
	if err := controlplane.Apply(ctx, e.Kube, filepath.Join(o.Root, "examples", "provider", "activation-policy.yaml")); err != nil {
		return err
	}
	if err := e.CP.StartRBACManager(ctx); err != nil {
		return err
	}
	if err := e.pushPackages(ctx); err != nil {
		return err
	}
	if err := e.storage(ctx); err != nil {
		return err
	}
	e.progress("installing Traefik's CRDs")
	if err := controlplane.Apply(ctx, e.Kube, filepath.Join(o.Tools, "crds", "traefik.yaml")); err != nil {
		return err
	}
	if o.RealNode {
		if err := e.startTraefik(ctx); err != nil {
			return err
		}
	}
	if err := e.applyInstall(ctx); err != nil {
		return err
	}
	if err := e.install(ctx); err != nil {
		return err
	}
	if err := e.extractBinaries(ctx); err != nil {
		return err
	}
	if err := e.CP.FunctionTLS(ctx, functionTLSName, filepath.Join(o.Dir, "function-certs")); err != nil {
		return err
	}
	if err := e.StartFunction(); err != nil {
		return err
	}
	if err := e.providerIdentity(ctx); err != nil {
		return err
	}
	if err := e.StartProvider(); err != nil {
		return err
	}
	if err := e.waitPackages(ctx); err != nil {
		return err
	}
	if err := e.VerifyRunning(); err != nil {
		return err
	}
	e.progress("applying the ClusterProviderConfig and the example templates")
	return controlplane.Apply(ctx, e.Kube,
		filepath.Join(o.Root, "examples", "provider", "clusterproviderconfig.yaml"),
		filepath.Join(o.Root, "examples", "templates", "ubuntu-gpu.yaml"),
		filepath.Join(o.Root, "examples", "templates", "ubuntu-cpu.yaml"),
		filepath.Join(o.Root, "examples", "templates", "web-desktop.yaml"))
}

// crossplane runs the pinned Crossplane CLI against the environment.
func (e *Env) crossplane(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(e.opts.Tools, "bin", "crossplane"), args...)
	cmd.Dir = e.opts.Root
	cmd.Env = append(os.Environ(), "KUBECONFIG="+e.CP.Kubeconfig)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return errors.Wrapf(err, "crossplane %v: %s", args, out)
	}
	return nil
}

// pushPackages builds the three packages with their runtime images, as
// `make packages` does, and pushes them to the local registry under the
// repositories the configuration's dependsOn names, which an ImageConfig
// rewrites to the local registry.
func (e *Env) pushPackages(ctx context.Context) error {
	v, rev, created, err := packaging.Describe(ctx, e.opts.Root)
	if err != nil {
		return err
	}
	e.Version = v
	o := packaging.Options{
		Root: e.opts.Root, Out: filepath.Join(e.opts.Dir, "packages"),
		Crossplane: filepath.Join(e.opts.Tools, "bin", "crossplane"),
		Version:    v, Revision: rev, Created: created, Progress: e.opts.Progress,
		// The platform's domain here: one that resolves to loopback.
		IngressDomain: Domain,
	}
	e.progress("building packages %s with linux/amd64 and linux/arm64 runtime images", v)
	pkgs, err := packaging.Build(ctx, o)
	if err != nil {
		return err
	}
	if err := packaging.Push(ctx, o, pkgs, e.Registry, v); err != nil {
		return err
	}
	ic := &unstructured.Unstructured{Object: map[string]any{
		"spec": map[string]any{
			"matchImages":  []any{map[string]any{"type": "Prefix", "prefix": PackageOrg + "/"}},
			"rewriteImage": map[string]any{"prefix": e.localOrg() + "/"},
		},
	}}
	ic.SetAPIVersion("pkg.crossplane.io/v1beta1")
	ic.SetKind("ImageConfig")
	ic.SetName("provider-vdi-local-registry")
	return errors.Wrap(e.Kube.Create(ctx, ic), "cannot create ImageConfig")
}

// localOrg is where the local registry holds our packages.
func (e *Env) localOrg() string { return e.Registry + "/" + packaging.Org }

// storage makes a default storage class of static volumes that bind when
// their first consumer is scheduled, standing in for a CSI driver: hostPath
// volumes for the fake nodes, which nothing mounts, and local volumes on
// the real node.
func (e *Env) storage(ctx context.Context) error {
	n := e.opts.Volumes
	if n == 0 {
		n = 8
	}
	e.progress("creating storage class %q with %d static volumes", storageClass, n)
	sc := &storagev1.StorageClass{
		ObjectMeta:           metav1.ObjectMeta{Name: storageClass, Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}},
		Provisioner:          "kubernetes.io/no-provisioner",
		VolumeBindingMode:    ptr.To(storagev1.VolumeBindingWaitForFirstConsumer),
		AllowVolumeExpansion: ptr.To(true),
	}
	if err := e.Kube.Create(ctx, sc); err != nil && !kerrors.IsAlreadyExists(err) {
		return errors.Wrap(err, "cannot create storage class")
	}
	// GPU templates run desktops under the NVIDIA container runtime.
	rc := &nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: "nvidia"}, Handler: "nvidia"}
	if err := e.Kube.Create(ctx, rc); err != nil && !kerrors.IsAlreadyExists(err) {
		return errors.Wrap(err, "cannot create RuntimeClass nvidia")
	}
	for i := range n {
		name := "home-" + strconv.Itoa(i)
		src := corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/lib/vdi/" + name}}
		if err := e.createVolume(ctx, name, src, onNodes("type", "kwok")); err != nil {
			return err
		}
	}
	if e.CP.RealNode() != nil {
		return e.realNodeVolumes(ctx, 4)
	}
	return nil
}

// install installs the configuration the way users do; Crossplane resolves
// its provider and function dependencies from the registry.
func (e *Env) install(ctx context.Context) error {
	e.progress("crossplane xpkg install configuration %s/%s:%s", PackageOrg, Configuration, e.Version)
	return e.crossplane(ctx, "xpkg", "install", "configuration", fmt.Sprintf("%s/%s:%s", PackageOrg, Configuration, e.Version), Configuration)
}

// waitPackages wires the function's revision to the local function process
// and waits until the configuration, provider and function are healthy and
// the VDISession API is served.
func (e *Env) waitPackages(ctx context.Context) error {
	e.progress("waiting for the configuration, provider and function to be healthy")
	start, last := time.Now(), time.Now()
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 5*time.Minute, true, func(ctx context.Context) (bool, error) {
		if err := e.wireFunction(ctx); err != nil {
			return false, err
		}
		healthy := 0
		var waiting []string
		for _, p := range []struct{ kind, name string }{
			{"Configuration", Configuration}, {"Provider", ProviderName}, {"Function", FunctionName},
		} {
			u := &unstructured.Unstructured{}
			u.SetAPIVersion("pkg.crossplane.io/v1")
			u.SetKind(p.kind)
			if err := e.Kube.Get(ctx, client.ObjectKey{Name: p.name}, u); err != nil {
				waiting = append(waiting, p.kind+" "+p.name+": not created yet")
				continue
			}
			if ok, msg := Condition(u, "Healthy"); ok {
				healthy++
			} else {
				waiting = append(waiting, p.kind+" "+p.name+": "+msg)
			}
		}
		if time.Since(last) > 10*time.Second {
			e.progress("%d of 3 packages healthy after %s; waiting for %v", healthy, time.Since(start).Round(time.Second), waiting)
			last = time.Now()
		}
		return healthy == 3, nil
	})
	if err != nil {
		return errors.Wrap(err, "packages did not become healthy; see crossplane.log")
	}
	return controlplane.WaitForCRDs(ctx, e.Kube, "vdisessions.vdi.kasm.io")
}

// wireFunction does for function-vdi's revisions what an External package
// runtime's controller does, since Crossplane leaves that to the operator
// (here, us); see WireFunction.
func (e *Env) wireFunction(ctx context.Context) error {
	return e.WireFunction(ctx, FunctionName, e.fnAddr, functionTLSName, e.functionServes())
}

// WireFunction points the revisions of Function function at a function
// process serving at addr with the TLS Secret tlsSecret of Crossplane's
// namespace, and reports their runtime healthy once serves is true.
func (e *Env) WireFunction(ctx context.Context, function, addr, tlsSecret string, serves bool) error {
	l := &unstructured.UnstructuredList{}
	l.SetAPIVersion("pkg.crossplane.io/v1")
	l.SetKind("FunctionRevisionList")
	if err := e.Kube.List(ctx, l, client.MatchingLabels{"pkg.crossplane.io/package": function}); err != nil {
		return nil //nolint:nilerr // The kind may not be served yet.
	}
	for i := range l.Items {
		r := &l.Items[i]
		ep, _, _ := unstructured.NestedString(r.Object, "status", "endpoint")
		if ep != "dns:///"+addr {
			patch := []byte(fmt.Sprintf(`{"status":{"endpoint":"dns:///%s","tlsServerSecretName":%q}}`, addr, tlsSecret))
			if err := e.Kube.Status().Patch(ctx, r, client.RawPatch(types.MergePatchType, patch)); err != nil {
				return errors.Wrapf(err, "cannot wire FunctionRevision %q to the local function", r.GetName())
			}
		}
		if ok, _ := Condition(r, "RuntimeHealthy"); ok || !serves {
			continue
		}
		conds, _, _ := unstructured.NestedSlice(r.Object, "status", "conditions")
		kept := make([]any, 0, len(conds)+1)
		for _, c := range conds {
			if m, _ := c.(map[string]any); m["type"] != "RuntimeHealthy" {
				kept = append(kept, c)
			}
		}
		kept = append(kept, map[string]any{
			"type": "RuntimeHealthy", "status": "True", "reason": "HealthyPackageRevision",
			"message":            "served by the local function process at " + addr,
			"lastTransitionTime": time.Now().UTC().Format(time.RFC3339),
		})
		if err := unstructured.SetNestedSlice(r.Object, kept, "status", "conditions"); err != nil {
			return errors.Wrap(err, "cannot set FunctionRevision conditions")
		}
		if err := e.Kube.Status().Update(ctx, r); err != nil && !kerrors.IsConflict(err) {
			return errors.Wrapf(err, "cannot report FunctionRevision %q runtime healthy", r.GetName())
		}
	}
	return nil
}

// functionServes reports whether the function process accepts connections.
func (e *Env) functionServes() bool {
	c, err := net.DialTimeout("tcp", e.fnAddr, time.Second)
	if err != nil {
		return false
	}
	_ = c.Close()
	return e.function != nil && !controlplane.Exited(e.function)
}

// Condition returns whether condition ct of u is True, and a description
// of it for progress lines and errors.
func Condition(u *unstructured.Unstructured, ct string) (bool, string) {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == ct {
			return m["status"] == "True", fmt.Sprintf("%s=%v %v: %v", ct, m["status"], m["reason"], m["message"])
		}
	}
	return false, ct + " not reported yet"
}

// StartProvider starts the provider process.
func (e *Env) StartProvider() error {
	ports, err := controlplane.FreePorts(3)
	if err != nil {
		return err
	}
	e.ProviderPprof = "127.0.0.1:" + ports[2]
	// The gate's image as pushed to the local registry with the packages.
	args := []string{"--poll=1m",
		"--metrics-bind-address=127.0.0.1:" + ports[0], "--health-probe-bind-address=127.0.0.1:" + ports[1],
		"--pprof-bind-address=" + e.ProviderPprof,
		"--gate-image=" + packaging.GateImage(e.Registry, e.Version)}
	if !e.opts.QuietLogs {
		args = append(args, "--debug")
	}
	cmd, err := e.start("provider", e.Binaries["provider-vdi"].Path, e.ProviderKubeconfig, args...)
	e.provider = cmd
	return err
}

// KillProvider ends the provider with SIGKILL, as a crash would.
func (e *Env) KillProvider() {
	if e.provider != nil {
		_ = e.provider.Process.Kill()
		_, _ = e.provider.Process.Wait()
	}
}

// StartFunction starts the function process with mTLS on a loopback port.
func (e *Env) StartFunction() error {
	ports, err := controlplane.FreePorts(1)
	if err != nil {
		return err
	}
	e.fnAddr = "127.0.0.1:" + ports[0]
	cmd, err := e.start("function", e.Binaries["function-vdi"].Path, "", "--debug",
		"--address="+e.fnAddr, "--tls-certs-dir="+filepath.Join(e.opts.Dir, "function-certs"))
	e.function = cmd
	return err
}

// start runs bin as component name with KUBECONFIG=kubeconfig; the
// function, which calls no API server, gets none.
func (e *Env) start(name, bin, kubeconfig string, args ...string) (*exec.Cmd, error) {
	e.starts++
	log, err := os.OpenFile(filepath.Join(e.opts.Dir, name+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, errors.Wrapf(err, "cannot open log of %s", name)
	}
	cmd := controlplane.Command(log, []string{"KUBECONFIG=" + kubeconfig}, bin, args...)
	if e.opts.Detach {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	}
	if err := cmd.Start(); err != nil {
		return nil, errors.Wrapf(err, "cannot start %s", name)
	}
	e.progress("%s running (PID %d, log %s)", name, cmd.Process.Pid, log.Name())
	return cmd, nil
}

// Processes returns every process the environment started.
func (e *Env) Processes() []controlplane.Process {
	var ps []controlplane.Process
	if e.CP != nil {
		ps = e.CP.Processes()
	}
	for name, c := range map[string]*exec.Cmd{"provider": e.provider, "function": e.function, "traefik": e.traefik} {
		if c != nil && c.Process != nil {
			ps = append(ps, controlplane.Process{Name: name, PID: c.Process.Pid})
		}
	}
	return ps
}

// Stop ends every process the environment started.
func (e *Env) Stop() {
	for _, c := range []*exec.Cmd{e.provider, e.function, e.traefik} {
		if c != nil && c.Process != nil {
			controlplane.StopProcess(c, 10*time.Second)
		}
	}
	if e.CP != nil {
		e.CP.Stop()
	}
}
