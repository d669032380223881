//go:build tools

// Package tools pins crane, whose 'registry serve' is the local OCI registry the packages are pushed to.
package tools

import _ "github.com/google/go-containerregistry/cmd/crane"
