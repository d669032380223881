package function

import (
	"google.golang.org/protobuf/types/known/structpb"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/resource"
)

// observed is what Crossplane observed of the composed resources, keyed by
// their resource name. The function reads the few fields it needs in place
// rather than converting whole managed resources to maps on every call.
type observed map[string]*fnv1.Resource

// has reports whether the named resource exists.
func (o observed) has(n resource.Name) bool { return o[string(n)] != nil }

// ready reports whether the named resource's Ready condition is True: the
// provider found it available in the target cluster.
func (o observed) ready(n resource.Name) bool {
	for _, c := range o.status(n)["conditions"].GetListValue().GetValues() {
		cf := c.GetStructValue().GetFields()
		if cf["type"].GetStringValue() == "Ready" {
			return cf["status"].GetStringValue() == "True"
		}
	}
	return false
}

// atProvider returns the named resource's status.atProvider, or nil.
func (o observed) atProvider(n resource.Name) map[string]*structpb.Value {
	return o.status(n)["atProvider"].GetStructValue().GetFields()
}

func (o observed) status(n resource.Name) map[string]*structpb.Value {
	return o[string(n)].GetResource().GetFields()["status"].GetStructValue().GetFields()
}

// desktopObservation is what the session's status needs of the Desktop's
// status.atProvider.
type desktopObservation struct {
	Phase          string
	Message        string
	NodeName       string
	PendingRestart bool
}

func (o observed) desktop() desktopObservation {
	ap := o.atProvider(ResourceDesktop)
	return desktopObservation{
		Phase:          ap["phase"].GetStringValue(),
		Message:        ap["message"].GetStringValue(),
		NodeName:       ap["nodeName"].GetStringValue(),
		PendingRestart: ap["pendingRestart"].GetBoolValue(),
	}
}

// routeURL is the URL the DesktopRoute reports.
func (o observed) routeURL() string { return o.atProvider(ResourceRoute)["url"].GetStringValue() }
