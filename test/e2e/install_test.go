//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	authv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	vditarget "github.com/provider-vdi/provider-vdi/internal/clients/target"
	"github.com/provider-vdi/provider-vdi/internal/clients/target/targettest"
	"github.com/provider-vdi/provider-vdi/internal/controlplane"
	"github.com/provider-vdi/provider-vdi/internal/localenv"
	"github.com/provider-vdi/provider-vdi/internal/packaging"
	"github.com/provider-vdi/provider-vdi/test/poll"
)

// TestProviderRunsWhatIsInstalled: the running provider and function are
// the binaries inside the installed packages' amd64 runtime images, and the
// provider's credentials are its ServiceAccount's, not an administrator's.
func TestProviderRunsWhatIsInstalled(t *testing.T) {
	if err := env.VerifyRunning(); err != nil {
		t.Error(err)
	}
	cfg, err := env.ProviderRESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r, err := cs.AuthenticationV1().SelfSubjectReviews().Create(context.Background(), &authv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := "system:serviceaccount:" + controlplane.CrossplaneNamespace + ":" + localenv.ProviderServiceAccount
	if got := r.Status.UserInfo.Username; got != want {
		t.Errorf("the provider authenticates as %q, want %q", got, want)
	}
	if slices.Contains(r.Status.UserInfo.Groups, "system:masters") {
		t.Errorf("the provider is in system:masters: %v", r.Status.UserInfo.Groups)
	}
}

// TestPackagedRuntimeImages: the installed provider and function packages
// are indexes of a linux/amd64 and a linux/arm64 image, each with an
// entrypoint, a non-root user and the build's labels; each entrypoint is a
// static ELF of its platform, and the amd64 one prints its usage and exits
// 0 when run alone with --help.
func TestPackagedRuntimeImages(t *testing.T) {
	for _, pkg := range []string{"provider-vdi", "function-vdi"} {
		t.Run(pkg, func(t *testing.T) {
			ref, err := name.ParseReference(env.Registry + "/provider-vdi/" + pkg + ":" + env.Version)
			if err != nil {
				t.Fatal(err)
			}
			idx, err := remote.Index(ref)
			if err != nil {
				t.Fatalf("package %s is not an index: %v", ref, err)
			}
			im, err := idx.IndexManifest()
			if err != nil {
				t.Fatal(err)
			}
			machines := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}
			var platforms []string
			for _, d := range im.Manifests {
				if d.Platform == nil {
					t.Errorf("manifest %s has no platform", d.Digest)
					continue
				}
				platforms = append(platforms, d.Platform.OS+"/"+d.Platform.Architecture)
				img, err := idx.Image(d.Digest)
				if err != nil {
					t.Fatal(err)
				}
				cf, err := img.ConfigFile()
				if err != nil {
					t.Fatal(err)
				}
				if len(cf.Config.Entrypoint) != 1 || cf.Config.User != packaging.NonRootUID+":"+packaging.NonRootUID {
					t.Errorf("%s: entrypoint %v, user %q; want one binary as %s", d.Platform.Architecture, cf.Config.Entrypoint, cf.Config.User, packaging.NonRootUID)
					continue
				}
				if got := cf.Config.Labels[packaging.LabelVersion]; got != env.Version {
					t.Errorf("%s: label %s is %q, want %q", d.Platform.Architecture, packaging.LabelVersion, got, env.Version)
				}
				b, err := packaging.Extract(img, cf.Config.Entrypoint[0])
				if err != nil {
					t.Fatal(err)
				}
				f, err := elf.NewFile(bytes.NewReader(b))
				if err != nil {
					t.Fatalf("%s: entrypoint is not an ELF: %v", d.Platform.Architecture, err)
				}
				if f.Machine != machines[d.Platform.Architecture] {
					t.Errorf("%s: entrypoint is an ELF for %s", d.Platform.Architecture, f.Machine)
				}
				for _, p := range f.Progs {
					if p.Type == elf.PT_INTERP {
						t.Errorf("%s: entrypoint is dynamically linked", d.Platform.Architecture)
					}
				}
			}
			slices.Sort(platforms)
			if diff := cmp.Diff([]string{"linux/amd64", "linux/arm64"}, platforms); diff != "" {
				t.Errorf("platforms of %s: -want, +got:\n%s", ref, diff)
			}
			out, err := exec.Command(env.Binaries[pkg].Path, "--help").CombinedOutput()
			if err != nil || !strings.Contains(strings.ToLower(string(out)), "usage") {
				t.Errorf("%s --help: exit %v, want 0 and its usage:\n%s", pkg, err, out)
			}
		})
	}
}

// TestLeastPrivilegeAllKinds: with only the RBAC of examples/install and
// what Crossplane's RBAC manager grants, the provider creates, readies and
// deletes all four kinds of examples/provider/session.yaml.
func TestLeastPrivilegeAllKinds(t *testing.T) {
	ns := userNamespace(t, "least-privilege")
	allKinds(t, ns, ns, nil)
}

// TestRemoteClusterIdentity: a ProviderConfig whose kubeconfig is a token
// of the ServiceAccount examples/install/remote-cluster.yaml binds to the
// same ClusterRole is enough for all four kinds in the remote cluster's
// namespace (here the same cluster, reached only through that kubeconfig).
func TestRemoteClusterIdentity(t *testing.T) {
	ctx := context.Background()
	if err := controlplane.Apply(ctx, kube, filepath.Join("..", "..", "examples", "install", "remote-cluster.yaml")); err != nil {
		t.Fatal(err)
	}
	cfg, err := env.ServiceAccountConfig(ctx, "vdi", "provider-vdi")
	if err != nil {
		t.Fatal(err)
	}
	// A namespaced ProviderConfig's kubeconfig must verify its server.
	ca, err := apiServerCA()
	if err != nil {
		t.Fatal(err)
	}
	b := targettest.Kubeconfig(t, cfg.Host, ca, &clientcmdapi.AuthInfo{Token: cfg.BearerToken})
	ns := userNamespace(t, "team-remote")
	create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gpu-cluster"}, Data: map[string][]byte{"kubeconfig": b}})
	pc := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{
		"targetNamespace": "vdi",
		"credentials":     map[string]any{"source": "Secret", "secretRef": map[string]any{"name": "gpu-cluster", "namespace": ns, "key": "kubeconfig"}},
	}}}
	pc.SetAPIVersion("vdi.m.kasm.io/v1alpha1")
	pc.SetKind("ProviderConfig")
	pc.SetNamespace(ns)
	pc.SetName("gpu-cluster")
	create(t, pc)
	allKinds(t, ns, "vdi", map[string]any{"kind": "ProviderConfig", "name": "gpu-cluster"})
}

// allKinds creates the four managed resources of
// examples/provider/session.yaml in namespace ns, with providerConfigRef
// pcRef if not nil, waits until all are Synced and Ready with their objects
// in namespace target, then deletes them and waits until their objects are
// gone.
func allKinds(t *testing.T, ns, target string, pcRef map[string]any) {
	t.Helper()
	ctx := context.Background()
	objs, err := controlplane.ReadObjects(filepath.Join("..", "..", "examples", "provider", "session.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var mrs []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == "Namespace" {
			continue
		}
		o.SetNamespace(ns)
		// A route serves, and a desktop's links are for, only its own
		// session's host in its namespace.
		host := v1alpha1.HostLabel("alice-dev", ns) + ".vdi.example.org"
		switch o.GetKind() {
		case "DesktopRoute":
			if err := unstructured.SetNestedField(o.Object, host, "spec", "forProvider", "host"); err != nil {
				t.Fatal(err)
			}
		case "Desktop":
			if err := unstructured.SetNestedField(o.Object, "https://"+host+"/", "spec", "forProvider", "url"); err != nil {
				t.Fatal(err)
			}
		}
		if pcRef != nil {
			if err := unstructured.SetNestedMap(o.Object, pcRef, "spec", "providerConfigRef"); err != nil {
				t.Fatal(err)
			}
		}
		create(t, o)
		mrs = append(mrs, o)
	}
	poll.Until(t, "all four kinds are Synced and Ready", timeout, func(ctx context.Context) (bool, string, error) {
		var waiting []string
		for _, mr := range mrs {
			u := mr.DeepCopy()
			if err := kube.Get(ctx, client.ObjectKeyFromObject(mr), u); err != nil {
				return false, err.Error(), nil
			}
			for _, ct := range []string{"Synced", "Ready"} {
				if ok, msg := localenv.Condition(u, ct); !ok {
					waiting = append(waiting, u.GetKind()+": "+msg)
				}
			}
		}
		return len(waiting) == 0, fmt.Sprintf("%v", waiting), nil
	})
	// Outside the managed resources' own namespace, objects carry it in
	// their names (target.QualifiedName).
	name := func(n string) string { return vditarget.QualifiedName(ns, target, n) }
	made := []client.Object{pod(target, name("alice-dev")), claim(target, name("alice-dev-home")), service(target, name("alice-dev")), route(target, name("alice-dev"))}
	for _, o := range made {
		if !exists(ctx, o) {
			t.Errorf("%T %s/%s was not created", o, target, o.GetName())
		}
	}
	for _, mr := range mrs {
		if err := kube.Delete(ctx, mr); err != nil {
			t.Fatal(err)
		}
	}
	poll.Until(t, "all four kinds and their objects are deleted", timeout, func(ctx context.Context) (bool, string, error) {
		var left []string
		for _, o := range made {
			if exists(ctx, o) {
				left = append(left, fmt.Sprintf("%T %s", o, o.GetName()))
			}
		}
		for _, mr := range mrs {
			if exists(ctx, mr.DeepCopy()) {
				left = append(left, mr.GetKind())
			}
		}
		return len(left) == 0, fmt.Sprintf("still there: %v", left), nil
	})
}

// editRole changes ClusterRole name with edit and returns a function that
// puts its rules back, which also runs when the test ends.
func editRole(t *testing.T, name string, edit func(*rbacv1.ClusterRole)) (restore func()) {
	t.Helper()
	ctx := context.Background()
	role := &rbacv1.ClusterRole{}
	if err := kube.Get(ctx, client.ObjectKey{Name: name}, role); err != nil {
		t.Fatal(err)
	}
	rules := slices.Clone(role.Rules)
	edit(role)
	if err := kube.Update(ctx, role); err != nil {
		t.Fatal(err)
	}
	restore = func() {
		cur := &rbacv1.ClusterRole{}
		if err := kube.Get(ctx, client.ObjectKey{Name: name}, cur); err != nil {
			t.Fatal(err)
		}
		cur.Rules = rules
		if err := kube.Update(ctx, cur); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(restore)
	return restore
}

// TestMissingVerb: without a verb the provider needs, the managed resource
// says which call was refused, as whom, with Synced=False, and recovers once
// the verb is granted again.
func TestMissingVerb(t *testing.T) {
	ns := userNamespace(t, "missing-verb")
	restore := editRole(t, "provider-vdi-target", func(role *rbacv1.ClusterRole) {
		for i, r := range role.Rules {
			if slices.Contains(r.Resources, "networkpolicies") {
				role.Rules[i].Verbs = slices.DeleteFunc(slices.Clone(r.Verbs), func(v string) bool { return v == "create" })
			}
		}
	})

	// A Desktop makes its NetworkPolicy before its Pod.
	ds := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"forProvider": map[string]any{
		"session": "mv", "user": "mv", "image": "ghcr.io/selkies-project/nvidia-egl-desktop:24.04",
		"resources": map[string]any{"cpu": "1", "memory": "1Gi"}, "url": "https://mv-missing-verb-2.vdi.example.com/",
	}}}}
	ds.SetAPIVersion("vdi.m.kasm.io/v1alpha1")
	ds.SetKind("Desktop")
	ds.SetNamespace(ns)
	ds.SetName("mv")
	create(t, ds)

	user := "system:serviceaccount:" + controlplane.CrossplaneNamespace + ":" + localenv.ProviderServiceAccount
	wants := []string{
		`cannot create NetworkPolicy "mv"`,
		`User "` + user + `" cannot create resource "networkpolicies" in API group "networking.k8s.io" in the namespace "` + ns + `"`,
	}
	poll.Until(t, "the Desktop says the create was forbidden", timeout, func(ctx context.Context) (bool, string, error) {
		u := ds.DeepCopy()
		if err := kube.Get(ctx, client.ObjectKeyFromObject(ds), u); err != nil {
			return false, err.Error(), nil
		}
		ok, msg := localenv.Condition(u, "Synced")
		if ok {
			return false, "Synced=True: " + msg, nil
		}
		for _, w := range wants {
			if !strings.Contains(msg, w) {
				return false, msg, nil
			}
		}
		return true, msg, nil
	})

	restore()
	poll.Until(t, "the Desktop is Synced once the verb is back", timeout, func(ctx context.Context) (bool, string, error) {
		u := ds.DeepCopy()
		if err := kube.Get(ctx, client.ObjectKeyFromObject(ds), u); err != nil {
			return false, err.Error(), nil
		}
		ok, msg := localenv.Condition(u, "Synced")
		return ok, msg, nil
	})
}

// TestNamespacesNotReadable: without `get` on namespaces
// (examples/install/namespaces.yaml), a new managed resource says so with
// Synced=False and nothing is made for it; once the permission is back, it
// records its namespace's UID and goes on.
func TestNamespacesNotReadable(t *testing.T) {
	ctx := context.Background()
	ns := userNamespace(t, "no-namespaces")
	restore := editRole(t, "provider-vdi-namespaces", func(role *rbacv1.ClusterRole) { role.Rules = nil })
	// The API server's authorizer learns of the edit from a watch.
	poll.Until(t, "the provider may no longer read namespaces", timeout, func(ctx context.Context) (bool, string, error) {
		sar := &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
			User:               "system:serviceaccount:" + controlplane.CrossplaneNamespace + ":" + localenv.ProviderServiceAccount,
			Groups:             []string{"system:serviceaccounts", "system:serviceaccounts:" + controlplane.CrossplaneNamespace, "system:authenticated"},
			ResourceAttributes: &authzv1.ResourceAttributes{Verb: "get", Resource: "namespaces", Name: ns},
		}}
		if err := kube.Create(ctx, sar); err != nil {
			return false, err.Error(), nil
		}
		return !sar.Status.Allowed, "allowed: " + sar.Status.Reason, nil
	})

	v := volumeMR(ns, "home", ns, "1Gi", nil)
	create(t, v)
	poll.Until(t, "the DesktopVolume says it cannot read its namespace", timeout,
		poll.SyncedFalse(kube, v, `cannot read namespace "`+ns+`" to record its UID (provider-vdi needs get on namespaces: examples/install/namespaces.yaml)`))
	if exists(ctx, claim(ns, "home")) {
		t.Errorf("a claim was made for a DesktopVolume whose namespace the provider could not read")
	}

	restore()
	poll.Until(t, "the DesktopVolume records its namespace's UID and makes its claim once it may read namespaces", timeout, func(ctx context.Context) (bool, string, error) {
		got := current(t, &v1alpha1.DesktopVolume{ObjectMeta: v.ObjectMeta})
		uid := got.GetAnnotations()[v1alpha1.AnnotationNamespaceUID]
		return uid != "" && exists(ctx, claim(ns, "home")), fmt.Sprintf("namespace UID %q, Synced %s", uid, got.GetCondition(xpv2.TypeSynced).Status), nil
	})
}

// TestNamespaceUser: a user bound to the built-in `edit` ClusterRole in
// their namespace makes, stops and deletes sessions there and reads their
// credentials, with their own token; they cannot make ProviderConfigs or
// managed resources, nor see another namespace's sessions or Secrets.
func TestNamespaceUser(t *testing.T) {
	ctx := context.Background()
	own := userNamespace(t, "tenant-a")
	other := userNamespace(t, "tenant-b")
	as := editor(t, own)
	// Another tenant's session, made by the platform.
	create(t, session(other, "theirs", "bob", "ubuntu-gpu", nil))

	// Allowed: a session of their own, to Running.
	poll.Until(t, "the user creates a VDISession in their namespace", timeout, func(ctx context.Context) (bool, string, error) {
		// Aggregating vdisessions into `edit` takes a moment after the
		// ClusterRole is applied.
		err := as.Create(ctx, session(own, "mine", "alice", "ubuntu-gpu", nil))
		return err == nil, fmt.Sprint(err), nil
	})
	s := waitPhase(t, own, "mine", "Running")
	secretName, _, _ := unstructured.NestedString(s.Object, "status", "credentialsSecretName")
	secret := &corev1.Secret{}
	if err := as.Get(ctx, client.ObjectKey{Namespace: own, Name: secretName}, secret); err != nil {
		t.Errorf("the user cannot read their session's credentials Secret %q: %v", secretName, err)
	} else if len(secret.Data["password"]) == 0 {
		t.Errorf("the credentials Secret %q has no password", secretName)
	}
	mine := localenv.Session()
	if err := as.Get(ctx, client.ObjectKey{Namespace: own, Name: "mine"}, mine); err != nil {
		t.Errorf("the user cannot read their own session: %v", err)
	}
	if err := as.Patch(ctx, mine, client.RawPatch(types.MergePatchType, []byte(`{"spec":{"state":"Stopped"}}`))); err != nil {
		t.Errorf("the user cannot stop their session: %v", err)
	} else {
		waitPhase(t, own, "mine", "Stopped")
	}

	// Forbidden, each with the user's own token.
	pc := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"credentials": map[string]any{"source": "InjectedIdentity"}}}}
	pc.SetAPIVersion("vdi.m.kasm.io/v1alpha1")
	pc.SetKind("ProviderConfig")
	pc.SetNamespace(own)
	pc.SetName("mine")
	desktop := func(ns string) *unstructured.Unstructured {
		d := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"forProvider": map[string]any{
			"session": "x", "user": "x", "image": "example.org/desktop:1", "port": int64(8080), "url": "https://x.example/",
		}}}}
		d.SetAPIVersion("vdi.m.kasm.io/v1alpha1")
		d.SetKind("Desktop")
		d.SetNamespace(ns)
		d.SetName("x")
		return d
	}
	theirs := localenv.Session()
	theirSecret := &corev1.Secret{}
	forbidden := map[string]struct {
		reason string
		call   func(ctx context.Context) error
	}{
		"CreateProviderConfig": {
			reason: "A ProviderConfig chooses the cluster and identity desktops run with: the platform's, not a user's.",
			call:   func(ctx context.Context) error { return as.Create(ctx, pc) },
		},
		"CreateManagedResourceOwnNamespace": {
			reason: "Users ask for sessions; managed resources are the composition's.",
			call:   func(ctx context.Context) error { return as.Create(ctx, desktop(own)) },
		},
		"CreateManagedResourceOtherNamespace": {
			reason: "A user has no rights in another tenant's namespace.",
			call:   func(ctx context.Context) error { return as.Create(ctx, desktop(other)) },
		},
		"CreateSessionOtherNamespace": {
			reason: "A user cannot start desktops in another tenant's namespace.",
			call: func(ctx context.Context) error {
				return as.Create(ctx, session(other, "intruder", "alice", "ubuntu-gpu", nil))
			},
		},
		"GetSessionOtherNamespace": {
			reason: "Another tenant's sessions are not theirs to read.",
			call: func(ctx context.Context) error {
				return as.Get(ctx, client.ObjectKey{Namespace: other, Name: "theirs"}, theirs)
			},
		},
		"ListSessionsOtherNamespace": {
			reason: "Nor to list.",
			call: func(ctx context.Context) error {
				l := &unstructured.UnstructuredList{}
				l.SetAPIVersion("vdi.kasm.io/v1alpha1")
				l.SetKind("VDISessionList")
				return as.List(ctx, l, client.InNamespace(other))
			},
		},
		"GetCredentialsOtherNamespace": {
			reason: "Another tenant's credentials are not theirs to read.",
			call: func(ctx context.Context) error {
				return as.Get(ctx, client.ObjectKey{Namespace: other, Name: "theirs-credentials"}, theirSecret)
			},
		},
	}
	for name, tc := range forbidden {
		t.Run(name, func(t *testing.T) {
			if err := tc.call(ctx); !kerrors.IsForbidden(err) {
				t.Errorf("\n%s\nwant Forbidden, got %v", tc.reason, err)
			}
		})
	}

	// Allowed: deleting their session, with the same token.
	if err := as.Delete(ctx, mine); err != nil {
		t.Errorf("the user cannot delete their session: %v", err)
	}
	poll.Until(t, "the user's session is gone", timeout, func(ctx context.Context) (bool, string, error) {
		return !exists(ctx, localenvSession(own, "mine")), "still there", nil
	})
}

// TestEditNeedsAggregation: Crossplane's RBAC manager aggregates the
// VDISession XRD only into its own crossplane-* ClusterRoles, so a user
// bound to the built-in `edit` may use VDISessions only through the
// aggregation examples/install/user-aggregation.yaml ships.
func TestEditNeedsAggregation(t *testing.T) {
	ctx := context.Background()
	ns := userNamespace(t, "tenant-c")
	as := editor(t, ns)
	aggregation := filepath.Join("..", "..", "examples", "install", "user-aggregation.yaml")
	objs, err := controlplane.ReadObjects(aggregation)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if err := kube.Delete(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		if err := controlplane.Apply(ctx, kube, aggregation); err != nil {
			t.Fatal(err)
		}
	})
	list := func(ctx context.Context) error {
		l := &unstructured.UnstructuredList{}
		l.SetAPIVersion("vdi.kasm.io/v1alpha1")
		l.SetKind("VDISessionList")
		return as.List(ctx, l, client.InNamespace(ns))
	}
	poll.Until(t, "without the aggregation, edit does not cover VDISessions", timeout, func(ctx context.Context) (bool, string, error) {
		err := list(ctx)
		return kerrors.IsForbidden(err), fmt.Sprint(err), nil
	})
	if err := controlplane.Apply(ctx, kube, aggregation); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "with the aggregation, edit covers VDISessions", timeout, func(ctx context.Context) (bool, string, error) {
		err := list(ctx)
		return err == nil, fmt.Sprint(err), nil
	})
}

func localenvSession(ns, name string) *unstructured.Unstructured {
	s := localenv.Session()
	s.SetNamespace(ns)
	s.SetName(name)
	return s
}

// editor returns a client acting as a user of namespace ns: the
// ServiceAccount "user" there, bound to the built-in ClusterRole edit.
func editor(t *testing.T, ns string) client.Client {
	t.Helper()
	create(t, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "user-edit"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "edit"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "user"}},
	})
	cfg, err := env.ServiceAccountConfig(context.Background(), ns, "user")
	if err != nil {
		t.Fatal(err)
	}
	as, err := client.New(cfg, client.Options{Scheme: localenv.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	return as
}
