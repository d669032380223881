package function

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	fnresource "github.com/crossplane/function-sdk-go/resource"
)

func TestDesktopDeadline(t *testing.T) {
	deadline := created.Add(time.Hour)
	cases := map[string]struct {
		reason   string
		observed observed
		want     time.Time
	}{
		"Recorded": {
			reason:   "The deadline the observed Desktop carries should be read from its spec.",
			observed: observed{"desktop": {Resource: fnresource.MustStructJSON(`{"kind":"Desktop","spec":{"forProvider":{"deadline":"` + deadline.Format(time.RFC3339) + `"}}}`)}},
			want:     deadline,
		},
		"ProviderDeadline": {
			reason:   "The deadline the provider reports, sooner than the Desktop's own when its longest desktop lifetime ends first, should win over the spec's.",
			observed: observed{"desktop": {Resource: fnresource.MustStructJSON(`{"kind":"Desktop","spec":{"forProvider":{"deadline":"` + deadline.Add(time.Hour).Format(time.RFC3339) + `"}},"status":{"atProvider":{"deadline":"` + deadline.Format(time.RFC3339) + `"}}}`)}},
			want:     deadline,
		},
		"ProviderDeadlineWithoutOwn": {
			reason:   "A Desktop made without a deadline is still bounded by the one the provider reports.",
			observed: observed{"desktop": {Resource: fnresource.MustStructJSON(`{"kind":"Desktop","status":{"atProvider":{"deadline":"` + deadline.Format(time.RFC3339) + `"}}}`)}},
			want:     deadline,
		},
		"NoDeadline": {
			reason:   "A Desktop without a deadline bounds nothing.",
			observed: observed{"desktop": {Resource: fnresource.MustStructJSON(`{"kind":"Desktop","spec":{"forProvider":{}}}`)}},
		},
		"NoDesktop": {
			reason:   "Without a Desktop there is no deadline.",
			observed: observed{},
		},
		"Malformed": {
			reason:   "A deadline that is no RFC 3339 time bounds nothing.",
			observed: observed{"desktop": {Resource: fnresource.MustStructJSON(`{"kind":"Desktop","spec":{"forProvider":{"deadline":"soon"}}}`)}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.observed.desktopDeadline()); diff != "" {
				t.Errorf("\n%s\ndesktopDeadline(): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestExpiredInvalid(t *testing.T) {
	observedHome := &fnv1.Resource{Resource: fnresource.MustStructJSON(`{
		"apiVersion":"vdi.m.kasm.io/v1alpha1","kind":"DesktopVolume",
		"metadata":{"name":"alice-gpu-home","namespace":"team-a","labels":{"vdi.kasm.io/session":"alice-gpu"},"uid":"u","resourceVersion":"7","annotations":{"crossplane.io/composition-resource-name":"home"}},
		"spec":{"forProvider":{"size":"20Gi","session":"alice-gpu","user":"alice"}},
		"status":{"conditions":[{"type":"Ready","status":"True"}]}}`)}
	cases := map[string]struct {
		reason   string
		observed observed
		want     map[string]*fnv1.Resource
	}{
		"KeepsVolumeAsObserved": {
			reason:   "An existing volume should stay desired exactly as observed: kind, name, labels and spec.",
			observed: observed{"home": observedHome, "desktop": {Resource: fnresource.MustStructJSON(`{"kind":"Desktop"}`)}},
			want: map[string]*fnv1.Resource{"home": {Ready: fnv1.Ready_READY_TRUE, Resource: fnresource.MustStructJSON(`{
				"apiVersion":"vdi.m.kasm.io/v1alpha1","kind":"DesktopVolume",
				"metadata":{"name":"alice-gpu-home","namespace":"team-a","labels":{"vdi.kasm.io/session":"alice-gpu"}},
				"spec":{"forProvider":{"size":"20Gi","session":"alice-gpu","user":"alice"}}}`)}},
		},
		"NoVolume": {
			reason:   "Without a volume nothing should be desired.",
			observed: observed{"desktop": {Resource: fnresource.MustStructJSON(`{"kind":"Desktop"}`)}},
			want:     map[string]*fnv1.Resource{},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			l, composed := expiredInvalid(session(), created.Add(24*time.Hour), tc.observed)
			got := map[string]*fnv1.Resource{}
			for n, r := range composed {
				got[string(n)] = r
			}
			if diff := cmp.Diff(tc.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("\n%s\nexpiredInvalid(...): -want, +got:\n%s", tc.reason, diff)
			}
			if l.Desktop() || l.Phase != PhaseExpired {
				t.Errorf("\n%s\nexpiredInvalid(...): want an Expired lifecycle without desktop, got %+v", tc.reason, l)
			}
		})
	}
}
