package function

import (
	"cmp"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/crossplane/function-sdk-go/resource"
)

// ConditionDesktopReady is the condition on a session that says whether its
// desktop serves, and if not what the session waits for.
const ConditionDesktopReady = "DesktopReady"

// A condition for the session.
type condition struct {
	True    bool
	Reason  string
	Message string
}

// sessionStatus derives the session's status and its DesktopReady condition
// from its lifecycle and the observed managed resources; held is whether its
// running desktop holds back a change until it starts again.
func sessionStatus(p *plan, l lifecycle, o observed, held bool) (SessionStatus, condition) {
	st := SessionStatus{
		StartedAt: l.StartedAt.UTC().Format(time.RFC3339),
		ExpiresAt: l.ExpiresAt.UTC().Format(time.RFC3339),
	}
	if !l.Desktop() {
		return lifecycleStatus(l)
	}

	d := o.desktop()
	if o.has(ResourceDesktop) {
		st.Node = d.NodeName
		st.CredentialsSecretName = credentialsName(p.session)
	}
	st.URL = o.routeURL()

	var c condition
	st.Phase, c = desktopPhase(p, d, o, held)
	if !c.True {
		if msg := firstSyncError(p, o); msg != "" {
			// The session waits for something the provider cannot do:
			// say what, rather than that it waits.
			c = condition{Reason: "ResourceError", Message: msg}
		}
	}
	st.Message = c.Message
	return st, c
}

// firstSyncError is the first error the provider reports on the session's
// composed resources, in the order a desktop needs them, naming the
// resource; "" if there is none.
func firstSyncError(p *plan, o observed) string {
	s := p.session
	for _, r := range []struct {
		name resource.Name
		kind string
		mr   string
	}{
		{ResourceHome, "DesktopVolume", homeName(s)},
		{ResourceDesktop, "Desktop", desktopName(s)},
		{ResourceService, "DesktopService", serviceName(s)},
		{ResourceRoute, "DesktopRoute", routeName(s)},
	} {
		if msg := o.syncError(r.name); msg != "" {
			return fmt.Sprintf("%s %q: %s", r.kind, r.mr, msg)
		}
	}
	return ""
}

// lifecycleStatus is the status of a session without a desktop: the
// lifecycle alone decides it.
func lifecycleStatus(l lifecycle) (SessionStatus, condition) {
	st := SessionStatus{
		Phase: l.Phase, Message: l.Message,
		StartedAt: l.StartedAt.UTC().Format(time.RFC3339),
		ExpiresAt: l.ExpiresAt.UTC().Format(time.RFC3339),
	}
	return st, condition{Reason: l.Reason, Message: l.Message}
}

// desktopPhase is the phase of a session whose desktop should run, from the
// first thing it still waits for; held is whether its running desktop holds
// back a change until it starts again.
func desktopPhase(p *plan, obs desktopObservation, o observed, held bool) (string, condition) {
	s := p.session
	switch {
	case !o.has(ResourceDesktop):
		return PhasePending, condition{Reason: "Creating", Message: fmt.Sprintf("waiting for Desktop %q to be created", desktopName(s))}
	case obs.Phase == string(corev1.PodFailed):
		return PhaseFailed, condition{Reason: "DesktopFailed", Message: cmp.Or(obs.Message, "the desktop Pod failed")}
	case p.persistent && !o.ready(ResourceHome):
		return PhasePending, condition{Reason: "WaitingForVolume", Message: fmt.Sprintf("waiting for DesktopVolume %q to become available", homeName(s))}
	case !o.ready(ResourceDesktop) && obs.Phase == string(corev1.PodRunning):
		return PhaseStarting, condition{Reason: "Starting", Message: cmp.Or(obs.Message, "waiting for the desktop to pass its readiness probe")}
	case !o.ready(ResourceDesktop):
		return PhasePending, condition{Reason: "WaitingForDesktop", Message: cmp.Or(obs.Message, fmt.Sprintf("waiting for Desktop %q to be scheduled and started", desktopName(s)))}
	case !o.ready(ResourceService):
		return PhaseStarting, condition{Reason: "WaitingForService", Message: fmt.Sprintf("waiting for DesktopService %q to become available", serviceName(s))}
	case !o.ready(ResourceRoute):
		return PhaseStarting, condition{Reason: "WaitingForRoute", Message: fmt.Sprintf("waiting for DesktopRoute %q to become available", routeName(s))}
	case obs.PendingRestart:
		return PhaseRunning, condition{True: true, Reason: "RestartPending", Message: "the desktop runs; it restarts to apply a changed spec"}
	case held:
		return PhaseRunning, condition{True: true, Reason: "ChangesPending", Message: "the desktop runs as it started; the change to its template or session applies when it starts again (spec.state Stopped, then Running)"}
	}
	return PhaseRunning, condition{True: true, Reason: "Available"}
}
