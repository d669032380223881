package connection

import (
	"context"
	"net/http"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"

	"github.com/provider-vdi/provider-vdi/internal/clients/target"
	"github.com/provider-vdi/provider-vdi/internal/clients/target/watch"
)

// A cluster is the cached state of one set of credentials. Every field but
// cfg is guarded by the Connector's mutex.
type cluster struct {
	// cfg reaches the cluster, with the Connector's request timeout.
	cfg *rest.Config

	// kube is the client of the last dial that succeeded.
	kube client.Client
	// dialing is closed when the dial under way ends; nil when none is.
	dialing chan struct{}
	// err is why the cluster last failed, a dial or a request of kube;
	// nil while it answers.
	err error
	// answered is when a request of kube last got a response, of any
	// status.
	answered time.Time
	// failures in a row, and when the cluster may be dialled again.
	failures int
	retryAt  time.Time

	// stopWatch stops the cluster's watch; nil when none is starting or
	// running.
	stopWatch     context.CancelFunc
	watchFailures int
	watchRetryAt  time.Time
}

// client returns a client of the cluster that key names, dialling it when it
// has no client yet or failed and its backoff has passed. The Connect that
// starts a dial waits for it (until ctx is done), and so does every Connect
// during a cluster's first dial; while a cluster that failed is dialled
// again, the other Connects return its last failure at once.
func (c *Connector) client(ctx context.Context, config, key string, load func() (*rest.Config, error)) (client.Client, string, error) {
	c.mu.Lock()
	cl, err := c.cluster(config, key, load)
	if err != nil {
		c.mu.Unlock()
		return nil, "", err
	}
	started := false
	if cl.dialing == nil && (cl.kube == nil || cl.err != nil) && !c.now().Before(cl.retryAt) {
		cl.dialing, started = make(chan struct{}), true
		c.background.Add(1)
		go c.dial(cl, cl.dialing)
	}
	dialing, first := cl.dialing, cl.failures == 0 && cl.kube == nil
	c.mu.Unlock()

	if dialing != nil && (started || first) {
		select {
		case <-dialing:
		case <-ctx.Done():
			return nil, "", errors.Wrapf(ctx.Err(), "cannot reach target cluster %q: still connecting", cl.cfg.Host)
		}
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if cl.err != nil {
		return nil, "", errors.Wrapf(cl.err, "cannot reach target cluster %q", cl.cfg.Host)
	}
	if cl.kube == nil {
		return nil, "", errors.Errorf("cannot reach target cluster %q: still connecting", cl.cfg.Host)
	}
	if c.clusters[key] == cl {
		// Not forgotten while this Connect waited.
		c.startWatch(cl)
	}
	return cl.kube, cl.cfg.Host, nil
}

// cluster returns the cached cluster of key, loading its config the first
// time key is seen, and records that config uses key: the cluster config
// used before, if no config uses it any more, is forgotten and its watch
// stopped. It is called with c.mu held and does no network I/O. A config
// that cannot be loaded is an error and is not cached: nothing is wrong
// with the cluster, and the next Connect reads the Secret again.
func (c *Connector) cluster(config, key string, load func() (*rest.Config, error)) (*cluster, error) {
	cl, ok := c.clusters[key]
	if !ok {
		cfg, err := load()
		if err != nil {
			return nil, err
		}
		cfg = rest.CopyConfig(cfg)
		if cfg.Timeout == 0 {
			cfg.Timeout = c.requestTimeout
		}
		// A kubeconfig sets no client-side rate limit, and client-go's
		// default is then 5 requests a second (burst 10): a session costs
		// the provider about 40 requests of its target cluster, so a burst
		// of sessions would queue in the provider for minutes. As
		// controller-runtime does for its own API server, leave limiting
		// to the target's API server (priority and fairness).
		if cfg.QPS == 0 {
			cfg.QPS = -1
		}
		cl = &cluster{cfg: cfg}
		c.clusters[key] = cl
	}
	if old, ok := c.configs[config]; ok && old != key {
		c.configs[config] = key
		c.forget(old)
	}
	c.configs[config] = key
	return cl, nil
}

// forget drops the cluster of key and stops its watch, unless a config
// still uses it. It is called with c.mu held.
func (c *Connector) forget(key string) {
	for _, k := range c.configs {
		if k == key {
			return
		}
	}
	cl, ok := c.clusters[key]
	if !ok {
		return
	}
	if cl.stopWatch != nil {
		cl.stopWatch()
	}
	delete(c.clusters, key)
	c.log.Debug("Forgot a target cluster no ProviderConfig uses any more", "host", cl.cfg.Host)
}

// dial makes a client of cl and records the outcome, then closes done.
func (c *Connector) dial(cl *cluster, done chan struct{}) {
	defer c.background.Done()
	defer close(done)
	ctx, cancel := context.WithTimeout(c.base, c.dialTimeout)
	defer cancel()
	cfg := rest.CopyConfig(cl.cfg)
	// A request of the client that fails at the transport marks the
	// cluster failed, so that the Connects after it fail fast rather than
	// each wait out the request timeout; unless the cluster answered
	// another request while this one waited: it is slow, not gone.
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripper(func(r *http.Request) (*http.Response, error) {
			start := c.now()
			rsp, err := rt.RoundTrip(r)
			switch {
			case err == nil:
				c.answered(cl)
			case !errors.Is(err, context.Canceled):
				// A caller that gave up is no failure of the cluster; a
				// request that timed out is.
				c.fail(cl, err, start)
			}
			return rsp, err
		})
	})
	kube, err := c.newFn(ctx, cfg)

	c.mu.Lock()
	defer c.mu.Unlock()
	cl.dialing = nil
	if err != nil {
		c.failLocked(cl, errors.Wrap(err, "cannot connect"))
		return
	}
	cl.kube, cl.err, cl.failures = kube, nil, 0
}

// answered records that a request of cl got a response.
func (c *Connector) answered(cl *cluster) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.After(cl.answered) {
		cl.answered = now
	}
}

// fail records that a request of cl sent at start failed with err, unless
// a dial is under way, which records its own outcome, or cl answered
// another request since start. An API server that is slow to answer some
// requests (a burst of Service creates waiting for cluster IPs timed out
// at 30s under make bench-e2e) still answers others; marking it failed
// would hold every managed resource of the cluster for a backoff.
func (c *Connector) fail(cl *cluster, err error, start time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl.answered.After(start) {
		c.log.Debug("A request of a target cluster failed while the cluster answered others; not marking it failed", "host", cl.cfg.Host, "error", err.Error())
		return
	}
	if cl.err == nil && cl.dialing == nil {
		c.failLocked(cl, err)
	}
}

func (c *Connector) failLocked(cl *cluster, err error) {
	cl.failures++
	cl.err = err
	cl.retryAt = c.now().Add(c.backoffAfter(cl.failures))
	c.log.Info("Target cluster failed; trying again after a backoff", "host", cl.cfg.Host, "error", err.Error(), "failures", cl.failures, "retryAt", cl.retryAt)
}

// backoffAfter returns how long to wait after n failures in a row.
func (c *Connector) backoffAfter(n int) time.Duration {
	d := c.backoff
	for i := 1; i < n && d < c.maxBackoff; i++ {
		d *= 2
	}
	return min(d, c.maxBackoff)
}

// startWatch starts the watch of cl in the background unless one is
// starting or running, or the last one failed to start and its backoff has
// not passed. It is called with c.mu held.
func (c *Connector) startWatch(cl *cluster) {
	if cl.stopWatch != nil || c.now().Before(cl.watchRetryAt) {
		return
	}
	ctx, stop := context.WithCancel(c.base)
	cl.stopWatch = stop
	c.background.Add(1)
	go func() {
		defer c.background.Done()
		err := c.watchFn(ctx, cl.cfg, watch.Sinks{Pods: c.pods, Claims: c.claims})
		if err == nil {
			return
		}
		stop()
		c.mu.Lock()
		defer c.mu.Unlock()
		cl.stopWatch = nil
		cl.watchFailures++
		cl.watchRetryAt = c.now().Add(c.backoffAfter(cl.watchFailures))
		// Without a watch, changes still show at the next poll.
		c.log.Info("Cannot watch target cluster; changes will show at the next poll", "host", cl.cfg.Host, "error", err.Error(), "retryAt", cl.watchRetryAt)
	}()
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Dial returns a direct (uncached) client of the cluster cfg reaches, once
// that cluster has answered a request for its version before ctx is done.
func Dial(ctx context.Context, cfg *rest.Config) (client.Client, error) {
	d, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, errors.Wrap(err, "cannot create discovery client")
	}
	if err := d.RESTClient().Get().AbsPath("/version").Do(ctx).Error(); err != nil {
		return nil, errors.Wrap(err, "cannot get server version")
	}
	kube, err := client.New(cfg, client.Options{Scheme: target.Scheme()})
	return kube, errors.Wrap(err, "cannot create client")
}
