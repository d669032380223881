//go:build tools

// Package tools pins Traefik v3, the ingress controller that `make run` and
// the end-to-end tests put in front of the desktops (its Kubernetes CRD
// provider serves our IngressRoutes). build.sh also copies the CRDs the
// module ships.
package tools

import _ "github.com/traefik/traefik/v3/cmd/traefik"
