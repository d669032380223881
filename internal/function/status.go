package function

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/crossplane/function-sdk-go/resource"

	mv1alpha1 "github.com/provider-vdi/provider-vdi/apis/v1alpha1"
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
// from its lifecycle and the observed managed resources.
func sessionStatus(p *plan, l lifecycle, observed map[resource.Name]resource.ObservedComposed) (SessionStatus, condition) {
	st := SessionStatus{
		StartedAt: l.StartedAt.UTC().Format(time.RFC3339),
		ExpiresAt: l.ExpiresAt.UTC().Format(time.RFC3339),
	}
	if !l.Desktop() {
		st.Phase, st.Message = l.Phase, l.Message
		return st, condition{Reason: l.Reason, Message: l.Message}
	}

	d, hasDesktop := observed[ResourceDesktop]
	obs := mv1alpha1.DesktopObservation{}
	if hasDesktop {
		atProvider(d, &obs)
		st.Node = obs.NodeName
		st.CredentialsSecretName = credentialsName(p.session)
	}
	r := mv1alpha1.DesktopRouteObservation{}
	if rt, ok := observed[ResourceRoute]; ok {
		atProvider(rt, &r)
		st.URL = r.URL
	}

	var c condition
	st.Phase, c = desktopPhase(p, obs, hasDesktop, observed)
	st.Message = c.Message
	return st, c
}

// desktopPhase is the phase of a session whose desktop should run, from the
// first thing it still waits for.
func desktopPhase(p *plan, obs mv1alpha1.DesktopObservation, hasDesktop bool, observed map[resource.Name]resource.ObservedComposed) (string, condition) {
	s := p.session
	switch {
	case !hasDesktop:
		return PhasePending, condition{Reason: "Creating", Message: fmt.Sprintf("waiting for Desktop %q to be created", desktopName(s))}
	case obs.Phase == corev1.PodFailed:
		return PhaseFailed, condition{Reason: "DesktopFailed", Message: or(obs.Message, "the desktop Pod failed")}
	case p.persistent && !isReady(observed, ResourceHome):
		return PhasePending, condition{Reason: "WaitingForVolume", Message: fmt.Sprintf("waiting for DesktopVolume %q to become available", homeName(s))}
	case !isReady(observed, ResourceDesktop) && obs.Phase == corev1.PodRunning:
		return PhaseStarting, condition{Reason: "Starting", Message: or(obs.Message, "waiting for the desktop to pass its readiness probe")}
	case !isReady(observed, ResourceDesktop):
		return PhasePending, condition{Reason: "WaitingForDesktop", Message: or(obs.Message, fmt.Sprintf("waiting for Desktop %q to be scheduled and started", desktopName(s)))}
	case !isReady(observed, ResourceService):
		return PhaseStarting, condition{Reason: "WaitingForService", Message: fmt.Sprintf("waiting for DesktopService %q to become available", serviceName(s))}
	case !isReady(observed, ResourceRoute):
		return PhaseStarting, condition{Reason: "WaitingForRoute", Message: fmt.Sprintf("waiting for DesktopRoute %q to become available", routeName(s))}
	case obs.PendingRestart:
		return PhaseRunning, condition{True: true, Reason: "RestartPending", Message: "the desktop runs; it restarts to apply a changed spec"}
	}
	return PhaseRunning, condition{True: true, Reason: "Available"}
}

// atProvider decodes an observed managed resource's status.atProvider. What
// cannot be decoded reads as not yet observed.
func atProvider(oc resource.ObservedComposed, into any) {
	st, _ := oc.Resource.Object["status"].(map[string]any)
	ap, _ := st["atProvider"].(map[string]any)
	if ap == nil {
		return
	}
	_ = runtime.DefaultUnstructuredConverter.FromUnstructured(ap, into)
}

// statusObject is the session's status as the fields the function owns.
func statusObject(st SessionStatus) (map[string]any, error) {
	return runtime.DefaultUnstructuredConverter.ToUnstructured(&st)
}
