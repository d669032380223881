//go:build tools

// Package tools pins the Kubernetes control-plane binaries that the
// integration and end-to-end tests run. Nothing here is compiled into the
// provider; cluster/tools/build.sh builds the commands named below.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
