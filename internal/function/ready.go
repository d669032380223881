package function

import (
	corev1 "k8s.io/api/core/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	"github.com/crossplane/function-sdk-go/resource"
)

// readiness of a composed resource: ready once its observed managed
// resource is Ready, i.e. the provider found it available in the target
// cluster. A resource not yet observed is not ready.
func readiness(observed map[resource.Name]resource.ObservedComposed, name resource.Name) resource.Ready {
	if isReady(observed, name) {
		return resource.ReadyTrue
	}
	return resource.ReadyFalse
}

func isReady(observed map[resource.Name]resource.ObservedComposed, name resource.Name) bool {
	oc, ok := observed[name]
	if !ok || oc.Resource == nil {
		return false
	}
	return oc.Resource.GetCondition(xpv2.TypeReady).Status == corev1.ConditionTrue
}
