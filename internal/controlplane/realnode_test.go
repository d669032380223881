package controlplane

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"
)

// TestKubeletServesOnlyWithAuth: the kubelet listens on the node's bridge
// address only, refuses anonymous requests, asks the API server to
// authorize every request, and has no read-only port.
func TestKubeletServesOnlyWithAuth(t *testing.T) {
	n := &RealNode{Name: RealNodeName, IP: realNodeIP, Dir: "/x", ca: &CA{Cert: "/x/pki/kubelet-ca.crt"}}
	c := kubeletConfig(n)
	type view struct {
		Address, ClientCA, HealthzBind string
		ReadOnlyPort                   int32
		Anonymous, Webhook             bool
		Authorization                  kubeletv1beta1.KubeletAuthorizationMode
	}
	got := view{c.Address, c.Authentication.X509.ClientCAFile, c.HealthzBindAddress, c.ReadOnlyPort,
		*c.Authentication.Anonymous.Enabled, *c.Authentication.Webhook.Enabled, c.Authorization.Mode}
	want := view{realNodeIP, "/x/pki/kubelet-ca.crt", "127.0.0.1", 0, false, true, kubeletv1beta1.KubeletAuthorizationModeWebhook}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("kubeletConfig: -want, +got:\n%s", diff)
	}
}

// TestKubeletLeavesTheHostDiskAlone: the node shares the host's disk, so
// the kubelet neither collects images nor reports DiskPressure, however
// full the host's disk is ("0%" turns a signal off); it still evicts when
// memory runs out.
func TestKubeletLeavesTheHostDiskAlone(t *testing.T) {
	c := kubeletConfig(&RealNode{Name: RealNodeName, IP: realNodeIP, Dir: "/x", ca: &CA{}})
	want := map[string]string{"memory.available": "100Mi", "nodefs.available": "0%", "imagefs.available": "0%", "nodefs.inodesFree": "0%"}
	if diff := cmp.Diff(want, c.EvictionHard); diff != "" {
		t.Errorf("evictionHard: -want, +got:\n%s", diff)
	}
	if c.MergeDefaultEvictionSettings == nil || *c.MergeDefaultEvictionSettings {
		t.Error("mergeDefaultEvictionSettings: want false, so that no default threshold is merged in")
	}
	if got := *c.ImageGCHighThresholdPercent; got != 100 {
		t.Errorf("imageGCHighThresholdPercent: got %d, want 100 (no image GC)", got)
	}
}

// TestPodNetworkStaysOnTheMachine: pods get addresses on the node's own
// bridge, no default route and no masquerading; containerd pulls from no
// registry it was not given.
func TestPodNetworkStaysOnTheMachine(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"cni/net.d", "etc/certs.d"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o750); err != nil {
			t.Fatal(err)
		}
	}
	n := &RealNode{Name: RealNodeName, IP: realNodeIP, Dir: dir, bin: "/bin", ca: &CA{}}
	if err := n.writeConfig(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "cni", "net.d", "10-provider-vdi.conflist"))
	if err != nil {
		t.Fatal(err)
	}
	var conf struct {
		Plugins []struct {
			Type, Bridge string
			IPMasq       bool `json:"ipMasq"`
			IPAM         struct {
				Ranges [][]map[string]string `json:"ranges"`
				Routes []any                 `json:"routes"`
			} `json:"ipam"`
		} `json:"plugins"`
	}
	if err := json.Unmarshal(b, &conf); err != nil {
		t.Fatal(err)
	}
	p := conf.Plugins[0]
	if p.Type != "bridge" || p.Bridge != realBridge || p.IPMasq || len(p.IPAM.Routes) != 0 {
		t.Errorf("CNI network: %+v; want bridge %s, no masquerading, no routes", p, realBridge)
	}
	if got := p.IPAM.Ranges[0][0]; got["subnet"] != realPodCIDR || got["gateway"] != realNodeIP {
		t.Errorf("CNI range: %v; want %s via %s", got, realPodCIDR, realNodeIP)
	}
	_, cidr, _ := net.ParseCIDR(realPodCIDR)
	if !cidr.Contains(net.ParseIP(realNodeIP)) {
		t.Errorf("node IP %s is not on the pod network %s", realNodeIP, realPodCIDR)
	}
	hosts, err := os.ReadFile(filepath.Join(dir, "etc", "certs.d", "_default", "hosts.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if want := `server = "http://` + NoRegistry + `"`; strings.TrimSpace(string(hosts)) != want {
		t.Errorf("default hosts.toml: %q; want %q, so that no image is pulled from the internet", hosts, want)
	}
	toml, err := os.ReadFile(filepath.Join(dir, "etc", "containerd.toml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"restrict_oom_score_adj = true", `sandbox = "` + PauseImage + `"`, `BinaryName = "/usr/sbin/runc"`} {
		if !strings.Contains(string(toml), want) {
			t.Errorf("containerd.toml lacks %q", want)
		}
	}
}
