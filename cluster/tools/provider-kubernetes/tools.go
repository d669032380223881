//go:build tools

// Package tools pins provider-kubernetes, whose Objects are the peer that
// `make bench-e2e` measures provider-vdi against.
package tools

import _ "github.com/crossplane-contrib/provider-kubernetes/cmd/provider"
