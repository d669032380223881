package poll

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/controller/controllertest"
)

// recorder is a testing.TB that records how Until fails or what it logs,
// instead of ending the test.
type recorder struct {
	testing.TB
	failed, logged string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) { r.failed = fmt.Sprintf(format, args...) }

func (r *recorder) Logf(format string, args ...any) { r.logged = fmt.Sprintf(format, args...) }

// A step is what a check returns at one call.
type step struct {
	done bool
	said string
	err  error
}

func TestUntil(t *testing.T) {
	cases := map[string]struct {
		reason  string
		timeout time.Duration
		steps   []step
		// calls is how many times the check should run; failed and
		// logged, what the failure and the log should contain ("": no
		// failure, no log).
		calls          int
		failed, logged string
	}{
		"DoneAtOnce": {
			reason:  "A check that is done at once should run once, and the wait should be logged, not failed.",
			timeout: time.Minute,
			steps:   []step{{done: true}},
			calls:   1,
			logged:  "the thing: took ",
		},
		"DoneLater": {
			reason:  "A check should run again until it is done.",
			timeout: time.Minute,
			steps:   []step{{said: "not yet"}, {said: "still not"}, {done: true}},
			calls:   3,
			logged:  "the thing: took ",
		},
		"Error": {
			reason:  "An error from the check should fail the wait at once, with what the check said.",
			timeout: time.Minute,
			steps:   []step{{said: "cannot tell", err: errors.New("boom")}, {done: true}},
			calls:   1,
			failed:  "the thing: boom (last: cannot tell)",
		},
		"NeverDone": {
			reason:  "A check that is not done by the timeout should fail the wait with what it last said.",
			timeout: 100 * time.Millisecond,
			steps:   []step{{said: "still waiting"}},
			calls:   1,
			failed:  "(last: still waiting)",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := &recorder{TB: t}
			calls := 0
			Until(r, "the thing", tc.timeout, func(context.Context) (bool, string, error) {
				s := tc.steps[min(calls, len(tc.steps)-1)]
				calls++
				return s.done, s.said, s.err
			})
			if calls != tc.calls {
				t.Errorf("\n%s\nUntil(...): got %d calls, want %d", tc.reason, calls, tc.calls)
			}
			if (tc.failed == "") != (r.failed == "") || !strings.Contains(r.failed, tc.failed) {
				t.Errorf("\n%s\nUntil(...): got failure %q, want one with %q", tc.reason, r.failed, tc.failed)
			}
			if (tc.logged == "") != (r.logged == "") || !strings.Contains(r.logged, tc.logged) {
				t.Errorf("\n%s\nUntil(...): got log %q, want one with %q", tc.reason, r.logged, tc.logged)
			}
		})
	}
}

func TestSyncedFalse(t *testing.T) {
	const refusal = "cannot reach target cluster"
	desktop := func(c ...xpv2.Condition) *v1alpha1.Desktop {
		d := &v1alpha1.Desktop{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "alice-dev"}}
		d.SetConditions(c...)
		return d
	}
	synced := func(s corev1.ConditionStatus, msg string) xpv2.Condition {
		return xpv2.Condition{Type: xpv2.TypeSynced, Status: s, Reason: "Test", Message: msg, LastTransitionTime: metav1.Now()}
	}
	type want struct {
		done bool
		said string
	}
	cases := map[string]struct {
		reason string
		stored []client.Object
		msg    string
		want   want
	}{
		"Refused": {
			reason: "A resource that is Synced=False with the message should be done.",
			stored: []client.Object{desktop(synced(corev1.ConditionFalse, "connect failed: "+refusal+" x"))},
			msg:    refusal,
			want:   want{done: true, said: "False: connect failed: " + refusal + " x"},
		},
		"AnyRefusal": {
			reason: "An empty message should match any Synced=False.",
			stored: []client.Object{desktop(synced(corev1.ConditionFalse, "something else"))},
			want:   want{done: true, said: "False: something else"},
		},
		"OtherRefusal": {
			reason: "A resource that is Synced=False for another reason should not be done.",
			stored: []client.Object{desktop(synced(corev1.ConditionFalse, "something else"))},
			msg:    refusal,
			want:   want{said: "False: something else"},
		},
		"Synced": {
			reason: "A resource that is Synced=True should not be done.",
			stored: []client.Object{desktop(synced(corev1.ConditionTrue, ""))},
			msg:    refusal,
			want:   want{said: "True: "},
		},
		"NotThere": {
			reason: "A resource that cannot be read should not be done, and should say why, without ending the wait.",
			msg:    refusal,
			want:   want{said: `desktops.vdi.m.kasm.io "alice-dev" not found`},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := fake.NewClientBuilder().WithScheme(controllertest.Scheme(t)).WithObjects(tc.stored...).Build()
			done, said, err := SyncedFalse(c, desktop(), tc.msg)(context.Background())
			if err != nil {
				t.Errorf("\n%s\nSyncedFalse(...): unexpected error %v", tc.reason, err)
			}
			if diff := cmp.Diff(tc.want, want{done: done, said: said}, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("\n%s\nSyncedFalse(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
