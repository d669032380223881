//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"image/png"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/provider-vdi/provider-vdi/internal/controlplane"
	"github.com/provider-vdi/provider-vdi/internal/localenv"
	"github.com/provider-vdi/provider-vdi/test/poll"
)

// TestDesktopOnRealNode: a session of the web-desktop template, asking for
// one GPU, runs on the real node under the restricted Pod Security level;
// through real Traefik, with TLS verified against the environment's CA, its
// URL serves noVNC only with the session's link (not even with the
// desktop's own password), and a WebSocket to /websockify carries the VNC
// handshake; Chromium, opening the link, shows the desktop; a file written
// in the desktop's home is there after Stop and Start.
func TestDesktopOnRealNode(t *testing.T) {
	realNodeTakesPods(t)
	ctx := context.Background()
	ns := userNamespace(t, "wendy")
	s := started(t, session(ns, "web", "wendy", "web-desktop", map[string]any{"resources": map[string]any{"gpu": int64(1)}}))

	p := runningOnRealNode(t, ns, "web-desktop")
	if got := p.Spec.Containers[0].Resources.Limits["nvidia.com/gpu"]; got.Value() != 1 {
		t.Errorf("GPU limit: got %s, want 1", got.String())
	}
	secret, _, _ := unstructured.NestedString(s.Object, "status", "credentialsSecretName")
	page, err := localenv.OpenDesktop(ctx, env, ns, secret)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("through Traefik: %s", page)
	if got := status(t, page.URL, "", ""); got != http.StatusUnauthorized {
		t.Errorf("GET %s without the link: HTTP %d, want 401", page.URL, got)
	}
	// The gate in front of the desktop takes the link or its cookie, not
	// the desktop's own password, which it supplies itself.
	if got := status(t, page.URL, page.Username, page.Password); got != http.StatusUnauthorized {
		t.Errorf("GET %s with the desktop's password but without the link: HTTP %d, want 401", page.URL, got)
	}
	if got, err := vncGreeting(page.URL, linkCookie(t, page.Link)); err != nil || got != "RFB 003.008\n" {
		t.Errorf("first message of the desktop's WebSocket: got %q (%v), want the VNC handshake %q", got, err, "RFB 003.008\n")
	}
	screenshot(t, page.Link)

	// The Pod's network reaches the node's bridge only: no default route.
	for _, line := range strings.Split(strings.TrimSpace(kubectl(t, "exec", "-n", ns, p.Name, "--", "cat", "/proc/net/route")), "\n")[1:] {
		if f := strings.Fields(line); len(f) > 1 && f[1] == "00000000" {
			t.Errorf("the desktop Pod has a default route: %s", line)
		}
	}

	// The home volume: a file written in the desktop survives Stop and
	// Start, on the same claim, on the real node.
	claimBefore := homeClaim(p)
	kubectl(t, "exec", "-n", ns, p.Name, "-c", "desktop", "--", "sh", "-c", "echo kept-across-restarts > $HOME/marker")
	restart(t, ns, "web")
	p = runningOnRealNode(t, ns, "web-desktop")
	if got := homeClaim(p); got != claimBefore {
		t.Errorf("home claim after Start: got %q, want %q", got, claimBefore)
	}
	if got := strings.TrimSpace(kubectl(t, "exec", "-n", ns, p.Name, "-c", "desktop", "--", "cat", "/home/desktop/marker")); got != "kept-across-restarts" {
		t.Errorf("the file written before Stop, after Start: got %q", got)
	}
	// Traefik serves the re-made route once it has seen it, its Service
	// and the new Pod's endpoints, and it applies what its providers
	// report at most every two seconds.
	poll.Until(t, "after Start, the desktop opens through Traefik with its link", timeout, func(ctx context.Context) (bool, string, error) {
		if _, err := localenv.OpenDesktop(ctx, env, ns, secret); err != nil {
			return false, err.Error(), nil
		}
		return true, "", nil
	})
}

// realNodeTakesPods fails the test at once if the real node is under
// pressure: the kubelet taints such a node while it stays Ready, and the
// test's Pod would wait out its timeout as Unschedulable.
func realNodeTakesPods(t *testing.T) {
	t.Helper()
	node := &corev1.Node{}
	if err := kube.Get(context.Background(), client.ObjectKey{Name: controlplane.RealNodeName}, node); err != nil {
		t.Fatal(err)
	}
	if err := controlplane.Pressure(node); err != nil {
		t.Fatalf("%v; taints %v", err, node.Spec.Taints)
	}
}

// runningOnRealNode returns desktop Pod ns/name once it is Ready, and checks
// that it runs on the real node's runtime under the namespace's restricted
// Pod Security level.
func runningOnRealNode(t *testing.T, ns, name string) *corev1.Pod {
	t.Helper()
	p := pod(ns, name)
	poll.Until(t, "desktop Pod "+name+" is Ready", timeout, func(ctx context.Context) (bool, string, error) {
		if err := kube.Get(ctx, client.ObjectKeyFromObject(p), p); err != nil {
			return false, err.Error(), nil
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				return true, "", nil
			}
		}
		return false, "phase " + string(p.Status.Phase), nil
	})
	if p.Spec.NodeName != controlplane.RealNodeName {
		t.Fatalf("desktop runs on %q, want the real node %q", p.Spec.NodeName, controlplane.RealNodeName)
	}
	if id := p.Status.ContainerStatuses[0].ContainerID; !strings.HasPrefix(id, "containerd://") {
		t.Errorf("container ID %q: want one of the real node's containerd", id)
	}
	nsObj := &corev1.Namespace{}
	if err := kube.Get(context.Background(), client.ObjectKey{Name: ns}, nsObj); err != nil {
		t.Fatal(err)
	}
	if got := nsObj.Labels["pod-security.kubernetes.io/enforce"]; got != "restricted" {
		t.Errorf("namespace %s enforces Pod Security %q, want restricted", ns, got)
	}
	return p
}

// status returns the HTTP status of GET u through Traefik, with basic auth
// if user is set.
func status(t *testing.T, u, user, password string) int {
	t.Helper()
	hc, err := env.IngressClient()
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, u, nil)
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	rsp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	_ = rsp.Body.Close()
	return rsp.StatusCode
}

// screenshot opens the session's link in headless Chromium (Debian's
// package), as its user would: the gate sets its cookie and redirects, noVNC
// loads and connects its WebSocket with the cookie. It waits until noVNC
// has connected to the desktop, and keeps the picture as
// _output/e2e/desktop.png.
func screenshot(t *testing.T, link string) {
	t.Helper()
	spki, err := leafSPKI(filepath.Join(filepath.Dir(env.IngressCA), "wildcard.crt"))
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath("/usr/bin/chromium"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// Chromium trusts Traefik's certificate by its key, the one the
		// environment's CA signed for *.vdi.localhost, and no other.
		chromedp.Flag("ignore-certificate-errors-spki-list", spki),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	bctx, cancel = context.WithTimeout(bctx, 2*time.Minute)
	defer cancel()
	start := time.Now()
	// noVNC marks the page noVNC_connected once the VNC session is up; the
	// first frame follows within moments.
	if err := chromedp.Do(bctx,
		// The desktop's own size, so that noVNC shows it unscaled.
		chromedp.EmulateViewport(1280, 800),
		chromedp.Navigate(u.String()),
		chromedp.WaitReady(`html.noVNC_connected`),
		chromedp.Sleep(2*time.Second),
	); err != nil {
		t.Fatalf("Chromium did not show the desktop at %s: %v", link, err)
	}
	// The desktop's session (openbox, then the xterm) may still be starting
	// when noVNC connects to a Pod that has just become Ready: take the
	// picture until the xterm is in it, or for half a minute.
	var shot []byte
	var white float64
	for shown := time.Now(); ; {
		var err error
		if shot, err = chromedp.Run(bctx, chromedp.CaptureScreenshot()); err != nil {
			t.Fatalf("cannot take a screenshot: %v", err)
		}
		if white, err = whiteShare(shot); err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if white >= 0.05 || time.Since(shown) > 30*time.Second {
			break
		}
		time.Sleep(time.Second)
	}
	out := filepath.Join("..", "..", "_output", "e2e")
	if err := os.MkdirAll(out, 0o750); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(out, "desktop.png")
	if err := os.WriteFile(file, shot, 0o600); err != nil {
		t.Fatal(err)
	}
	// The xterm's white window fills a good part of the desktop; noVNC's
	// dark page before it connects, or a black screen, has next to no white.
	if white < 0.05 {
		t.Errorf("screenshot %s: %.1f%% white pixels; the desktop's xterm is not in the picture", file, 100*white)
	}
	t.Logf("Chromium showed the connected desktop after %s: %s (%d bytes, %.0f%% white: the xterm)", time.Since(start).Round(100*time.Millisecond), file, len(shot), 100*white)
}

// whiteShare returns the share of the PNG's pixels that are near white.
func whiteShare(b []byte) (float64, error) {
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return 0, err
	}
	r := img.Bounds()
	white := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			if cr > 0xf000 && cg > 0xf000 && cb > 0xf000 {
				white++
			}
		}
	}
	return float64(white) / float64(r.Dx()*r.Dy()), nil
}

// leafSPKI returns the base64 SHA-256 of the public key of the PEM
// certificate in file, as Chromium's --ignore-certificate-errors-spki-list
// takes it.
func leafSPKI(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return "", os.ErrInvalid
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:]), nil
}

// kubectl runs the pinned kubectl as the admin and returns its output.
func kubectl(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(toolsDir(), "bin", "kubectl"), append([]string{"--kubeconfig", env.CP.Kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestRealNodePullsFromLocalRegistry: the real node pulls an image pushed
// to the environment's local registry (plain HTTP on loopback), through
// the containerd hosts.toml the environment writes for it.
func TestRealNodePullsFromLocalRegistry(t *testing.T) {
	realNodeTakesPods(t)
	ctx := context.Background()
	img, err := tarball.ImageFromPath(filepath.Join(toolsDir(), "images", "pause.tar"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(env.Registry + "/e2e/pause:pulled")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithContext(ctx)); err != nil {
		t.Fatalf("cannot push %s: %v", ref, err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "pulls"}}
	create(t, ns)
	p := realNodePod(ns.Name, "pulled", ref.String())
	create(t, p)
	poll.Until(t, "a Pod of an image from the local registry runs on the real node", timeout, func(ctx context.Context) (bool, string, error) {
		if err := kube.Get(ctx, client.ObjectKeyFromObject(p), p); err != nil {
			return false, err.Error(), nil
		}
		for _, cs := range p.Status.ContainerStatuses {
			if cs.State.Waiting != nil {
				return false, cs.State.Waiting.Reason + ": " + cs.State.Waiting.Message, nil
			}
		}
		return p.Status.Phase == corev1.PodRunning, "phase " + string(p.Status.Phase), nil
	})
	if err := kube.Delete(ctx, ns); err != nil {
		t.Error(err)
	}
}

// TestRealNodePullsNothingElse: an image from a registry the environment
// did not trust is not fetched from that registry; the pull goes to
// controlplane.NoRegistry, a closed port on loopback, and fails. The
// image's own registry is on loopback too, so that nothing leaves the
// machine even if this test fails.
func TestRealNodePullsNothingElse(t *testing.T) {
	realNodeTakesPods(t)
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "pulls-nothing-else"}}
	create(t, ns)
	p := realNodePod(ns.Name, "elsewhere", "127.0.0.2:5999/e2e/none:1")
	create(t, p)
	poll.Until(t, "the pull of an image from an untrusted registry goes to "+controlplane.NoRegistry, timeout, func(ctx context.Context) (bool, string, error) {
		if err := kube.Get(ctx, client.ObjectKeyFromObject(p), p); err != nil {
			return false, err.Error(), nil
		}
		for _, cs := range p.Status.ContainerStatuses {
			if w := cs.State.Waiting; w != nil && w.Message != "" {
				return strings.Contains(w.Message, controlplane.NoRegistry) && !strings.Contains(w.Message, "http://127.0.0.2:5999"), w.Reason + ": " + w.Message, nil
			}
		}
		return false, "phase " + string(p.Status.Phase), nil
	})
	if err := kube.Delete(ctx, ns); err != nil {
		t.Error(err)
	}
}

// realNodePod is Pod ns/name of one container of image, pulled every time
// it starts, on the real node.
func realNodePod(ns, name, image string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.PodSpec{
			NodeSelector:                 map[string]string{controlplane.RealNodeLabel: "true"},
			Tolerations:                  []corev1.Toleration{{Key: controlplane.RealNodeTaint, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
			AutomountServiceAccountToken: ptr.To(false),
			Containers:                   []corev1.Container{{Name: "main", Image: image, ImagePullPolicy: corev1.PullAlways}},
		},
	}
}
