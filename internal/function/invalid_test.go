package function

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	fnresource "github.com/crossplane/function-sdk-go/resource"

	tv1alpha1 "github.com/provider-vdi/provider-vdi/apis/template/v1alpha1"
)

func TestPastMaxTimeout(t *testing.T) {
	type want struct {
		at   time.Time
		past bool
	}
	cases := map[string]struct {
		reason   string
		session  *Session
		template *tv1alpha1.VDITemplate
		now      time.Time
		want     want
	}{
		"Before": {
			reason:   "Before creation + maxTimeout the session is not known to have expired.",
			session:  session(),
			template: template(),
			now:      created.Add(24*time.Hour - time.Second),
			want:     want{at: created.Add(24 * time.Hour)},
		},
		"At": {
			reason:   "At creation + maxTimeout the session has expired whatever its timeout.",
			session:  session(),
			template: template(),
			now:      created.Add(24 * time.Hour),
			want:     want{at: created.Add(24 * time.Hour), past: true},
		},
		"DefaultMax": {
			reason:   "A template without maxTimeout should use 24h.",
			session:  session(),
			template: template(func(t *tv1alpha1.VDITemplate) { t.Spec.MaxTimeout = "" }),
			now:      created.Add(25 * time.Hour),
			want:     want{at: created.Add(24 * time.Hour), past: true},
		},
		"BrokenMax": {
			reason:   "A template whose maxTimeout is no duration bounds nothing.",
			session:  session(),
			template: template(func(t *tv1alpha1.VDITemplate) { t.Spec.MaxTimeout = "never" }),
			now:      created.Add(100 * time.Hour),
		},
		"NotCreated": {
			reason:   "A session without creation time has not expired.",
			session:  session(func(s *Session) { s.CreationTimestamp.Time = time.Time{} }),
			template: template(),
			now:      created.Add(100 * time.Hour),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			at, past := pastMaxTimeout(tc.session, tc.template, tc.now)
			if diff := cmp.Diff(tc.want, want{at, past}, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("\n%s\npastMaxTimeout(...): -want, +got:\n%s", tc.reason, diff)
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
