package connection

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

// MaxConcurrentServiceCreates is how many Services the provider creates at
// once in one target cluster. The API server allocates each Service's
// cluster IP (an IPAddress object, since Kubernetes 1.33) before it stores
// the Service; under make bench-e2e's 100- and 300-bursts, on a saturated
// API server, hundreds of concurrent creates each waited out the 30s
// request timeout, every timed-out create leaked an IPAddress that the API
// server's repair loop then deleted, and the retries queued behind those
// deletes: 41 of 300 Services existed after eight minutes. Creates above
// the limit wait in the provider instead, where waiting costs nothing.
const MaxConcurrentServiceCreates = 8

// serviceCreates returns kube with at most n Service creates in flight.
func serviceCreates(kube client.Client, n int) client.Client {
	return limitedClient{Client: kube, slots: make(chan struct{}, n)}
}

type limitedClient struct {
	client.Client
	slots chan struct{}
}

// Create creates obj; a Service waits for a free slot first, or until ctx
// is done.
func (c limitedClient) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	if _, ok := obj.(*corev1.Service); !ok {
		return c.Client.Create(ctx, obj, opts...)
	}
	select {
	case c.slots <- struct{}{}:
	case <-ctx.Done():
		return errors.Wrap(ctx.Err(), "cannot create Service: waited too long for other Service creates of the cluster")
	}
	defer func() { <-c.slots }()
	return c.Client.Create(ctx, obj, opts...)
}
