package connection

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
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
	"github.com/provider-vdi/provider-vdi/internal/clients/target"
	"github.com/provider-vdi/provider-vdi/internal/clients/target/targettest"
	"github.com/provider-vdi/provider-vdi/internal/clients/target/watch"
)

// kubeconfig returns a kubeconfig that reaches host.
func kubeconfig(host string) []byte {
	return tenantKubeconfig(host, nil, []string{"token: secret-token"})
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

// namespacedConfig returns a ProviderConfig default in namespace team-a that
// uses the provider's own identity.
func namespacedConfig(mods ...func(*v1alpha1.ProviderConfigSpec)) *v1alpha1.ProviderConfig {
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
	s := target.Scheme()
	if err := apis.AddToScheme(s); err != nil {
		t.Fatalf("apis.AddToScheme(...): %v", err)
	}
	return fake.NewClientBuilder().WithScheme(s).WithObjects(objs...).Build()
}

// recorder records what a Connector asks of its NewClientFn and WatchFn.
type recorder struct {
	mu       sync.Mutex
	newErr   error
	watchErr error
	// watchErrs, when set, are what the WatchFn returns call by call,
	// instead of watchErr.
	watchErrs []error
	newHosts  []string
	newQPS    []float32
	watchHost []string
	sinks     []watch.Sinks
	stopped   []context.Context
	clients   []client.Client
}

func (r *recorder) newFn(_ context.Context, cfg *rest.Config) (client.Client, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.newHosts = append(r.newHosts, cfg.Host)
	r.newQPS = append(r.newQPS, cfg.QPS)
	if r.newErr != nil {
		return nil, r.newErr
	}
	// Each client is a distinct object, so that tests can tell them apart.
	c := &test.MockClient{}
	r.clients = append(r.clients, c)
	return c, nil
}

func (r *recorder) watchFn(ctx context.Context, cfg *rest.Config, sinks watch.Sinks) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.watchHost = append(r.watchHost, cfg.Host)
	r.sinks = append(r.sinks, sinks)
	r.stopped = append(r.stopped, ctx)
	if n := len(r.watchHost) - 1; n < len(r.watchErrs) {
		return r.watchErrs[n]
	}
	return r.watchErr
}

// tryConnect calls c.Connect, reporting a panic as a failure of t, and as an
// error, so that the other cases still run.
func tryConnect(t *testing.T, c *Connector, mg resource.ModernManaged) (cl *target.Cluster, err error) {
	t.Helper()
	// Watches start in the background; wait for them, so that what they
	// recorded can be checked.
	defer c.background.Wait()
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
	_, errBroken := clientcmd.Load(broken)

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
				mg:   targettest.Desktop(withUID("u1"), withoutProviderConfigRef()),
			},
			want: want{err: errors.Wrap(errors.New("managed resource does not reference a ProviderConfig"), "cannot track ProviderConfig usage")},
		},
		"TrackError": {
			reason: "An error recording the ProviderConfigUsage should be returned before any config is read.",
			args: args{
				kube: &test.MockClient{MockGet: test.NewMockGetFn(targettest.ErrBoom)},
				mg:   targettest.Desktop(withUID("u1"), usingConfig(v1alpha1.ProviderConfigKind, "default")),
			},
			want: want{err: errors.Wrap(errors.Wrap(errors.Wrap(targettest.ErrBoom, "cannot get object"), "cannot apply ProviderConfigUsage"), "cannot track ProviderConfig usage")},
		},
		"UnknownKind": {
			reason: "A providerConfigRef of another kind should be refused.",
			args: args{
				kube: kube(t, namespacedConfig()),
				mg:   targettest.Desktop(withUID("u1"), usingConfig("OtherConfig", "default")),
			},
			want: want{err: errors.Errorf("providerConfigRef.kind %q is neither %s nor %s", "OtherConfig", v1alpha1.ProviderConfigKind, v1alpha1.ClusterProviderConfigKind)},
		},
		"ProviderConfigMissing": {
			reason: "A ProviderConfig that does not exist should be an error naming it.",
			args: args{
				kube: kube(t),
				mg:   targettest.Desktop(withUID("u1"), usingConfig(v1alpha1.ProviderConfigKind, "default")),
			},
			want: want{err: errors.Wrapf(kerrors.NewNotFound(schema.GroupResource{Group: v1alpha1.Group, Resource: "providerconfigs"}, "default"), "cannot get ProviderConfig %q", "default")},
		},
		"ProviderConfigOfOtherNamespace": {
			reason: "A ProviderConfig should be looked up in the managed resource's namespace only.",
			args: args{
				kube: kube(t, func() *v1alpha1.ProviderConfig { pc := namespacedConfig(); pc.SetNamespace("team-b"); return pc }()),
				mg:   targettest.Desktop(withUID("u1"), usingConfig(v1alpha1.ProviderConfigKind, "default")),
			},
			want: want{err: errors.Wrapf(kerrors.NewNotFound(schema.GroupResource{Group: v1alpha1.Group, Resource: "providerconfigs"}, "default"), "cannot get ProviderConfig %q", "default")},
		},
		"ClusterProviderConfigMissing": {
			reason: "A ClusterProviderConfig that does not exist should be an error naming it, even when a ProviderConfig of that name exists.",
			args: args{
				kube: kube(t, namespacedConfig()),
				mg:   targettest.Desktop(withUID("u1"), usingConfig(v1alpha1.ClusterProviderConfigKind, "default")),
			},
			want: want{err: errors.Wrapf(kerrors.NewNotFound(schema.GroupResource{Group: v1alpha1.Group, Resource: "clusterproviderconfigs"}, "default"), "cannot get ClusterProviderConfig %q", "default")},
		},
		"ProviderConfigInjectedIdentity": {
			reason: "A ProviderConfig with InjectedIdentity should reach the provider's own cluster, in the managed resource's namespace.",
			args: args{
				kube: kube(t, namespacedConfig()),
				mg:   targettest.Desktop(withUID("u1"), usingConfig(v1alpha1.ProviderConfigKind, "default")),
			},
			want: want{namespace: "team-a", newHosts: []string{local.Host}, watchHost: []string{local.Host}},
		},
		"ClusterProviderConfigTargetNamespace": {
			reason: "A ClusterProviderConfig with a target namespace should put objects there.",
			args: args{
				kube: kube(t, clusterProviderConfig("gpu", withTargetNamespace("desktops"))),
				mg:   targettest.Desktop(withUID("u1"), usingConfig(v1alpha1.ClusterProviderConfigKind, "gpu")),
			},
			want: want{namespace: "desktops", newHosts: []string{local.Host}, watchHost: []string{local.Host}},
		},
		"InjectedIdentityOtherTargetNamespace": {
			reason: "A ProviderConfig with InjectedIdentity should not reach a namespace other than its own, where other tenants' objects live, and no client should be made.",
			args: args{
				kube: kube(t, namespacedConfig(withTargetNamespace("desktops"))),
				mg:   targettest.Desktop(withUID("u1"), usingConfig(v1alpha1.ProviderConfigKind, "default")),
			},
			want: want{err: errors.Errorf("ProviderConfig %q uses InjectedIdentity and so may only target its own namespace %q, not %q; use a ClusterProviderConfig or a kubeconfig Secret", "default", "team-a", "desktops")},
		},
		"InjectedIdentityOwnTargetNamespace": {
			reason: "A ProviderConfig with InjectedIdentity may name its own namespace as the target namespace.",
			args: args{
				kube: kube(t, namespacedConfig(withTargetNamespace("team-a"))),
				mg:   targettest.Desktop(withUID("u1"), usingConfig(v1alpha1.ProviderConfigKind, "default")),
			},
			want: want{namespace: "team-a", newHosts: []string{local.Host}, watchHost: []string{local.Host}},
		},
		"KubeconfigWithInlineCredentialsOtherTargetNamespace": {
			reason: "A ProviderConfig whose kubeconfig carries its own credentials inline may name another target namespace: the target cluster checks what that identity, not the provider's, may do there.",
			args: args{
				kube: kube(t,
					namespacedConfig(withSecretRef("team-a", "gpu", "kubeconfig"), withTargetNamespace("desktops")),
					secret("team-a", "gpu", map[string][]byte{"kubeconfig": kubeconfig("https://gpu.example:6443")}),
				),
				mg: targettest.Desktop(withUID("u1"), usingConfig(v1alpha1.ProviderConfigKind, "default")),
			},
			want: want{namespace: "desktops", newHosts: []string{"https://gpu.example:6443"}, watchHost: []string{"https://gpu.example:6443"}},
		},
		"SecretRefMissing": {
			reason: "Secret credentials without a secretRef should be refused.",
			args: args{
				kube: kube(t, clusterProviderConfig("gpu", withSource(xpv2.CredentialsSourceSecret))),
				mg:   targettest.Desktop(withUID("u1"), usingConfig(v1alpha1.ClusterProviderConfigKind, "gpu")),
			},
			want: want{err: errors.New("credentials.secretRef is required when credentials.source is Secret")},
		},
		"UnsupportedSource": {
			reason: "A credentials source other than InjectedIdentity or Secret should be refused.",
			args: args{
				kube: kube(t, clusterProviderConfig("gpu", withSource(xpv2.CredentialsSourceEnvironment))),
				mg:   targettest.Desktop(withUID("u1"), usingConfig(v1alpha1.ClusterProviderConfigKind, "gpu")),
			},
			want: want{err: errors.Errorf("credentials.source %q is not supported; use InjectedIdentity or Secret", xpv2.CredentialsSourceEnvironment)},
		},
		"SecretMissing": {
			reason: "A kubeconfig Secret that does not exist should be an error naming the Secret and key.",
			args: args{
				kube: kube(t, clusterProviderConfig("gpu", withSecretRef("crossplane-system", "gpu", "kubeconfig"))),
				mg:   targettest.Desktop(withUID("u1"), usingConfig(v1alpha1.ClusterProviderConfigKind, "gpu")),
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
				mg: targettest.Desktop(withUID("u1"), usingConfig(v1alpha1.ClusterProviderConfigKind, "gpu")),
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
				mg: targettest.Desktop(withUID("u1"), usingConfig(v1alpha1.ClusterProviderConfigKind, "gpu")),
			},
			want: want{err: errors.Wrapf(errBroken, "cannot use kubeconfig from key %q of Secret %s/%s", "kubeconfig", "crossplane-system", "gpu")},
		},
		"ClusterProviderConfigKubeconfig": {
			reason: "A ClusterProviderConfig should reach the cluster of the kubeconfig in the Secret it selects.",
			args: args{
				kube: kube(t,
					clusterProviderConfig("gpu", withSecretRef("crossplane-system", "gpu", "kubeconfig"), withTargetNamespace("desktops")),
					secret("crossplane-system", "gpu", map[string][]byte{"kubeconfig": kubeconfig("https://gpu.example:6443")}),
				),
				mg: targettest.Desktop(withUID("u1"), usingConfig(v1alpha1.ClusterProviderConfigKind, "gpu")),
			},
			want: want{namespace: "desktops", newHosts: []string{"https://gpu.example:6443"}, watchHost: []string{"https://gpu.example:6443"}},
		},
		"ProviderConfigReadsOwnNamespace": {
			reason: "A ProviderConfig should read its kubeconfig Secret from its own namespace, whatever namespace its secretRef names.",
			args: args{
				kube: kube(t,
					namespacedConfig(withSecretRef("crossplane-system", "gpu", "kubeconfig")),
					secret("crossplane-system", "gpu", map[string][]byte{"kubeconfig": kubeconfig("https://other.example:6443")}),
					secret("team-a", "gpu", map[string][]byte{"kubeconfig": kubeconfig("https://gpu.example:6443")}),
				),
				mg: targettest.Desktop(withUID("u1"), usingConfig(v1alpha1.ProviderConfigKind, "default")),
			},
			want: want{namespace: "team-a", newHosts: []string{"https://gpu.example:6443"}, watchHost: []string{"https://gpu.example:6443"}},
		},
		"NewClusterError": {
			reason: "An error making the target cluster's client should be returned, and no watch started.",
			args: args{
				kube:   kube(t, namespacedConfig()),
				mg:     targettest.Desktop(withUID("u1"), usingConfig(v1alpha1.ProviderConfigKind, "default")),
				newErr: targettest.ErrBoom,
			},
			want: want{err: errors.Wrapf(errors.Wrap(targettest.ErrBoom, "cannot connect"), "cannot reach target cluster %q", local.Host), newHosts: []string{local.Host}},
		},
		"WatchError": {
			reason: "A watch that cannot start should not fail Connect: readiness still shows at the next poll.",
			args: args{
				kube:     kube(t, namespacedConfig()),
				mg:       targettest.Desktop(withUID("u1"), usingConfig(v1alpha1.ProviderConfigKind, "default")),
				watchErr: targettest.ErrBoom,
			},
			want: want{namespace: "team-a", newHosts: []string{local.Host}, watchHost: []string{local.Host}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := &recorder{newErr: tc.args.newErr, watchErr: tc.args.watchErr}
			c := NewConnector(tc.args.kube, local, WithNewClientFn(r.newFn), WithWatchFn(r.watchFn))
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
			for _, sk := range r.sinks {
				if sk.Pods != (chan<- event.GenericEvent)(c.pods) || sk.Claims != (chan<- event.GenericEvent)(c.claims) {
					t.Errorf("\n%s\nConnect(...): want WatchFn to send to the channels PodEvents and ClaimEvents return", tc.reason)
				}
			}
		})
	}
}

func TestConnectTracksUsage(t *testing.T) {
	kc := kube(t, clusterProviderConfig("gpu"))
	r := &recorder{}
	c := NewConnector(kc, &rest.Config{}, WithNewClientFn(r.newFn), WithWatchFn(r.watchFn))
	mg := targettest.Desktop(withUID("u1"), usingConfig(v1alpha1.ClusterProviderConfigKind, "gpu"))
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
		// after is how long after the last Connect this one is.
		after   time.Duration
		wantErr bool
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
				{mg: targettest.Desktop(targettest.Named("a"), withUID("u1"), usingConfig(v1alpha1.ClusterProviderConfigKind, "gpu")), sameAs: -1},
				{mg: targettest.Desktop(targettest.Named("b"), withUID("u2"), usingConfig(v1alpha1.ClusterProviderConfigKind, "gpu")), sameAs: 0},
			},
			want: want{newHosts: []string{"https://gpu.example:6443"}, watchHost: []string{"https://gpu.example:6443"}},
		},
		"SameResourceTwice": {
			reason: "Connecting the same managed resource again should reuse its client and watch.",
			kube:   kube(t, namespacedConfig()),
			connects: []connect{
				{mg: targettest.Desktop(withUID("u1"), usingConfig(v1alpha1.ProviderConfigKind, "default")), sameAs: -1},
				{mg: targettest.Desktop(withUID("u1"), usingConfig(v1alpha1.ProviderConfigKind, "default")), sameAs: 0},
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
				{mg: targettest.Desktop(targettest.Named("a"), withUID("u1"), usingConfig(v1alpha1.ClusterProviderConfigKind, "gpu-1")), sameAs: -1},
				{mg: targettest.Desktop(targettest.Named("b"), withUID("u2"), usingConfig(v1alpha1.ClusterProviderConfigKind, "gpu-2")), sameAs: 0},
			},
			want: want{newHosts: []string{"https://gpu.example:6443"}, watchHost: []string{"https://gpu.example:6443"}},
		},
		"InjectedIdentityOfTwoConfigs": {
			reason: "A ProviderConfig and a ClusterProviderConfig that both use the injected identity should share a client, whatever their target namespaces.",
			kube:   kube(t, namespacedConfig(), clusterProviderConfig("local", withTargetNamespace("desktops"))),
			connects: []connect{
				{mg: targettest.Desktop(targettest.Named("a"), withUID("u1"), usingConfig(v1alpha1.ProviderConfigKind, "default")), sameAs: -1},
				{mg: targettest.Desktop(targettest.Named("b"), withUID("u2"), usingConfig(v1alpha1.ClusterProviderConfigKind, "local")), sameAs: 0},
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
				{mg: targettest.Desktop(targettest.Named("a"), withUID("u1"), usingConfig(v1alpha1.ClusterProviderConfigKind, "gpu-1")), sameAs: -1},
				{mg: targettest.Desktop(targettest.Named("b"), withUID("u2"), usingConfig(v1alpha1.ClusterProviderConfigKind, "gpu-2")), sameAs: -1},
				{mg: targettest.Desktop(targettest.Named("c"), withUID("u3"), usingConfig(v1alpha1.ClusterProviderConfigKind, "gpu-1")), sameAs: 0},
			},
			want: want{
				newHosts:  []string{"https://gpu-1.example:6443", "https://gpu-2.example:6443"},
				watchHost: []string{"https://gpu-1.example:6443", "https://gpu-2.example:6443"},
			},
		},
		"InjectedIdentityAndSecret": {
			reason: "The injected identity and a kubeconfig should be different credentials.",
			kube: kube(t,
				namespacedConfig(),
				clusterProviderConfig("gpu", withSecretRef("crossplane-system", "gpu", "kubeconfig")),
				secret("crossplane-system", "gpu", map[string][]byte{"kubeconfig": kubeconfig("https://gpu.example:6443")}),
			),
			connects: []connect{
				{mg: targettest.Desktop(targettest.Named("a"), withUID("u1"), usingConfig(v1alpha1.ProviderConfigKind, "default")), sameAs: -1},
				{mg: targettest.Desktop(targettest.Named("b"), withUID("u2"), usingConfig(v1alpha1.ClusterProviderConfigKind, "gpu")), sameAs: -1},
			},
			want: want{
				newHosts:  []string{"https://local.example:6443", "https://gpu.example:6443"},
				watchHost: []string{"https://local.example:6443", "https://gpu.example:6443"},
			},
		},
		"WatchRetried": {
			reason:    "A watch that failed to start should not be started again before its backoff has passed, then again at the next Connect, with the cached client, and not again once it runs.",
			kube:      kube(t, namespacedConfig()),
			watchErrs: []error{targettest.ErrBoom, nil},
			connects: []connect{
				{mg: targettest.Desktop(withUID("u1"), usingConfig(v1alpha1.ProviderConfigKind, "default")), sameAs: -1},
				{mg: targettest.Desktop(withUID("u1"), usingConfig(v1alpha1.ProviderConfigKind, "default")), sameAs: 0, after: 500 * time.Millisecond},
				{mg: targettest.Desktop(withUID("u1"), usingConfig(v1alpha1.ProviderConfigKind, "default")), sameAs: 0, after: time.Second},
				{mg: targettest.Desktop(withUID("u1"), usingConfig(v1alpha1.ProviderConfigKind, "default")), sameAs: 0, after: time.Hour},
			},
			want: want{
				newHosts:  []string{"https://local.example:6443"},
				watchHost: []string{"https://local.example:6443", "https://local.example:6443"},
			},
		},
		"FailureBacksOff": {
			reason: "A cluster that failed should not be dialled again until its backoff has passed, and Connect should fail at once meanwhile; then it should be dialled again, and its backoff should double with each failure in a row.",
			kube:   kube(t, namespacedConfig()),
			newErr: []error{targettest.ErrBoom, targettest.ErrBoom, nil},
			connects: []connect{
				{mg: targettest.Desktop(withUID("u1"), usingConfig(v1alpha1.ProviderConfigKind, "default")), sameAs: -1, wantErr: true},
				{mg: targettest.Desktop(withUID("u1"), usingConfig(v1alpha1.ProviderConfigKind, "default")), sameAs: -1, after: 500 * time.Millisecond, wantErr: true},
				{mg: targettest.Desktop(withUID("u1"), usingConfig(v1alpha1.ProviderConfigKind, "default")), sameAs: -1, after: 600 * time.Millisecond, wantErr: true},
				{mg: targettest.Desktop(withUID("u1"), usingConfig(v1alpha1.ProviderConfigKind, "default")), sameAs: -1, after: 1500 * time.Millisecond, wantErr: true},
				{mg: targettest.Desktop(withUID("u1"), usingConfig(v1alpha1.ProviderConfigKind, "default")), sameAs: -1, after: 600 * time.Millisecond},
			},
			want: want{
				newHosts:  []string{"https://local.example:6443", "https://local.example:6443", "https://local.example:6443"},
				watchHost: []string{"https://local.example:6443"},
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := &recorder{watchErrs: tc.watchErrs}
			calls := 0
			newFn := func(ctx context.Context, cfg *rest.Config) (client.Client, error) {
				r.newErr = nil
				if calls < len(tc.newErr) {
					r.newErr = tc.newErr[calls]
				}
				calls++
				return r.newFn(ctx, cfg)
			}
			now := time.Now()
			c := NewConnector(tc.kube, &rest.Config{Host: "https://local.example:6443"}, WithNewClientFn(newFn), WithWatchFn(r.watchFn),
				WithClock(func() time.Time { return now }), WithBackoff(time.Second, time.Minute))
			got := make([]client.Client, len(tc.connects))
			for i, cn := range tc.connects {
				now = now.Add(cn.after)
				cl, err := tryConnect(t, c, cn.mg)
				if (err != nil) != cn.wantErr {
					t.Fatalf("\n%s\nConnect #%d: want error %v, got %v", tc.reason, i, cn.wantErr, err)
				}
				if err != nil {
					continue
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

// TestConnectDeletingAfterConfigGone holds that a managed resource being
// deleted, whose namespaced ProviderConfig and kubeconfig Secret were
// deleted first (as when their namespace is deleted), is connected to the
// cluster its config last reached, so that it can delete what it made there;
// and that nothing else is.
func TestConnectDeletingAfterConfigGone(t *testing.T) {
	ctx := context.Background()
	pc := namespacedConfig(withSecretRef("team-a", "gpu", "kubeconfig"))
	sec := secret("team-a", "gpu", map[string][]byte{"kubeconfig": kubeconfig("https://gpu.example:6443")})
	kc := kube(t, pc, sec)
	r := &recorder{}
	c := NewConnector(kc, &rest.Config{}, WithNewClientFn(r.newFn), WithWatchFn(r.watchFn))
	mg := targettest.Desktop(withUID("u1"), usingConfig(v1alpha1.ProviderConfigKind, "default"))
	first, err := tryConnect(t, c, mg)
	if err != nil {
		t.Fatalf("Connect(...): %v", err)
	}
	for _, o := range []client.Object{pc, sec} {
		if err := kc.Delete(ctx, o); err != nil {
			t.Fatal(err)
		}
	}

	if _, err := tryConnect(t, c, mg); err == nil {
		t.Errorf("\nA managed resource that is not being deleted should not connect once its config is gone")
	}
	deleting := mg.DeepCopy()
	deleting.SetDeletionTimestamp(&metav1.Time{Time: time.Now()})
	got, err := tryConnect(t, c, deleting)
	if err != nil {
		t.Fatalf("\nA managed resource being deleted should connect through the cluster its config last reached:\nConnect(...): %v", err)
	}
	if got != first {
		t.Errorf("\nA managed resource being deleted should get the cluster its config last reached")
	}
	other := targettest.Desktop(targettest.Named("bob"), withUID("u2"), usingConfig(v1alpha1.ProviderConfigKind, "other"))
	other.SetDeletionTimestamp(&metav1.Time{Time: time.Now()})
	if _, err := tryConnect(t, c, other); err == nil {
		t.Errorf("\nA managed resource being deleted whose config this provider never reached should not connect")
	}
}

func TestClientRateLimit(t *testing.T) {
	cases := map[string]struct {
		reason string
		local  *rest.Config
		config *v1alpha1.ClusterProviderConfig
		secret *corev1.Secret
		want   []float32
	}{
		"Kubeconfig": {
			reason: "A kubeconfig sets no rate limit: the target's client should have none (QPS -1), not client-go's default of 5 a second.",
			local:  &rest.Config{},
			config: clusterProviderConfig("gpu", withSecretRef("crossplane-system", "gpu", "kubeconfig")),
			secret: secret("crossplane-system", "gpu", map[string][]byte{"kubeconfig": tenantKubeconfig("https://gpu.example:6443", nil, []string{"token: t"})}),
			want:   []float32{-1},
		},
		"InjectedIdentity": {
			reason: "The provider's own cluster should keep the rate limit of the provider's config.",
			local:  &rest.Config{Host: "https://local.example:6443", QPS: 500},
			config: clusterProviderConfig("gpu"),
			want:   []float32{500},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			objs := []client.Object{tc.config}
			if tc.secret != nil {
				objs = append(objs, tc.secret)
			}
			r := &recorder{}
			c := NewConnector(kube(t, objs...), tc.local, WithNewClientFn(r.newFn), WithWatchFn(r.watchFn))
			if _, err := tryConnect(t, c, targettest.Desktop(withUID("u1"), usingConfig(v1alpha1.ClusterProviderConfigKind, "gpu"))); err != nil {
				t.Fatalf("Connect(...): %v", err)
			}
			if diff := cmp.Diff(tc.want, r.newQPS); diff != "" {
				t.Errorf("\n%s\nQPS of the clients made: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
