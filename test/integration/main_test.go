//go:build integration

// Package integration runs the real provider binary against a real
// kube-apiserver, etcd and kube-controller-manager built from pinned modules
// (`make tools`). Run it with `make integration`.
package integration

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	extv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/provider-vdi/provider-vdi/apis"
	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/controlplane"
	"github.com/provider-vdi/provider-vdi/internal/localenv"
	"github.com/provider-vdi/provider-vdi/test/poll"
)

// providerNamespace is the provider's own namespace; gateImage the gate's
// image it puts in desktop Pods (no kubelet runs them here).
const (
	providerNamespace = "vdi-system"
	gateImage         = "127.0.0.1:5000/provider-vdi/gate:integration"
)

// timeout is how long a test waits for what the provider and the control
// plane do.
const timeout = 90 * time.Second

var (
	kube client.Client
	cp   *controlplane.ControlPlane
	prov *provider
	root string
	// cpDir holds the control plane's files; its API server's serving
	// certificate is pki/apiserver.crt.
	cpDir string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx := context.Background()
	wd, _ := os.Getwd()
	root = filepath.Join(wd, "..", "..")
	// make exports TOOLS_DIR; go test run by hand uses the checkout's cache.
	tools := cmp.Or(os.Getenv("TOOLS_DIR"), filepath.Join(root, ".cache", "tools"))
	dir, err := os.MkdirTemp("", "vdi-integration-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}

	cpDir = dir
	cp, err = controlplane.Start(ctx, controlplane.Options{
		Bin: filepath.Join(tools, "bin"), Dir: dir, ControllerManager: true, Progress: os.Stderr,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot start control plane:", err)
		return 1
	}
	defer cp.Stop()

	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, extv1.AddToScheme, apis.AddToScheme} {
		if err := add(s); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	kube, err = client.New(cp.Config, client.Options{Scheme: s})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	crds, _ := filepath.Glob(filepath.Join(root, "package", "crds", "*.yaml"))
	crds = append(crds, filepath.Join(tools, "crds", "traefik.yaml"))
	if err := controlplane.Apply(ctx, kube, crds...); err != nil {
		fmt.Fprintln(os.Stderr, "cannot install CRDs:", err)
		return 1
	}
	if err := kube.Create(ctx, &v1alpha1.ClusterProviderConfig{
		ObjectMeta: metav1.ObjectMeta{Name: "default"},
		Spec:       v1alpha1.ProviderConfigSpec{Credentials: v1alpha1.ProviderCredentials{Source: xpv2.CredentialsSourceInjectedIdentity}},
	}); err != nil {
		fmt.Fprintln(os.Stderr, "cannot create ClusterProviderConfig:", err)
		return 1
	}

	// The provider's own namespace, where it keeps the key that signs
	// session links.
	if err := kube.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: providerNamespace}}); err != nil {
		fmt.Fprintln(os.Stderr, "cannot create the provider's namespace:", err)
		return 1
	}

	bin := filepath.Join(dir, "provider")
	build := exec.Command("go", "build", "-o", bin, "./cmd/provider")
	build.Dir = root
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "cannot build provider:", err)
		return 1
	}
	prov = &provider{bin: bin, dir: dir, kubeconfig: cp.Kubeconfig}
	if err := prov.start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer prov.stop()

	code := m.Run()
	prov.stop()
	cp.Stop()
	controlplane.CleanFolder(dir, code != 0, os.Stderr)
	return code
}

// provider is the provider binary running as a process, as in production.
type provider struct {
	bin, dir, kubeconfig string
	cmd                  *exec.Cmd
	starts               int
	// metrics is the address of the running provider's Prometheus metrics.
	metrics string
}

func (p *provider) start() error {
	p.starts++
	log, err := os.Create(filepath.Join(p.dir, fmt.Sprintf("provider-%d.log", p.starts)))
	if err != nil {
		return err
	}
	ports, err := controlplane.FreePorts(2)
	if err != nil {
		return err
	}
	metrics, health := ports[0], ports[1]
	p.metrics = "127.0.0.1:" + metrics
	// A long poll, so that what shows within a test comes from the Pod
	// watch and the managed resource's own events.
	p.cmd = controlplane.Command(log, []string{"KUBECONFIG=" + p.kubeconfig}, p.bin, "--debug", "--poll=10m",
		"--metrics-bind-address=127.0.0.1:"+metrics, "--health-probe-bind-address=127.0.0.1:"+health,
		"--link-key-namespace="+providerNamespace, "--gate-image="+gateImage)
	return p.cmd.Start()
}

// kill ends the provider abruptly, as a node failure would.
func (p *provider) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	_, _ = p.cmd.Process.Wait()
}

// running reports whether the provider process is still alive.
func (p *provider) running() bool {
	return p.cmd.ProcessState == nil && p.cmd.Process.Signal(syscall.Signal(0)) == nil
}

func (p *provider) stop() {
	controlplane.StopProcess(p.cmd, 10*time.Second)
}

// namespace creates a namespace for one test, enforcing the restricted Pod
// Security profile, and deletes it when the test ends.
func namespace(t *testing.T, name string) string {
	t.Helper()
	if err := localenv.CreateUserNamespace(context.Background(), kube, name); err != nil {
		t.Fatal(err)
	}
	// The ServiceAccount admission plugin wants the default ServiceAccount,
	// which kube-controller-manager makes.
	poll.Until(t, "default ServiceAccount of "+name, timeout, func(ctx context.Context) (bool, string, error) {
		err := kube.Get(ctx, client.ObjectKey{Namespace: name, Name: "default"}, &corev1.ServiceAccount{})
		return err == nil, fmt.Sprint(err), nil
	})
	return name
}
