//go:build tools

// Package tools pins Crossplane core for the render and end-to-end tests.
package tools

import _ "github.com/crossplane/crossplane/v2/cmd/crossplane"
