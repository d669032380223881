// Package target is the one small layer the provider's external clients share
// to reach the cluster desktops run in: it resolves a managed resource's
// ProviderConfig to a cached client for that cluster, names and labels the
// objects it creates there, and gets, creates, updates and deletes them
// idempotently, comparing desired and actual state by a spec hash.
package target
