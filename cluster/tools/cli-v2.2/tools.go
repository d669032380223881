//go:build tools

// Package tools pins the Crossplane CLI v2.2.1, the last minor whose render
// is `crossplane render` at the top level (v2.3 moved the CLI to its own
// repository and render to `crossplane composition render`).
package tools

import _ "github.com/crossplane/crossplane/v2/cmd/crank"
