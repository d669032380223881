package target

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
)

// A Cluster is where the desktops of a managed resource run.
type Cluster struct {
	// Client reads and writes the target cluster directly, never through a
	// cache, so that Observe sees the cluster's truth.
	Client client.Client

	// namespace every object goes to; "" means the managed resource's own.
	namespace string
}

// Namespace returns the namespace of the target cluster that holds the
// objects of mg.
func (c *Cluster) Namespace(mg resource.Managed) string {
	if c.namespace != "" {
		return c.namespace
	}
	return mg.GetNamespace()
}

// NewClusterFn returns a client for the cluster that cfg reaches.
type NewClusterFn func(cfg *rest.Config) (client.Client, error)

// WatchFn starts watching desktop Pods of the cluster that cfg reaches and
// sends an event for each change until ctx is done.
type WatchFn func(ctx context.Context, cfg *rest.Config, events chan<- event.GenericEvent) error

// A Connector resolves managed resources to target Clusters. It keeps one
// Cluster, and one watch of its desktop Pods, per set of credentials, so that
// reconciles share connections instead of dialling a cluster each time.
type Connector struct {
	kube   client.Client
	local  *rest.Config
	usage  resource.ModernTracker
	ctx    context.Context //nolint:containedctx // Watches live as long as the provider, not a reconcile.
	log    logging.Logger
	newFn  NewClusterFn
	watch  WatchFn
	events chan event.GenericEvent
	pods   chan event.GenericEvent
	claims chan event.GenericEvent

	mu      sync.Mutex
	cached  map[string]client.Client
	watched map[string]bool
}

// A ConnectorOption configures a Connector.
type ConnectorOption func(*Connector)

// WithNewClusterFn replaces how clients of target clusters are made.
func WithNewClusterFn(fn NewClusterFn) ConnectorOption {
	return func(c *Connector) { c.newFn = fn }
}

// WithWatchFn replaces how desktop Pods of target clusters are watched.
func WithWatchFn(fn WatchFn) ConnectorOption {
	return func(c *Connector) { c.watch = fn }
}

// WithLogger sets the Connector's logger.
func WithLogger(l logging.Logger) ConnectorOption {
	return func(c *Connector) { c.log = l }
}

// NewConnector returns a Connector that reads ProviderConfigs and their
// credentials through kube, reaches its own cluster through local, records
// ProviderConfig usage, and keeps watches running until ctx is done.
func NewConnector(ctx context.Context, kube client.Client, local *rest.Config, o ...ConnectorOption) *Connector {
	c := &Connector{
		kube:    kube,
		local:   local,
		usage:   resource.NewProviderConfigUsageTracker(kube, &v1alpha1.ProviderConfigUsage{}),
		ctx:     ctx,
		log:     logging.NewNopLogger(),
		newFn:   NewClient,
		watch:   WatchDesktopPods,
		events:  make(chan event.GenericEvent, 1024),
		pods:    make(chan event.GenericEvent, 1024),
		claims:  make(chan event.GenericEvent, 1024),
		cached:  map[string]client.Client{},
		watched: map[string]bool{},
	}
	for _, fn := range o {
		fn(c)
	}
	go c.route(ctx)
	return c
}

// route hands each watch event to the controller of its kind until ctx is
// done.
func (c *Connector) route(ctx context.Context) {
	for {
		var ev event.GenericEvent
		select {
		case ev = <-c.events:
		case <-ctx.Done():
			return
		}
		to := c.pods
		if _, ok := ev.Object.(*corev1.PersistentVolumeClaim); ok {
			to = c.claims
		}
		select {
		case to <- ev:
		case <-ctx.Done():
			return
		}
	}
}

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
// that config points to.
func (c *Connector) Connect(ctx context.Context, mg resource.ModernManaged) (*Cluster, error) {
	if err := c.usage.Track(ctx, mg); err != nil {
		return nil, errors.Wrap(err, "cannot track ProviderConfig usage")
	}
	spec, err := c.providerConfig(ctx, mg)
	if err != nil {
		return nil, err
	}
	key, load, err := c.credentials(ctx, spec.Credentials)
	if err != nil {
		return nil, err
	}
	kc, err := c.client(key, load)
	if err != nil {
		return nil, err
	}
	return &Cluster{Client: kc, namespace: spec.TargetNamespace}, nil
}

func (c *Connector) providerConfig(ctx context.Context, mg resource.ModernManaged) (*v1alpha1.ProviderConfigSpec, error) {
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
		return &pc.Spec, nil
	case v1alpha1.ClusterProviderConfigKind:
		pc := &v1alpha1.ClusterProviderConfig{}
		if err := c.kube.Get(ctx, types.NamespacedName{Name: ref.Name}, pc); err != nil {
			return nil, errors.Wrapf(err, "cannot get ClusterProviderConfig %q", ref.Name)
		}
		return &pc.Spec, nil
	default:
		return nil, errors.Errorf("providerConfigRef.kind %q is neither %s nor %s", ref.Kind, v1alpha1.ProviderConfigKind, v1alpha1.ClusterProviderConfigKind)
	}
}

// credentials returns a key that is the same exactly when the credentials
// are, and a function that loads their REST config. The config is loaded
// only for a key that has no client or watch yet, so that a cached cluster
// costs no kubeconfig parse per reconcile.
func (c *Connector) credentials(ctx context.Context, cr v1alpha1.ProviderCredentials) (string, func() (*rest.Config, error), error) {
	switch cr.Source { //nolint:exhaustive // The CRD admits only these two.
	case xpv2.CredentialsSourceInjectedIdentity:
		return string(xpv2.CredentialsSourceInjectedIdentity), func() (*rest.Config, error) { return c.local, nil }, nil
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
			cfg, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
			return cfg, errors.Wrapf(err, "cannot parse kubeconfig from key %q of Secret %s/%s", cr.SecretRef.Key, cr.SecretRef.Namespace, cr.SecretRef.Name)
		}
		return hex.EncodeToString(sum[:]), load, nil
	default:
		return "", nil, errors.Errorf("credentials.source %q is not supported; use InjectedIdentity or Secret", cr.Source)
	}
}

// client returns the cached client of key, making it the first time key is
// seen, and starts the Pod watch of key until one starts. It loads the REST
// config only when it makes the client or starts the watch.
func (c *Connector) client(key string, load func() (*rest.Config, error)) (client.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	kc, ok := c.cached[key]
	if ok && c.watched[key] {
		return kc, nil
	}
	cfg, err := load()
	if err != nil {
		return nil, err
	}
	if !ok {
		if kc, err = c.newFn(cfg); err != nil {
			return nil, errors.Wrap(err, "cannot create client for target cluster")
		}
		c.cached[key] = kc
	}
	if err := c.watch(c.ctx, cfg, c.events); err != nil {
		// Without a watch, readiness still shows at the next poll; the
		// next Connect tries again.
		c.log.Info("Cannot watch desktop Pods of target cluster; readiness will show at the next poll", "error", err.Error(), "host", cfg.Host)
	} else {
		c.watched[key] = true
	}
	return kc, nil
}

// Scheme knows every kind the provider creates in target clusters.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	_ = corev1.AddToScheme(s)
	_ = networkingv1.AddToScheme(s)
	return s
}

// NewClient returns a direct (uncached) client of the cluster cfg reaches.
func NewClient(cfg *rest.Config) (client.Client, error) {
	return client.New(cfg, client.Options{Scheme: Scheme()})
}

// WatchDesktopPods starts informers on the desktop Pods and home claims of
// the cluster cfg reaches, across namespaces, and sends every add, update
// and delete of either to events until ctx is done.
func WatchDesktopPods(ctx context.Context, cfg *rest.Config, events chan<- event.GenericEvent) error {
	selector := func(component string) labels.Selector {
		return labels.SelectorFromSet(labels.Set{v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue, v1alpha1.LabelComponent: component})
	}
	watched := map[client.Object]cache.ByObject{
		&corev1.Pod{}:                   {Label: selector(ComponentDesktop)},
		&corev1.PersistentVolumeClaim{}: {Label: selector(ComponentHome)},
	}
	ca, err := cache.New(cfg, cache.Options{
		Scheme:           Scheme(),
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject:         watched,
	})
	if err != nil {
		return errors.Wrap(err, "cannot create cache of desktop Pods and home claims")
	}
	send := func(o any) {
		if tomb, ok := o.(toolscache.DeletedFinalStateUnknown); ok {
			o = tomb.Obj
		}
		if obj, ok := o.(client.Object); ok {
			select {
			case events <- event.GenericEvent{Object: obj}:
			case <-ctx.Done():
			}
		}
	}
	for obj := range watched {
		inf, err := ca.GetInformer(ctx, obj, cache.BlockUntilSynced(false))
		if err != nil {
			return errors.Wrapf(err, "cannot get informer of %T", obj)
		}
		if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc:    send,
			UpdateFunc: func(_, o any) { send(o) },
			DeleteFunc: send,
		}); err != nil {
			return errors.Wrapf(err, "cannot handle events of %T", obj)
		}
	}
	go func() { _ = ca.Start(ctx) }()
	return nil
}

// ForObject maps an object of a target cluster to the managed resource that
// owns it, by the managed-resource annotation every object the provider
// creates carries.
func ForObject(_ context.Context, o client.Object) []reconcile.Request {
	ns, name, ok := strings.Cut(o.GetAnnotations()[v1alpha1.AnnotationManagedResource], "/")
	if !ok || name == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}}}
}

// Components of a session, the app.kubernetes.io/component label of the
// objects each managed resource creates.
const (
	ComponentDesktop = "desktop"
	ComponentHome    = "home"
	ComponentService = "service"
	ComponentRoute   = "route"
)

// Clusters resolves a managed resource to the cluster its objects live in.
// A Connector is one; tests supply their own.
type Clusters interface {
	Connect(ctx context.Context, mg resource.ModernManaged) (*Cluster, error)
}
