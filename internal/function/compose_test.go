package function

import (
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	fnresource "github.com/crossplane/function-sdk-go/resource"
	"github.com/crossplane/function-sdk-go/resource/composed"

	mv1alpha1 "github.com/provider-vdi/provider-vdi/apis/v1alpha1"
)

// objects composes the supplied typed objects the way compose should, so
// the test states the expected managed resources as typed literals.
func objects(t *testing.T, objs map[fnresource.Name]runtime.Object) map[fnresource.Name]map[string]any {
	t.Helper()
	out := map[fnresource.Name]map[string]any{}
	for n, o := range objs {
		cd, err := composed.From(o)
		if err != nil {
			t.Fatal(err)
		}
		delete(cd.Object, "status")
		out[n] = cd.Object
	}
	return out
}

func TestCompose(t *testing.T) {
	labels := func(c string) map[string]string {
		return map[string]string{"vdi.kasm.io/session": "alice-gpu", "vdi.kasm.io/user": "alice", "app.kubernetes.io/component": c}
	}
	om := func(name, c string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: "team-a", Labels: labels(c), Annotations: map[string]string{"crossplane.io/external-name": name}}
	}
	owner := mv1alpha1.Owner{Session: "alice-gpu", User: "alice"}
	mrs := func() xpv2.ManagedResourceSpec {
		return xpv2.ManagedResourceSpec{ProviderConfigReference: &xpv2.ProviderConfigReference{Kind: "ClusterProviderConfig", Name: "gpu-cluster"}}
	}
	wantDesktop := func(gpu int32, home bool) *mv1alpha1.Desktop {
		d := &mv1alpha1.Desktop{
			ObjectMeta: om("alice-gpu-desktop", "desktop"),
			Spec: mv1alpha1.DesktopSpec{
				ManagedResourceSpec: mrs(),
				ForProvider: mv1alpha1.DesktopParameters{
					Owner: owner, Image: "ghcr.io/selkies-project/nvidia-egl-desktop:24.04", Port: 8080,
					Resources:        mv1alpha1.ComputeResources{CPU: q("4"), Memory: q("16Gi"), GPU: &mv1alpha1.GPUResources{Count: gpu, ResourceName: "nvidia.com/gpu"}},
					ShmSize:          q("2Gi"),
					Env:              []mv1alpha1.EnvVar{{Name: "TZ", Value: "UTC"}},
					NodeSelector:     map[string]string{"nvidia.com/gpu.present": "true"},
					Tolerations:      []corev1.Toleration{{Key: "nvidia.com/gpu", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
					RuntimeClassName: ptr.To("nvidia"),
					Network:          mv1alpha1.DesktopNetwork{IngressNamespace: "traefik"},
					URL:              "https://alice-gpu-team-a-9.vdi.example.com/",
				},
			},
		}
		d.Spec.WriteConnectionSecretToReference = &xpv2.LocalSecretReference{Name: "alice-gpu-credentials"}
		if home {
			d.Spec.ForProvider.Home = &mv1alpha1.HomeVolume{ClaimName: "alice-gpu-home", MountPath: "/home/ubuntu"}
		}
		return d
	}
	wantHome := func(size string, policies xpv2.ManagementPolicies) *mv1alpha1.DesktopVolume {
		v := &mv1alpha1.DesktopVolume{
			ObjectMeta: om("alice-gpu-home", "home"),
			Spec: mv1alpha1.DesktopVolumeSpec{
				ManagedResourceSpec: mrs(),
				ForProvider:         mv1alpha1.DesktopVolumeParameters{Owner: owner, Size: *q(size), StorageClassName: ptr.To("fast-ssd")},
			},
		}
		v.Spec.ManagementPolicies = policies
		v.Spec.ForProvider.RetainOnDelete = policies != nil
		return v
	}
	wantService := &mv1alpha1.DesktopService{
		ObjectMeta: om("alice-gpu-service", "service"),
		Spec: mv1alpha1.DesktopServiceSpec{
			ManagedResourceSpec: mrs(),
			ForProvider:         mv1alpha1.DesktopServiceParameters{Owner: owner, DesktopName: "alice-gpu-desktop", Port: 8080},
		},
	}
	wantRoute := &mv1alpha1.DesktopRoute{
		ObjectMeta: om("alice-gpu-route", "route"),
		Spec: mv1alpha1.DesktopRouteSpec{
			ManagedResourceSpec: mrs(),
			ForProvider: mv1alpha1.DesktopRouteParameters{
				Owner: owner, Host: "alice-gpu-team-a-9.vdi.example.com", EntryPoints: []string{"websecure"},
				TLS: &mv1alpha1.RouteTLS{SecretName: "vdi-wildcard-tls"}, ServiceName: "alice-gpu-service", ServicePort: 8080,
			},
		},
	}
	running := lifecycle{Phase: PhaseRunning}
	stopped := lifecycle{Phase: PhaseStopped}
	// startedWith is the desktop as an older template made it: another
	// image and env, and another ingress namespace.
	startedWith := func() *mv1alpha1.Desktop {
		d := wantDesktop(1, true)
		fp := &d.Spec.ForProvider
		fp.Image, fp.Env = "ghcr.io/selkies-project/nvidia-egl-desktop:22.04", []mv1alpha1.EnvVar{{Name: "TZ", Value: "Europe/Berlin"}}
		fp.Network.IngressNamespace = "old-ingress"
		return d
	}
	// heldDesktop is startedWith's Pod under the current network policy.
	heldDesktop := func() *mv1alpha1.Desktop {
		d := startedWith()
		d.Spec.ForProvider.Network = wantDesktop(1, true).Spec.ForProvider.Network
		return d
	}
	// serving is what the provider reports of a desktop that serves.
	serving := map[string]any{"phase": "Running", "ready": true}
	observedDesktop := func(d *mv1alpha1.Desktop, ready bool, atProvider map[string]any) observed {
		return observed{string(ResourceDesktop): observedMR(d, ready, atProvider)}
	}
	// persistentWith is what a running persistent session composes, its
	// Desktop being d.
	persistentWith := func(d *mv1alpha1.Desktop) map[fnresource.Name]runtime.Object {
		return map[fnresource.Name]runtime.Object{
			ResourceDesktop: d, ResourceHome: wantHome("20Gi", nil),
			ResourceService: wantService, ResourceRoute: wantRoute,
		}
	}

	cases := map[string]struct {
		reason   string
		session  *Session
		lc       lifecycle
		observed observed
		want     map[fnresource.Name]runtime.Object
		held     bool
	}{
		"RunningPersistent": {
			reason:  "A running persistent session should compose all four resources, the desktop mounting the volume.",
			session: session(),
			lc:      running,
			want:    persistentWith(wantDesktop(1, true)),
		},
		"GPUOverrideRetained": {
			reason:  "A retained volume should be managed without Delete, and the GPU override applied.",
			session: session(withGPU(2), withPersistence(Persistence{Size: q("50Gi"), RetainOnDelete: true})),
			lc:      running,
			want: map[fnresource.Name]runtime.Object{
				ResourceDesktop: wantDesktop(2, true), ResourceHome: wantHome("50Gi", retainPolicies),
				ResourceService: wantService, ResourceRoute: wantRoute,
			},
		},
		"NotPersistent": {
			reason:  "A session without persistence should compose no volume and mount none.",
			session: session(withPersistence(Persistence{Enabled: ptr.To(false)})),
			lc:      running,
			want: map[fnresource.Name]runtime.Object{
				ResourceDesktop: wantDesktop(1, false), ResourceService: wantService, ResourceRoute: wantRoute,
			},
		},
		"RunningDesktopKeepsItsPod": {
			reason:   "A serving desktop should keep the image and env it started with, taking only the new network policy, and say it holds back a change.",
			session:  session(),
			lc:       running,
			observed: observedDesktop(startedWith(), true, serving),
			want:     persistentWith(heldDesktop()),
			held:     true,
		},
		"SessionEditHeld": {
			reason:   "A serving desktop should keep the GPUs it started with when its session asks for more.",
			session:  session(withGPU(2)),
			lc:       running,
			observed: observedDesktop(wantDesktop(1, true), true, serving),
			want:     persistentWith(wantDesktop(1, true)),
			held:     true,
		},
		"RunningDesktopUnchanged": {
			reason:   "A serving desktop that runs as the session now asks should hold back nothing.",
			session:  session(),
			lc:       running,
			observed: observedDesktop(wantDesktop(1, true), true, serving),
			want:     persistentWith(wantDesktop(1, true)),
		},
		"PolicyBeingRestored": {
			reason:   "A serving desktop whose NetworkPolicy the provider restores (after an egress edit, say) is not Ready but still serves, and should keep its Pod.",
			session:  session(),
			lc:       running,
			observed: observedDesktop(startedWith(), false, map[string]any{"phase": "Running", "ready": true, "networkPolicyReady": false}),
			want:     persistentWith(heldDesktop()),
			held:     true,
		},
		"URLChanged": {
			reason:  "A new URL restarts the desktop anyway (its host is in the gate's settings), so it should take every change with it.",
			session: session(),
			lc:      running,
			observed: observedDesktop(func() *mv1alpha1.Desktop {
				d := startedWith()
				d.Spec.ForProvider.URL = "https://old.vdi.example.com/"
				return d
			}(), true, serving),
			want: persistentWith(wantDesktop(1, true)),
		},
		"DesktopNotServing": {
			reason:   "A desktop that does not serve (here its old image does not pull) has nothing to lose and should take the change at once.",
			session:  session(),
			lc:       running,
			observed: observedDesktop(startedWith(), false, map[string]any{"phase": "Pending", "message": "Back-off pulling image"}),
			want:     persistentWith(wantDesktop(1, true)),
		},
		"DesktopBeingDeleted": {
			reason:  "A desktop whose Desktop is being deleted (its session was stopped and started again before it was gone) should start anew, with the change.",
			session: session(),
			lc:      running,
			observed: observedDesktop(func() *mv1alpha1.Desktop {
				d := startedWith()
				d.SetDeletionTimestamp(&metav1.Time{Time: now})
				return d
			}(), true, serving),
			want: persistentWith(wantDesktop(1, true)),
		},
		"DesktopRestarting": {
			reason:   "A desktop the provider restarts anyway (its credentials Secret was lost) should take the change with that restart.",
			session:  session(),
			lc:       running,
			observed: observedDesktop(startedWith(), true, map[string]any{"phase": "Running", "ready": true, "pendingRestart": true}),
			want:     persistentWith(wantDesktop(1, true)),
		},
		"RetainedStaysRetained": {
			reason:   "A volume observed retained should stay retained when the session no longer asks for it: retention sticks to the data.",
			session:  session(withState(StateStopped), withPersistence(Persistence{Enabled: ptr.To(true), Size: q("50Gi")})),
			lc:       stopped,
			observed: observed{string(ResourceHome): {Resource: fnresource.MustStructJSON(`{"kind":"DesktopVolume","spec":{"forProvider":{"retainOnDelete":true}}}`)}},
			want:     map[fnresource.Name]runtime.Object{ResourceHome: wantHome("50Gi", retainPolicies)},
		},
		"Stopped": {
			reason:  "A stopped session should keep only its volume.",
			session: session(),
			lc:      stopped,
			want:    map[fnresource.Name]runtime.Object{ResourceHome: wantHome("20Gi", nil)},
		},
		"StoppedNotPersistent": {
			reason:  "A stopped session without persistence should compose nothing.",
			session: session(withPersistence(Persistence{Enabled: ptr.To(false)})),
			lc:      stopped,
			want:    map[fnresource.Name]runtime.Object{},
		},
		"ExistingVolumeKept": {
			reason:   "A volume that exists should stay desired after persistence is turned off.",
			session:  session(withPersistence(Persistence{Enabled: ptr.To(false)})),
			lc:       stopped,
			observed: observed{string(ResourceHome): {Resource: fnresource.MustStructJSON(`{"kind":"DesktopVolume"}`)}},
			want:     map[fnresource.Name]runtime.Object{ResourceHome: wantHome("20Gi", nil)},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p, errs := validate(tc.session, template(), input())
			if len(errs) > 0 {
				t.Fatalf("validate(...): %v", errs)
			}
			got, held, err := compose(p, tc.lc, tc.observed)
			if err != nil {
				t.Fatalf("\n%s\ncompose(...): unexpected error: %v", tc.reason, err)
			}
			if held != tc.held {
				t.Errorf("\n%s\ncompose(...): want held %t, got %t", tc.reason, tc.held, held)
			}
			gotObjs := map[fnresource.Name]map[string]any{}
			for n, r := range got {
				gotObjs[n] = r.GetResource().AsMap()
			}
			if diff := cmp.Diff(objects(t, tc.want), gotObjs); diff != "" {
				t.Errorf("\n%s\ncompose(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestHoldPod(t *testing.T) {
	// a and b set every parameter, to different values but for the URL.
	a := mv1alpha1.DesktopParameters{
		Owner: mv1alpha1.Owner{Session: "s1", User: "alice"}, Image: "desktop:1", Port: 8080,
		Resources: mv1alpha1.ComputeResources{CPU: q("4"), GPU: &mv1alpha1.GPUResources{Count: 1, ResourceName: "nvidia.com/gpu"}},
		ShmSize:   q("1Gi"), Env: []mv1alpha1.EnvVar{{Name: "TZ", Value: "UTC"}}, NodeSelector: map[string]string{"gpu": "a"},
		Tolerations: []corev1.Toleration{{Key: "a"}}, RuntimeClassName: ptr.To("nvidia"),
		Network: mv1alpha1.DesktopNetwork{IngressNamespace: "traefik"}, Home: &mv1alpha1.HomeVolume{ClaimName: "home", MountPath: "/home/a"},
		URL: "https://s1-team-a-2.vdi.example/", Deadline: &metav1.Time{Time: now},
	}
	b := mv1alpha1.DesktopParameters{
		Owner: mv1alpha1.Owner{Session: "s2", User: "bob"}, Image: "desktop:2", Port: 9090,
		Resources: mv1alpha1.ComputeResources{CPU: q("8"), GPU: &mv1alpha1.GPUResources{Count: 2, ResourceName: "nvidia.com/gpu"}},
		ShmSize:   q("2Gi"), Env: []mv1alpha1.EnvVar{{Name: "TZ", Value: "CET"}}, NodeSelector: map[string]string{"gpu": "b"},
		Tolerations: []corev1.Toleration{{Key: "b"}}, RuntimeClassName: ptr.To("kata"),
		Network: mv1alpha1.DesktopNetwork{IngressNamespace: "ingress"}, Home: &mv1alpha1.HomeVolume{ClaimName: "home", MountPath: "/home/b"},
		URL: a.URL, Deadline: &metav1.Time{Time: now.Add(time.Hour)},
	}

	t.Run("EveryParameterDecided", func(t *testing.T) {
		// Each parameter either shapes the Pod, and is held at the running
		// desktop's, or does not, and is the new one. A new parameter fails
		// here until it is placed.
		notPod := map[string]bool{"Owner": true, "Network": true, "Deadline": true}
		pod := map[string]bool{"Image": true, "Port": true, "Resources": true, "ShmSize": true, "Env": true, "NodeSelector": true, "Tolerations": true, "RuntimeClassName": true, "Home": true, "URL": true}
		got, changed, err := holdPod(b, a)
		if err != nil || !changed {
			t.Fatalf("holdPod(b, a): want a change held and no error, got %t, %v", changed, err)
		}
		gv, av, bv := reflect.ValueOf(got), reflect.ValueOf(a), reflect.ValueOf(b)
		for i := range gv.NumField() {
			f := gv.Type().Field(i).Name
			switch {
			case notPod[f] && !cmp.Equal(gv.Field(i).Interface(), bv.Field(i).Interface()):
				t.Errorf("holdPod(b, a): %s should be the new one, %v; got %v", f, bv.Field(i), gv.Field(i))
			case pod[f] && !cmp.Equal(gv.Field(i).Interface(), av.Field(i).Interface()):
				t.Errorf("holdPod(b, a): %s should be held at the running desktop's, %v; got %v", f, av.Field(i), gv.Field(i))
			case !notPod[f] && !pod[f]:
				t.Errorf("DesktopParameters.%s: say whether it shapes the desktop's Pod (held) or not (new)", f)
			}
		}
	})

	cases := map[string]struct {
		reason      string
		want, run   mv1alpha1.DesktopParameters
		held        mv1alpha1.DesktopParameters
		changesHeld bool
	}{
		"Unchanged": {
			reason: "A desktop that runs as it should holds nothing back.",
			want:   a, run: a, held: a,
		},
		"NotPodChanged": {
			reason: "A new network policy, owner or deadline is taken, and holds nothing back.",
			want:   func() mv1alpha1.DesktopParameters { p := a; p.Network, p.Deadline = b.Network, b.Deadline; return p }(),
			run:    a,
			held:   func() mv1alpha1.DesktopParameters { p := a; p.Network, p.Deadline = b.Network, b.Deadline; return p }(),
		},
		"DefaultedByTheAPIServer": {
			reason: "Fields the new parameters leave out, which the API server defaulted on the running desktop (the GPU's resource name, the port), hold nothing back.",
			want: func() mv1alpha1.DesktopParameters {
				p := a
				p.Port, p.Resources.GPU = 0, &mv1alpha1.GPUResources{Count: 1}
				return p
			}(),
			run: a, held: a,
		},
		"URLChanged": {
			reason: "A new URL restarts the Pod anyway (its host is in the gate's settings): everything new is taken with it.",
			want:   func() mv1alpha1.DesktopParameters { p := b; p.URL = "https://s2-team-a-2.vdi.example/"; return p }(),
			run:    a,
			held:   func() mv1alpha1.DesktopParameters { p := b; p.URL = "https://s2-team-a-2.vdi.example/"; return p }(),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, changed, err := holdPod(tc.want, tc.run)
			if err != nil {
				t.Fatalf("\n%s\nholdPod(...): unexpected error: %v", tc.reason, err)
			}
			if diff := cmp.Diff(tc.held, got); diff != "" {
				t.Errorf("\n%s\nholdPod(...): -want, +got:\n%s", tc.reason, diff)
			}
			if changed != tc.changesHeld {
				t.Errorf("\n%s\nholdPod(...): want a change held %t, got %t", tc.reason, tc.changesHeld, changed)
			}
		})
	}
}
