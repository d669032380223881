// Command local brings up provider-vdi on a local control plane for `make
// run`, and takes it down again for `make down`. Every process it starts is
// recorded by PID in the state folder, and `down` stops exactly those.
//
//	go run ./cluster/local up   --state .work --tools .cache/tools/bin
//	go run ./cluster/local down --state .work
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	extv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"

	"github.com/provider-vdi/provider-vdi/apis"
	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/controlplane"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: local up|down [--state DIR] [--tools DIR]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	state := fs.String("state", ".work", "Folder of the logs, PIDs, kubeconfig and data of the local run.")
	tools := fs.String("tools", ".cache/tools/bin", "Folder of the pinned tools (make tools).")
	_ = fs.Parse(os.Args[2:])
	abs, _ := filepath.Abs(*state)

	var err error
	switch os.Args[1] {
	case "up":
		err = up(context.Background(), abs, *tools)
	case "down":
		err = down(abs)
	default:
		err = errors.Errorf("unknown command %q: want up or down", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "local:", err)
		os.Exit(1)
	}
}

func pidsFile(state string) string { return filepath.Join(state, "pids") }

// readPIDs returns the recorded processes that still run.
func readPIDs(state string) (map[string]int, []int) {
	names := map[string]int{}
	var pids []int
	f, err := os.Open(pidsFile(state))
	if err != nil {
		return names, nil
	}
	defer f.Close() //nolint:errcheck // Read only.
	s := bufio.NewScanner(f)
	for s.Scan() {
		name, p, ok := strings.Cut(s.Text(), " ")
		pid, err := strconv.Atoi(p)
		if !ok || err != nil {
			continue
		}
		names[name] = pid
		pids = append(pids, pid)
	}
	return names, pids
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func recordPID(state, name string, pid int) error {
	f, err := os.OpenFile(pidsFile(state), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return errors.Wrap(err, "cannot record PID")
	}
	defer f.Close() //nolint:errcheck // Checked on write.
	_, err = fmt.Fprintf(f, "%s %d\n", name, pid)
	return errors.Wrap(err, "cannot record PID")
}

func down(state string) error {
	names, pids := readPIDs(state)
	if len(pids) == 0 {
		fmt.Println("down: nothing recorded as running")
		return nil
	}
	killed := controlplane.StopPIDs(pids, 15*time.Second)
	for name, pid := range names {
		fmt.Printf("down: stopped %s (PID %d)\n", name, pid)
	}
	if len(killed) > 0 {
		fmt.Printf("down: had to SIGKILL %v\n", killed)
	}
	for _, pid := range pids {
		if alive(pid) {
			return errors.Errorf("PID %d is still running", pid)
		}
	}
	return errors.Wrap(os.Remove(pidsFile(state)), "cannot remove PID file")
}

func up(ctx context.Context, state, tools string) error {
	if names, pids := readPIDs(state); len(pids) > 0 {
		for _, pid := range pids {
			if alive(pid) {
				fmt.Printf("up: already running (%v); `make down` stops it\n", names)
				return nil
			}
		}
		// A previous run died: clear what is left of it.
		_ = down(state)
	}
	cluster := filepath.Join(state, "cluster")
	if err := os.RemoveAll(cluster); err != nil {
		return errors.Wrap(err, "cannot clear previous cluster state")
	}
	if err := os.MkdirAll(cluster, 0o750); err != nil {
		return errors.Wrap(err, "cannot create state folder")
	}
	tools, _ = filepath.Abs(tools)

	cp, err := controlplane.Start(ctx, controlplane.Options{Bin: tools, Dir: cluster, ControllerManager: true, Detach: true, Progress: os.Stdout})
	if err != nil {
		return err
	}
	for i, pid := range cp.PIDs() {
		if err := recordPID(state, []string{"etcd", "kube-apiserver", "kube-controller-manager"}[i], pid); err != nil {
			return err
		}
	}
	if err := start(ctx, state, tools, cp); err != nil {
		fmt.Println("up: failed; stopping what was started")
		_ = down(state)
		return err
	}
	return nil
}

func start(ctx context.Context, state, tools string, cp *controlplane.ControlPlane) error {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, extv1.AddToScheme, apis.AddToScheme} {
		if err := add(s); err != nil {
			return err
		}
	}
	kube, err := client.New(cp.Config, client.Options{Scheme: s})
	if err != nil {
		return errors.Wrap(err, "cannot create client")
	}

	fmt.Println("up: installing the provider's CRDs and Traefik's")
	crds, _ := filepath.Glob("package/crds/*.yaml")
	crds = append(crds, filepath.Join(filepath.Dir(tools), "crds", "traefik.yaml"))
	if err := controlplane.Apply(ctx, kube, crds...); err != nil {
		return err
	}

	fmt.Println("up: building the provider")
	bin := filepath.Join(state, "bin", "provider")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/provider")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		return errors.Wrap(err, "cannot build provider")
	}
	log, err := os.Create(filepath.Join(state, "provider.log"))
	if err != nil {
		return err
	}
	metrics, health := freePort(), freePort()
	p := exec.Command(bin, "--debug", "--metrics-bind-address=127.0.0.1:"+metrics, "--health-probe-bind-address=127.0.0.1:"+health) //nolint:gosec // Our own binary.
	p.Env = append(os.Environ(), "KUBECONFIG="+cp.Kubeconfig)
	p.Stdout, p.Stderr = log, log
	p.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := p.Start(); err != nil {
		return errors.Wrap(err, "cannot start provider")
	}
	if err := recordPID(state, "provider", p.Process.Pid); err != nil {
		return err
	}
	fmt.Printf("up: provider running (PID %d, log %s, metrics 127.0.0.1:%s)\n", p.Process.Pid, log.Name(), metrics)

	fmt.Println("up: applying examples/provider: a ClusterProviderConfig and one session's four managed resources")
	if err := controlplane.Apply(ctx, kube, "examples/provider/clusterproviderconfig.yaml", "examples/provider/session.yaml"); err != nil {
		return err
	}
	mrs := []resource.Managed{
		&v1alpha1.DesktopVolume{}, &v1alpha1.Desktop{}, &v1alpha1.DesktopService{}, &v1alpha1.DesktopRoute{},
	}
	names := []string{"alice-dev-home", "alice-dev", "alice-dev", "alice-dev"}
	start := time.Now()
	last := time.Now()
	if err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		synced := 0
		for i, mg := range mrs {
			if err := kube.Get(ctx, client.ObjectKey{Namespace: "alice", Name: names[i]}, mg); err != nil {
				return false, nil //nolint:nilerr // Not there yet.
			}
			if mg.GetCondition(xpv2.TypeSynced).Status == corev1.ConditionTrue {
				synced++
			}
		}
		if time.Since(last) > 5*time.Second {
			fmt.Printf("up: %d of %d managed resources synced after %s\n", synced, len(mrs), time.Since(start).Round(time.Second))
			last = time.Now()
		}
		return synced == len(mrs), nil
	}); err != nil {
		return errors.Wrap(err, "managed resources did not sync; see "+log.Name())
	}

	kubectl := filepath.Join(tools, "kubectl")
	show := exec.CommandContext(ctx, kubectl, "--kubeconfig", cp.Kubeconfig, "get", "-n", "alice", "desktops,desktopvolumes,desktopservices,desktoproutes,pods,pvc,svc,ingressroutes")
	show.Stdout, show.Stderr = os.Stdout, os.Stderr
	_ = show.Run()
	fmt.Printf(`
provider-vdi is running on a local control plane.

  export KUBECONFIG=%s
  %s get desktops -A
  %s get secret -n alice alice-dev-credentials -o jsonpath='{.data.password}' | base64 -d

There is no scheduler or kubelet in this setup yet, so the desktop Pod stays
Pending and the Desktop not Ready; the Desktop shows why.
Logs and PIDs are in %s. Stop everything with: make down
`, cp.Kubeconfig, kubectl, kubectl, state)
	return nil
}

func freePort() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "0"
	}
	defer l.Close() //nolint:errcheck // Only used to find a free port.
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port) //nolint:forcetypeassert // A TCP listener's address.
}
