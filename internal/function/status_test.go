package function

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"google.golang.org/protobuf/types/known/structpb"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
)

func TestSessionStatus(t *testing.T) {
	mr := func(ready bool, atProvider map[string]any) *fnv1.Resource {
		st := "False"
		if ready {
			st = "True"
		}
		s, err := structpb.NewStruct(map[string]any{"status": map[string]any{
			"atProvider": atProvider,
			"conditions": []any{map[string]any{"type": "Ready", "status": st, "reason": "x", "lastTransitionTime": "2026-05-01T09:00:00Z"}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		return &fnv1.Resource{Resource: s}
	}
	// failing is an MR the provider could not sync, with message msg.
	failing := func(msg string) *fnv1.Resource {
		s, err := structpb.NewStruct(map[string]any{"status": map[string]any{
			"conditions": []any{
				map[string]any{"type": "Ready", "status": "False", "reason": "Creating", "lastTransitionTime": "2026-05-01T09:00:00Z"},
				map[string]any{"type": "Synced", "status": "False", "reason": "ReconcileError", "message": msg, "lastTransitionTime": "2026-05-01T09:00:00Z"},
			},
		}})
		if err != nil {
			t.Fatal(err)
		}
		return &fnv1.Resource{Resource: s}
	}
	const (
		credentials = "alice-gpu-credentials"
		sessionURL  = "https://alice-gpu-team-a-9.vdi.example.com/"
	)
	const quota = `create failed: cannot create Pod "alice-gpu-desktop": pods "alice-gpu-desktop" is forbidden: exceeded quota: gpus, requested: requests.nvidia.com/gpu=2, used: requests.nvidia.com/gpu=1, limited: requests.nvidia.com/gpu=2`
	all := func(desktop *fnv1.Resource, routeReady bool) observed {
		return observed{
			"desktop": desktop,
			"home":    mr(true, map[string]any{"phase": "Bound"}),
			"service": mr(true, nil),
			"route":   mr(routeReady, map[string]any{"url": sessionURL}),
		}
	}
	running := lifecycle{Phase: PhaseRunning, StartedAt: created, ExpiresAt: created.Add(8 * time.Hour)}
	type want struct {
		status SessionStatus
		cond   condition
	}
	// showing is what the session, started at 09:00 for 8h, should show:
	// status st, saying what its condition c says, and c.
	showing := func(st SessionStatus, c condition) want {
		st.StartedAt, st.ExpiresAt = "2026-05-01T09:00:00Z", "2026-05-01T17:00:00Z"
		st.Message = c.Message
		return want{status: st, cond: c}
	}
	cases := map[string]struct {
		reason   string
		lc       lifecycle
		observed observed
		held     bool
		want     want
	}{
		"Pending": {
			reason: "Before the desktop is observed the session should be Pending.",
			lc:     running,
			want:   showing(SessionStatus{Phase: PhasePending}, condition{Reason: "Creating", Message: `waiting for Desktop "alice-gpu-desktop" to be created`}),
		},
		"WaitingForVolume": {
			reason: "A persistent session whose volume is not available should wait for it.",
			lc:     running,
			observed: observed{
				"desktop": mr(false, map[string]any{"phase": "Pending"}),
				"home":    mr(false, nil),
			},
			want: showing(SessionStatus{Phase: PhasePending, CredentialsSecretName: credentials}, condition{Reason: "WaitingForVolume", Message: `waiting for DesktopVolume "alice-gpu-home" to become available`}),
		},
		"Unschedulable": {
			reason:   "A desktop Pod that is not scheduled should show the provider's message.",
			lc:       running,
			observed: all(mr(false, map[string]any{"phase": "Pending", "message": "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."}), false),
			want:     showing(SessionStatus{Phase: PhasePending, CredentialsSecretName: credentials, URL: sessionURL}, condition{Reason: "WaitingForDesktop", Message: "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."}),
		},
		"Starting": {
			reason:   "A running Pod that is not yet ready should be Starting on its node.",
			lc:       running,
			observed: all(mr(false, map[string]any{"phase": "Running", "nodeName": "gpu-node-1"}), true),
			want:     showing(SessionStatus{Phase: PhaseStarting, Node: "gpu-node-1", CredentialsSecretName: credentials, URL: sessionURL}, condition{Reason: "Starting", Message: "waiting for the desktop to pass its readiness probe"}),
		},
		"WaitingForRoute": {
			reason:   "A ready desktop whose route is not available should be Starting.",
			lc:       running,
			observed: all(mr(true, map[string]any{"phase": "Running", "ready": true, "nodeName": "gpu-node-1"}), false),
			want:     showing(SessionStatus{Phase: PhaseStarting, Node: "gpu-node-1", CredentialsSecretName: credentials, URL: sessionURL}, condition{Reason: "WaitingForRoute", Message: `waiting for DesktopRoute "alice-gpu-route" to become available`}),
		},
		"Running": {
			reason:   "A session whose resources are all ready should be Running.",
			lc:       running,
			observed: all(mr(true, map[string]any{"phase": "Running", "ready": true, "nodeName": "gpu-node-1"}), true),
			want:     showing(SessionStatus{Phase: PhaseRunning, Node: "gpu-node-1", CredentialsSecretName: credentials, URL: sessionURL}, condition{True: true, Reason: "Available"}),
		},
		"RestartPending": {
			reason:   "A running desktop that waits to be replaced should say so.",
			lc:       running,
			observed: all(mr(true, map[string]any{"phase": "Running", "ready": true, "nodeName": "gpu-node-1", "pendingRestart": true}), true),
			want:     showing(SessionStatus{Phase: PhaseRunning, Node: "gpu-node-1", CredentialsSecretName: credentials, URL: sessionURL}, condition{True: true, Reason: "RestartPending", Message: "the desktop runs; it restarts to apply a changed spec"}),
		},
		"ChangesPending": {
			reason:   "A running desktop that holds back a change of its template or session should say when it applies.",
			lc:       running,
			observed: all(mr(true, map[string]any{"phase": "Running", "ready": true, "nodeName": "gpu-node-1"}), true),
			held:     true,
			want: showing(SessionStatus{Phase: PhaseRunning, Node: "gpu-node-1", CredentialsSecretName: credentials, URL: sessionURL}, condition{
				True: true, Reason: "ChangesPending", Message: "the desktop runs as it started; the change to its template or session applies when it starts again (spec.state Stopped, then Running)",
			}),
		},
		"HeldWhileStarting": {
			reason:   "A held change should not hide what the session still waits for.",
			lc:       running,
			observed: all(mr(true, map[string]any{"phase": "Running", "ready": true, "nodeName": "gpu-node-1"}), false),
			held:     true,
			want:     showing(SessionStatus{Phase: PhaseStarting, Node: "gpu-node-1", CredentialsSecretName: credentials, URL: sessionURL}, condition{Reason: "WaitingForRoute", Message: `waiting for DesktopRoute "alice-gpu-route" to become available`}),
		},
		"Failed": {
			reason:   "A failed desktop Pod should fail the session.",
			lc:       running,
			observed: all(mr(false, map[string]any{"phase": "Failed", "message": "OOMKilled"}), true),
			want:     showing(SessionStatus{Phase: PhaseFailed, CredentialsSecretName: credentials, URL: sessionURL}, condition{Reason: "DesktopFailed", Message: "OOMKilled"}),
		},
		"QuotaExceeded": {
			reason:   "A desktop the provider cannot create, here refused by a GPU ResourceQuota, should show the provider's error on the session, naming the resource, not that it waits.",
			lc:       running,
			observed: all(failing(quota), false),
			want:     showing(SessionStatus{Phase: PhasePending, CredentialsSecretName: credentials, URL: sessionURL}, condition{Reason: "ResourceError", Message: `Desktop "alice-gpu-desktop": ` + quota}),
		},
		"FirstErrorInOrder": {
			reason: "With several resources failing, the one a desktop needs first should be shown: the volume before the route.",
			lc:     running,
			observed: observed{
				"desktop": mr(false, map[string]any{"phase": "Pending"}),
				"home":    failing("create failed: admission webhook denied the claim"),
				"service": mr(true, nil),
				"route":   failing("observe failed: the target cluster does not serve traefik.io/v1alpha1 IngressRoute"),
			},
			want: showing(SessionStatus{Phase: PhasePending, CredentialsSecretName: credentials}, condition{Reason: "ResourceError", Message: `DesktopVolume "alice-gpu-home": create failed: admission webhook denied the claim`}),
		},
		"RunningDespiteRouteError": {
			reason: "A running desktop should stay Running and say so even while a resource reports an error.",
			lc:     running,
			observed: func() observed {
				o := all(mr(true, map[string]any{"phase": "Running", "ready": true, "nodeName": "gpu-node-1"}), true)
				// The route serves, but its last update failed.
				conds := o["route"].GetResource().GetFields()["status"].GetStructValue().GetFields()["conditions"].GetListValue()
				conds.Values = append(conds.Values, failing("update failed: conflict").GetResource().GetFields()["status"].GetStructValue().GetFields()["conditions"].GetListValue().GetValues()[1])
				return o
			}(),
			want: showing(SessionStatus{Phase: PhaseRunning, Node: "gpu-node-1", CredentialsSecretName: credentials, URL: sessionURL}, condition{True: true, Reason: "Available"}),
		},
		"Stopped": {
			reason:   "A stopped session should show no URL, node or credentials, whatever is still observed.",
			lc:       lifecycle{Phase: PhaseStopped, Reason: "Stopped", Message: "stopped", StartedAt: created, ExpiresAt: created.Add(8 * time.Hour)},
			observed: all(mr(true, map[string]any{"phase": "Running", "ready": true, "nodeName": "gpu-node-1"}), true),
			want:     showing(SessionStatus{Phase: PhaseStopped}, condition{Reason: "Stopped", Message: "stopped"}),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p, errs := validate(session(), template(), input())
			if len(errs) > 0 {
				t.Fatalf("validate(...): %v", errs)
			}
			st, c := sessionStatus(p, tc.lc, tc.observed, tc.held)
			if diff := cmp.Diff(tc.want, want{st, c}, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("\n%s\nsessionStatus(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
