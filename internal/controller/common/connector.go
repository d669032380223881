package common

import (
	"context"

	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"

	"github.com/provider-vdi/provider-vdi/internal/clients/target"
)

// A Connector connects a managed resource of kind T to the cluster its
// objects live in, and returns the kind's external client for that cluster.
type Connector[T resource.ModernManaged] struct {
	clusters target.Clusters
	external func(c *target.Cluster, mg T) managed.TypedExternalClient[T]
}

// NewConnector returns a Connector that resolves clusters through clusters
// and makes external clients with external.
func NewConnector[T resource.ModernManaged](clusters target.Clusters, external func(c *target.Cluster, mg T) managed.TypedExternalClient[T]) *Connector[T] {
	return &Connector[T]{clusters: clusters, external: external}
}

// Connect records that mg uses its ProviderConfig, resolves its cluster and
// returns an external client for it.
func (c *Connector[T]) Connect(ctx context.Context, mg T) (managed.TypedExternalClient[T], error) {
	cl, err := c.clusters.Connect(ctx, mg)
	if err != nil {
		return nil, err
	}
	return c.external(cl, mg), nil
}
