//go:build tools

// Package tools pins the CNI plugins of the real worker node's pod network:
// a bridge with host-local addresses, and loopback, which containerd adds to
// every pod. portmap is there for hostPort, which nothing uses yet.
package tools

import (
	_ "github.com/containernetworking/plugins/plugins/ipam/host-local"
	_ "github.com/containernetworking/plugins/plugins/main/bridge"
	_ "github.com/containernetworking/plugins/plugins/main/loopback"
	_ "github.com/containernetworking/plugins/plugins/meta/portmap"
)
