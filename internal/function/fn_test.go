package function

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"k8s.io/utils/ptr"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	fnresource "github.com/crossplane/function-sdk-go/resource"

	tv1alpha1 "github.com/provider-vdi/provider-vdi/apis/template/v1alpha1"
)

func fatalResult(msg string) []*fnv1.Result {
	return []*fnv1.Result{{Severity: fnv1.Severity_SEVERITY_FATAL, Message: msg, Target: fnv1.Target_TARGET_COMPOSITE.Enum()}}
}

// TestRunFunctionFatal covers the responses that must leave the desired
// state exactly as the request had it.
func TestRunFunctionFatal(t *testing.T) {
	// A running desktop that earlier steps or the last reconcile desired.
	running := withDesired(ResourceDesktop, &fnv1.Resource{Resource: fnresource.MustStructJSON(`{"apiVersion":"vdi.m.kasm.io/v1alpha1","kind":"Desktop","metadata":{"name":"alice-gpu-desktop"}}`)})

	type want struct {
		results      []*fnv1.Result
		requirements *fnv1.Requirements
	}
	cases := map[string]struct {
		reason string
		req    *fnv1.RunFunctionRequest
		want   want
	}{
		"PassOneRequiresTemplate": {
			reason: "Before Crossplane resolved the template the function should only ask for it.",
			req:    runRequest(session(), running),
			want:   want{requirements: requirements(session())},
		},
		"StaleTemplate": {
			reason: "A template seeded from before spec.template changed should only make the function ask again, not fail.",
			req:    runRequest(session(withGPU(2)), running, withTemplate(template(func(t *tv1alpha1.VDITemplate) { t.Name = "ubuntu-cpu"; t.Spec.MaxResources = nil }))),
			want:   want{requirements: requirements(session())},
		},
		"TemplateNotFound": {
			reason: "A missing template should be fatal and name the field.",
			req:    runRequest(session(), withoutTemplate(), running),
			want: want{
				requirements: requirements(session()),
				results:      fatalResult(`spec.template: VDITemplate "ubuntu-gpu" not found`),
			},
		},
		"OverrideAboveCap": {
			reason: "An override above the template's cap should be fatal and name the field and the limit.",
			req:    runRequest(session(withGPU(4)), withTemplate(template()), running),
			want: want{
				requirements: requirements(session()),
				results:      fatalResult(`invalid VDISession "alice-gpu": spec.resources.gpu: Invalid value: 4: must not exceed 2, the maxResources.gpu of VDITemplate "ubuntu-gpu"`),
			},
		},
		"TimeoutAboveMax": {
			reason: "A timeout above the template's maximum should be fatal.",
			req:    runRequest(session(withTimeout("48h")), withTemplate(template()), running),
			want: want{
				requirements: requirements(session()),
				results:      fatalResult(`invalid VDISession "alice-gpu": spec.timeout: Invalid value: "48h": must not exceed 24h, the maxTimeout of VDITemplate "ubuntu-gpu"`),
			},
		},
		"NamespaceNotAllowed": {
			reason: "A namespace the template does not allow should be fatal.",
			req: runRequest(session(), running, withTemplate(template(func(t *tv1alpha1.VDITemplate) {
				t.Spec.AllowedNamespaces = []string{"team-b", "team-c"}
			}))),
			want: want{
				requirements: requirements(session()),
				results:      fatalResult(`invalid VDISession "alice-gpu": metadata.namespace: Forbidden: namespace "team-a" may not use VDITemplate "ubuntu-gpu" (allowedNamespaces: team-b, team-c)`),
			},
		},
		"BadInput": {
			reason: "Input with an unknown field should be fatal before anything else.",
			req:    runRequest(session(), running, withInput(fnresource.MustStructJSON(`{"apiVersion":"vdi.fn.kasm.io/v1beta1","kind":"Input","ingres":{}}`))),
			want: want{
				results: fatalResult(`cannot decode function input: strict decoding error: unknown field "ingres"`),
			},
		},
		"NotASession": {
			reason: "A composite resource of another kind should be fatal.",
			req: func() *fnv1.RunFunctionRequest {
				r := runRequest(session(), running)
				r.Observed.Composite.Resource.Fields["kind"] = structpb.NewStringValue("XDatabase")
				return r
			}(),
			want: want{results: fatalResult(`cannot compose a "XDatabase": function-vdi composes VDISession`)},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := New(WithClock(func() time.Time { return now }))
			rsp, err := f.RunFunction(context.Background(), tc.req)
			if err != nil {
				t.Fatalf("\n%s\nRunFunction(...): unexpected error: %v", tc.reason, err)
			}
			want := &fnv1.RunFunctionResponse{
				Meta:         &fnv1.ResponseMeta{Tag: "t", Ttl: durationpb.New(time.Minute)},
				Desired:      tc.req.GetDesired(),
				Results:      tc.want.results,
				Requirements: tc.want.requirements,
			}
			if diff := cmp.Diff(want, rsp, protocmp.Transform()); diff != "" {
				t.Errorf("\n%s\nRunFunction(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

// summary is what TestRunFunction compares of a successful response.
type summary struct {
	Ready      map[string]fnv1.Ready
	Status     map[string]any
	Conditions []*fnv1.Condition
	TTL        time.Duration
	Results    []*fnv1.Result
}

func summarize(rsp *fnv1.RunFunctionResponse) summary {
	s := summary{Ready: map[string]fnv1.Ready{}, Conditions: rsp.GetConditions(), TTL: rsp.GetMeta().GetTtl().AsDuration(), Results: rsp.GetResults()}
	for name, r := range rsp.GetDesired().GetResources() {
		s.Ready[name] = r.GetReady()
	}
	s.Status, _ = rsp.GetDesired().GetComposite().GetResource().AsMap()["status"].(map[string]any)
	return s
}

func cond(status fnv1.Status, reason, msg string) *fnv1.Condition {
	c := &fnv1.Condition{Type: ConditionDesktopReady, Status: status, Reason: reason, Target: fnv1.Target_TARGET_COMPOSITE.Enum()}
	if msg != "" {
		c.Message = ptr.To(msg)
	}
	return c
}

func TestRunFunction(t *testing.T) {
	times := map[string]any{"startedAt": "2026-05-01T09:00:00Z", "expiresAt": "2026-05-01T17:00:00Z"}
	with := func(m map[string]any) map[string]any {
		for k, v := range times {
			m[k] = v
		}
		return m
	}
	// volumeKept is what a session whose desktop is stopped shows, in phase
	// (also the condition's reason) with msg: only its volume is desired.
	volumeKept := func(phase, msg string, ttl time.Duration) summary {
		return summary{
			Ready:      map[string]fnv1.Ready{"home": fnv1.Ready_READY_TRUE},
			Status:     with(map[string]any{"phase": phase, "message": msg}),
			Conditions: []*fnv1.Condition{cond(fnv1.Status_STATUS_CONDITION_FALSE, phase, msg)},
			TTL:        ttl,
		}
	}
	// allRunning is what a session whose resources all run shows, with its URL,
	// node and credentials, an hour after it was created.
	allRunning := summary{
		Ready: map[string]fnv1.Ready{"desktop": fnv1.Ready_READY_TRUE, "home": fnv1.Ready_READY_TRUE, "service": fnv1.Ready_READY_TRUE, "route": fnv1.Ready_READY_TRUE},
		Status: with(map[string]any{
			"phase": "Running", "url": "https://alice-gpu-team-a-9.vdi.example.com/", "node": "gpu-node-1",
			"credentialsSecretName": "alice-gpu-credentials",
		}),
		Conditions: []*fnv1.Condition{cond(fnv1.Status_STATUS_CONDITION_TRUE, "Available", "")},
		TTL:        7 * time.Hour,
	}
	// changesPending is allRunning holding back a change until the desktop
	// starts again.
	changesPending := allRunning
	held := "the desktop runs as it started; the change to its template or session applies when it starts again (spec.state Stopped, then Running)"
	changesPending.Status = with(map[string]any{
		"phase": "Running", "url": "https://alice-gpu-team-a-9.vdi.example.com/", "node": "gpu-node-1",
		"credentialsSecretName": "alice-gpu-credentials", "message": held,
	})
	changesPending.Conditions = []*fnv1.Condition{cond(fnv1.Status_STATUS_CONDITION_TRUE, "ChangesPending", held)}
	// expiredInvalid is what a session that no longer validates shows past
	// the deadline its desktop carries: Expired, its volume kept, and a
	// warning saying why it is invalid.
	expiredInvalid := func(warning string) summary {
		s := volumeKept("Expired", "the session is invalid and past its desktop's deadline; its desktop is stopped, its home volume kept", time.Minute)
		s.Results = []*fnv1.Result{{Severity: fnv1.Severity_SEVERITY_WARNING, Target: fnv1.Target_TARGET_COMPOSITE.Enum(), Message: warning}}
		return s
	}
	cases := map[string]struct {
		reason string
		req    *fnv1.RunFunctionRequest
		now    time.Time
		want   summary
	}{
		"NewSession": {
			reason: "A new session should compose all four resources, none ready yet, and re-run at expiry.",
			req:    runRequest(session(), withTemplate(template())),
			now:    now,
			want: summary{
				Ready:      map[string]fnv1.Ready{"desktop": fnv1.Ready_READY_FALSE, "home": fnv1.Ready_READY_FALSE, "service": fnv1.Ready_READY_FALSE, "route": fnv1.Ready_READY_FALSE},
				Status:     with(map[string]any{"phase": "Pending", "message": `waiting for Desktop "alice-gpu-desktop" to be created`}),
				Conditions: []*fnv1.Condition{cond(fnv1.Status_STATUS_CONDITION_FALSE, "Creating", `waiting for Desktop "alice-gpu-desktop" to be created`)},
				TTL:        settlingTTL,
			},
		},
		"Running": {
			reason: "A session whose resources all run should be Running with its URL, node and credentials.",
			req:    runRequest(session(), append(observedAll(session()), withTemplate(template()))...),
			now:    now,
			want:   allRunning,
		},
		"DefaultTimeoutLowered": {
			reason: "A running session without a timeout of its own should keep running to its desktop's deadline when its template's defaultTimeout is lowered below the time it has run.",
			req:    runRequest(session(), append(observedAll(session()), withTemplate(template(func(t *tv1alpha1.VDITemplate) { t.Spec.DefaultTimeout = "30m" })))...),
			now:    now,
			want:   allRunning,
		},
		"TemplateImageChanged": {
			reason: "A running session whose template's image changed should keep its desktop as it started and say that the change waits for its next start.",
			req:    runRequest(session(), append(observedAll(session()), withTemplate(template(func(t *tv1alpha1.VDITemplate) { t.Spec.Image = "ghcr.io/selkies-project/nvidia-egl-desktop:typo" })))...),
			now:    now,
			want:   changesPending,
		},
		"Stopped": {
			reason: "A stopped session should keep only its volume and re-run at expiry to show Expired.",
			req:    runRequest(session(withState(StateStopped)), append(observedAll(session()), withTemplate(template()))...),
			now:    now,
			want:   volumeKept("Stopped", "spec.state is Stopped; the desktop is stopped, its home volume kept", 7*time.Hour),
		},
		"Expired": {
			reason: "At expiresAt the session should keep only its volume and show Expired.",
			req:    runRequest(session(), append(observedAll(session()), withTemplate(template()))...),
			now:    created.Add(8 * time.Hour),
			want:   volumeKept("Expired", "the session reached its timeout of 8h0m0s; its desktop is stopped, its home volume kept", settledTTL),
		},
		"InvalidPastRecordedDeadline": {
			reason: "An invalid session past the deadline its desktop carries should expire anyway, keeping its volume and warning.",
			req:    runRequest(session(withTimeout("48h")), append(observedAll(session()), withTemplate(template()))...),
			now:    created.Add(8 * time.Hour),
			want:   expiredInvalid(`invalid VDISession "alice-gpu": spec.timeout: Invalid value: "48h": must not exceed 24h, the maxTimeout of VDITemplate "ubuntu-gpu"`),
		},
		"MissingTemplatePastRecordedDeadline": {
			reason: "A session whose template is gone should still expire at the deadline its desktop carries.",
			req:    runRequest(session(), append(observedAll(session()), withoutTemplate())...),
			now:    created.Add(8 * time.Hour),
			want:   expiredInvalid(`spec.template: VDITemplate "ubuntu-gpu" not found`),
		},
		"InvalidBeforeRecordedDeadline": {
			reason: "An invalid session before its desktop's deadline should be fatal, changing nothing, even past a new template's limit.",
			req:    runRequest(session(withTimeout("48h")), append(observedAll(session()), withTemplate(template(func(t *tv1alpha1.VDITemplate) { t.Spec.MaxTimeout = "1h" })))...),
			now:    created.Add(8*time.Hour - time.Second),
			want: summary{
				Ready: map[string]fnv1.Ready{},
				TTL:   time.Minute,
				Results: []*fnv1.Result{{
					Severity: fnv1.Severity_SEVERITY_FATAL, Target: fnv1.Target_TARGET_COMPOSITE.Enum(),
					Message: `invalid VDISession "alice-gpu": spec.timeout: Invalid value: "48h": must not exceed 1h, the maxTimeout of VDITemplate "ubuntu-gpu"`,
				}},
			},
		},
		"PersistenceTurnedOff": {
			reason: "A volume that exists should stay desired when the session turns persistence off.",
			req:    runRequest(session(withPersistence(Persistence{Enabled: ptr.To(false)}), withState(StateStopped)), append(observedAll(session()), withTemplate(template()))...),
			now:    now,
			want: summary{
				Ready:      map[string]fnv1.Ready{"home": fnv1.Ready_READY_TRUE},
				Status:     with(map[string]any{"phase": "Stopped", "message": "spec.state is Stopped; the desktop is stopped, its home volume kept"}),
				Conditions: []*fnv1.Condition{cond(fnv1.Status_STATUS_CONDITION_FALSE, "Stopped", "spec.state is Stopped; the desktop is stopped, its home volume kept")},
				TTL:        7 * time.Hour,
				Results: []*fnv1.Result{{
					Severity: fnv1.Severity_SEVERITY_WARNING, Target: fnv1.Target_TARGET_COMPOSITE.Enum(),
					Message: `spec.persistence: the session no longer asks for a home volume, but DesktopVolume "alice-gpu-home" exists; it is kept until the session is deleted`,
				}},
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := New(WithClock(func() time.Time { return tc.now }))
			rsp, err := f.RunFunction(context.Background(), tc.req)
			if err != nil {
				t.Fatalf("\n%s\nRunFunction(...): unexpected error: %v", tc.reason, err)
			}
			if diff := cmp.Diff(tc.want, summarize(rsp), protocmp.Transform()); diff != "" {
				t.Errorf("\n%s\nRunFunction(...): -want, +got:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(requirements(session()), rsp.GetRequirements(), protocmp.Transform()); diff != "" {
				t.Errorf("\n%s\nRunFunction(...): requirements must not change between passes: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestDesiredState(t *testing.T) {
	earlier := &fnv1.State{
		Composite: &fnv1.Resource{Resource: fnresource.MustStructJSON(`{"apiVersion":"vdi.kasm.io/v1alpha1","kind":"VDISession","status":{"phase":"Old","fromEarlierStep":"kept"}}`)},
		Resources: map[string]*fnv1.Resource{"extra": {Resource: fnresource.MustStructJSON(`{"kind":"ConfigMap"}`)}},
	}
	home := &fnv1.Resource{Resource: fnresource.MustStructJSON(`{"kind":"DesktopVolume"}`), Ready: fnv1.Ready_READY_TRUE}
	st := SessionStatus{Phase: PhaseStopped, StartedAt: "2026-05-01T09:00:00Z"}

	want := &fnv1.State{
		Composite: &fnv1.Resource{Resource: fnresource.MustStructJSON(`{"apiVersion":"vdi.kasm.io/v1alpha1","kind":"VDISession","status":{"phase":"Stopped","startedAt":"2026-05-01T09:00:00Z","fromEarlierStep":"kept"}}`)},
		Resources: map[string]*fnv1.Resource{
			"extra": {Resource: fnresource.MustStructJSON(`{"kind":"ConfigMap"}`)},
			"home":  home,
		},
	}
	before := proto.Clone(earlier)
	got, err := desiredState(earlier, map[fnresource.Name]*fnv1.Resource{ResourceHome: home}, st)
	if err != nil {
		t.Fatalf("desiredState(...): unexpected error: %v", err)
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("\nThe desired state should keep earlier steps' resources and status fields and add ours.\ndesiredState(...): -want, +got:\n%s", diff)
	}
	if diff := cmp.Diff(before, earlier, protocmp.Transform()); diff != "" {
		t.Errorf("\nThe request's desired state should be left untouched.\ndesiredState(...): -before, +after:\n%s", diff)
	}
}
