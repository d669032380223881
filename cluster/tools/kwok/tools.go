//go:build tools

// Package tools pins kwok, which fakes nodes and runs their Pods for the end-to-end tests.
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
