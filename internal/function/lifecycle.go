package function

import (
	"time"

	"github.com/crossplane/function-sdk-go/response"
)

// defaultTTL is the TTL of a session the function cannot compose (an
// invalid session, a missing template): it is looked at again within a
// minute.
const defaultTTL = response.DefaultTTL

// settledTTL is the longest TTL of a session that time alone will not
// change before its expiry: Running, Stopped or Expired. Crossplane runs
// the function again whenever the session, one of its composed resources or
// its required VDITemplate changes (realtime compositions, on by default in
// Crossplane v2), so the TTL has only to bring expiry on time. Each run
// re-applies the session and its four managed resources, about six write
// requests: at the SDK's default of a minute, that was 60 writes per idle
// session every ten minutes (make bench-e2e, docs/benchmarks.md). The
// cap only bounds a session without a deadline; Crossplane's --sync-interval
// (an hour by default, 12h as the README asks) re-runs every session
// besides.
const settledTTL = 24 * time.Hour

// settlingTTL is the longest TTL while a session is still coming up: a
// fallback for a change event Crossplane's circuit breaker dropped (with
// --circuit-breaker-burst=400, as the README asks, it drops none while a
// session starts). At 10s, a burst of 100 sessions re-ran every one of them
// every 10s while they came up, eight API requests each, on an API server
// that was already the bottleneck.
const settlingTTL = 30 * time.Second

// responseTTL is the TTL the function returns: the lifecycle's (so that
// Crossplane runs it again at expiry), but at most settledTTL, and at most
// settlingTTL while the session is Pending or Starting.
func responseTTL(lifecycleTTL time.Duration, phase string) time.Duration {
	limit := settledTTL
	if phase == PhasePending || phase == PhaseStarting {
		limit = settlingTTL
	}
	return min(lifecycleTTL, limit)
}

// A lifecycleInput is all a lifecycle decision depends on. The clock is an
// input like any other, so that the decision is a pure function.
type lifecycleInput struct {
	// State the session asks for: Running or Stopped.
	State string
	// Created is when the session was created; the timeout counts from it.
	Created time.Time
	// Timeout of the session.
	Timeout time.Duration
	// Defaulted says that Timeout is the template's defaultTimeout: the
	// session sets none of its own.
	Defaulted bool
	// Deadline the desktop already carries, zero if none. A deadline only
	// ever moves earlier: the session expires at it if it comes before
	// Created + Timeout. A session without a timeout of its own expires at
	// it whatever the template's defaultTimeout says now, so that a lower
	// default, meant for new sessions, does not expire running ones.
	Deadline time.Time
	// Now is the time of the decision.
	Now time.Time
}

// A lifecycle says whether the desktop should run, and when the function
// must run again for that to change.
type lifecycle struct {
	// Phase is PhaseRunning while the desktop should run (status refines it
	// from what is observed), else PhaseStopped or PhaseExpired.
	Phase string
	// Reason and Message explain a Stopped or Expired phase.
	Reason, Message string
	// StartedAt and ExpiresAt bound the session.
	StartedAt, ExpiresAt time.Time
	// TTL after which Crossplane should run the function again: the time
	// left until expiry, when that will change the lifecycle.
	TTL time.Duration
}

// Desktop reports whether the desktop, its Service and its Route should
// exist.
func (l lifecycle) Desktop() bool { return l.Phase == PhaseRunning }

// A lifecyclePolicy decides the lifecycle, or passes to the next policy.
type lifecyclePolicy func(in lifecycleInput, l lifecycle) (lifecycle, bool)

// lifecyclePolicies are tried in order; the first that decides wins. Expiry
// comes first: it is final, whatever the session asks for.
var lifecyclePolicies = []lifecyclePolicy{expired, stopped, running}

// decideLifecycle returns the session's lifecycle at in.Now.
func decideLifecycle(in lifecycleInput) lifecycle {
	if in.Created.IsZero() {
		// Not yet created: the timeout counts from now.
		in.Created = in.Now
	}
	base := lifecycle{StartedAt: in.Created, ExpiresAt: in.Created.Add(in.Timeout).Truncate(time.Second)}
	if !in.Deadline.IsZero() && (in.Defaulted || in.Deadline.Before(base.ExpiresAt)) {
		base.ExpiresAt = in.Deadline
	}
	for _, p := range lifecyclePolicies {
		if l, ok := p(in, base); ok {
			return l
		}
	}
	return base // Unreachable: running always decides.
}

// expired stops the desktop for good once now ≥ expiresAt.
func expired(in lifecycleInput, l lifecycle) (lifecycle, bool) {
	if in.Now.Before(l.ExpiresAt) {
		return l, false
	}
	l.Phase, l.Reason = PhaseExpired, "Expired"
	l.Message = "the session reached its timeout of " + in.Timeout.String() + "; its desktop is stopped, its home volume kept"
	if !in.Created.Add(in.Timeout).Truncate(time.Second).Equal(l.ExpiresAt) {
		l.Message = "the session reached its desktop's deadline of " + l.ExpiresAt.UTC().Format(time.RFC3339) + ", which may only move earlier; its desktop is stopped, its home volume kept"
	}
	l.TTL = settledTTL
	return l, true
}

// stopped stops the desktop while the session asks for it; the function
// must look again at expiry to show the session Expired.
func stopped(in lifecycleInput, l lifecycle) (lifecycle, bool) {
	if in.State != StateStopped {
		return l, false
	}
	l.Phase, l.Reason = PhaseStopped, "Stopped"
	l.Message = "spec.state is Stopped; the desktop is stopped, its home volume kept"
	l.TTL = l.ExpiresAt.Sub(in.Now)
	return l, true
}

// running runs the desktop until expiry.
func running(in lifecycleInput, l lifecycle) (lifecycle, bool) {
	l.Phase = PhaseRunning
	l.TTL = l.ExpiresAt.Sub(in.Now)
	return l, true
}
