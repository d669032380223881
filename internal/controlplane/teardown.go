package controlplane

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

// StopRealNode tears down the real node whose folder is dir (the
// environment's folder + "/realnode"), as `make down` does after a detached
// run: the kubelet and containerd by the PIDs they recorded, then what they
// leave on the host. What belongs to the machine rather than to dir (the
// kubelet's cgroups, the bridge, the sysctls) it cleans only once it holds
// RealNodeLock, which another environment's running node would hold. It is
// safe to run when nothing runs.
func StopRealNode(dir string, progress io.Writer) {
	if progress == nil {
		progress = io.Discard
	}
	if _, err := os.Stat(dir); err != nil {
		return
	}
	for _, name := range []string{"kubelet", "containerd"} {
		b, err := os.ReadFile(filepath.Join(dir, "run", name+".pid"))
		if err != nil {
			continue
		}
		if pid, ok := Identified(string(b)); ok {
			StopPIDs([]int{pid}, 15*time.Second)
		}
	}
	lock, err := os.OpenFile(RealNodeLock, os.O_CREATE|os.O_RDWR, 0o644) //nolint:gosec // Anyone may read who holds it.
	if err != nil {
		teardownHost(dir, progress, false)
		return
	}
	defer lock.Close() //nolint:errcheck // Closing releases the lock.
	// The shims inherited the lock from containerd: they go first, and the
	// lock is free moments after.
	killShims(dir)
	held := false
	for range 30 {
		if held = syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil; held {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	teardownHost(dir, progress, held)
}

// teardownRealNode stops the kubelet, then containerd, of a node this
// process started, and cleans the host.
func (cp *ControlPlane) teardownRealNode() {
	n := cp.node
	for _, name := range []string{"kubelet", "containerd"} {
		for i, p := range cp.procs {
			if cp.names[i] == name && p.ProcessState == nil {
				StopProcess(p, 10*time.Second)
			}
		}
	}
	teardownHost(n.Dir, cp.opts.Progress, true)
	if n.lock != nil {
		_ = n.lock.Close()
		n.lock = nil
	}
}

// teardownHost undoes what a real node in dir does to the host once its
// kubelet and containerd are gone: it kills the containers' shims and the
// processes left in the kubelet's cgroups, unmounts everything under dir,
// removes the cgroups, the bridge and the files the kubelet and the CNI
// plugins write outside dir, and puts back the sysctls they changed. Only
// what is under dir unless machine is set: the caller holds RealNodeLock,
// so no other node runs.
func teardownHost(dir string, w io.Writer, machine bool) {
	shims := killShims(dir)
	var cgroups []string
	if machine {
		cgroups = kubepodsCgroups()
	}
	for range 50 {
		left := 0
		for _, cg := range cgroups {
			for _, pid := range cgroupProcs(cg) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
				left++
			}
		}
		if left == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	mounts := mountsUnder(dir)
	for _, m := range mounts {
		if syscall.Unmount(m, 0) != nil {
			_ = syscall.Unmount(m, syscall.MNT_DETACH)
		}
	}
	// Deepest first, so that a parent is empty when its turn comes.
	sort.Slice(cgroups, func(i, j int) bool { return len(cgroups[i]) > len(cgroups[j]) })
	for _, cg := range cgroups {
		_ = syscall.Rmdir(cg)
	}
	removed := []string{}
	if !machine {
		progress(progressOr(w), "controlplane: real node stopped (%d shims, %d mounts); the node that now holds %s cleans the machine's bridge, cgroups and sysctls as it starts\n", shims, len(mounts), RealNodeLock)
		return
	}
	if exec.Command("ip", "link", "show", realBridge).Run() == nil && exec.Command("ip", "link", "del", realBridge).Run() == nil {
		removed = append(removed, "bridge "+realBridge)
	}
	// libcni's cache of our network, the kubelet's links to pod logs, its
	// device-plugin socket: paths the kubelet and libcni hard-code.
	results, _ := filepath.Glob("/var/lib/cni/results/" + realNetwork + "-*")
	loopback, _ := filepath.Glob("/var/lib/cni/results/cni-loopback-*")
	for _, f := range append(results, loopback...) {
		_ = os.Remove(f)
	}
	links, _ := filepath.Glob("/var/log/containers/*.log")
	for _, l := range links {
		if t, err := os.Readlink(l); err == nil && strings.HasPrefix(t, dir+"/") {
			_ = os.Remove(l)
		}
	}
	_ = os.Remove("/var/lib/kubelet/device-plugins/kubelet.sock")
	_ = os.Remove("/var/lib/kubelet/device-plugins/kubelet_internal_checkpoint")
	for _, d := range []string{"/var/lib/cni/results", "/var/lib/cni", "/var/log/containers", "/var/lib/kubelet/device-plugins", "/var/lib/kubelet/plugins_registry", "/var/lib/kubelet/plugins", "/var/lib/kubelet"} {
		_ = syscall.Rmdir(d)
	}
	removeEmptyDirs("/run/containerd")
	if restoreSysctls() {
		removed = append(removed, "sysctls restored")
	}
	if shims+len(mounts)+len(cgroups)+len(removed) > 0 {
		progress(progressOr(w), "controlplane: real node torn down: %d shims killed, %d mounts and %d cgroups removed; %s\n",
			shims, len(mounts), len(cgroups), strings.Join(removed, ", "))
	}
}

func progressOr(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// shimSockets are the sockets of the shim of container id in namespace ns of
// the containerd at address, as containerd's shim.SocketAddress names them.
func shimSockets(address, ns, id string) []string {
	var out []string
	for _, p := range []string{filepath.Join(address, ns, id), filepath.Join(address, ns, id, "debug")} {
		out = append(out, fmt.Sprintf("/run/containerd/s/%x", sha256.Sum256([]byte(p))))
	}
	return out
}

func flagValue(args []string, flag string) string {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == flag {
			return args[i+1]
		}
	}
	return ""
}

func containsPair(args []string, flag, value string) bool {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == flag && args[i+1] == value {
			return true
		}
	}
	return false
}

// kubepodsCgroups returns the cgroups the kubelet made (its cgroup root is
// /), in every hierarchy, parents before children.
func kubepodsCgroups() []string {
	var out []string
	roots, _ := filepath.Glob("/sys/fs/cgroup/*/kubepods")
	if fi, err := os.Stat("/sys/fs/cgroup/kubepods"); err == nil && fi.IsDir() {
		roots = append(roots, "/sys/fs/cgroup/kubepods")
	}
	for _, r := range roots {
		_ = filepath.WalkDir(r, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				out = append(out, p)
			}
			return nil
		})
	}
	return out
}

func cgroupProcs(cg string) []int {
	b, err := os.ReadFile(filepath.Join(cg, "cgroup.procs"))
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// mountsUnder returns the mount points at or below dir, deepest first.
func mountsUnder(dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close() //nolint:errcheck // Read only.
	var out []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) < 5 {
			continue
		}
		// Octal escapes such as \040 for a space.
		mp, err := strconv.Unquote(`"` + strings.ReplaceAll(fields[4], `"`, `\"`) + `"`)
		if err != nil {
			mp = fields[4]
		}
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

func removeEmptyDirs(root string) {
	var dirs []string
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		_ = syscall.Rmdir(dirs[i])
	}
}

// restoreSysctls writes back the sysctls saveSysctls recorded.
func restoreSysctls() bool {
	b, err := os.ReadFile(sysctlsSaved)
	if err != nil {
		return false
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if ok {
			_ = os.WriteFile(filepath.Join("/proc/sys", k), []byte(v), 0o644) //nolint:gosec // A sysctl.
		}
	}
	_ = os.Remove(sysctlsSaved)
	return true
}

// StopProcess ends the process of p, and the process group it leads:
// SIGTERM, then SIGKILL if it still runs after timeout. It waits for the
// process and reports whether it had to kill it.
func StopProcess(p *exec.Cmd, timeout time.Duration) (killed bool) {
	if p.Process == nil || p.ProcessState != nil {
		return false // Never started, or already reaped: its PID may be another's now.
	}
	_ = syscall.Kill(-p.Process.Pid, syscall.SIGTERM)
	_ = syscall.Kill(p.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.Wait(); close(done) }()
	select {
	case <-done:
		return false
	case <-time.After(timeout):
		_ = syscall.Kill(-p.Process.Pid, syscall.SIGKILL)
		_ = syscall.Kill(p.Process.Pid, syscall.SIGKILL)
		<-done
		return true
	}
}

// killShims kills the shims of the containerd of dir, found by its socket
// in their command line, and removes their sockets. It returns how many.
func killShims(dir string) int {
	sock := filepath.Join(dir, "run", "containerd.sock")
	var shims []int
	var sockets []string
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		args := strings.Split(string(bytes.TrimRight(b, "\x00")), "\x00")
		if strings.HasSuffix(args[0], "containerd-shim-runc-v2") && containsPair(args, "-address", sock) {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			shims = append(shims, pid)
			sockets = append(sockets, shimSockets(sock, flagValue(args, "-namespace"), flagValue(args, "-id"))...)
		}
	}
	for _, pid := range shims {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	// A killed shim leaves its socket behind.
	for _, s := range sockets {
		_ = os.Remove(s)
	}
	return len(shims)
}

// CleanFolder removes dir, the folder of a stopped environment; after a
// failed run it removes all but its logs (files named *.log, the Pods'
// logs among them) and the checksums of the binaries it ran (*.sha256),
// and tells w where they are. A failed run is read from its logs; the
// binaries, images, packages and etcd data it would leave otherwise take
// a gigabyte or more per run.
func CleanFolder(dir string, failed bool, w io.Writer) {
	if !failed {
		_ = os.RemoveAll(dir)
		return
	}
	if err := keepLogs(dir); err != nil {
		progress(w, "%v\n", err)
	}
	progress(w, "logs of the failed run are in %s\n", dir)
}

// keepLogs removes all but the logs and checksums from dir. It removes
// nothing while a mount is left under dir.
func keepLogs(dir string) error {
	if m := mountsUnder(dir); len(m) > 0 {
		return errors.Errorf("cannot prune %s: %s is still mounted", dir, m[0])
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return errors.Wrapf(err, "cannot prune %s to its logs", dir)
	}
	defer root.Close() //nolint:errcheck // Nothing written through it.
	err = fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if ext := path.Ext(p); ext == ".log" || ext == ".sha256" {
			return nil
		}
		return root.Remove(p)
	})
	removeEmptyDirs(dir)
	return errors.Wrapf(err, "cannot prune %s to its logs", dir)
}
