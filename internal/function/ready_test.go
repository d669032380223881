package function

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	fnresource "github.com/crossplane/function-sdk-go/resource"
)

func TestReadiness(t *testing.T) {
	withReady := func(status string) *fnv1.Resource {
		return &fnv1.Resource{Resource: fnresource.MustStructJSON(`{"status":{"conditions":[{"type":"Synced","status":"True"},{"type":"Ready","status":"` + status + `","reason":"x"}]}}`)}
	}
	cases := map[string]struct {
		reason   string
		observed observed
		want     fnv1.Ready
	}{
		"NotObserved": {
			reason: "A resource not yet observed should not be ready.",
			want:   fnv1.Ready_READY_FALSE,
		},
		"NoConditions": {
			reason:   "A resource without conditions should not be ready.",
			observed: observed{"desktop": {Resource: fnresource.MustStructJSON(`{"status":{}}`)}},
			want:     fnv1.Ready_READY_FALSE,
		},
		"ReadyFalse": {
			reason:   "A resource whose Ready condition is False should not be ready.",
			observed: observed{"desktop": withReady("False")},
			want:     fnv1.Ready_READY_FALSE,
		},
		"ReadyTrue": {
			reason:   "A resource whose Ready condition is True should be ready.",
			observed: observed{"desktop": withReady("True")},
			want:     fnv1.Ready_READY_TRUE,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, readiness(tc.observed, ResourceDesktop)); diff != "" {
				t.Errorf("\n%s\nreadiness(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
