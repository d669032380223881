package desktop

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/test"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/clients/target"
	"github.com/provider-vdi/provider-vdi/internal/clients/target/targettest"
)

var deadline = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func withDeadline(t time.Time) func(*v1alpha1.Desktop) {
	return func(d *v1alpha1.Desktop) { d.Spec.ForProvider.Deadline = &metav1.Time{Time: t} }
}

func at(t time.Time) func() time.Time { return func() time.Time { return t } }

// createdAt returns a modifier that sets a Desktop's creation time, as the
// API server stores it.
func createdAt(t time.Time) func(*v1alpha1.Desktop) {
	return func(d *v1alpha1.Desktop) { d.SetCreationTimestamp(metav1.NewTime(t)) }
}

// lifetime is DefaultBounds' Lifetime, 30 days.
const lifetime = 30 * 24 * time.Hour

func TestObservePastDeadline(t *testing.T) {
	const msg = "the desktop passed its deadline of 2026-11-26T12:00:00Z; its Pod is removed and no new one is made"
	type want struct {
		o       managed.ExternalObservation
		err     error
		expired bool
		message string
		// deadline the status reports, if not zero.
		deadline time.Time
	}
	cases := map[string]struct {
		reason string
		kube   client.Client
		cr     *v1alpha1.Desktop
		now    time.Time
		want   want
	}{
		"BeforeDeadline": {
			reason: "Before its deadline a running desktop should be observed as usual.",
			kube:   targettest.Kube(actualPod(desktop(withDeadline(deadline))), storedSecret("kept"), storedPolicy()),
			cr:     desktop(withDeadline(deadline)),
			now:    deadline.Add(-time.Second),
			want:   want{o: managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: true, ConnectionDetails: details("kept", servedLink(desktop(withDeadline(deadline)), deadline.Add(-time.Second)))}, deadline: deadline},
		},
		"PodRunsPastDeadline": {
			reason: "At its deadline a desktop whose Pod still runs should exist but not be up to date, so that Update removes the Pod, and publish no link.",
			kube:   targettest.Kube(actualPod(desktop(withDeadline(deadline))), storedSecret("kept"), storedPolicy()),
			cr:     desktop(withDeadline(deadline)),
			now:    deadline,
			want:   want{o: managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: false, ConnectionDetails: details("kept", "")}, expired: true, message: msg},
		},
		"PodGonePastDeadline": {
			reason: "Past its deadline a desktop without Pod should exist and be up to date, so that no new Pod is created, and publish no link.",
			kube:   targettest.Kube(storedSecret("kept")),
			cr:     desktop(withDeadline(deadline)),
			now:    deadline.Add(time.Hour),
			want:   want{o: managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: true, ConnectionDetails: details("kept", "")}, expired: true, message: msg},
		},
		"PastLifetimeWithoutDeadline": {
			reason: "A desktop made without a deadline whose Pod still runs the provider's lifetime after its creation should be expired like one past its deadline, saying which limit it met.",
			kube:   targettest.Kube(actualPod(desktop()), storedSecret("kept"), storedPolicy()),
			cr:     desktop(createdAt(deadline.Add(-lifetime))),
			now:    deadline,
			want: want{o: managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: false, ConnectionDetails: details("kept", "")}, expired: true,
				message: "the desktop passed its deadline of 2026-11-26T12:00:00Z, 720h0m0s after its creation, the longest this provider lets a desktop run (--max-desktop-lifetime); its Pod is removed and no new one is made"},
		},
		"PastLifetimeBeforeDeadline": {
			reason: "A deadline later than the provider's lifetime should not keep the desktop past that lifetime.",
			kube:   targettest.Kube(storedSecret("kept")),
			cr:     desktop(createdAt(deadline.Add(-lifetime)), withDeadline(deadline.Add(lifetime))),
			now:    deadline.Add(time.Second),
			want: want{o: managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: true, ConnectionDetails: details("kept", "")}, expired: true,
				message: "the desktop passed its deadline of 2026-11-26T12:00:00Z, 720h0m0s after its creation, the longest this provider lets a desktop run (--max-desktop-lifetime); its Pod is removed and no new one is made"},
		},
		"RefusedPastDeadline": {
			reason: "A desktop the provider now refuses (here: its URL is another session's host) should still be expired at its deadline, so that its running Pod is removed, not left running because it is refused.",
			kube:   targettest.Kube(actualPod(desktop(withDeadline(deadline))), storedSecret("kept"), storedPolicy()),
			cr:     desktop(withDeadline(deadline), withURL("https://bob-team-b-3.vdi.example/")),
			now:    deadline,
			want: want{o: managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: false, ConnectionDetails: func() managed.ConnectionDetails {
				d := details("kept", "")
				d["url"] = []byte("https://bob-team-b-3.vdi.example/")
				return d
			}()}, expired: true, message: msg},
		},
		"WithinLifetime": {
			reason: "A desktop made without a deadline should run as usual within the provider's lifetime, its links expiring at the lifetime's end, which its status reports as its deadline.",
			kube:   targettest.Kube(actualPod(desktop()), storedSecret("kept"), storedPolicy()),
			cr:     desktop(createdAt(deadline.Add(-lifetime))),
			now:    deadline.Add(-time.Second),
			want:   want{o: managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: true, ConnectionDetails: details("kept", servedLink(desktop(withDeadline(deadline)), deadline.Add(-time.Second)))}, deadline: deadline},
		},
		"DeletedPastDeadlineWithPod": {
			reason: "A desktop being deleted past its deadline whose Pod still runs should be observed without error, so that Delete removes the Pod, and publish no link.",
			kube:   targettest.Kube(actualPod(desktop(withDeadline(deadline))), storedSecret("kept"), storedPolicy()),
			cr:     desktop(withDeadline(deadline), beingDeleted()),
			now:    deadline.Add(time.Second),
			want:   want{o: managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: true, ConnectionDetails: details("kept", "")}},
		},
		"DeletedPastDeadline": {
			reason: "A desktop being deleted past its deadline should be observed as usual, so that its deletion completes once its objects are gone.",
			kube:   targettest.Kube(),
			cr:     desktop(withDeadline(deadline), beingDeleted()),
			now:    deadline.Add(time.Hour),
			want:   want{o: managed.ExternalObservation{ResourceExists: false}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := &external{gate: testGate, kube: tc.kube, namespace: "team-a", bounds: DefaultBounds, now: at(tc.now)}
			got, err := e.Observe(context.Background(), tc.cr)
			targettest.CheckError(t, tc.reason, "Observe", tc.want.err, err)
			if diff := cmp.Diff(tc.want.o, got); diff != "" {
				t.Errorf("\n%s\nObserve(...): -want, +got:\n%s", tc.reason, diff)
			}
			if tc.cr.Status.AtProvider.Expired != tc.want.expired {
				t.Errorf("\n%s\nObserve(...): want atProvider.expired %t, got %t", tc.reason, tc.want.expired, tc.cr.Status.AtProvider.Expired)
			}
			if tc.want.message != "" && tc.cr.Status.AtProvider.Message != tc.want.message {
				t.Errorf("\n%s\nObserve(...): want atProvider.message %q, got %q", tc.reason, tc.want.message, tc.cr.Status.AtProvider.Message)
			}
			if d := tc.cr.Status.AtProvider.Deadline; !tc.want.deadline.IsZero() && (d == nil || !d.Time.Equal(tc.want.deadline)) {
				t.Errorf("\n%s\nObserve(...): want atProvider.deadline %s, got %v", tc.reason, tc.want.deadline, d)
			}
		})
	}
}

func TestCreateDeadline(t *testing.T) {
	cases := map[string]struct {
		reason string
		cr     *v1alpha1.Desktop
		now    time.Time
		want   *int64
		err    error
	}{
		"BackstopSet": {
			reason: "A desktop with a deadline should get activeDeadlineSeconds up to it, so that the kubelet stops it should the provider not.",
			cr:     desktop(withDeadline(deadline)),
			now:    deadline.Add(-90*time.Minute - 500*time.Millisecond),
			want:   ptr.To[int64](5401),
		},
		"NoDeadline": {
			reason: "A desktop without deadline should get no activeDeadlineSeconds.",
			cr:     desktop(),
			now:    deadline,
		},
		"BackstopAtLifetime": {
			reason: "A desktop whose deadline is later than the provider's lifetime allows should get activeDeadlineSeconds up to the lifetime's end.",
			cr:     desktop(createdAt(deadline.Add(-lifetime)), withDeadline(deadline.Add(time.Hour))),
			now:    deadline.Add(-90*time.Minute - 500*time.Millisecond),
			want:   ptr.To[int64](5401),
		},
		"BackstopWithoutDeadline": {
			reason: "A desktop without deadline should get activeDeadlineSeconds up to the end of the provider's lifetime.",
			cr:     desktop(createdAt(deadline.Add(-lifetime))),
			now:    deadline.Add(-90*time.Minute - 500*time.Millisecond),
			want:   ptr.To[int64](5401),
		},
		"PastLifetime": {
			reason: "Create past the provider's lifetime should refuse, naming the limit, and make nothing.",
			cr:     desktop(createdAt(deadline.Add(-lifetime))),
			now:    deadline,
			err:    errors.New("cannot create desktop: its deadline of 2026-11-26T12:00:00Z, 720h0m0s after its creation, the longest this provider lets a desktop run (--max-desktop-lifetime) has passed"),
		},
		"PastDeadline": {
			reason: "Create past the deadline should refuse and make nothing.",
			cr:     desktop(withDeadline(deadline)),
			now:    deadline,
			err:    errors.New("cannot create desktop: its deadline of 2026-11-26T12:00:00Z has passed"),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			kube := targettest.Kube()
			e := &external{gate: testGate, kube: kube, namespace: "team-a", bounds: DefaultBounds, now: at(tc.now), password: func() (string, error) { return "pw", nil }}
			_, err := e.Create(context.Background(), tc.cr)
			if diff := cmp.Diff(tc.err, err, test.EquateErrors()); diff != "" {
				t.Fatalf("\n%s\nCreate(...): -want error, +got error:\n%s", tc.reason, diff)
			}
			pod := &corev1.Pod{}
			found, _ := target.Get(context.Background(), kube, podKey(pod))
			if tc.err != nil {
				if found {
					t.Errorf("\n%s\nCreate(...): want no Pod, got one", tc.reason)
				}
				return
			}
			if diff := cmp.Diff(tc.want, pod.Spec.ActiveDeadlineSeconds); diff != "" {
				t.Errorf("\n%s\nCreate(...): -want activeDeadlineSeconds, +got:\n%s", tc.reason, diff)
			}
			if !target.UpToDate(pod, buildPod(tc.cr, "team-a", testGate)) {
				t.Errorf("\n%s\nCreate(...): the backstop must not change the Pod's spec hash", tc.reason)
			}
		})
	}
}

func podKey(p *corev1.Pod) *corev1.Pod {
	p.SetNamespace("team-a")
	p.SetName("alice-desktop")
	return p
}

func TestNextPoll(t *testing.T) {
	hook := nextPoll(DefaultBounds, at(deadline.Add(-10*time.Second)))
	cases := map[string]struct {
		reason string
		mg     *v1alpha1.Desktop
		want   time.Duration
	}{
		"DeadlineBeforePoll": {
			reason: "A deadline before the next poll should bring the next reconcile to just after it.",
			mg:     desktop(withDeadline(deadline)),
			want:   11 * time.Second,
		},
		"DeadlineAfterPoll": {
			reason: "A deadline after the next poll should leave the poll interval as it is.",
			mg:     desktop(withDeadline(deadline.Add(time.Hour))),
			want:   time.Minute,
		},
		"PastDeadline": {
			reason: "A deadline already past should leave the poll interval as it is.",
			mg:     desktop(withDeadline(deadline.Add(-time.Hour))),
			want:   time.Minute,
		},
		"NoDeadline": {
			reason: "Without deadline the poll interval should stay.",
			mg:     desktop(),
			want:   time.Minute,
		},
		"PolicyBeingRestored": {
			reason: "A running desktop whose NetworkPolicy Update restores should be observed again within seconds, to be Ready again.",
			mg:     desktop(withAtProvider(v1alpha1.DesktopObservation{Phase: corev1.PodRunning, Ready: true})),
			want:   policyRestoredPoll,
		},
		"PolicyBeingRestoredDeadlineSooner": {
			reason: "A deadline sooner than that still decides.",
			mg:     desktop(withDeadline(deadline.Add(-7*time.Second)), withAtProvider(v1alpha1.DesktopObservation{Phase: corev1.PodRunning})),
			want:   4 * time.Second,
		},
		"PolicyReady": {
			reason: "A running desktop with its NetworkPolicy should keep the poll interval.",
			mg:     desktop(withAtProvider(v1alpha1.DesktopObservation{Phase: corev1.PodRunning, Ready: true, NetworkPolicyReady: true})),
			want:   time.Minute,
		},
		"NoPod": {
			reason: "A Desktop without a Pod (stopped by its deadline, or not made yet) has no policy to restore.",
			mg:     desktop(withAtProvider(v1alpha1.DesktopObservation{})),
			want:   time.Minute,
		},
		"LifetimeBeforePoll": {
			reason: "The end of the provider's lifetime, for a desktop without deadline, should bring the next reconcile to just after it too.",
			mg:     desktop(createdAt(deadline.Add(-lifetime))),
			want:   11 * time.Second,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, hook(tc.mg, time.Minute)); diff != "" {
				t.Errorf("\n%s\nnextPoll(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestBounds(t *testing.T) {
	q := func(s string) *resource.Quantity { return ptr.To(resource.MustParse(s)) }
	b := Bounds{CPU: resource.MustParse("8"), Memory: resource.MustParse("32Gi"), GPUs: 2}
	cases := map[string]struct {
		reason string
		r      v1alpha1.ComputeResources
		want   error
	}{
		"Within": {
			reason: "Resources within the bounds should pass.",
			r:      v1alpha1.ComputeResources{CPU: q("8"), Memory: q("32Gi"), GPU: &v1alpha1.GPUResources{Count: 2}},
		},
		"NoLimits": {
			reason: "A desktop without CPU and memory limits should be refused: it could take its whole node.",
			r:      v1alpha1.ComputeResources{},
			want: errors.Wrap(errors.Join(
				errors.New("forProvider.resources.cpu is required: a desktop without a cpu limit could take its whole node"),
				errors.New("forProvider.resources.memory is required: a desktop without a memory limit could take its whole node"),
			), "desktop out of bounds"),
		},
		"Zero": {
			reason: "A CPU or memory of 0, which Kubernetes reads as no limit, should be refused.",
			r:      v1alpha1.ComputeResources{CPU: q("0"), Memory: q("0")},
			want: errors.Wrap(errors.Join(
				errors.New("forProvider.resources.cpu must be more than 0, not 0"),
				errors.New("forProvider.resources.memory must be more than 0, not 0"),
			), "desktop out of bounds"),
		},
		"Above": {
			reason: "Resources above the provider's bounds should be refused, naming the flag.",
			r:      v1alpha1.ComputeResources{CPU: q("9"), Memory: q("32Gi"), GPU: &v1alpha1.GPUResources{Count: 3}},
			want: errors.Wrap(errors.Join(
				errors.New("forProvider.resources.cpu 9 is more than 8, the most this provider allows a desktop (--max-desktop-cpu)"),
				errors.New("forProvider.resources.gpu.count 3 is more than 2, the most this provider allows a desktop (--max-desktop-gpus)"),
			), "desktop out of bounds"),
		},
		"GPUAsNativeResource": {
			reason: "GPUs counted as a native resource, cpu here, should be refused: no GPU quota would count them, and the desktop would not be told it has none.",
			r:      v1alpha1.ComputeResources{CPU: q("1"), Memory: q("4Gi"), GPU: &v1alpha1.GPUResources{Count: 1, ResourceName: "cpu"}},
			want: errors.Wrap(errors.Join(
				errors.Wrap(v1alpha1.CheckGPUResourceName("cpu"), "forProvider"),
			), "desktop out of bounds"),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, b.check(tc.r), test.EquateErrors()); diff != "" {
				t.Errorf("\n%s\ncheck(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestObserveOutOfBounds(t *testing.T) {
	e := &external{gate: testGate, now: at(testNow), kube: &test.MockClient{MockGet: test.NewMockGetFn(errors.New("nothing must be read"))}, namespace: "team-a", bounds: Bounds{CPU: resource.MustParse("1"), Memory: resource.MustParse("1Gi")}}
	_, err := e.Observe(context.Background(), desktop())
	want := errors.Wrap(errors.Join(
		errors.New("forProvider.resources.cpu 2 is more than 1, the most this provider allows a desktop (--max-desktop-cpu)"),
		errors.New("forProvider.resources.memory 4Gi is more than 1Gi, the most this provider allows a desktop (--max-desktop-memory)"),
	), "desktop out of bounds")
	if diff := cmp.Diff(want, err, test.EquateErrors()); diff != "" {
		t.Errorf("\nA desktop out of bounds should be refused before anything is read.\nObserve(...): -want error, +got error:\n%s", diff)
	}
	// A desktop being deleted is observed whatever its bounds, so that its
	// deletion is never held up: here it reaches the (failing) read.
	_, err = e.Observe(context.Background(), desktop(beingDeleted()))
	if diff := cmp.Diff(errors.Wrapf(errors.New("nothing must be read"), "cannot get %s %q", "Pod", "alice-desktop"), err, test.EquateErrors()); diff != "" {
		t.Errorf("\nA desktop being deleted should be observed whatever its bounds.\nObserve(...): -want error, +got error:\n%s", diff)
	}
}

func TestCreateHome(t *testing.T) {
	claim := func(mr, session string, mods ...func(*corev1.PersistentVolumeClaim)) *corev1.PersistentVolumeClaim {
		c := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{
			Namespace: "team-a", Name: "alice-home",
			Labels:      map[string]string{v1alpha1.LabelSession: session},
			Annotations: map[string]string{v1alpha1.AnnotationManagedResource: mr},
		}}
		return targettest.Modified(c, mods...)
	}
	cases := map[string]struct {
		reason string
		kube   client.Client
		uid    string
		want   error
	}{
		"OwnNamespacesClaim": {
			reason: "A claim made for the desktop's own session in its namespace, by UID, should be mounted.",
			kube:   targettest.Kube(claim("team-a/alice-home", "s1", targettest.NamespaceUID[*corev1.PersistentVolumeClaim]("uid-now"))),
			uid:    "uid-now",
		},
		"EarlierNamespacesClaim": {
			reason: "A claim made for a session of the same name in an earlier namespace of the same name should be refused, and no Pod made.",
			kube:   targettest.Kube(claim("team-a/alice-home", "s1", targettest.NamespaceUID[*corev1.PersistentVolumeClaim]("uid-before"))),
			uid:    "uid-now",
			want:   errors.New(`cannot mount home claim "alice-home": it was made in an earlier namespace "team-a" (UID uid-before), not in the one there now (UID uid-now); a desktop mounts only its own namespace's home`),
		},
		"ClaimMadeBeforeNamespaceUIDs": {
			reason: "A claim of the desktop's session made before the provider recorded namespace UIDs should be mounted.",
			kube:   targettest.Kube(claim("team-a/alice-home", "s1")),
			uid:    "uid-now",
		},
		"OwnClaim": {
			reason: "A claim made for the desktop's own session should be mounted.",
			kube:   targettest.Kube(claim("team-a/alice-home", "s1")),
		},
		"NoClaimYet": {
			reason: "A claim that does not exist yet should not hold up the desktop: the Pod waits for it.",
			kube:   targettest.Kube(),
		},
		"OtherSessionsClaim": {
			reason: "A claim made for another session should be refused, and no Pod made.",
			kube:   targettest.Kube(claim("team-a/bob-home", "s2")),
			want:   errors.New(`cannot mount home claim "alice-home": it belongs to session "s2" of namespace "team-a", not to session "s1" of namespace "team-a"; a desktop mounts only its own session's home`),
		},
		"OtherNamespacesClaim": {
			reason: "A claim made by a DesktopVolume of another namespace should be refused, and no Pod made.",
			kube:   targettest.Kube(claim("team-b/alice-home", "s1")),
			want:   errors.New(`cannot mount home claim "alice-home": it belongs to session "s1" of namespace "team-b", not to session "s1" of namespace "team-a"; a desktop mounts only its own session's home`),
		},
		"ForeignClaim": {
			reason: "A claim provider-vdi did not make should be refused.",
			kube:   targettest.Kube(claim("", "")),
			want:   errors.New(`cannot mount home claim "alice-home": it belongs to session "" of namespace "", not to session "s1" of namespace "team-a"; a desktop mounts only its own session's home`),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := &external{gate: testGate, now: at(testNow), kube: tc.kube, namespace: "team-a", bounds: DefaultBounds, password: func() (string, error) { return "pw", nil }}
			cr := desktop(withHome("alice-home", "/home/ubuntu"))
			if tc.uid != "" {
				targettest.NamespaceUID[*v1alpha1.Desktop](tc.uid)(cr)
			}
			_, err := e.Create(context.Background(), cr)
			targettest.CheckError(t, tc.reason, "Create", tc.want, err)
			found, _ := target.Get(context.Background(), tc.kube, podKey(&corev1.Pod{}))
			if found != (tc.want == nil) {
				t.Errorf("\n%s\nCreate(...): want a Pod made %t, got %t", tc.reason, tc.want == nil, found)
			}
		})
	}
}

func TestObserveRefusesEnv(t *testing.T) {
	e := &external{gate: testGate, now: at(testNow), kube: &test.MockClient{MockGet: test.NewMockGetFn(errors.New("nothing must be read"))}, namespace: "team-a", bounds: DefaultBounds}
	cr := desktop(func(d *v1alpha1.Desktop) {
		d.Spec.ForProvider.Env = []v1alpha1.EnvVar{{Name: "NVIDIA_VISIBLE_DEVICES", Value: "all"}, {Name: "NVIDIA_DRIVER_CAPABILITIES", Value: "all"}, {Name: "NVIDIA_IMEX_CHANNELS", Value: "0"}}
	})
	_, err := e.Observe(context.Background(), cr)
	want := errors.Join(
		errors.Wrap(v1alpha1.CheckEnvName("NVIDIA_VISIBLE_DEVICES"), "forProvider.env"),
		errors.Wrap(v1alpha1.CheckEnvName("NVIDIA_IMEX_CHANNELS"), "forProvider.env"),
	)
	if diff := cmp.Diff(want, err, test.EquateErrors()); diff != "" {
		t.Errorf("\nA desktop that sets NVIDIA_VISIBLE_DEVICES (every GPU of the node) or another variable by which the NVIDIA runtime hands out devices should be refused before anything is read, naming each; NVIDIA_DRIVER_CAPABILITIES is allowed.\nObserve(...): -want error, +got error:\n%s", diff)
	}
}
