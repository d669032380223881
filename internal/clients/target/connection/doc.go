// Package connection resolves a managed resource's ProviderConfig to a
// connected target cluster. It reads the config's credentials (the
// provider's own identity, or a kubeconfig Secret, refused when a tenant's
// kubeconfig asks for what only the provider may have), and keeps one client
// and one watch per set of credentials. No lock is held across a network
// call: a cluster that does not answer delays only the managed resources
// that use it, and is tried again after a growing backoff.
package connection
