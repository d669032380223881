//go:build tools

// Package tools pins the Crossplane CLI (render, validate, xpkg build/push/install).
package tools

import _ "github.com/crossplane/cli/v2/cmd/crossplane"
