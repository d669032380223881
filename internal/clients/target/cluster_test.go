package target

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/event"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	"github.com/crossplane/crossplane-runtime/v2/pkg/test"

	"github.com/provider-vdi/provider-vdi/apis"
	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
)

func TestClusterNamespace(t *testing.T) {
	cases := map[string]struct {
		reason    string
		namespace string
		mg        *v1alpha1.Desktop
		want      string
	}{
		"TargetNamespace": {
			reason:    "A Cluster whose config sets a target namespace should put every object there.",
			namespace: "desktops",
			mg:        managed(),
			want:      "desktops",
		},
		"ManagedResourceNamespace": {
			reason: "A Cluster without a target namespace should put objects in the managed resource's namespace.",
			mg:     managed(),
			want:   "team-a",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := &Cluster{namespace: tc.namespace}
			if diff := cmp.Diff(tc.want, c.Namespace(tc.mg)); diff != "" {
				t.Errorf("\n%s\nNamespace(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

// kubeconfig returns a kubeconfig that reaches host.
func kubeconfig(host string) []byte {
	return fmt.Appendf(nil, `apiVersion: v1
kind: Config
clusters:
- name: gpu
  cluster:
    server: %s
users:
- name: provider
  user:
    token: secret-token
contexts:
- name: gpu
  context:
    cluster: gpu
    user: provider
current-context: gpu
`, host)
}

func usingConfig(kind, name string) func(*v1alpha1.Desktop) {
	return func(d *v1alpha1.Desktop) {
		d.Spec.ProviderConfigReference = &xpv2.ProviderConfigReference{Kind: kind, Name: name}
	}
}

func withUID(uid string) func(*v1alpha1.Desktop) {
	return func(d *v1alpha1.Desktop) { d.SetUID(types.UID(uid)) }
}

func withoutProviderConfigRef() func(*v1alpha1.Desktop) {
	return func(d *v1alpha1.Desktop) { d.Spec.ProviderConfigReference = nil }
}

// providerConfig returns a ProviderConfig default in namespace team-a that
// uses the provider's own identity.
func providerConfig(mods ...func(*v1alpha1.ProviderConfigSpec)) *v1alpha1.ProviderConfig {
	pc := &v1alpha1.ProviderConfig{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "default"},
		Spec:       v1alpha1.ProviderConfigSpec{Credentials: v1alpha1.ProviderCredentials{Source: xpv2.CredentialsSourceInjectedIdentity}},
	}
	for _, m := range mods {
		m(&pc.Spec)
	}
	return pc
}

// clusterProviderConfig returns a ClusterProviderConfig named name that uses
// the provider's own identity.
func clusterProviderConfig(name string, mods ...func(*v1alpha1.ProviderConfigSpec)) *v1alpha1.ClusterProviderConfig {
	pc := &v1alpha1.ClusterProviderConfig{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       v1alpha1.ProviderConfigSpec{Credentials: v1alpha1.ProviderCredentials{Source: xpv2.CredentialsSourceInjectedIdentity}},
	}
	for _, m := range mods {
		m(&pc.Spec)
	}
	return pc
}

func withTargetNamespace(ns string) func(*v1alpha1.ProviderConfigSpec) {
	return func(s *v1alpha1.ProviderConfigSpec) { s.TargetNamespace = ns }
}

func withSecretRef(ns, name, key string) func(*v1alpha1.ProviderConfigSpec) {
	return func(s *v1alpha1.ProviderConfigSpec) {
		s.Credentials.Source = xpv2.CredentialsSourceSecret
		s.Credentials.SecretRef = &xpv2.SecretKeySelector{SecretReference: xpv2.SecretReference{Namespace: ns, Name: name}, Key: key}
	}
}

func withSource(src xpv2.CredentialsSource) func(*v1alpha1.ProviderConfigSpec) {
	return func(s *v1alpha1.ProviderConfigSpec) { s.Credentials.Source = src }
}

func secret(ns, name string, data map[string][]byte) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: data}
}

// kube returns a fake control plane client holding objs.
func kube(t *testing.T, objs ...client.Object) client.Client {
	t.Helper()
	s := Scheme()
	if err := apis.AddToScheme(s); err != nil {
		t.Fatalf("apis.AddToScheme(...): %v", err)
	}
	return fake.NewClientBuilder().WithScheme(s).WithObjects(objs...).Build()
}

// recorder records what a Connector asks of its NewClusterFn and WatchFn.
type recorder struct {
	newErr   error
	watchErr error
	// watchErrs, when set, are what the WatchFn returns call by call,
	// instead of watchErr.
	watchErrs []error
	newHosts  []string
	watchHost []string
	events    []chan<- event.GenericEvent
	clients   []client.Client
}

func (r *recorder) newFn(cfg *rest.Config) (client.Client, error) {
	r.newHosts = append(r.newHosts, cfg.Host)
	if r.newErr != nil {
		return nil, r.newErr
	}
	// Each client is a distinct object, so that tests can tell them apart.
	c := &test.MockClient{}
	r.clients = append(r.clients, c)
	return c, nil
}

func (r *recorder) watchFn(_ context.Context, cfg *rest.Config, events chan<- event.GenericEvent) error {
	r.watchHost = append(r.watchHost, cfg.Host)
	r.events = append(r.events, events)
	if n := len(r.watchHost) - 1; n < len(r.watchErrs) {
		return r.watchErrs[n]
	}
	return r.watchErr
}

// tryConnect calls c.Connect, reporting a panic as a failure of t, and as an
// error, so that the other cases still run.
func tryConnect(t *testing.T, c *Connector, mg resource.ModernManaged) (cl *Cluster, err error) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("Connect(...): panic: %v", r)
			cl, err = nil, errors.Errorf("panic: %v", r)
		}
	}()
	return c.Connect(context.Background(), mg)
}

func TestConnect(t *testing.T) {
	local := &rest.Config{Host: "https://local.example:6443"}
	broken := []byte("this: is: not: a kubeconfig")
	_, errBroken := clientcmd.RESTConfigFromKubeConfig(broken)

	type args struct {
		kube     client.Client
		mg       *v1alpha1.Desktop
		newErr   error
		watchErr error
	}
	type want struct {
		err       error
		namespace string
		newHosts  []string
		watchHost []string
	}
	cases := map[string]struct {
		reason string
		args   args
		want   want
	}{
		"NoProviderConfigRef": {
			reason: "A managed resource without a providerConfigRef should fail to track its usage.",
			args: args{
				kube: kube(t),
				mg:   managed(withUID("u1"), withoutProviderConfigRef()),
			},
			want: want{err: errors.Wrap(errors.New("managed resource does not reference a ProviderConfig"), "cannot track ProviderConfig usage")},
		},
		"TrackError": {
			reason: "An error recording the ProviderConfigUsage should be returned before any config is read.",
			args: args{
				kube: &test.MockClient{MockGet: test.NewMockGetFn(errBoom)},
				mg:   managed(withUID("u1"), usingConfig(v1alpha1.ProviderConfigKind, "default")),
			},
			want: want{err: errors.Wrap(errors.Wrap(errors.Wrap(errBoom, "cannot get object"), "cannot apply ProviderConfigUsage"), "cannot track ProviderConfig usage")},
		},
		"UnknownKind": {
			reason: "A providerConfigRef of another kind should be refused.",
			args: args{
				kube: kube(t, providerConfig()),
				mg:   managed(withUID("u1"), usingConfig("OtherConfig", "default")),
			},
			want: want{err: errors.Errorf("providerConfigRef.kind %q is neither %s nor %s", "OtherConfig", v1alpha1.ProviderConfigKind, v1alpha1.ClusterProviderConfigKind)},
		},
		"ProviderConfigMissing": {
			reason: "A ProviderConfig that does not exist should be an error naming it.",
			args: args{
				kube: kube(t),
				mg:   managed(withUID("u1"), usingConfig(v1alpha1.ProviderConfigKind, "default")),
			},
			want: want{err: errors.Wrapf(kerrors.NewNotFound(schema.GroupResource{Group: v1alpha1.Group, Resource: "providerconfigs"}, "default"), "cannot get ProviderConfig %q", "default")},
		},
		"ProviderConfigOfOtherNamespace": {
			reason: "A ProviderConfig should be looked up in the managed resource's namespace only.",
			args: args{
				kube: kube(t, func() *v1alpha1.ProviderConfig { pc := providerConfig(); pc.SetNamespace("team-b"); return pc }()),
				mg:   managed(withUID("u1"), usingConfig(v1alpha1.ProviderConfigKind, "default")),
			},
			want: want{err: errors.Wrapf(kerrors.NewNotFound(schema.GroupResource{Group: v1alpha1.Group, Resource: "providerconfigs"}, "default"), "cannot get ProviderConfig %q", "default")},
		},
		"ClusterProviderConfigMissing": {
			reason: "A ClusterProviderConfig that does not exist should be an error naming it, even when a ProviderConfig of that name exists.",
			args: args{
				kube: kube(t, providerConfig()),
				mg:   managed(withUID("u1"), usingConfig(v1alpha1.ClusterProviderConfigKind, "default")),
			},
			want: want{err: errors.Wrapf(kerrors.NewNotFound(schema.GroupResource{Group: v1alpha1.Group, Resource: "clusterproviderconfigs"}, "default"), "cannot get ClusterProviderConfig %q", "default")},
		},
		"ProviderConfigInjectedIdentity": {
			reason: "A ProviderConfig with InjectedIdentity should reach the provider's own cluster, in the managed resource's namespace.",
			args: args{
				kube: kube(t, providerConfig()),
				mg:   managed(withUID("u1"), usingConfig(v1alpha1.ProviderConfigKind, "default")),
			},
			want: want{namespace: "team-a", newHosts: []string{local.Host}, watchHost: []string{local.Host}},
		},
		"ClusterProviderConfigTargetNamespace": {
			reason: "A ClusterProviderConfig with a target namespace should put objects there.",
			args: args{
				kube: kube(t, clusterProviderConfig("gpu", withTargetNamespace("desktops"))),
				mg:   managed(withUID("u1"), usingConfig(v1alpha1.ClusterProviderConfigKind, "gpu")),
			},
			want: want{namespace: "desktops", newHosts: []string{local.Host}, watchHost: []string{local.Host}},
		},
		"InjectedIdentityOtherTargetNamespace": {
			reason: "A ProviderConfig with InjectedIdentity should not reach a namespace other than its own, where other tenants' objects live, and no client should be made.",
			args: args{
				kube: kube(t, providerConfig(withTargetNamespace("desktops"))),
				mg:   managed(withUID("u1"), usingConfig(v1alpha1.ProviderConfigKind, "default")),
			},
			want: want{err: errors.Errorf("ProviderConfig %q uses InjectedIdentity and so may only target its own namespace %q, not %q; use a ClusterProviderConfig or a kubeconfig Secret", "default", "team-a", "desktops")},
		},
		"InjectedIdentityOwnTargetNamespace": {
			reason: "A ProviderConfig with InjectedIdentity may name its own namespace as the target namespace.",
			args: args{
				kube: kube(t, providerConfig(withTargetNamespace("team-a"))),
				mg:   managed(withUID("u1"), usingConfig(v1alpha1.ProviderConfigKind, "default")),
			},
			want: want{namespace: "team-a", newHosts: []string{local.Host}, watchHost: []string{local.Host}},
		},
		"KubeconfigOtherTargetNamespace": {
			reason: "A ProviderConfig with a kubeconfig Secret may target any namespace: the kubeconfig's own identity is what limits it.",
			args: args{
				kube: kube(t,
					providerConfig(withSecretRef("team-a", "gpu", "kubeconfig"), withTargetNamespace("desktops")),
					secret("team-a", "gpu", map[string][]byte{"kubeconfig": kubeconfig("https://gpu.example:6443")}),
				),
				mg: managed(withUID("u1"), usingConfig(v1alpha1.ProviderConfigKind, "default")),
			},
			want: want{namespace: "desktops", newHosts: []string{"https://gpu.example:6443"}, watchHost: []string{"https://gpu.example:6443"}},
		},
		"SecretRefMissing": {
			reason: "Secret credentials without a secretRef should be refused.",
			args: args{
				kube: kube(t, clusterProviderConfig("gpu", withSource(xpv2.CredentialsSourceSecret))),
				mg:   managed(withUID("u1"), usingConfig(v1alpha1.ClusterProviderConfigKind, "gpu")),
			},
			want: want{err: errors.New("credentials.secretRef is required when credentials.source is Secret")},
		},
		"UnsupportedSource": {
			reason: "A credentials source other than InjectedIdentity or Secret should be refused.",
			args: args{
				kube: kube(t, clusterProviderConfig("gpu", withSource(xpv2.CredentialsSourceEnvironment))),
				mg:   managed(withUID("u1"), usingConfig(v1alpha1.ClusterProviderConfigKind, "gpu")),
			},
			want: want{err: errors.Errorf("credentials.source %q is not supported; use InjectedIdentity or Secret", xpv2.CredentialsSourceEnvironment)},
		},
		"SecretMissing": {
			reason: "A kubeconfig Secret that does not exist should be an error naming the Secret and key.",
			args: args{
				kube: kube(t, clusterProviderConfig("gpu", withSecretRef("crossplane-system", "gpu", "kubeconfig"))),
				mg:   managed(withUID("u1"), usingConfig(v1alpha1.ClusterProviderConfigKind, "gpu")),
			},
			want: want{err: errors.Wrapf(
				errors.Wrap(kerrors.NewNotFound(schema.GroupResource{Resource: "secrets"}, "gpu"), "cannot get credentials secret"),
				"cannot read kubeconfig from key %q of Secret %s/%s", "kubeconfig", "crossplane-system", "gpu")},
		},
		"SecretKeyEmpty": {
			reason: "A Secret without the kubeconfig key should be an error saying it must hold a kubeconfig.",
			args: args{
				kube: kube(t,
					clusterProviderConfig("gpu", withSecretRef("crossplane-system", "gpu", "kubeconfig")),
					secret("crossplane-system", "gpu", map[string][]byte{"other": kubeconfig("https://gpu.example:6443")}),
				),
				mg: managed(withUID("u1"), usingConfig(v1alpha1.ClusterProviderConfigKind, "gpu")),
			},
			want: want{err: errors.Errorf("key %q of Secret %s/%s is empty; it must hold a kubeconfig", "kubeconfig", "crossplane-system", "gpu")},
		},
		"BrokenKubeconfig": {
			reason: "A Secret that holds no valid kubeconfig should be an error naming the Secret and key.",
			args: args{
				kube: kube(t,
					clusterProviderConfig("gpu", withSecretRef("crossplane-system", "gpu", "kubeconfig")),
					secret("crossplane-system", "gpu", map[string][]byte{"kubeconfig": broken}),
				),
				mg: managed(withUID("u1"), usingConfig(v1alpha1.ClusterProviderConfigKind, "gpu")),
			},
			want: want{err: errors.Wrapf(errBroken, "cannot parse kubeconfig from key %q of Secret %s/%s", "kubeconfig", "crossplane-system", "gpu")},
		},
		"ClusterProviderConfigKubeconfig": {
			reason: "A ClusterProviderConfig should reach the cluster of the kubeconfig in the Secret it selects.",
			args: args{
				kube: kube(t,
					clusterProviderConfig("gpu", withSecretRef("crossplane-system", "gpu", "kubeconfig"), withTargetNamespace("desktops")),
					secret("crossplane-system", "gpu", map[string][]byte{"kubeconfig": kubeconfig("https://gpu.example:6443")}),
				),
				mg: managed(withUID("u1"), usingConfig(v1alpha1.ClusterProviderConfigKind, "gpu")),
			},
			want: want{namespace: "desktops", newHosts: []string{"https://gpu.example:6443"}, watchHost: []string{"https://gpu.example:6443"}},
		},
		"ProviderConfigReadsOwnNamespace": {
			reason: "A ProviderConfig should read its kubeconfig Secret from its own namespace, whatever namespace its secretRef names.",
			args: args{
				kube: kube(t,
					providerConfig(withSecretRef("crossplane-system", "gpu", "kubeconfig")),
					secret("crossplane-system", "gpu", map[string][]byte{"kubeconfig": kubeconfig("https://other.example:6443")}),
					secret("team-a", "gpu", map[string][]byte{"kubeconfig": kubeconfig("https://gpu.example:6443")}),
				),
				mg: managed(withUID("u1"), usingConfig(v1alpha1.ProviderConfigKind, "default")),
			},
			want: want{namespace: "team-a", newHosts: []string{"https://gpu.example:6443"}, watchHost: []string{"https://gpu.example:6443"}},
		},
		"NewClusterError": {
			reason: "An error making the target cluster's client should be returned, and no watch started.",
			args: args{
				kube:   kube(t, providerConfig()),
				mg:     managed(withUID("u1"), usingConfig(v1alpha1.ProviderConfigKind, "default")),
				newErr: errBoom,
			},
			want: want{err: errors.Wrap(errBoom, "cannot create client for target cluster"), newHosts: []string{local.Host}},
		},
		"WatchError": {
			reason: "A watch that cannot start should not fail Connect: readiness still shows at the next poll.",
			args: args{
				kube:     kube(t, providerConfig()),
				mg:       managed(withUID("u1"), usingConfig(v1alpha1.ProviderConfigKind, "default")),
				watchErr: errBoom,
			},
			want: want{namespace: "team-a", newHosts: []string{local.Host}, watchHost: []string{local.Host}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := &recorder{newErr: tc.args.newErr, watchErr: tc.args.watchErr}
			c := NewConnector(context.Background(), tc.args.kube, local, WithNewClusterFn(r.newFn), WithWatchFn(r.watchFn))
			cl, err := tryConnect(t, c, tc.args.mg)
			if diff := cmp.Diff(tc.want.err, err, test.EquateErrors()); diff != "" {
				t.Errorf("\n%s\nConnect(...): -want error, +got error:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.want.newHosts, r.newHosts); diff != "" {
				t.Errorf("\n%s\nConnect(...): -want NewClusterFn hosts, +got NewClusterFn hosts:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.want.watchHost, r.watchHost); diff != "" {
				t.Errorf("\n%s\nConnect(...): -want WatchFn hosts, +got WatchFn hosts:\n%s", tc.reason, diff)
			}
			if tc.want.err != nil {
				if cl != nil {
					t.Errorf("\n%s\nConnect(...): want no Cluster with an error, got %+v", tc.reason, cl)
				}
				return
			}
			if cl == nil || len(r.clients) != 1 || cl.Client != r.clients[0] {
				t.Errorf("\n%s\nConnect(...): want the Cluster to hold the client NewClusterFn made, got %+v", tc.reason, cl)
				return
			}
			if diff := cmp.Diff(tc.want.namespace, cl.Namespace(tc.args.mg)); diff != "" {
				t.Errorf("\n%s\nConnect(...).Namespace(...): -want, +got:\n%s", tc.reason, diff)
			}
			for _, ev := range r.events {
				if ev != (chan<- event.GenericEvent)(c.events) {
					t.Errorf("\n%s\nConnect(...): want WatchFn to send to the channel PodEvents returns", tc.reason)
				}
			}
		})
	}
}

func TestConnectTracksUsage(t *testing.T) {
	kc := kube(t, clusterProviderConfig("gpu"))
	r := &recorder{}
	c := NewConnector(context.Background(), kc, &rest.Config{}, WithNewClusterFn(r.newFn), WithWatchFn(r.watchFn))
	mg := managed(withUID("u1"), usingConfig(v1alpha1.ClusterProviderConfigKind, "gpu"))
	if _, err := tryConnect(t, c, mg); err != nil {
		t.Fatalf("Connect(...): %v", err)
	}
	pcu := &v1alpha1.ProviderConfigUsage{}
	if err := kc.Get(context.Background(), types.NamespacedName{Namespace: "team-a", Name: "u1"}, pcu); err != nil {
		t.Fatalf("\nConnect should record a ProviderConfigUsage named by the managed resource's UID in its namespace:\nGet(...): %v", err)
	}
	want := xpv2.ProviderConfigReference{Kind: v1alpha1.ClusterProviderConfigKind, Name: "gpu"}
	if diff := cmp.Diff(want, pcu.ProviderConfigReference); diff != "" {
		t.Errorf("\nThe ProviderConfigUsage should reference the managed resource's config:\n-want, +got:\n%s", diff)
	}
}

func TestConnectCachesClients(t *testing.T) {
	type connect struct {
		mg *v1alpha1.Desktop
		// sameAs is the index of an earlier Connect whose client this one
		// must share, or -1 for a client of its own.
		sameAs int
	}
	type want struct {
		newHosts  []string
		watchHost []string
	}
	cases := map[string]struct {
		reason    string
		kube      client.Client
		newErr    []error
		watchErrs []error
		connects  []connect
		want      want
	}{
		"SameCredentials": {
			reason: "Two managed resources using the same config should share one client and one watch.",
			kube: kube(t,
				clusterProviderConfig("gpu", withSecretRef("crossplane-system", "gpu", "kubeconfig")),
				secret("crossplane-system", "gpu", map[string][]byte{"kubeconfig": kubeconfig("https://gpu.example:6443")}),
			),
			connects: []connect{
				{mg: managed(withName("a"), withUID("u1"), usingConfig(v1alpha1.ClusterProviderConfigKind, "gpu")), sameAs: -1},
				{mg: managed(withName("b"), withUID("u2"), usingConfig(v1alpha1.ClusterProviderConfigKind, "gpu")), sameAs: 0},
			},
			want: want{newHosts: []string{"https://gpu.example:6443"}, watchHost: []string{"https://gpu.example:6443"}},
		},
		"SameResourceTwice": {
			reason: "Connecting the same managed resource again should reuse its client and watch.",
			kube:   kube(t, providerConfig()),
			connects: []connect{
				{mg: managed(withUID("u1"), usingConfig(v1alpha1.ProviderConfigKind, "default")), sameAs: -1},
				{mg: managed(withUID("u1"), usingConfig(v1alpha1.ProviderConfigKind, "default")), sameAs: 0},
			},
			want: want{newHosts: []string{"https://local.example:6443"}, watchHost: []string{"https://local.example:6443"}},
		},
		"SameKubeconfigInTwoSecrets": {
			reason: "Two configs whose Secrets hold the same kubeconfig are the same credentials and should share a client.",
			kube: kube(t,
				clusterProviderConfig("gpu-1", withSecretRef("crossplane-system", "gpu-1", "kubeconfig")),
				clusterProviderConfig("gpu-2", withSecretRef("crossplane-system", "gpu-2", "config")),
				secret("crossplane-system", "gpu-1", map[string][]byte{"kubeconfig": kubeconfig("https://gpu.example:6443")}),
				secret("crossplane-system", "gpu-2", map[string][]byte{"config": kubeconfig("https://gpu.example:6443")}),
			),
			connects: []connect{
				{mg: managed(withName("a"), withUID("u1"), usingConfig(v1alpha1.ClusterProviderConfigKind, "gpu-1")), sameAs: -1},
				{mg: managed(withName("b"), withUID("u2"), usingConfig(v1alpha1.ClusterProviderConfigKind, "gpu-2")), sameAs: 0},
			},
			want: want{newHosts: []string{"https://gpu.example:6443"}, watchHost: []string{"https://gpu.example:6443"}},
		},
		"InjectedIdentityOfTwoConfigs": {
			reason: "A ProviderConfig and a ClusterProviderConfig that both use the injected identity should share a client, whatever their target namespaces.",
			kube:   kube(t, providerConfig(), clusterProviderConfig("local", withTargetNamespace("desktops"))),
			connects: []connect{
				{mg: managed(withName("a"), withUID("u1"), usingConfig(v1alpha1.ProviderConfigKind, "default")), sameAs: -1},
				{mg: managed(withName("b"), withUID("u2"), usingConfig(v1alpha1.ClusterProviderConfigKind, "local")), sameAs: 0},
			},
			want: want{newHosts: []string{"https://local.example:6443"}, watchHost: []string{"https://local.example:6443"}},
		},
		"DifferentCredentials": {
			reason: "Managed resources whose configs reach different clusters should each get a client and a watch.",
			kube: kube(t,
				clusterProviderConfig("gpu-1", withSecretRef("crossplane-system", "gpu-1", "kubeconfig")),
				clusterProviderConfig("gpu-2", withSecretRef("crossplane-system", "gpu-2", "kubeconfig")),
				secret("crossplane-system", "gpu-1", map[string][]byte{"kubeconfig": kubeconfig("https://gpu-1.example:6443")}),
				secret("crossplane-system", "gpu-2", map[string][]byte{"kubeconfig": kubeconfig("https://gpu-2.example:6443")}),
			),
			connects: []connect{
				{mg: managed(withName("a"), withUID("u1"), usingConfig(v1alpha1.ClusterProviderConfigKind, "gpu-1")), sameAs: -1},
				{mg: managed(withName("b"), withUID("u2"), usingConfig(v1alpha1.ClusterProviderConfigKind, "gpu-2")), sameAs: -1},
				{mg: managed(withName("c"), withUID("u3"), usingConfig(v1alpha1.ClusterProviderConfigKind, "gpu-1")), sameAs: 0},
			},
			want: want{
				newHosts:  []string{"https://gpu-1.example:6443", "https://gpu-2.example:6443"},
				watchHost: []string{"https://gpu-1.example:6443", "https://gpu-2.example:6443"},
			},
		},
		"InjectedIdentityAndSecret": {
			reason: "The injected identity and a kubeconfig should be different credentials.",
			kube: kube(t,
				providerConfig(),
				clusterProviderConfig("gpu", withSecretRef("crossplane-system", "gpu", "kubeconfig")),
				secret("crossplane-system", "gpu", map[string][]byte{"kubeconfig": kubeconfig("https://gpu.example:6443")}),
			),
			connects: []connect{
				{mg: managed(withName("a"), withUID("u1"), usingConfig(v1alpha1.ProviderConfigKind, "default")), sameAs: -1},
				{mg: managed(withName("b"), withUID("u2"), usingConfig(v1alpha1.ClusterProviderConfigKind, "gpu")), sameAs: -1},
			},
			want: want{
				newHosts:  []string{"https://local.example:6443", "https://gpu.example:6443"},
				watchHost: []string{"https://local.example:6443", "https://gpu.example:6443"},
			},
		},
		"WatchRetried": {
			reason:    "A watch that failed to start should be started again at the next Connect, with the cached client, and not again once it runs.",
			kube:      kube(t, providerConfig()),
			watchErrs: []error{errBoom, nil},
			connects: []connect{
				{mg: managed(withUID("u1"), usingConfig(v1alpha1.ProviderConfigKind, "default")), sameAs: -1},
				{mg: managed(withUID("u1"), usingConfig(v1alpha1.ProviderConfigKind, "default")), sameAs: 0},
				{mg: managed(withUID("u1"), usingConfig(v1alpha1.ProviderConfigKind, "default")), sameAs: 0},
			},
			want: want{
				newHosts:  []string{"https://local.example:6443"},
				watchHost: []string{"https://local.example:6443", "https://local.example:6443"},
			},
		},
		"FailureNotCached": {
			reason: "A client that could not be made should be tried again at the next Connect.",
			kube:   kube(t, providerConfig()),
			newErr: []error{errBoom, nil},
			connects: []connect{
				{mg: managed(withUID("u1"), usingConfig(v1alpha1.ProviderConfigKind, "default")), sameAs: -1},
				{mg: managed(withUID("u1"), usingConfig(v1alpha1.ProviderConfigKind, "default")), sameAs: -1},
			},
			want: want{
				newHosts:  []string{"https://local.example:6443", "https://local.example:6443"},
				watchHost: []string{"https://local.example:6443"},
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := &recorder{watchErrs: tc.watchErrs}
			calls := 0
			newFn := func(cfg *rest.Config) (client.Client, error) {
				if calls < len(tc.newErr) {
					r.newErr = tc.newErr[calls]
				}
				calls++
				return r.newFn(cfg)
			}
			c := NewConnector(context.Background(), tc.kube, &rest.Config{Host: "https://local.example:6443"}, WithNewClusterFn(newFn), WithWatchFn(r.watchFn))
			got := make([]client.Client, len(tc.connects))
			for i, cn := range tc.connects {
				cl, err := tryConnect(t, c, cn.mg)
				if err != nil {
					if i < len(tc.newErr) && tc.newErr[i] != nil {
						continue
					}
					t.Fatalf("\n%s\nConnect #%d: %v", tc.reason, i, err)
				}
				got[i] = cl.Client
				if cn.sameAs >= 0 && got[i] != got[cn.sameAs] {
					t.Errorf("\n%s\nConnect #%d: want the client of Connect #%d, got another", tc.reason, i, cn.sameAs)
				}
				for j := range i {
					if cn.sameAs < 0 && got[j] != nil && got[i] == got[j] {
						t.Errorf("\n%s\nConnect #%d: want a client of its own, got that of Connect #%d", tc.reason, i, j)
					}
				}
			}
			if diff := cmp.Diff(tc.want.newHosts, r.newHosts); diff != "" {
				t.Errorf("\n%s\nConnect(...): -want NewClusterFn calls, +got NewClusterFn calls:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.want.watchHost, r.watchHost); diff != "" {
				t.Errorf("\n%s\nConnect(...): -want WatchFn calls, +got WatchFn calls:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestScheme(t *testing.T) {
	cases := map[string]struct {
		reason string
		o      client.Object
		want   schema.GroupVersionKind
	}{
		"Pod": {
			reason: "The scheme should know desktop Pods.",
			o:      &corev1.Pod{},
			want:   corev1.SchemeGroupVersion.WithKind("Pod"),
		},
		"Secret": {
			reason: "The scheme should know credentials Secrets.",
			o:      &corev1.Secret{},
			want:   corev1.SchemeGroupVersion.WithKind("Secret"),
		},
		"NetworkPolicy": {
			reason: "The scheme should know the NetworkPolicies of desktop Services.",
			o:      &networkingv1.NetworkPolicy{},
			want:   networkingv1.SchemeGroupVersion.WithKind("NetworkPolicy"),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			gvks, _, err := Scheme().ObjectKinds(tc.o)
			if err != nil {
				t.Fatalf("\n%s\nObjectKinds(...): %v", tc.reason, err)
			}
			if diff := cmp.Diff([]schema.GroupVersionKind{tc.want}, gvks); diff != "" {
				t.Errorf("\n%s\nScheme().ObjectKinds(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
