package function

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	fnresource "github.com/crossplane/function-sdk-go/resource"
	"github.com/crossplane/function-sdk-go/resource/composed"
)

func TestReadiness(t *testing.T) {
	withReady := func(status string) fnresource.ObservedComposed {
		cd := composed.New()
		cd.Object["status"] = map[string]any{"conditions": []any{map[string]any{"type": "Ready", "status": status, "reason": "x", "lastTransitionTime": "2026-05-01T09:00:00Z"}}}
		return fnresource.ObservedComposed{Resource: cd}
	}
	cases := map[string]struct {
		reason   string
		observed map[fnresource.Name]fnresource.ObservedComposed
		want     fnresource.Ready
	}{
		"NotObserved": {
			reason: "A resource not yet observed should not be ready.",
			want:   fnresource.ReadyFalse,
		},
		"NoConditions": {
			reason:   "A resource without conditions should not be ready.",
			observed: map[fnresource.Name]fnresource.ObservedComposed{ResourceDesktop: {Resource: composed.New()}},
			want:     fnresource.ReadyFalse,
		},
		"ReadyFalse": {
			reason:   "A resource whose Ready condition is False should not be ready.",
			observed: map[fnresource.Name]fnresource.ObservedComposed{ResourceDesktop: withReady("False")},
			want:     fnresource.ReadyFalse,
		},
		"ReadyTrue": {
			reason:   "A resource whose Ready condition is True should be ready.",
			observed: map[fnresource.Name]fnresource.ObservedComposed{ResourceDesktop: withReady("True")},
			want:     fnresource.ReadyTrue,
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
