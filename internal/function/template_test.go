package function

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	fnresource "github.com/crossplane/function-sdk-go/resource"

	tv1alpha1 "github.com/provider-vdi/provider-vdi/apis/template/v1alpha1"
)

func TestRequiredTemplate(t *testing.T) {
	type want struct {
		t        *tv1alpha1.VDITemplate
		resolved bool
		err      error
	}
	cases := map[string]struct {
		reason string
		req    *fnv1.RunFunctionRequest
		want   want
	}{
		"NotYetResolved": {
			reason: "Before Crossplane resolves the requirement there should be no template and no error.",
			req:    &fnv1.RunFunctionRequest{},
		},
		"NotFound": {
			reason: "A resolved requirement without items should report the template missing.",
			req:    &fnv1.RunFunctionRequest{RequiredResources: map[string]*fnv1.Resources{requirementTemplate: nil}},
			want:   want{resolved: true, err: errTemplateNotFound},
		},
		"Found": {
			reason: "A resolved template should be decoded.",
			req:    runRequest(session(), withTemplate(template())),
			want:   want{t: template(), resolved: true},
		},
		"Stale": {
			reason: "A template of another name, seeded from an earlier reconcile, should count as not yet resolved.",
			req:    runRequest(session(), withTemplate(template(func(t *tv1alpha1.VDITemplate) { t.Name = "ubuntu-cpu" }))),
		},
		"Undecodable": {
			reason: "A template that does not decode should be an error.",
			req: &fnv1.RunFunctionRequest{RequiredResources: map[string]*fnv1.Resources{requirementTemplate: {Items: []*fnv1.Resource{
				{Resource: fnresource.MustStructJSON(`{"kind":"VDITemplate","metadata":{"name":"ubuntu-gpu"},"spec":{"port":"http"}}`)},
			}}}},
			want: want{resolved: true, err: cmpopts.AnyError},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, resolved, err := requiredTemplate(tc.req, "ubuntu-gpu")
			if diff := cmp.Diff(tc.want, want{got, resolved, err}, cmp.AllowUnexported(want{}), cmpopts.EquateErrors()); diff != "" {
				t.Errorf("\n%s\nrequiredTemplate(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
