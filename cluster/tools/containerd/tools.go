//go:build tools

// Package tools pins containerd v2, the container runtime of the local
// environment's real worker node: the daemon, its runc shim, and ctr, which
// imports the locally built images.
package tools

import (
	_ "github.com/containerd/containerd/v2/cmd/containerd"
	_ "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2"
	_ "github.com/containerd/containerd/v2/cmd/ctr"
)
