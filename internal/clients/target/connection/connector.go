package connection

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/clients/target"
	"github.com/provider-vdi/provider-vdi/internal/clients/target/watch"
)

// Defaults of a Connector's timeouts and backoff.
const (
	// DefaultDialTimeout bounds the check that a cluster answers before its
	// first use and after each failure.
	DefaultDialTimeout = 10 * time.Second
	// DefaultRequestTimeout bounds every request of a target cluster's
	// client.
	DefaultRequestTimeout = 30 * time.Second
	// DefaultBackoff is how long a cluster that failed is left alone before
	// it is tried again; it doubles with each failure in a row, up to
	// DefaultMaxBackoff.
	DefaultBackoff    = time.Second
	DefaultMaxBackoff = 2 * time.Minute
)

// NewClientFn returns a client of the cluster cfg reaches once that cluster
// has answered, or an error if it does not answer before ctx is done.
type NewClientFn func(ctx context.Context, cfg *rest.Config) (client.Client, error)

// WatchFn starts watching the objects the provider makes in the cluster cfg
// reaches and sends their events to sinks until ctx is done. It returns once
// the watch is set up.
type WatchFn func(ctx context.Context, cfg *rest.Config, sinks watch.Sinks) error

// A Connector resolves managed resources to target Clusters. It keeps one
// client, and one watch, per set of credentials, so that reconciles share
// connections instead of dialling a cluster each time. Add it to the
// manager (it is a manager.Runnable): every watch stops when the manager
// does, and a watch whose credentials no ProviderConfig uses any more stops
// at once.
type Connector struct {
	kube    client.Client
	local   *rest.Config
	usage   resource.ModernTracker
	log     logging.Logger
	newFn   NewClientFn
	watchFn WatchFn
	now     func() time.Time

	dialTimeout    time.Duration
	requestTimeout time.Duration
	backoff        time.Duration
	maxBackoff     time.Duration

	pods   chan event.GenericEvent
	claims chan event.GenericEvent

	// Dials and watches run until base is cancelled, when the manager
	// stops; background counts the goroutines that dial or start watches.
	base       context.Context //nolint:containedctx // Watches live as long as the manager, not a reconcile.
	stop       context.CancelFunc
	background sync.WaitGroup

	mu       sync.Mutex
	clusters map[string]*cluster // by credentials key
	configs  map[string]string   // credentials key by ProviderConfig

	// reached is the Cluster each ProviderConfig last reached, by config:
	// the way to delete what its managed resources made once the config or
	// its Secret is gone.
	reached sync.Map
}

// A ConnectorOption configures a Connector.
type ConnectorOption func(*Connector)

// WithNewClientFn replaces how clients of target clusters are made.
func WithNewClientFn(fn NewClientFn) ConnectorOption {
	return func(c *Connector) { c.newFn = fn }
}

// WithWatchFn replaces how the objects of target clusters are watched.
func WithWatchFn(fn WatchFn) ConnectorOption {
	return func(c *Connector) { c.watchFn = fn }
}

// WithLogger sets the Connector's logger.
func WithLogger(l logging.Logger) ConnectorOption {
	return func(c *Connector) { c.log = l }
}

// WithTimeouts replaces DefaultDialTimeout and DefaultRequestTimeout.
func WithTimeouts(dial, request time.Duration) ConnectorOption {
	return func(c *Connector) { c.dialTimeout, c.requestTimeout = dial, request }
}

// WithBackoff replaces DefaultBackoff and DefaultMaxBackoff.
func WithBackoff(first, maximum time.Duration) ConnectorOption {
	return func(c *Connector) { c.backoff, c.maxBackoff = first, maximum }
}

// WithClock replaces time.Now, for tests of the backoff.
func WithClock(now func() time.Time) ConnectorOption {
	return func(c *Connector) { c.now = now }
}

// NewConnector returns a Connector that reads ProviderConfigs and their
// credentials through kube, reaches its own cluster through local, and
// records ProviderConfig usage.
func NewConnector(kube client.Client, local *rest.Config, o ...ConnectorOption) *Connector {
	c := &Connector{
		kube:           kube,
		local:          local,
		usage:          resource.NewProviderConfigUsageTracker(kube, &v1alpha1.ProviderConfigUsage{}),
		log:            logging.NewNopLogger(),
		newFn:          Dial,
		watchFn:        watch.DesktopPodsAndClaims,
		now:            time.Now,
		dialTimeout:    DefaultDialTimeout,
		requestTimeout: DefaultRequestTimeout,
		backoff:        DefaultBackoff,
		maxBackoff:     DefaultMaxBackoff,
		pods:           make(chan event.GenericEvent, 1024),
		claims:         make(chan event.GenericEvent, 1024),
		clusters:       map[string]*cluster{},
		configs:        map[string]string{},
	}
	c.base, c.stop = context.WithCancel(context.Background())
	for _, fn := range o {
		fn(c)
	}
	return c
}

// Start runs until ctx is done, then stops every watch. The manager calls it.
func (c *Connector) Start(ctx context.Context) error {
	<-ctx.Done()
	c.stop()
	c.background.Wait()
	return nil
}

// NeedLeaderElection is false: a Connector only stops watches, which
// controllers start, and so runs on every replica.
func (c *Connector) NeedLeaderElection() bool { return false }

// PodEvents delivers an event whenever a desktop Pod in any connected
// cluster changes. The event's object is the Pod.
func (c *Connector) PodEvents() <-chan event.GenericEvent {
	return c.pods
}

// ClaimEvents delivers an event whenever a home claim in any connected
// cluster changes. The event's object is the claim.
func (c *Connector) ClaimEvents() <-chan event.GenericEvent {
	return c.claims
}

// Connect records that mg uses its ProviderConfig and returns the Cluster
// that config reaches. It waits for a cluster it has not reached before
// (at most the dial timeout); a cluster that failed is not tried again until
// its backoff has passed, and Connect returns the failure at once meanwhile.
func (c *Connector) Connect(ctx context.Context, mg resource.ModernManaged) (*target.Cluster, error) {
	cl, err := c.connect(ctx, mg)
	id := configOf(mg)
	switch {
	case err == nil:
		c.reached.Store(id, cl)
	case meta.WasDeleted(mg):
		// Deleting a namespace deletes a namespaced ProviderConfig, its
		// kubeconfig Secret and its usages alongside the managed resources
		// that used them, in no order. A managed resource being deleted
		// then deletes what it made through the cluster its config last
		// reached, rather than stay stuck (holding the namespace in
		// Terminating) with its desktop running. Only deletion does this,
		// and only with what the config itself reached before; after a
		// provider restart there is nothing to fall back on.
		if last, ok := c.reached.Load(id); ok {
			c.log.Debug("Deleting through the cluster the ProviderConfig last reached", "config", id, "error", err.Error())
			return last.(*target.Cluster), nil //nolint:forcetypeassert // Only Clusters are stored.
		}
	}
	return cl, err
}

// configOf names the ProviderConfig mg refers to: kind, namespace and name.
func configOf(mg resource.ModernManaged) string {
	ref := mg.GetProviderConfigReference()
	if ref == nil {
		return ""
	}
	if ref.Kind == v1alpha1.ClusterProviderConfigKind {
		return ref.Kind + "//" + ref.Name
	}
	return ref.Kind + "/" + mg.GetNamespace() + "/" + ref.Name
}

func (c *Connector) connect(ctx context.Context, mg resource.ModernManaged) (*target.Cluster, error) {
	if err := c.usage.Track(ctx, mg); err != nil {
		return nil, errors.Wrap(err, "cannot track ProviderConfig usage")
	}
	pc, err := c.providerConfig(ctx, mg)
	if err != nil {
		return nil, err
	}
	key, load, err := c.credentials(ctx, pc)
	if err != nil {
		return nil, err
	}
	kc, host, err := c.client(ctx, pc.id, key, load)
	if err != nil {
		return nil, err
	}
	cl := target.NewCluster(kc, pc.spec.TargetNamespace)
	cl.Host = host
	return cl, nil
}

// A providerConfig is what Connect needs of either config kind.
type providerConfig struct {
	// id names the config: kind, namespace and name.
	id    string
	spec  *v1alpha1.ProviderConfigSpec
	trust Trust
}

func (c *Connector) providerConfig(ctx context.Context, mg resource.ModernManaged) (*providerConfig, error) {
	ref := mg.GetProviderConfigReference()
	if ref == nil {
		return nil, errors.New("no providerConfigRef is set")
	}
	switch ref.Kind {
	case v1alpha1.ProviderConfigKind:
		pc := &v1alpha1.ProviderConfig{}
		if err := c.kube.Get(ctx, types.NamespacedName{Namespace: mg.GetNamespace(), Name: ref.Name}, pc); err != nil {
			return nil, errors.Wrapf(err, "cannot get ProviderConfig %q", ref.Name)
		}
		if pc.Spec.Credentials.SecretRef != nil {
			// A namespaced config may only read Secrets of its own namespace.
			pc.Spec.Credentials.SecretRef.Namespace = pc.GetNamespace()
		}
		// With the provider's own identity, a namespaced config may only
		// target its own namespace: it must not reach other tenants'.
		if pc.Spec.Credentials.Source == xpv2.CredentialsSourceInjectedIdentity && pc.Spec.TargetNamespace != "" && pc.Spec.TargetNamespace != pc.GetNamespace() {
			return nil, errors.Errorf("ProviderConfig %q uses InjectedIdentity and so may only target its own namespace %q, not %q; use a ClusterProviderConfig or a kubeconfig Secret", ref.Name, pc.GetNamespace(), pc.Spec.TargetNamespace)
		}
		return &providerConfig{id: ref.Kind + "/" + pc.GetNamespace() + "/" + pc.GetName(), spec: &pc.Spec, trust: Restricted}, nil
	case v1alpha1.ClusterProviderConfigKind:
		pc := &v1alpha1.ClusterProviderConfig{}
		if err := c.kube.Get(ctx, types.NamespacedName{Name: ref.Name}, pc); err != nil {
			return nil, errors.Wrapf(err, "cannot get ClusterProviderConfig %q", ref.Name)
		}
		return &providerConfig{id: ref.Kind + "//" + pc.GetName(), spec: &pc.Spec, trust: Trusted}, nil
	default:
		return nil, errors.Errorf("providerConfigRef.kind %q is neither %s nor %s", ref.Kind, v1alpha1.ProviderConfigKind, v1alpha1.ClusterProviderConfigKind)
	}
}

// credentials returns a key that is the same exactly when the credentials
// and the trust in them are, and a function that loads their REST config.
// The config is loaded only for a key that has no client yet, so that a
// cached cluster costs no kubeconfig parse per reconcile. The trust is part
// of the key: a tenant who writes the very kubeconfig a ClusterProviderConfig
// uses must not get the client made from it.
func (c *Connector) credentials(ctx context.Context, pc *providerConfig) (string, func() (*rest.Config, error), error) {
	cr := pc.spec.Credentials
	switch cr.Source { //nolint:exhaustive // The CRD admits only these two.
	case xpv2.CredentialsSourceInjectedIdentity:
		return string(xpv2.CredentialsSourceInjectedIdentity), func() (*rest.Config, error) { return rest.CopyConfig(c.local), nil }, nil
	case xpv2.CredentialsSourceSecret:
		if cr.SecretRef == nil {
			return "", nil, errors.New("credentials.secretRef is required when credentials.source is Secret")
		}
		kubeconfig, err := resource.ExtractSecret(ctx, c.kube, xpv2.CommonCredentialSelectors{SecretRef: cr.SecretRef})
		if err != nil {
			return "", nil, errors.Wrapf(err, "cannot read kubeconfig from key %q of Secret %s/%s", cr.SecretRef.Key, cr.SecretRef.Namespace, cr.SecretRef.Name)
		}
		if len(kubeconfig) == 0 {
			return "", nil, errors.Errorf("key %q of Secret %s/%s is empty; it must hold a kubeconfig", cr.SecretRef.Key, cr.SecretRef.Namespace, cr.SecretRef.Name)
		}
		sum := sha256.Sum256(kubeconfig)
		load := func() (*rest.Config, error) {
			cfg, err := RESTConfig(kubeconfig, pc.trust)
			return cfg, errors.Wrapf(err, "cannot use kubeconfig from key %q of Secret %s/%s", cr.SecretRef.Key, cr.SecretRef.Namespace, cr.SecretRef.Name)
		}
		prefix := "trusted:"
		if pc.trust == Restricted {
			prefix = "restricted:"
		}
		return prefix + hex.EncodeToString(sum[:]), load, nil
	default:
		return "", nil, errors.Errorf("credentials.source %q is not supported; use InjectedIdentity or Secret", cr.Source)
	}
}
