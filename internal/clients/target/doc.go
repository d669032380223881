// Package target is what the provider's external clients share to work on
// the objects of a target cluster, the cluster desktops run in: a Cluster (a
// client and the namespace objects go to), the names, labels and annotations
// of the objects the provider makes, and gets, creates, updates and deletes
// that refuse to touch an object some other owner made and compare desired
// and actual state by a spec hash.
//
// Reaching a cluster is package connection's job; watching its objects is
// package watch's.
package target
