//go:build bench

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"

	"github.com/provider-vdi/provider-vdi/internal/controlplane"
	"github.com/provider-vdi/provider-vdi/internal/localenv"
)

// Fake GPU nodes: enough GPUs for the big burst or the steady arrival, one
// GPU per desktop.
const (
	gpuNodes    = 48
	gpusPerNode = 8
)

// Names of the peers' parts.
const (
	benchFunction     = "function-bench"
	benchFunctionTLS  = "function-bench-tls-server"
	pkProviderConfig  = "bench"
	pkKubeconfigName  = "bench-kubeconfig"
	benchUserAgent    = "vdi-bench"
	benchGroup        = "bench.vdi.kasm.io"
	placeholder       = "zzsession"
	benchFunctionRepo = "bench/function-bench:v0.1.0"
)

type bench struct {
	k     knobs
	root  string
	tools string
	dir   string
	env   *localenv.Env
	// kube and dyn are the benchmark's own clients, with user agent
	// benchUserAgent, so that its requests are told apart in the audit log.
	kube  client.Client
	dyn   dynamic.Interface
	cs    kubernetes.Interface
	audit string
	// started are the processes the benchmark started itself.
	started map[string]*exec.Cmd
	// objects are the Pod, PVC, Service and IngressRoute provider-vdi made
	// for the single session, with its name replaced by placeholder.
	objects map[string]map[string]any
	res     results
	load    []string
}

func up(ctx context.Context, root string, k knobs) (*bench, error) {
	tools := os.Getenv("TOOLS_DIR")
	if tools == "" {
		tools = filepath.Join(root, ".cache", "tools")
	}
	dir, err := os.MkdirTemp("", "vdi-bench-")
	if err != nil {
		return nil, errors.Wrap(err, "cannot make a work folder")
	}
	b := &bench{k: k, root: root, tools: tools, dir: dir, audit: filepath.Join(dir, "audit.log"), started: map[string]*exec.Cmd{}}
	b.res.Started = time.Now().UTC()
	b.note("bringing up the environment in %s (%d fake GPU nodes of %d GPUs)", dir, gpuNodes, gpusPerNode)
	b.env, err = localenv.Up(ctx, localenv.Options{
		Root: root, Tools: tools, Dir: dir, GPUNodes: gpuNodes, GPUsPerNode: gpusPerNode,
		AuditLog: b.audit, Progress: os.Stderr,
		// Crossplane and the provider log as installed packages do; the
		// function keeps its debug log, which the hops are read from.
		QuietLogs:             true,
		SyncInterval:          k.xpSync,
		CrossplaneConcurrency: k.xpConcurrency,
	})
	if err != nil {
		return b, err
	}
	cfg := rest.CopyConfig(b.env.CP.Config)
	cfg.UserAgent = benchUserAgent
	cfg.QPS, cfg.Burst = 1000, 2000
	if b.kube, err = client.New(cfg, client.Options{Scheme: localenv.Scheme()}); err != nil {
		return b, errors.Wrap(err, "cannot create client")
	}
	if b.dyn, err = dynamic.NewForConfig(cfg); err != nil {
		return b, errors.Wrap(err, "cannot create dynamic client")
	}
	if b.cs, err = kubernetes.NewForConfig(cfg); err != nil {
		return b, errors.Wrap(err, "cannot create clientset")
	}
	if k.scenarios["raw"] || k.scenarios["object"] {
		if err := b.startFunction(ctx); err != nil {
			return b, err
		}
		if err := b.peerDefinitions(ctx); err != nil {
			return b, err
		}
	}
	if k.scenarios["object"] {
		if err := b.startProviderKubernetes(ctx); err != nil {
			return b, err
		}
	}
	return b, nil
}

func (b *bench) note(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: %s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// start runs bin as component name, logging to name.log.
func (b *bench) start(name string, env []string, bin string, args ...string) error {
	log, err := os.Create(filepath.Join(b.dir, name+".log"))
	if err != nil {
		return errors.Wrapf(err, "cannot create log of %s", name)
	}
	cmd := controlplane.Command(log, env, bin, args...)
	if err := cmd.Start(); err != nil {
		return errors.Wrapf(err, "cannot start %s", name)
	}
	b.started[name] = cmd
	b.note("%s running (PID %d, log %s)", name, cmd.Process.Pid, log.Name())
	return nil
}

func (b *bench) stop() {
	for name, c := range b.started {
		if controlplane.StopProcess(c, 10*time.Second) {
			b.note("killed %s", name)
		}
	}
	if b.env != nil {
		b.env.Stop()
	}
}

// startFunction builds the peers' test-only function, serves it with mTLS
// and installs it as Function function-bench from the local registry,
// wired to the local process as localenv wires function-vdi.
func (b *bench) startFunction(ctx context.Context) error {
	certs := filepath.Join(b.dir, "function-bench-certs")
	if err := b.env.CP.FunctionTLS(ctx, benchFunctionTLS, certs); err != nil {
		return err
	}
	bin := filepath.Join(b.dir, "bin", benchFunction)
	build := exec.CommandContext(ctx, "go", "build", "-tags", "bench", "-o", bin, "./test/bench/function")
	build.Dir = b.root
	if out, err := build.CombinedOutput(); err != nil {
		return errors.Wrapf(err, "cannot build the bench function: %s", out)
	}
	ports, err := controlplane.FreePorts(1)
	if err != nil {
		return err
	}
	addr := "127.0.0.1:" + ports[0]
	if err := b.start(benchFunction, nil, bin, "--debug", "--address="+addr, "--tls-certs-dir="+certs); err != nil {
		return err
	}
	pkg := filepath.Join(b.dir, "function-bench-package")
	if err := os.MkdirAll(pkg, 0o750); err != nil {
		return errors.Wrap(err, "cannot make package folder")
	}
	meta := "apiVersion: meta.pkg.crossplane.io/v1beta1\nkind: Function\nmetadata:\n  name: function-bench\nspec: {}\n"
	if err := os.WriteFile(filepath.Join(pkg, "crossplane.yaml"), []byte(meta), 0o600); err != nil {
		return errors.Wrap(err, "cannot write package metadata")
	}
	xpkg := filepath.Join(b.dir, "function-bench.xpkg")
	ref := b.env.Registry + "/" + benchFunctionRepo
	for _, args := range [][]string{
		{"xpkg", "build", "--package-root=" + pkg, "--examples-root=" + filepath.Join(pkg, "examples"), "--package-file=" + xpkg},
		{"xpkg", "push", "--package-files=" + xpkg, ref},
	} {
		cmd := exec.CommandContext(ctx, filepath.Join(b.tools, "bin", "crossplane"), args...)
		cmd.Dir = pkg
		if out, err := cmd.CombinedOutput(); err != nil {
			return errors.Wrapf(err, "crossplane %v: %s", args, out)
		}
	}
	fn := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "pkg.crossplane.io/v1", "kind": "Function",
		"metadata": map[string]any{"name": benchFunction},
		"spec":     map[string]any{"package": ref},
	}}
	if err := b.kube.Create(ctx, fn); err != nil {
		return errors.Wrap(err, "cannot create Function function-bench")
	}
	b.note("waiting for Function %s to be healthy", benchFunction)
	err = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		if err := b.env.WireFunction(ctx, benchFunction, addr, benchFunctionTLS, true); err != nil {
			return false, err
		}
		if err := b.kube.Get(ctx, client.ObjectKey{Name: benchFunction}, fn); err != nil {
			return false, nil //nolint:nilerr // Try again.
		}
		ok, _ := localenv.Condition(fn, "Healthy")
		return ok, nil
	})
	return errors.Wrap(err, "Function function-bench did not become healthy")
}

// startProviderKubernetes installs provider-kubernetes' CRDs and runs it as
// a local process, as the admin user (the RBAC a platform would grant it
// is not what is measured), with a ClusterProviderConfig that reaches the
// same API server through a kubeconfig Secret, and watches on, as a user
// who wants Objects to follow their Pods would run it.
func (b *bench) startProviderKubernetes(ctx context.Context) error {
	// Only the namespaced kinds: the cluster-scoped Object's CRD names a
	// conversion webhook Service that Crossplane fills in when it installs
	// the package, which is not how it runs here.
	crds, err := filepath.Glob(filepath.Join(b.tools, "provider-kubernetes-crds", "kubernetes.m.crossplane.io_*.yaml"))
	if err != nil || len(crds) == 0 {
		return errors.Errorf("no provider-kubernetes CRDs in %s: run `cluster/tools/build.sh provider-kubernetes`", b.tools)
	}
	if err := controlplane.Apply(ctx, b.kube, crds...); err != nil {
		return err
	}
	kc, err := os.ReadFile(b.env.CP.Kubeconfig)
	if err != nil {
		return errors.Wrap(err, "cannot read kubeconfig")
	}
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: controlplane.CrossplaneNamespace, Name: pkKubeconfigName}, Data: map[string][]byte{"kubeconfig": kc}}
	if err := b.kube.Create(ctx, s); err != nil && !kerrors.IsAlreadyExists(err) {
		return errors.Wrap(err, "cannot create kubeconfig Secret")
	}
	pc := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kubernetes.m.crossplane.io/v1alpha1", "kind": "ClusterProviderConfig",
		"metadata": map[string]any{"name": pkProviderConfig},
		"spec": map[string]any{"credentials": map[string]any{
			"source":    "Secret",
			"secretRef": map[string]any{"namespace": controlplane.CrossplaneNamespace, "name": pkKubeconfigName, "key": "kubeconfig"},
		}},
	}}
	if err := b.kube.Create(ctx, pc); err != nil {
		return errors.Wrap(err, "cannot create provider-kubernetes ClusterProviderConfig")
	}
	ports, err := controlplane.FreePorts(3)
	if err != nil {
		return err
	}
	return b.start("provider-kubernetes", []string{
		"KUBECONFIG=" + b.env.CP.Kubeconfig,
		"TLS_SERVER_CERTS_DIR=" + filepath.Join(b.dir, "function-bench-certs"),
	}, filepath.Join(b.tools, "bin", "provider-kubernetes"),
		"--enable-watches",
		"--metrics-bind-address=127.0.0.1:"+ports[0], "--health-probe-bind-addr=127.0.0.1:"+ports[1], "--webhook-port="+ports[2])
}

// peerDefinitions makes the peers' XRDs: RawSession and ObjectSession,
// namespaced, whose status.phase the bench function sets.
func (b *bench) peerDefinitions(ctx context.Context) error {
	var crds []string
	for _, kind := range []string{"RawSession", "ObjectSession"} {
		plural := lower(kind) + "s"
		xrd := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "apiextensions.crossplane.io/v2", "kind": "CompositeResourceDefinition",
			"metadata": map[string]any{"name": plural + "." + benchGroup},
			"spec": map[string]any{
				"group": benchGroup, "scope": "Namespaced",
				"names": map[string]any{"kind": kind, "plural": plural},
				"versions": []any{map[string]any{
					"name": "v1alpha1", "served": true, "referenceable": true,
					"schema": map[string]any{"openAPIV3Schema": map[string]any{
						"type": "object",
						"properties": map[string]any{
							"spec":   map[string]any{"type": "object"},
							"status": map[string]any{"type": "object", "properties": map[string]any{"phase": map[string]any{"type": "string"}}},
						},
					}},
				}},
			},
		}}
		if err := b.kube.Create(ctx, xrd); err != nil {
			return errors.Wrapf(err, "cannot create XRD of %s", kind)
		}
		crds = append(crds, plural+"."+benchGroup)
	}
	return controlplane.WaitForCRDs(ctx, b.kube, crds...)
}

// peerCompositions make the peers' Compositions, once the objects to
// compose are known.
func (b *bench) peerCompositions(ctx context.Context) error {
	objects := map[string]any{}
	for k, v := range b.objects {
		objects[k] = v
	}
	for kind, mode := range map[string]string{"RawSession": "raw", "ObjectSession": "object"} {
		c := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "apiextensions.crossplane.io/v1", "kind": "Composition",
			"metadata": map[string]any{"name": lower(kind)},
			"spec": map[string]any{
				"compositeTypeRef": map[string]any{"apiVersion": benchGroup + "/v1alpha1", "kind": kind},
				"mode":             "Pipeline",
				"pipeline": []any{map[string]any{
					"step":        "compose",
					"functionRef": map[string]any{"name": benchFunction},
					"input": map[string]any{
						"apiVersion": "bench.fn.kasm.io/v1", "kind": "Input",
						"mode": mode, "placeholder": placeholder, "providerConfig": pkProviderConfig,
						"objects": objects,
					},
				}},
			},
		}}
		if err := b.kube.Create(ctx, c); err != nil {
			return errors.Wrapf(err, "cannot create Composition of %s", kind)
		}
	}
	return nil
}

func lower(s string) string {
	out := []byte(s)
	for i, c := range out {
		if c >= 'A' && c <= 'Z' {
			out[i] = c + 'a' - 'A'
		}
	}
	return string(out)
}
