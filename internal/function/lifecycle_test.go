package function

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDecideLifecycle(t *testing.T) {
	expires := created.Add(8 * time.Hour)
	const (
		stoppedMsg = "spec.state is Stopped; the desktop is stopped, its home volume kept"
		expiredMsg = "the session reached its timeout of 8h0m0s; its desktop is stopped, its home volume kept"
	)
	cases := map[string]struct {
		reason string
		in     lifecycleInput
		want   lifecycle
	}{
		"Running": {
			reason: "A running session before expiry should run and re-run at expiry.",
			in:     lifecycleInput{State: StateRunning, Created: created, Timeout: 8 * time.Hour, Now: now},
			want:   lifecycle{Phase: PhaseRunning, StartedAt: created, ExpiresAt: expires, TTL: 7 * time.Hour},
		},
		"EmptyStateRuns": {
			reason: "A session without a state should run.",
			in:     lifecycleInput{Created: created, Timeout: 8 * time.Hour, Now: now},
			want:   lifecycle{Phase: PhaseRunning, StartedAt: created, ExpiresAt: expires, TTL: 7 * time.Hour},
		},
		"JustBeforeExpiry": {
			reason: "One nanosecond before expiresAt the desktop should still run.",
			in:     lifecycleInput{State: StateRunning, Created: created, Timeout: 8 * time.Hour, Now: expires.Add(-time.Nanosecond)},
			want:   lifecycle{Phase: PhaseRunning, StartedAt: created, ExpiresAt: expires, TTL: time.Nanosecond},
		},
		"AtExpiry": {
			reason: "At expiresAt the session should be Expired.",
			in:     lifecycleInput{State: StateRunning, Created: created, Timeout: 8 * time.Hour, Now: expires},
			want:   lifecycle{Phase: PhaseExpired, Reason: "Expired", Message: expiredMsg, StartedAt: created, ExpiresAt: expires, TTL: settledTTL},
		},
		"Stopped": {
			reason: "A stopped session should stop and re-run at expiry to show Expired.",
			in:     lifecycleInput{State: StateStopped, Created: created, Timeout: 8 * time.Hour, Now: now},
			want:   lifecycle{Phase: PhaseStopped, Reason: "Stopped", Message: stoppedMsg, StartedAt: created, ExpiresAt: expires, TTL: 7 * time.Hour},
		},
		"StoppedAndExpired": {
			reason: "Expiry should win over a stop.",
			in:     lifecycleInput{State: StateStopped, Created: created, Timeout: 8 * time.Hour, Now: expires.Add(time.Hour)},
			want:   lifecycle{Phase: PhaseExpired, Reason: "Expired", Message: expiredMsg, StartedAt: created, ExpiresAt: expires, TTL: settledTTL},
		},
		"EarlierDeadline": {
			reason: "A deadline the desktop already carries should bound the session when it comes before created + timeout.",
			in:     lifecycleInput{State: StateRunning, Created: created, Timeout: 8 * time.Hour, Deadline: created.Add(2 * time.Hour), Now: now},
			want:   lifecycle{Phase: PhaseRunning, StartedAt: created, ExpiresAt: created.Add(2 * time.Hour), TTL: time.Hour},
		},
		"LaterDeadlineIgnored": {
			reason: "A recorded deadline after created + timeout should not extend the session: deadlines only move earlier.",
			in:     lifecycleInput{State: StateRunning, Created: created, Timeout: 8 * time.Hour, Deadline: created.Add(20 * time.Hour), Now: now},
			want:   lifecycle{Phase: PhaseRunning, StartedAt: created, ExpiresAt: expires, TTL: 7 * time.Hour},
		},
		"PastEarlierDeadline": {
			reason: "At the recorded deadline the session should be Expired, and say which deadline ended it.",
			in:     lifecycleInput{State: StateRunning, Created: created, Timeout: 8 * time.Hour, Deadline: created.Add(2 * time.Hour), Now: created.Add(2 * time.Hour)},
			want: lifecycle{Phase: PhaseExpired, Reason: "Expired", StartedAt: created, ExpiresAt: created.Add(2 * time.Hour), TTL: settledTTL,
				Message: "the session reached its desktop's deadline of 2026-05-01T11:00:00Z, which may only move earlier; its desktop is stopped, its home volume kept"},
		},
		"LowerDefaultKeepsDeadline": {
			reason: "A session without a timeout of its own should run to the deadline its desktop carries though the template's defaultTimeout was lowered since: a new default is for new sessions.",
			in:     lifecycleInput{State: StateRunning, Created: created, Timeout: 30 * time.Minute, Defaulted: true, Deadline: expires, Now: now},
			want:   lifecycle{Phase: PhaseRunning, StartedAt: created, ExpiresAt: expires, TTL: 7 * time.Hour},
		},
		"HigherDefaultKeepsDeadline": {
			reason: "A raised defaultTimeout should not extend a running session either: deadlines only move earlier.",
			in:     lifecycleInput{State: StateRunning, Created: created, Timeout: 24 * time.Hour, Defaulted: true, Deadline: expires, Now: now},
			want:   lifecycle{Phase: PhaseRunning, StartedAt: created, ExpiresAt: expires, TTL: 7 * time.Hour},
		},
		"OwnTimeoutLoweredExpires": {
			reason: "A session's own timeout, lowered below the time it has run, should still expire it: the user asked for it.",
			in:     lifecycleInput{State: StateRunning, Created: created, Timeout: 30 * time.Minute, Deadline: expires, Now: now},
			want: lifecycle{Phase: PhaseExpired, Reason: "Expired", StartedAt: created, ExpiresAt: created.Add(30 * time.Minute), TTL: settledTTL,
				Message: "the session reached its timeout of 30m0s; its desktop is stopped, its home volume kept"},
		},
		"DefaultedWithoutDesktop": {
			reason: "A session without a timeout of its own and no desktop (stopped, or not yet started) should count the template's current default from its creation.",
			in:     lifecycleInput{State: StateRunning, Created: created, Timeout: 8 * time.Hour, Defaulted: true, Now: now},
			want:   lifecycle{Phase: PhaseRunning, StartedAt: created, ExpiresAt: expires, TTL: 7 * time.Hour},
		},
		"NotYetCreated": {
			reason: "Without a creation time the timeout should count from now.",
			in:     lifecycleInput{State: StateRunning, Timeout: 8 * time.Hour, Now: now},
			want:   lifecycle{Phase: PhaseRunning, StartedAt: now, ExpiresAt: now.Add(8 * time.Hour), TTL: 8 * time.Hour},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := decideLifecycle(tc.in)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("\n%s\ndecideLifecycle(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestResponseTTL(t *testing.T) {
	cases := map[string]struct {
		reason    string
		lifecycle time.Duration
		phase     string
		want      time.Duration
	}{
		"ExpirySoonerThanAnyCap": {
			reason:    "A session that expires in 5s is run again then, whatever its phase.",
			lifecycle: 5 * time.Second, phase: PhaseRunning, want: 5 * time.Second,
		},
		"RunningUntilExpiry": {
			reason:    "A running session with hours left is run again at its expiry; changes and Crossplane's resync wake it sooner.",
			lifecycle: 7 * time.Hour, phase: PhaseRunning, want: 7 * time.Hour,
		},
		"RunningCappedAtSettled": {
			reason:    "A running session without a deadline is looked at again within a day.",
			lifecycle: 100 * time.Hour, phase: PhaseRunning, want: 24 * time.Hour,
		},
		"StartingCappedAtSettling": {
			reason:    "A starting session is looked at again within 30s, in case events were dropped.",
			lifecycle: 7 * time.Hour, phase: PhaseStarting, want: 30 * time.Second,
		},
		"PendingCappedAtSettling": {
			reason:    "A pending session is looked at again within 30s.",
			lifecycle: 7 * time.Hour, phase: PhasePending, want: 30 * time.Second,
		},
		"StoppedCappedAtSettled": {
			reason:    "A stopped session is looked at again at its expiry.",
			lifecycle: 7 * time.Hour, phase: PhaseStopped, want: 7 * time.Hour,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := responseTTL(tc.lifecycle, tc.phase); got != tc.want {
				t.Errorf("\n%s\nresponseTTL(%s, %q): want %s, got %s", tc.reason, tc.lifecycle, tc.phase, tc.want, got)
			}
		})
	}
}
