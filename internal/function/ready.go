package function

import (
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/resource"
)

// readiness of a composed resource: ready once its observed managed
// resource is Ready, i.e. the provider found it available in the target
// cluster. A resource not yet observed is not ready.
func readiness(o observed, n resource.Name) fnv1.Ready {
	if o.ready(n) {
		return fnv1.Ready_READY_TRUE
	}
	return fnv1.Ready_READY_FALSE
}
