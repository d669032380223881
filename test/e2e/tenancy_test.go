//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/clients/target"
	"github.com/provider-vdi/provider-vdi/internal/clients/target/targettest"
	"github.com/provider-vdi/provider-vdi/internal/localenv"
	"github.com/provider-vdi/provider-vdi/test/poll"
)

// noDesktopWithin fails unless the session's desktop Pod is gone within
// limit of start and stays gone: the deadline is enforced by the provider,
// whether or not Crossplane runs the function.
func noDesktopWithin(t *testing.T, ns, name string, start time.Time, limit time.Duration) {
	t.Helper()
	p := pod(ns, name+"-desktop")
	for time.Since(start) < limit {
		if !exists(context.Background(), p) {
			t.Logf("desktop Pod %s/%s is gone %s after the session was created", ns, p.Name, time.Since(start).Round(time.Second))
			// A reconcile after the deadline must not bring it back.
			time.Sleep(5 * time.Second)
			if exists(context.Background(), p) {
				t.Fatalf("desktop Pod %s/%s came back after its deadline", ns, p.Name)
			}
			return
		}
		time.Sleep(time.Second)
	}
	t.Fatalf("desktop Pod %s/%s still exists %s after its session was created with a timeout of 1m", ns, p.Name, limit)
}

// TestPausedSessionExpires: a user who pauses their session so that
// Crossplane no longer runs the function (and so never sees it expire)
// still loses the desktop at its deadline.
func TestPausedSessionExpires(t *testing.T) {
	t.Parallel()
	ns := userNamespace(t, "paused")
	start := time.Now()
	started(t, session(ns, "sleepy", "mallory", "ubuntu-gpu", map[string]any{"timeout": "1m"}))

	// A merge patch, not an update: Crossplane writes the session too.
	s := localenv.Session()
	s.SetNamespace(ns)
	s.SetName("sleepy")
	if err := kube.Patch(context.Background(), s, client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"annotations":{"crossplane.io/paused":"true"}}}`))); err != nil {
		t.Fatal(err)
	}
	noDesktopWithin(t, ns, "sleepy", start, 2*time.Minute)
}

// TestMissingTemplateSessionExpires: a session whose template is deleted
// (or renamed to one that does not exist) is Fatal for the function, which
// then changes nothing; the desktop still stops at its deadline.
func TestMissingTemplateSessionExpires(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := userNamespace(t, "orphan")
	mine := copyTemplate(t, "ubuntu-gpu", "orphan-gpu")

	start := time.Now()
	started(t, session(ns, "stray", "mallory", "orphan-gpu", map[string]any{"timeout": "1m"}))
	if err := kube.Delete(ctx, mine); err != nil {
		t.Fatal(err)
	}
	noDesktopWithin(t, ns, "stray", start, 2*time.Minute)
	if !exists(ctx, claim(ns, "stray-home")) {
		t.Errorf("the home volume of a session past its deadline was deleted")
	}
}

// TestQuotaDenialShownOnSession: a namespace whose ResourceQuota allows no
// GPUs, the supported way to cap GPUs per namespace, gets a session that
// says plainly that the quota refused its desktop.
func TestQuotaDenialShownOnSession(t *testing.T) {
	ctx := context.Background()
	ns := userNamespace(t, "quota")
	create(t, &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gpus"},
		Spec:       corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{"requests.nvidia.com/gpu": resource.MustParse("0")}},
	})
	create(t, session(ns, "greedy", "grace", "ubuntu-gpu", nil))
	poll.Until(t, "the session shows the quota denial", timeout, func(ctx context.Context) (bool, string, error) {
		s := localenv.Session()
		if err := kube.Get(ctx, client.ObjectKey{Namespace: ns, Name: "greedy"}, s); err != nil {
			return false, err.Error(), nil
		}
		msg, _, _ := unstructured.NestedString(s.Object, "status", "message")
		phase, _, _ := unstructured.NestedString(s.Object, "status", "phase")
		cond := conditionMessages(s)
		return strings.Contains(msg, "exceeded quota") && strings.Contains(cond, "DesktopReady=False") && strings.Contains(cond, "exceeded quota"),
			fmt.Sprintf("phase %s, message %q, conditions %s", phase, msg, cond), nil
	})
	if pods, _ := managedPods(ctx, ns); len(pods) != 0 {
		t.Errorf("a Pod exists despite the quota: %d", len(pods))
	}
}

// TestNamespaceDeletedWithItsProviderConfig: a tenant's namespace holds a
// namespaced ProviderConfig, its kubeconfig Secret and a Desktop whose Pod
// runs in another namespace (standing in for a remote GPU cluster).
// Deleting the namespace deletes the config and Secret alongside the
// Desktop, in no order; the Desktop must still delete its remote Pod, and
// the namespace must go rather than hang in Terminating.
func TestNamespaceDeletedWithItsProviderConfig(t *testing.T) {
	ctx := context.Background()
	doomed := userNamespace(t, "doomed")
	remote := userNamespace(t, "doomed-gpus")
	ca, err := apiServerCA()
	if err != nil {
		t.Fatal(err)
	}
	kc := targettest.Kubeconfig(t, env.CP.Host, ca, &clientcmdapi.AuthInfo{Token: env.CP.Config.BearerToken})
	secret, pc := targettest.TenantConfig(doomed, "gpu", remote, kc)
	create(t, secret)
	create(t, pc)
	create(t, desktopMR(doomed, "dev", "dora", &xpv2.ProviderConfigReference{Kind: v1alpha1.ProviderConfigKind, Name: "gpu"}))
	remotePod := pod(remote, target.QualifiedName(doomed, remote, "dev"))
	poll.Until(t, "the desktop Pod runs in the remote namespace", timeout, func(ctx context.Context) (bool, string, error) {
		return exists(ctx, remotePod), "no Pod yet", nil
	})

	if err := kube.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: doomed}}); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "the namespace is gone and the remote desktop Pod with it", timeout, func(ctx context.Context) (bool, string, error) {
		nsGone := !exists(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: doomed}})
		podGone := !exists(ctx, remotePod)
		return nsGone && podGone, fmt.Sprintf("namespace gone %t, remote Pod gone %t", nsGone, podGone), nil
	})
}

// apiServerCA returns the local API server's serving certificate, which a
// kubeconfig of the local cluster trusts as its CA.
func apiServerCA() ([]byte, error) {
	var found string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == "apiserver.crt" && found == "" {
			found = p
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("cannot find the API server's certificate under %s: %w", dir, err)
	}
	if found == "" {
		return nil, fmt.Errorf("no apiserver.crt under %s", dir)
	}
	return os.ReadFile(found)
}

// tenantDesktop creates, in namespace ns, a kubeconfig Secret and a
// ProviderConfig named config that uses it, as a tenant allowed to run
// desktops on their own cluster would, and a Desktop named name on it.
func tenantDesktop(t *testing.T, ns, config, name string, kubeconfig []byte) *v1alpha1.Desktop {
	t.Helper()
	secret, pc := targettest.TenantConfig(ns, config, "", kubeconfig)
	create(t, secret)
	create(t, pc)
	d := desktopMR(ns, name, ns, &xpv2.ProviderConfigReference{Kind: v1alpha1.ProviderConfigKind, Name: config})
	create(t, d)
	return d
}

// desktopMR returns a Desktop made directly (not composed) in namespace ns
// for session name of user, through the ProviderConfig pc, with one CPU and
// 1Gi and a URL at its own session's host.
func desktopMR(ns, name, user string, pc *xpv2.ProviderConfigReference) *v1alpha1.Desktop {
	return &v1alpha1.Desktop{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.DesktopSpec{
			ManagedResourceSpec: xpv2.ManagedResourceSpec{ProviderConfigReference: pc},
			ForProvider: v1alpha1.DesktopParameters{
				Owner:     v1alpha1.Owner{Session: name, User: user},
				Image:     "ghcr.io/selkies-project/nvidia-egl-desktop:24.04",
				Resources: v1alpha1.ComputeResources{CPU: ptr.To(resource.MustParse("1")), Memory: ptr.To(resource.MustParse("1Gi"))},
				URL:       "https://" + v1alpha1.HostLabel(name, ns) + ".vdi.example.org/",
			},
		},
	}
}

// volumeMR returns a DesktopVolume made directly in namespace ns, of size,
// for session dev of user, through the ProviderConfig pc (nil: the default).
func volumeMR(ns, name, user, size string, pc *xpv2.ProviderConfigReference) *v1alpha1.DesktopVolume {
	return &v1alpha1.DesktopVolume{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.DesktopVolumeSpec{
			ManagedResourceSpec: xpv2.ManagedResourceSpec{ProviderConfigReference: pc},
			ForProvider: v1alpha1.DesktopVolumeParameters{
				Owner: v1alpha1.Owner{Session: "dev", User: user},
				Size:  resource.MustParse(size),
			},
		},
	}
}

// TestHomeSizeBound: a DesktopVolume made directly, bypassing templates,
// larger than the provider's --max-home-size (1Ti by default) is refused
// with Synced=False saying so, and no claim is made.
func TestHomeSizeBound(t *testing.T) {
	t.Parallel()
	ns := userNamespace(t, "hoarder")
	v := volumeMR(ns, "huge-home", ns, "2Ti", nil)
	create(t, v)
	poll.Until(t, "the DesktopVolume shows Synced=False naming --max-home-size", timeout, poll.SyncedFalse(kube, v, "forProvider.size 2Ti is more than 1Ti, the largest home volume this provider makes (--max-home-size)"))
	if exists(context.Background(), claim(ns, v.Name)) {
		t.Errorf("a claim %s/%s of 2Ti was made", ns, v.Name)
	}
}

// TestTenantKubeconfigCannotBorrowProviderToken: a tenant's kubeconfig
// whose tokenFile names a file the provider can read (standing in for its
// ServiceAccount token), aimed at a TLS listener of the tenant's on
// loopback, is refused with Synced=False; the listener is sent nothing.
func TestTenantKubeconfigCannotBorrowProviderToken(t *testing.T) {
	ns := userNamespace(t, "mallory")
	const providerToken = "provider-serviceaccount-token"
	tokenFile := targettest.TokenFile(t, providerToken)
	srv := targettest.NewServer(t)
	d := tenantDesktop(t, ns, "stolen", "thief", targettest.Kubeconfig(t, srv.URL, srv.CAPEM(), &clientcmdapi.AuthInfo{TokenFile: tokenFile}))
	poll.Until(t, "the Desktop shows Synced=False naming the tokenFile", timeout, poll.SyncedFalse(kube, d, `sets tokenFile, which reads a file of the provider's`))
	if seen := srv.Authorizations(); len(seen) != 0 {
		t.Errorf("the tenant's listener was sent requests, with Authorization headers %q", seen)
	}
}

// TestBlackHoleClusterDoesNotStallSessions: while the provider is stuck
// dialling a tenant's cluster that accepts connections and never answers,
// another user's session still gets its desktop Pod; the stuck Desktop then
// shows Synced=False saying the cluster cannot be reached.
func TestBlackHoleClusterDoesNotStallSessions(t *testing.T) {
	hole := targettest.NewBlackHole(t)
	stuck := tenantDesktop(t, userNamespace(t, "trudy"), "hole", "stuck", targettest.Kubeconfig(t, hole.URL(), nil, &clientcmdapi.AuthInfo{Token: "tenant-token"}))
	select {
	case <-hole.Accepted:
	case <-time.After(timeout):
		t.Fatal("the provider never dialled the black-hole cluster")
	}

	// The provider gives up on the black hole after its 10s dial timeout;
	// a session's desktop Pod takes a few seconds, and must not wait for
	// that.
	ns := userNamespace(t, "victor")
	create(t, session(ns, "dev", "victor", "ubuntu-gpu", nil))
	poll.Until(t, "the other session's desktop Pod is created while the black-hole Desktop is stuck", timeout, func(ctx context.Context) (bool, string, error) {
		if failed, said, _ := poll.SyncedFalse(kube, stuck, "")(ctx); failed {
			t.Fatalf("the black-hole Desktop failed (%s) before the other session's Pod was created: the session waited for it", said)
		}
		pods, err := managedPods(ctx, ns)
		if err != nil {
			return false, err.Error(), nil
		}
		return len(pods) > 0, fmt.Sprintf("%d desktop Pods", len(pods)), nil
	})
	poll.Until(t, "the black-hole Desktop shows Synced=False", timeout, poll.SyncedFalse(kube, stuck, `cannot reach target cluster "`+hole.URL()+`"`))
	waitPhase(t, ns, "dev", "Running")
}

// TestNamespaceReuseTakesNothingOver: a home claim retained in a shared
// target namespace outlives the namespace of its DesktopVolume; a namespace
// made again under that name, with a DesktopVolume of the same name, is
// refused the old claim with Synced=False saying why, and the claim is
// left as it was. Once an admin deletes the old claim, the new
// DesktopVolume makes its own.
func TestNamespaceReuseTakesNothingOver(t *testing.T) {
	ctx := context.Background()
	shared := userNamespace(t, "shared-homes")
	create(t, &v1alpha1.ClusterProviderConfig{
		ObjectMeta: metav1.ObjectMeta{Name: "shared-homes"},
		Spec: v1alpha1.ProviderConfigSpec{
			Credentials:     v1alpha1.ProviderCredentials{Source: xpv2.CredentialsSourceInjectedIdentity},
			TargetNamespace: shared,
		},
	})
	sharedHomes := &xpv2.ProviderConfigReference{Kind: v1alpha1.ClusterProviderConfigKind, Name: "shared-homes"}
	home := func(ns string) *v1alpha1.DesktopVolume {
		v := volumeMR(ns, "home", "rita", "1Gi", sharedHomes)
		v.Spec.ForProvider.RetainOnDelete = true
		return v
	}
	namespaceUID := func(name string) string {
		return string(current(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}).GetUID())
	}
	c := claim(shared, target.QualifiedName("reused", shared, "home"))
	claimOf := func(ns string) string {
		uid := namespaceUID(ns)
		poll.Until(t, "the claim of "+ns+"/home is made", timeout, func(ctx context.Context) (bool, string, error) {
			if err := kube.Get(ctx, client.ObjectKeyFromObject(c), c); err != nil {
				return false, err.Error(), nil
			}
			got := target.NamespaceUID(c)
			return got == uid, fmt.Sprintf("namespace UID %q", got), nil
		})
		return string(c.GetUID())
	}

	ns := userNamespace(t, "reused")
	before := namespaceUID(ns)
	create(t, home(ns))
	old := claimOf(ns)

	if err := kube.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "the namespace is gone, its retained claim left", timeout, func(ctx context.Context) (bool, string, error) {
		return !exists(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}), "namespace still there", nil
	})
	if got := current(t, c); string(got.GetUID()) != old {
		t.Fatalf("the retained claim is not the one the first namespace made")
	}

	ns = userNamespace(t, "reused")
	v := home(ns)
	create(t, v)
	poll.Until(t, "the DesktopVolume of the new namespace is refused the old claim", timeout,
		poll.SyncedFalse(kube, v, fmt.Sprintf("of an earlier namespace of that name (UID %s), not of the namespace there now (UID %s)", before, namespaceUID(ns))))
	// Nor does a desktop of the new namespace mount it.
	d := desktopMR(ns, "dev", "rita", sharedHomes)
	d.Spec.ForProvider.Home = &v1alpha1.HomeVolume{ClaimName: "home"}
	create(t, d)
	poll.Until(t, "the Desktop of the new namespace refuses to mount the old claim", timeout,
		poll.SyncedFalse(kube, d, fmt.Sprintf("it was made in an earlier namespace %q (UID %s), not in the one there now (UID %s)", ns, before, namespaceUID(ns))))
	if exists(ctx, pod(shared, target.QualifiedName(ns, shared, "dev"))) {
		t.Errorf("a desktop Pod was made with the old namespace's home claim")
	}
	if got := current(t, c); string(got.GetUID()) != old || got.Annotations[v1alpha1.AnnotationNamespaceUID] != before {
		t.Errorf("the old claim was changed: UID %s (was %s), namespace UID %q (was %s)", got.GetUID(), old, got.Annotations[v1alpha1.AnnotationNamespaceUID], before)
	}
	if err := kube.Delete(ctx, d); err != nil {
		t.Fatal(err)
	}

	// The admin lets the old home go.
	if err := kube.Delete(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got := claimOf(ns); got == old {
		t.Errorf("the new namespace's claim has the old claim's UID %s", old)
	}
}
