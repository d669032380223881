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
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"

	"github.com/provider-vdi/provider-vdi/internal/controlplane"
	"github.com/provider-vdi/provider-vdi/internal/localenv"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: local up|down [--state DIR] [--tools DIR]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	state := fs.String("state", ".work", "Folder of the logs, PIDs, kubeconfig and data of the local run.")
	tools := fs.String("tools", ".cache/tools", "The cache of pinned tools that make tools fills.")
	gpuNodes := fs.Int("gpu-nodes", 2, "How many fake GPU nodes, of four GPUs each, to run.")
	_ = fs.Parse(os.Args[2:])
	abs, _ := filepath.Abs(*state)

	var err error
	switch os.Args[1] {
	case "up":
		err = up(context.Background(), abs, *tools, *gpuNodes)
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

// readPIDs returns the recorded processes that still run, each the very
// process recorded (controlplane.Identified), not another that got its PID
// since, and whether any were recorded.
func readPIDs(state string) (map[string]int, []int, bool) {
	names := map[string]int{}
	var pids []int
	f, err := os.Open(pidsFile(state))
	if err != nil {
		return names, nil, false
	}
	defer f.Close() //nolint:errcheck // Read only.
	s := bufio.NewScanner(f)
	for s.Scan() {
		name, id, _ := strings.Cut(s.Text(), " ")
		if pid, ok := controlplane.Identified(id); ok {
			names[name] = pid
			pids = append(pids, pid)
		}
	}
	return names, pids, true
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func recordPID(state, name string, pid int) error {
	id, err := controlplane.Identify(pid)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(pidsFile(state), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return errors.Wrap(err, "cannot record PID")
	}
	defer f.Close() //nolint:errcheck // Checked on write.
	_, err = fmt.Fprintf(f, "%s %s\n", name, id)
	return errors.Wrap(err, "cannot record PID")
}

func down(state string) error {
	// The real node first: its kubelet and containerd by PID, then its
	// containers, mounts, cgroups, bridge and sysctls.
	controlplane.StopRealNode(filepath.Join(state, "env", "realnode"), os.Stdout)
	names, pids, recorded := readPIDs(state)
	if len(pids) == 0 {
		fmt.Println("down: nothing recorded is running")
		if recorded {
			return errors.Wrap(os.Remove(pidsFile(state)), "cannot remove PID file")
		}
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

func up(ctx context.Context, state, tools string, gpuNodes int) error {
	if names, pids, recorded := readPIDs(state); len(pids) > 0 {
		fmt.Printf("up: already running (%v); `make down` stops it\n", names)
		return nil
	} else if recorded {
		// A previous run died: clear what is left of it.
		_ = down(state)
	}
	dir := filepath.Join(state, "env")
	if err := os.RemoveAll(dir); err != nil {
		return errors.Wrap(err, "cannot clear the previous run's state")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return errors.Wrap(err, "cannot create state folder")
	}
	root, _ := os.Getwd()
	tools, _ = filepath.Abs(tools)
	start := time.Now()
	env, err := localenv.Up(ctx, localenv.Options{Root: root, Tools: tools, Dir: dir, GPUNodes: gpuNodes, Detach: true, RealNode: true, Progress: os.Stdout})
	if env != nil {
		for _, p := range env.Processes() {
			if rerr := recordPID(state, p.Name, p.PID); rerr != nil {
				return rerr
			}
		}
	}
	if err == nil {
		err = session(ctx, env, tools, state, start)
	}
	if err != nil {
		fmt.Printf("up: failed after %s; logs are in %s; stopping what was started\n", time.Since(start).Round(time.Second), dir)
		if env != nil {
			env.Stop()
		}
		_ = os.Remove(pidsFile(state))
		return err
	}
	return nil
}

// session applies the example sessions, waits until they run, opens the
// real node's desktop through Traefik, and prints how to reach it.
func session(ctx context.Context, env *localenv.Env, tools, state string, start time.Time) error {
	fmt.Println("up: applying examples/run/session.yaml: VDISessions alice-gpu (a fake GPU node) and alice-desktop (the real node) in namespace alice")
	if err := controlplane.Apply(ctx, env.Kube, "examples/run/session.yaml"); err != nil {
		return err
	}
	if _, err := localenv.WaitForPhase(ctx, env.Kube, os.Stdout, "alice", "alice-gpu", "Running", 5*time.Minute); err != nil {
		return err
	}
	s, err := localenv.WaitForPhase(ctx, env.Kube, os.Stdout, "alice", "alice-desktop", "Running", 5*time.Minute)
	if err != nil {
		return err
	}
	kubectl := filepath.Join(tools, "bin", "kubectl")
	show := exec.CommandContext(ctx, kubectl, "--kubeconfig", env.CP.Kubeconfig, "get", "vdisessions", "-A", "-o", "wide")
	show.Stdout, show.Stderr = os.Stdout, os.Stderr
	_ = show.Run()
	fmt.Println("\nThe provider's credentials (kubectl auth whoami --kubeconfig " + env.ProviderKubeconfig + "):")
	whoami := exec.CommandContext(ctx, kubectl, "--kubeconfig", env.ProviderKubeconfig, "auth", "whoami")
	whoami.Stdout, whoami.Stderr = os.Stdout, os.Stderr
	if err := whoami.Run(); err != nil {
		return errors.Wrap(err, "kubectl auth whoami as the provider")
	}
	if err := env.VerifyRunning(); err != nil {
		return err
	}
	url, _, _ := unstructured.NestedString(s.Object, "status", "url")
	node, _, _ := unstructured.NestedString(s.Object, "status", "node")
	secret, _, _ := unstructured.NestedString(s.Object, "status", "credentialsSecretName")
	page, err := localenv.OpenDesktop(ctx, env, "alice", secret)
	if err != nil {
		return err
	}
	fmt.Printf(`
A desktop session is Running on the real node %s (%s after start); Traefik
served its page (%s) from the desktop Pod.

link: %s
  open:         the link in a browser that trusts the CA %s
                (Traefik listens on %s; *.localhost resolves to loopback): the gate in
                the desktop Pod sets a cookie for %s and drops the token
  credentials:  Secret %s in namespace alice (keys link, url, username, password); the link
                is signed anew every 20 minutes and lasts 30, so read the current one with
                %s get secret -n alice %s -o jsonpath='{.data.link}' | base64 -d
  curl:         curl --cacert %s -L -b '' "$(%s get secret -n alice %s -o jsonpath='{.data.link}' | base64 -d)"
  cluster:      export KUBECONFIG=%s
                %s get vdisessions,desktops,pods,nodes -A -o wide
  packages:     %s, binaries extracted from their
                linux/amd64 runtime images: sha256 in %s

Logs and PIDs are in %s. Stop everything with: make down
`, node, time.Since(start).Round(time.Second), page, page.Link, env.IngressCA, localenv.IngressAddress, url,
		secret, kubectl, secret, env.IngressCA, kubectl, secret, env.CP.Kubeconfig, kubectl,
		env.Version, env.BinaryRecord(), state)
	return nil
}
