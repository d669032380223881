package function

import (
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"

	tv1alpha1 "github.com/provider-vdi/provider-vdi/apis/template/v1alpha1"
)

// requirementTemplate is the key under which the function asks Crossplane
// for the session's VDITemplate.
const requirementTemplate = "template"

// requirements asks for the VDITemplate the session names. The function
// returns them on every call: Crossplane re-runs a function until its
// requirements stop changing.
func requirements(s *Session) *fnv1.Requirements {
	return &fnv1.Requirements{Resources: map[string]*fnv1.ResourceSelector{
		requirementTemplate: {
			ApiVersion: tv1alpha1.SchemeGroupVersion.String(),
			Kind:       tv1alpha1.VDITemplateKind,
			Match:      &fnv1.ResourceSelector_MatchName{MatchName: s.Spec.Template},
		},
	}}
}

// errTemplateNotFound is returned when Crossplane resolved the requirement
// but found no VDITemplate of that name.
var errTemplateNotFound = errors.New("VDITemplate not found")

// requiredTemplate returns the VDITemplate Crossplane resolved for the
// requirement. resolved is false on the first pass, before Crossplane has
// looked it up, and when what Crossplane sent is another template: on later
// reconciles Crossplane seeds the first call with what the function
// required last time, which is stale when spec.template changed. Such a
// call must only ask again; a Fatal result would stop Crossplane from
// iterating to the right template.
func requiredTemplate(req *fnv1.RunFunctionRequest, name string) (t *tv1alpha1.VDITemplate, resolved bool, err error) {
	rrs, resolved := req.GetRequiredResources()[requirementTemplate]
	if !resolved {
		return nil, false, nil
	}
	items := rrs.GetItems()
	if len(items) == 0 {
		return nil, true, errTemplateNotFound
	}
	r := items[0].GetResource()
	if r.GetFields()["metadata"].GetStructValue().GetFields()["name"].GetStringValue() != name {
		return nil, false, nil
	}
	t = &tv1alpha1.VDITemplate{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(r.AsMap(), t); err != nil {
		return nil, true, errors.Wrap(err, "cannot decode VDITemplate")
	}
	return t, true, nil
}
