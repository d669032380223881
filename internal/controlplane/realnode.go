package controlplane

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
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
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

// The real node. Only one can run on a machine at a time: the kubelet's
// device-plugin folder (/var/lib/kubelet/device-plugins), the bridge, the
// pod network and the kubelet's ports are the machine's, so Start takes
// RealNodeLock first and holds it until the node is torn down.
const (
	// RealNodeName is the real node's name.
	RealNodeName = "real-0"
	// RealNodeLabel (value "true") marks the real node; RealNodeTaint keeps
	// every Pod off it that does not tolerate it, such as the fake package
	// runtime Pods, whose images no runtime could pull.
	RealNodeLabel = "vdi.kasm.io/real-node"
	RealNodeTaint = "vdi.kasm.io/real-node"
	// RealNodeLock is the file lock that lets one real node run at a time;
	// a second environment waits for it.
	RealNodeLock = "/tmp/provider-vdi-realnode.lock"
	// PauseImage is the sandbox image, built locally (cluster/images) and
	// imported before the kubelet starts.
	PauseImage = "localhost/provider-vdi/pause:1"

	// The node's own network: a bridge that the node creates, whose address
	// is the node's IP, and a /24 of pod addresses on it. Pods get no
	// default route and no masquerading, so nothing they send leaves the
	// machine.
	realBridge  = "vdi0"
	realPodCIDR = "10.250.0.0/24"
	realNodeIP  = "10.250.0.1"
	realNetwork = "provider-vdi"

	kubeletPort        = 11250
	kubeletHealthzPort = 11248

	// NoRegistry is where the real node's containerd sends a pull from any
	// registry not trusted explicitly: the discard port on loopback, where
	// nothing listens.
	NoRegistry = "127.0.0.1:9"

	// sysctlsSaved keeps the host's values of the sysctls that the kubelet
	// and the bridge plugin change, across a detached run, for teardown.
	sysctlsSaved = "/tmp/provider-vdi-realnode.sysctl"
)

// sysctls the kubelet (protectKernelDefaults off) and the CNI bridge plugin
// (a gateway turns forwarding on) change on the host.
var sysctls = []string{"vm/overcommit_memory", "vm/panic_on_oom", "kernel/panic", "kernel/panic_on_oops", "net/ipv4/ip_forward"}

// RealNodeOptions of the real worker node: containerd, runc and the CNI
// bridge plugin under a kubelet, beside kwok's fake nodes.
type RealNodeOptions struct {
	// Pause is the image tarball of PauseImage.
	Pause string
	// Images are more image tarballs (docker or OCI archives) to import
	// before the kubelet starts; see also RealNode.Import.
	Images []string
	// GPUs is the fake nvidia.com/gpu capacity the node advertises, so
	// that Pods asking for GPUs may be scheduled on it.
	GPUs int64
}

// A RealNode is the running real node.
type RealNode struct {
	// Name and IP of the node. The IP is the address of the node's bridge,
	// where the kubelet listens and pods are reached.
	Name string
	IP   string
	// Dir holds the node's configuration, data, logs and sockets.
	Dir string

	bin   string
	lock  *os.File
	token string
	// The kubelet's CA, and the API server's client certificate for it.
	ca                      *CA
	clientCert, clientKey   string
	servingCert, servingKey string
}

func (n *RealNode) sock() string { return filepath.Join(n.Dir, "run", "containerd.sock") }

// Import imports image tarballs into the node's containerd, where the
// kubelet finds them; Pods use them with any pull policy but Always.
func (n *RealNode) Import(ctx context.Context, tarballs ...string) error {
	for _, t := range tarballs {
		out, err := exec.CommandContext(ctx, filepath.Join(n.bin, "ctr"), "--address", n.sock(), "-n", "k8s.io", "images", "import", t).CombinedOutput()
		if err != nil {
			return errors.Wrapf(err, "cannot import image %s: %s", t, out)
		}
	}
	return nil
}

// TrustRegistry lets the node pull over plain HTTP from registry, a
// host:port on loopback such as the environment's local registry, through
// a containerd hosts.toml.
func (n *RealNode) TrustRegistry(registry string) error {
	d := filepath.Join(n.Dir, "etc", "certs.d", registry)
	if err := os.MkdirAll(d, 0o750); err != nil {
		return errors.Wrap(err, "cannot create registry configuration folder")
	}
	hosts := fmt.Sprintf("server = %q\n\n[host.%q]\n  capabilities = [\"pull\", \"resolve\"]\n", "http://"+registry, "http://"+registry)
	return errors.Wrap(os.WriteFile(filepath.Join(d, "hosts.toml"), []byte(hosts), 0o600), "cannot write hosts.toml")
}

// lockRealNode waits until this process holds RealNodeLock, saying so on
// progress, and records who holds it in the file.
func lockRealNode(ctx context.Context, cp *ControlPlane) (*os.File, error) {
	f, err := os.OpenFile(RealNodeLock, os.O_CREATE|os.O_RDWR, 0o644) //nolint:gosec // Anyone may read who holds it.
	if err != nil {
		return nil, errors.Wrapf(err, "cannot open %s", RealNodeLock)
	}
	start, last := time.Now(), time.Time{}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			_ = f.Close()
			return nil, errors.Wrapf(err, "cannot lock %s", RealNodeLock)
		}
		if time.Since(last) > 30*time.Second {
			holder, _ := os.ReadFile(RealNodeLock)
			progress(cp.opts.Progress, "controlplane: waiting for lock %s: one real node per machine, held by %s (waited %s)\n",
				RealNodeLock, strings.TrimSpace(string(holder)), time.Since(start).Round(time.Second))
			last = time.Now()
			if dir := orphaned(string(holder)); dir != "" {
				if n := killShims(dir); n > 0 {
					progress(cp.opts.Progress, "controlplane: the kubelet and containerd of %s are gone; killed its %d container shims, which held the lock\n", dir, n)
				}
			}
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(fmt.Sprintf("PID %d for %s\n", os.Getpid(), filepath.Join(cp.opts.Dir, "realnode"))), 0)
	progress(cp.opts.Progress, "controlplane: holding lock %s for the real node (waited %s)\n", RealNodeLock, time.Since(start).Round(time.Second))
	return f, nil
}

// orphaned returns the node folder that holder (the lock file's content)
// names if neither its kubelet nor its containerd runs: then only the
// container shims, which inherited the lock, hold it, as after a test
// process was killed.
func orphaned(holder string) string {
	_, dir, ok := strings.Cut(strings.TrimSpace(holder), " for ")
	if !ok || !filepath.IsAbs(dir) {
		return ""
	}
	for _, name := range []string{"kubelet", "containerd"} {
		b, err := os.ReadFile(filepath.Join(dir, "run", name+".pid"))
		if err != nil {
			continue
		}
		if _, ok := Identified(string(b)); ok {
			return ""
		}
	}
	return dir
}

// prepareRealNode takes the lock and makes the node's credentials, before
// the API server starts: the kubelet's token, and a CA for the kubelet's
// serving certificate and the API server's client certificate. It returns
// the API server's extra flags.
func (cp *ControlPlane) prepareRealNode(ctx context.Context, tokens *strings.Builder) ([]string, error) {
	lock, err := lockRealNode(ctx, cp)
	if err != nil {
		return nil, err
	}
	n := &RealNode{Name: RealNodeName, IP: realNodeIP, Dir: filepath.Join(cp.opts.Dir, "realnode"), bin: cp.opts.Bin, lock: lock}
	cp.node = n
	// What a node that ran before us and was not torn down left behind.
	teardownHost(n.Dir, cp.opts.Progress, true)
	for _, d := range []string{"pki", "etc/certs.d", "run", "cni/net.d", "cni/ipam", "containerd", "kubelet", "logs"} {
		if err := os.MkdirAll(filepath.Join(n.Dir, d), 0o750); err != nil {
			return nil, errors.Wrapf(err, "cannot create %s", d)
		}
	}
	pki := filepath.Join(n.Dir, "pki")
	if n.ca, err = NewCA(pki, "kubelet-ca", "provider-vdi kubelet CA"); err != nil {
		return nil, err
	}
	if n.servingCert, n.servingKey, err = n.ca.Issue(pki, Leaf{Name: "kubelet", CommonName: "system:node:" + n.Name, DNSNames: []string{n.Name}, IPs: []net.IP{net.ParseIP(n.IP)}}); err != nil {
		return nil, err
	}
	// The API server reaches the kubelet (logs, exec, port-forward) with a
	// client certificate that the kubelet authenticates; the kubelet asks
	// the API server whether that user may (system:masters may).
	if n.clientCert, n.clientKey, err = n.ca.Issue(pki, Leaf{Name: "apiserver-kubelet-client", CommonName: "kube-apiserver-kubelet-client", Organizations: []string{"system:masters"}, Client: true}); err != nil {
		return nil, err
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	n.token = hex.EncodeToString(b)
	fmt.Fprintf(tokens, "%s,system:node:%s,kubelet-%s,\"system:nodes\"\n", n.token, n.Name, n.Name)
	return []string{
		"--enable-admission-plugins=NodeRestriction",
		"--kubelet-client-certificate=" + n.clientCert,
		"--kubelet-client-key=" + n.clientKey,
		"--kubelet-certificate-authority=" + n.ca.Cert,
		"--kubelet-preferred-address-types=InternalIP",
	}, nil
}

// startRealNode brings up the node's network, containerd and kubelet, and
// waits until the node is Ready with its fake GPUs allocatable.
func (cp *ControlPlane) startRealNode(ctx context.Context) error {
	n, o := cp.node, cp.opts.RealNode
	start := time.Now()
	if err := saveSysctls(); err != nil {
		return err
	}
	progress(cp.opts.Progress, "controlplane: real node %s: bridge %s at %s, pods in %s\n", n.Name, realBridge, n.IP, realPodCIDR)
	for _, args := range [][]string{
		{"link", "add", realBridge, "type", "bridge"},
		{"addr", "add", n.IP + "/24", "dev", realBridge},
		{"link", "set", realBridge, "up"},
	} {
		if out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput(); err != nil {
			return errors.Wrapf(err, "cannot set up bridge %s: ip %s: %s", realBridge, strings.Join(args, " "), out)
		}
	}
	if err := n.writeConfig(); err != nil {
		return err
	}
	// The kubelet's credentials: its token, and the API server's serving
	// certificate to trust.
	apiserver := &clientcmdapi.Cluster{Server: cp.Host, CertificateAuthority: filepath.Join(cp.opts.Dir, "pki", "apiserver.crt")}
	if err := WriteKubeconfig(filepath.Join(n.Dir, "etc", "kubelet.kubeconfig"), apiserver, "kubelet", n.token); err != nil {
		return err
	}
	progress(cp.opts.Progress, "controlplane: real node %s: starting containerd\n", n.Name)
	if err := cp.runNode(n, "containerd", "--config", filepath.Join(n.Dir, "etc", "containerd.toml")); err != nil {
		return err
	}
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		return exec.CommandContext(ctx, filepath.Join(n.bin, "ctr"), "--address", n.sock(), "version").Run() == nil, nil
	}); err != nil {
		return errors.Wrapf(err, "containerd did not answer; see %s", filepath.Join(n.Dir, "logs", "containerd.log"))
	}
	if err := n.Import(ctx, append([]string{o.Pause}, o.Images...)...); err != nil {
		return err
	}
	progress(cp.opts.Progress, "controlplane: real node %s: starting the kubelet on %s:%d\n", n.Name, n.IP, kubeletPort)
	if err := cp.runNode(n, "kubelet",
		"--config="+filepath.Join(n.Dir, "etc", "kubelet.yaml"),
		"--kubeconfig="+filepath.Join(n.Dir, "etc", "kubelet.kubeconfig"),
		"--root-dir="+filepath.Join(n.Dir, "kubelet"),
		// Its default is /var/lib/kubelet/pki, not under --root-dir.
		"--cert-dir="+filepath.Join(n.Dir, "kubelet", "pki"),
		"--hostname-override="+n.Name,
		"--node-ip="+n.IP,
		"--node-labels="+RealNodeLabel+"=true",
		"--v=1",
	); err != nil {
		return err
	}
	if err := cp.waitRealNode(ctx, o.GPUs); err != nil {
		return err
	}
	progress(cp.opts.Progress, "controlplane: real node %s Ready with %d nvidia.com/gpu in %s\n", n.Name, o.GPUs, time.Since(start).Round(100*time.Millisecond))
	return nil
}

// runNode starts a node component from Options.Bin with its log and PID
// file in the node's folder. It inherits the node lock, so that the lock
// is held as long as any of them runs, even after a detached `make run`
// has exited.
func (cp *ControlPlane) runNode(n *RealNode, name string, args ...string) error {
	log, err := os.Create(filepath.Join(n.Dir, "logs", name+".log"))
	if err != nil {
		return errors.Wrapf(err, "cannot create log of %s", name)
	}
	// containerd finds its shim, and the shim runc, on PATH.
	path := "PATH=" + n.bin + ":" + os.Getenv("PATH")
	cmd, err := cp.spawn(name, log, filepath.Join(n.bin, name), []string{path}, []*os.File{n.lock}, args...)
	if err != nil {
		return err
	}
	id, err := Identify(cmd.Process.Pid)
	if err != nil {
		return err
	}
	return errors.Wrapf(os.WriteFile(filepath.Join(n.Dir, "run", name+".pid"), []byte(id), 0o600), "cannot record PID of %s", name)
}

// waitRealNode waits until the kubelet has registered the node and it is
// Ready, then advertises gpus fake nvidia.com/gpu in its status, as a
// device plugin would, and waits until they are allocatable.
func (cp *ControlPlane) waitRealNode(ctx context.Context, gpus int64) error {
	cs, err := kubernetes.NewForConfig(cp.Config)
	if err != nil {
		return errors.Wrap(err, "cannot create clientset")
	}
	log := filepath.Join(cp.node.Dir, "logs", "kubelet.log")
	// get reads the node: nil while it is not registered, and an error if
	// it is under pressure, which no wait ends.
	get := func(ctx context.Context) (*corev1.Node, error) {
		node, err := cs.CoreV1().Nodes().Get(ctx, RealNodeName, metav1.GetOptions{})
		if err != nil {
			return nil, nil //nolint:nilerr // Not registered yet.
		}
		return node, Pressure(node)
	}
	ready := func(ctx context.Context) (bool, error) {
		for _, p := range cp.procs {
			if Exited(p) {
				return false, errors.Errorf("%s exited; see its log in %s", filepath.Base(p.Path), filepath.Join(cp.node.Dir, "logs"))
			}
		}
		node, err := get(ctx)
		if node == nil || err != nil {
			return false, err
		}
		q := node.Status.Allocatable["nvidia.com/gpu"]
		return schedulable(node) && q.Value() == gpus, nil
	}
	if err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		node, err := get(ctx)
		return node != nil && err == nil && schedulable(node), err
	}); err != nil {
		return errors.Wrapf(err, "node %s was not Ready within 2m; see %s", RealNodeName, log)
	}
	if gpus > 0 {
		patch, _ := json.Marshal(map[string]any{"status": map[string]any{"capacity": corev1.ResourceList{"nvidia.com/gpu": *resource.NewQuantity(gpus, resource.DecimalSI)}}})
		if _, err := cs.CoreV1().Nodes().PatchStatus(ctx, RealNodeName, patch); err != nil {
			return errors.Wrapf(err, "cannot advertise nvidia.com/gpu on node %s", RealNodeName)
		}
	}
	return errors.Wrapf(wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 2*time.Minute, true, ready),
		"node %s did not show %d allocatable nvidia.com/gpu; see %s", RealNodeName, gpus, log)
}

// writeConfig writes the CNI network, containerd's and the kubelet's
// configuration and the kubelet's kubeconfig.
func (n *RealNode) writeConfig() error {
	d := func(p ...string) string { return filepath.Join(append([]string{n.Dir}, p...)...) }
	// No routes: pods reach the node's network only; no masquerading.
	cni, _ := json.MarshalIndent(map[string]any{
		"cniVersion": "1.0.0",
		"name":       realNetwork,
		"plugins": []any{map[string]any{
			"type": "bridge", "bridge": realBridge, "isGateway": true, "ipMasq": false, "hairpinMode": true,
			"ipam": map[string]any{
				"type":    "host-local",
				"dataDir": d("cni", "ipam"),
				"ranges":  [][]map[string]string{{{"subnet": realPodCIDR, "gateway": n.IP}}},
			},
		}},
	}, "", "  ")
	if err := os.WriteFile(d("cni", "net.d", "10-provider-vdi.conflist"), cni, 0o600); err != nil {
		return errors.Wrap(err, "cannot write the CNI network")
	}
	// Every registry but those trusted with TrustRegistry resolves to a
	// closed port on loopback: an image that was neither imported nor
	// pushed to the local registry fails to pull and names NoRegistry,
	// instead of being fetched from the internet.
	if err := os.MkdirAll(d("etc", "certs.d", "_default"), 0o750); err != nil {
		return errors.Wrap(err, "cannot create the default registry configuration folder")
	}
	hosts := fmt.Sprintf("server = %q\n", "http://"+NoRegistry)
	if err := os.WriteFile(d("etc", "certs.d", "_default", "hosts.toml"), []byte(hosts), 0o600); err != nil {
		return errors.Wrap(err, "cannot write the default hosts.toml")
	}
	if err := os.WriteFile(d("etc", "containerd.toml"), []byte(containerdConfig(n.Dir, n.bin)), 0o600); err != nil {
		return errors.Wrap(err, "cannot write containerd's configuration")
	}
	kc, err := yaml.Marshal(kubeletConfig(n))
	if err != nil {
		return errors.Wrap(err, "cannot marshal the kubelet's configuration")
	}
	if err := os.WriteFile(d("etc", "kubelet.yaml"), kc, 0o600); err != nil {
		return errors.Wrap(err, "cannot write the kubelet's configuration")
	}
	return nil
}

// containerdConfig is containerd's configuration: everything under dir,
// runc from Debian, the CNI plugins and shim from bin, and the locally built
// pause image. This machine withholds CAP_SYS_RESOURCE even from root, so
// containers may not get an oom_score_adj below containerd's own.
func containerdConfig(dir, bin string) string {
	d := func(p ...string) string { return strconv.Quote(filepath.Join(append([]string{dir}, p...)...)) }
	return fmt.Sprintf(`version = 3
root = %s
state = %s
temp = %s
imports = []
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.blockfile", "io.containerd.snapshotter.v1.erofs", "io.containerd.nri.v1.nri"]

[grpc]
  address = %s

[ttrpc]
  address = %s

[debug]
  address = %s
  level = "info"

[metrics]
  address = ""

[plugins]
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = "overlayfs"
    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = %q
    [plugins.'io.containerd.cri.v1.images'.registry]
      config_path = %s

  [plugins.'io.containerd.cri.v1.runtime']
    enable_selinux = false
    disable_apparmor = true
    restrict_oom_score_adj = true
    tolerate_missing_hugetlb_controller = true
    disable_hugetlb_controller = true
    netns_mounts_under_state_dir = true
    enable_unprivileged_ports = true
    enable_unprivileged_icmp = true
    cdi_spec_dirs = []
    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = "runc"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        sandboxer = "podsandbox"
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
          BinaryName = "/usr/sbin/runc"
          Root = %s
          SystemdCgroup = false
    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dirs = [%s]
      conf_dir = %s
      max_conf_num = 1

  [plugins.'io.containerd.grpc.v1.cri']
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
`, d("containerd", "root"), d("containerd", "state"), d("containerd", "tmp"),
		d("run", "containerd.sock"), d("run", "containerd.sock.ttrpc"), d("run", "containerd-debug.sock"),
		PauseImage, d("etc", "certs.d"), d("run", "runc"),
		strconv.Quote(filepath.Join(bin, "cni")), d("cni", "net.d"))
}

// kubeletConfig is the kubelet's configuration: serving on the node's
// bridge only, with no anonymous requests and every request authorized by
// the API server, on this machine's cgroup v1 with cgroupfs.
func kubeletConfig(n *RealNode) *kubeletv1beta1.KubeletConfiguration {
	sock := "unix://" + n.sock()
	return &kubeletv1beta1.KubeletConfiguration{
		TypeMeta:                 metav1.TypeMeta{APIVersion: "kubelet.config.k8s.io/v1beta1", Kind: "KubeletConfiguration"},
		FailCgroupV1:             ptr.To(false),
		CgroupDriver:             "cgroupfs",
		CgroupsPerQOS:            ptr.To(true),
		CgroupRoot:               "/",
		EnforceNodeAllocatable:   []string{"pods"},
		ContainerRuntimeEndpoint: sock,
		ImageServiceEndpoint:     sock,
		Address:                  n.IP,
		Port:                     kubeletPort,
		ReadOnlyPort:             0,
		HealthzBindAddress:       "127.0.0.1",
		HealthzPort:              ptr.To[int32](kubeletHealthzPort),
		TLSCertFile:              n.servingCert,
		TLSPrivateKeyFile:        n.servingKey,
		Authentication: kubeletv1beta1.KubeletAuthentication{
			Anonymous: kubeletv1beta1.KubeletAnonymousAuthentication{Enabled: ptr.To(false)},
			Webhook:   kubeletv1beta1.KubeletWebhookAuthentication{Enabled: ptr.To(true)},
			X509:      kubeletv1beta1.KubeletX509Authentication{ClientCAFile: n.ca.Cert},
		},
		Authorization: kubeletv1beta1.KubeletAuthorization{Mode: kubeletv1beta1.KubeletAuthorizationModeWebhook},
		// Images are imported locally, some under two names; the kubelet
		// has no pull credentials to verify.
		ImagePullCredentialsVerificationPolicy: kubeletv1beta1.NeverVerify,
		PodCIDR:                                realPodCIDR,
		PodLogsDir:                             filepath.Join(n.Dir, "kubelet", "pod-logs"),
		// No DNS: pods have no route to any resolver.
		ResolverConfig:      ptr.To(""),
		RegisterNode:        ptr.To(true),
		RegisterWithTaints:  []corev1.Taint{{Key: RealNodeTaint, Value: "true", Effect: corev1.TaintEffectNoSchedule}},
		VolumePluginDir:     filepath.Join(n.Dir, "kubelet", "volume-plugins"),
		StaticPodPath:       "",
		MaxPods:             32,
		SerializeImagePulls: ptr.To(true),
		// The node shares the host's disk, whose free space is not ours
		// to keep: no image GC, and no disk signal for eviction ("0%"
		// turns one off). With a 1% threshold, a host with less than
		// 2.5 GB free on a 252 GB disk tainted the node DiskPressure and
		// no desktop was scheduled on it.
		ImageGCHighThresholdPercent: ptr.To[int32](100),
		ImageGCLowThresholdPercent:  ptr.To[int32](99),
		EvictionHard: map[string]string{
			"memory.available": "100Mi", "nodefs.available": "0%", "imagefs.available": "0%", "nodefs.inodesFree": "0%",
		},
		MergeDefaultEvictionSettings: ptr.To(false),
		NodeStatusUpdateFrequency:    metav1.Duration{Duration: 10 * time.Second},
		SyncFrequency:                metav1.Duration{Duration: 10 * time.Second},
	}
}

// saveSysctls records the host's values of sysctls, unless a node that was
// not torn down recorded them already (its values are the host's own).
func saveSysctls() error {
	if _, err := os.Stat(sysctlsSaved); err == nil {
		return nil
	}
	var b strings.Builder
	for _, s := range sysctls {
		v, err := os.ReadFile(filepath.Join("/proc/sys", s))
		if err != nil {
			continue
		}
		fmt.Fprintf(&b, "%s=%s\n", s, strings.TrimSpace(string(v)))
	}
	return errors.Wrap(os.WriteFile(sysctlsSaved, []byte(b.String()), 0o600), "cannot record sysctls")
}
