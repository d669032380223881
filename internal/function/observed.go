package function

import (
	"cmp"
	"time"

	"google.golang.org/protobuf/types/known/structpb"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/resource"

	mv1alpha1 "github.com/provider-vdi/provider-vdi/apis/v1alpha1"
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

// syncError returns the message of the named resource's Synced condition
// when it is False: the provider could not observe, create, update or
// delete it, e.g. refused by a ResourceQuota or by admission. "" otherwise.
func (o observed) syncError(n resource.Name) string {
	for _, c := range o.status(n)["conditions"].GetListValue().GetValues() {
		cf := c.GetStructValue().GetFields()
		if cf["type"].GetStringValue() == "Synced" && cf["status"].GetStringValue() == "False" {
			return cmp.Or(cf["message"].GetStringValue(), cf["reason"].GetStringValue())
		}
	}
	return ""
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
	Ready          bool
	PendingRestart bool
}

func (o observed) desktop() desktopObservation {
	ap := o.atProvider(ResourceDesktop)
	return desktopObservation{
		Phase:          ap["phase"].GetStringValue(),
		Message:        ap["message"].GetStringValue(),
		NodeName:       ap["nodeName"].GetStringValue(),
		Ready:          ap["ready"].GetBoolValue(),
		PendingRestart: ap["pendingRestart"].GetBoolValue(),
	}
}

// runningDesktop returns the parameters of the observed Desktop while its
// desktop serves: its Pod running and ready, with no restart pending, and
// the Desktop not being deleted (a session stopped and started again before
// its old Desktop is gone starts anew). It returns nil when there is no
// such Desktop. The Desktop's Ready condition does not decide: it is also
// False while the provider restores the desktop's NetworkPolicy, which a
// template's egress edit changes.
func (o observed) runningDesktop() (*mv1alpha1.DesktopParameters, error) {
	d, obs := o[string(ResourceDesktop)].GetResource().GetFields(), o.desktop()
	deleting := d["metadata"].GetStructValue().GetFields()["deletionTimestamp"].GetStringValue() != ""
	if deleting || obs.Phase != string(corev1.PodRunning) || !obs.Ready || obs.PendingRestart {
		return nil, nil
	}
	spec := d["spec"].GetStructValue().GetFields()
	p := &mv1alpha1.DesktopParameters{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(spec["forProvider"].GetStructValue().AsMap(), p); err != nil {
		return nil, errors.Wrap(err, "cannot read the observed Desktop's spec.forProvider")
	}
	return p, nil
}

// routeURL is the URL the DesktopRoute reports.
func (o observed) routeURL() string { return o.atProvider(ResourceRoute)["url"].GetStringValue() }

// desktopDeadline is the deadline the observed Desktop stops at, or zero if
// there is no Desktop or no deadline: the one the provider reports in
// status.atProvider.deadline, which is sooner than the Desktop's own when
// the provider's longest desktop lifetime ends first, else the Desktop's
// spec.forProvider.deadline (a provider that has not observed it yet).
func (o observed) desktopDeadline() time.Time {
	spec := o[string(ResourceDesktop)].GetResource().GetFields()["spec"].GetStructValue().GetFields()
	v := cmp.Or(o.atProvider(ResourceDesktop)["deadline"].GetStringValue(), spec["forProvider"].GetStructValue().GetFields()["deadline"].GetStringValue())
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}
	}
	return t
}

// homeRetained reports whether the observed home volume asks to be retained
// (spec.forProvider.retainOnDelete).
func (o observed) homeRetained() bool {
	spec := o[string(ResourceHome)].GetResource().GetFields()["spec"].GetStructValue().GetFields()
	return spec["forProvider"].GetStructValue().GetFields()["retainOnDelete"].GetBoolValue()
}
