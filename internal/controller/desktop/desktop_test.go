package desktop

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/test"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/clients/target"
	"github.com/provider-vdi/provider-vdi/internal/clients/target/targettest"
	"github.com/provider-vdi/provider-vdi/internal/controller/controllertest"
)

// TestConnect checks what this kind's connector makes of a connected
// cluster; common's tests cover the connector itself, errors included.
func TestConnect(t *testing.T) {
	kube := &test.MockClient{}
	type want struct {
		err       error
		kube      client.Client
		namespace string
		password  string
	}
	cases := map[string]struct {
		reason   string
		clusters target.Clusters
		want     want
	}{

		"Connected": {
			reason:   "The external client should use the target cluster's client, the namespace it resolves for the Desktop, and the connector's password generator.",
			clusters: targettest.Clusters{Cluster: &target.Cluster{Client: kube}},
			want:     want{kube: kube, namespace: "team-a", password: "generated"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := newConnector(tc.clusters, Options{Bounds: DefaultBounds, Gate: testGate}, func() (string, error) { return "generated", nil }, time.Now)
			got, err := c.Connect(context.Background(), desktop())
			if !targettest.CheckError(t, tc.reason, "Connect", tc.want.err, err) {
				return
			}
			e, ok := got.(*external)
			if !ok {
				t.Fatalf("\n%s\nConnect(...): want *external, got %T", tc.reason, got)
			}
			if e.kube != tc.want.kube {
				t.Errorf("\n%s\nConnect(...): want the target cluster's client, got another", tc.reason)
			}
			if diff := cmp.Diff(tc.want.namespace, e.namespace); diff != "" {
				t.Errorf("\n%s\nConnect(...): -want namespace, +got namespace:\n%s", tc.reason, diff)
			}
			pw, _ := e.password()
			if diff := cmp.Diff(tc.want.password, pw); diff != "" {
				t.Errorf("\n%s\nConnect(...): -want password, +got password:\n%s", tc.reason, diff)
			}
		})
	}
}

// storedSecret returns the credentials Secret of desktop() in namespace
// desktops as the provider stored it, holding password, modified by mods.
func storedSecret(password string, mods ...func(*corev1.Secret)) *corev1.Secret {
	s := buildSecret(desktop(), "team-a")
	s.Data = map[string][]byte{passwordKey: []byte(password)}
	return targettest.Modified(s, mods...)
}

// storedPolicy returns the NetworkPolicy of the default desktop() in
// namespace team-a, as the cluster holds it, modified by mods.
func storedPolicy(mods ...func(*networkingv1.NetworkPolicy)) *networkingv1.NetworkPolicy {
	return targettest.Modified(buildPolicy(desktop(), "team-a"), mods...)
}

// errNotOurs is the error for an object of the desktop's name in namespace
// desktops that provider-vdi did not make.
func errNotOurs(kind, name string) error {
	return targettest.ErrNotOurs(kind, name, "team-a")
}

// errOthers is the error for an object of the desktop's name in namespace
// desktops that the managed resource other made.
func errOthers(kind, name, other string) error {
	return targettest.ErrOthers(kind, name, "team-a", other, "team-a/alice-desktop")
}

// getFn returns a MockGetFn that answers Pods with pod, Secrets with
// secret, and returns podErr or secretErr for them. A nil object with a
// nil error reads as NotFound. NetworkPolicies read as the desktop's
// current policy.
func getFn(pod *corev1.Pod, podErr error, secret *corev1.Secret, secretErr error) test.MockGetFn {
	return func(_ context.Context, key client.ObjectKey, o client.Object) error {
		switch o := o.(type) {
		case *corev1.Pod:
			if podErr != nil {
				return podErr
			}
			if pod == nil {
				return targettest.NotFound("pods", key.Name)
			}
			pod.DeepCopyInto(o)
		case *corev1.Secret:
			if secretErr != nil {
				return secretErr
			}
			if secret == nil {
				return targettest.NotFound("secrets", key.Name)
			}
			secret.DeepCopyInto(o)
		case *networkingv1.NetworkPolicy:
			storedPolicy().DeepCopyInto(o)
		}
		return nil
	}
}

func withAtProvider(o v1alpha1.DesktopObservation) func(*v1alpha1.Desktop) {
	return func(d *v1alpha1.Desktop) { d.Status.AtProvider = o }
}

var withConditions = targettest.Conditions[*v1alpha1.Desktop]

// beingDeleted marks the Desktop as deleted by its user.
func beingDeleted() func(*v1alpha1.Desktop) {
	return func(d *v1alpha1.Desktop) {
		d.SetDeletionTimestamp(&metav1.Time{Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	}
}

// details are the connection details of desktop() with password and link.
func details(password, link string) managed.ConnectionDetails {
	return managed.ConnectionDetails{
		ConnectionURL:      []byte("https://s1-team-a-2.vdi.example/alice/"),
		ConnectionUsername: []byte("alice"),
		ConnectionPassword: []byte(password),
		ConnectionLink:     []byte(link),
	}
}

// servedLink is the link to cr's Pod as read back from the cluster (with
// UID actualUID), signed at now. TestLinkOpensOnlyItsPod shows what such a
// link opens.
func servedLink(cr *v1alpha1.Desktop, now time.Time) string {
	l, err := testGate.link(cr, cr.Spec.ForProvider.Deadline, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{UID: actualUID}}, now)
	if err != nil {
		panic(err)
	}
	return l
}

type observed = targettest.Observed[*v1alpha1.Desktop]

// running is a target cluster holding the Pod of desktop() with mods, its
// password Secret and its NetworkPolicy.
func running(mods ...func(*corev1.Pod)) client.Client {
	return targettest.Kube(actualPod(desktop(), mods...), storedSecret("s3cret"), storedPolicy())
}

// stale is the observation of a desktop whose Pod must be replaced.
var stale = managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: false, ConnectionDetails: details("s3cret", "")}

func TestObserve(t *testing.T) {
	hash := target.Hash(buildPod(desktop(), "team-a", testGate))
	seen := v1alpha1.DesktopObservation{Phase: corev1.PodRunning, Ready: true, SpecHash: "stale"}
	// current returns o as Observe records it of a Pod of the current
	// spec: with its spec hash and the credentials Secret's name.
	current := func(o v1alpha1.DesktopObservation) v1alpha1.DesktopObservation {
		o.SpecHash, o.CredentialsSecretName = hash, "alice-desktop-credentials"
		return o
	}

	// policyDrift is the observation of a ready desktop whose NetworkPolicy
	// is missing or changed: not Ready, saying why, and not up to date, so
	// that Update restores the policy; its Pod is still ready.
	const driftMsg = "the desktop's NetworkPolicy is missing or was changed; it is being restored"
	policyDrift := observed{
		O: managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: false, ConnectionDetails: details("s3cret", servedLink(desktop(), testNow))},
		CR: desktop(
			withConditions(xpv2.Unavailable().WithMessage(driftMsg)),
			withAtProvider(current(v1alpha1.DesktopObservation{Phase: corev1.PodRunning, Ready: true, Message: driftMsg})),
		),
	}

	cases := map[string]struct {
		reason string
		kube   client.Client
		cr     *v1alpha1.Desktop
		want   observed
	}{
		"PodMissing": {
			reason: "A Desktop whose Pod does not exist should not exist, and forget what it saw before.",
			kube:   targettest.Kube(storedSecret("s3cret")),
			cr:     desktop(withAtProvider(seen)),
			want:   observed{O: managed.ExternalObservation{ResourceExists: false}, CR: desktop()},
		},
		"BothMissing": {
			reason: "A Desktop with nothing in the target cluster should not exist.",
			kube:   targettest.Kube(),
			cr:     desktop(),
			want:   observed{O: managed.ExternalObservation{ResourceExists: false}, CR: desktop()},
		},
		"PodMissingWhileDeleted": {
			reason: "A Desktop being deleted whose Pod is gone but whose Secret is not should still exist, so that Delete runs again and the Secret is not orphaned.",
			kube:   targettest.Kube(storedSecret("s3cret")),
			cr:     desktop(beingDeleted(), withAtProvider(seen)),
			want:   observed{O: managed.ExternalObservation{ResourceExists: true}, CR: desktop(beingDeleted())},
		},
		"BothMissingWhileDeleted": {
			reason: "A Desktop being deleted with nothing left in the target cluster should not exist, so that its deletion completes.",
			kube:   targettest.Kube(),
			cr:     desktop(beingDeleted(), withAtProvider(seen)),
			want:   observed{O: managed.ExternalObservation{ResourceExists: false}, CR: desktop(beingDeleted())},
		},
		"OthersLeftWhileDeleted": {
			reason: "A Desktop being deleted whose Pod and Secret names are held by objects it did not make should not exist: they are not its own to delete, and must not hold up its deletion.",
			kube:   targettest.Kube(actualPod(desktop(), targettest.Owner[*corev1.Pod]("")), storedSecret("theirs", targettest.Owner[*corev1.Secret]("team-b/alice-desktop"))),
			cr:     desktop(beingDeleted(), withAtProvider(seen)),
			want:   observed{O: managed.ExternalObservation{ResourceExists: false}, CR: desktop(beingDeleted())},
		},
		"PolicyMissing": {
			reason: "A Desktop whose Pod runs and is ready but whose NetworkPolicy is gone should not be Ready, saying why, nor up to date, so that Update restores the policy.",
			kube:   targettest.Kube(actualPod(desktop(), status(corev1.PodRunning, ready(corev1.ConditionTrue))), storedSecret("s3cret")),
			cr:     desktop(),
			want:   policyDrift,
		},
		"PolicyEdited": {
			reason: "A NetworkPolicy edited in the cluster, here to allow all egress, should read as drift even though its annotations are intact.",
			kube: targettest.Kube(actualPod(desktop(), status(corev1.PodRunning, ready(corev1.ConditionTrue))), storedSecret("s3cret"),
				storedPolicy(func(np *networkingv1.NetworkPolicy) {
					np.Spec.Egress = append(np.Spec.Egress, networkingv1.NetworkPolicyEgressRule{})
				})),
			cr:   desktop(),
			want: policyDrift,
		},
		"PolicyOfOtherDesktop": {
			reason: "A NetworkPolicy of the desktop's name that another Desktop made should be an error, not taken over.",
			kube:   targettest.Kube(actualPod(desktop()), storedSecret("s3cret"), storedPolicy(targettest.Owner[*networkingv1.NetworkPolicy]("team-b/alice-desktop"))),
			cr:     desktop(),
			want:   observed{Err: errOthers("NetworkPolicy", "alice-desktop", "team-b/alice-desktop"), CR: desktop()},
		},
		"SecretMissing": {
			reason: "A Desktop whose Pod runs but whose Secret is gone should exist but not be up to date, so that Update replaces the Pod and Create a new password, show pendingRestart saying why, and publish no password the Pod does not use.",
			kube:   targettest.Kube(actualPod(desktop(), status(corev1.PodRunning, ready(corev1.ConditionTrue))), storedPolicy()),
			cr:     desktop(),
			want: observed{
				O: managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: false},
				CR: desktop(
					withConditions(xpv2.Available()),
					withAtProvider(current(v1alpha1.DesktopObservation{
						Phase:              corev1.PodRunning,
						Ready:              true,
						PendingRestart:     true,
						NetworkPolicyReady: true,
						Message:            "the credentials Secret is gone; the desktop is replaced with a new password",
					})),
				),
			},
		},
		"SecretAndPolicyMissing": {
			reason: "A ready Desktop Pod whose Secret and NetworkPolicy are both gone should not be Available: the policy is missing whatever else is.",
			kube:   targettest.Kube(actualPod(desktop(), status(corev1.PodRunning, ready(corev1.ConditionTrue)))),
			cr:     desktop(),
			want: observed{
				O: managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: false},
				CR: desktop(
					withConditions(xpv2.Unavailable().WithMessage("the credentials Secret is gone; the desktop is replaced with a new password")),
					withAtProvider(current(v1alpha1.DesktopObservation{
						Phase:          corev1.PodRunning,
						Ready:          true,
						PendingRestart: true,
						Message:        "the credentials Secret is gone; the desktop is replaced with a new password",
					})),
				),
			},
		},
		"SecretMissingNotReady": {
			reason: "A Desktop whose Pod is not ready and whose Secret is gone should be Unavailable saying that the Secret is gone.",
			kube:   targettest.Kube(actualPod(desktop(), status(corev1.PodRunning, ready(corev1.ConditionFalse)))),
			cr:     desktop(),
			want: observed{
				O: managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: false},
				CR: desktop(
					withConditions(xpv2.Unavailable().WithMessage("the credentials Secret is gone; the desktop is replaced with a new password")),
					withAtProvider(current(v1alpha1.DesktopObservation{
						Phase:          corev1.PodRunning,
						PendingRestart: true,
						Message:        "the credentials Secret is gone; the desktop is replaced with a new password",
					})),
				),
			},
		},
		"PodNotOurs": {
			reason: "A Pod of the desktop's name that provider-vdi did not make should be an error, and the Desktop left as it was.",
			kube:   targettest.Kube(actualPod(desktop(), targettest.Owner[*corev1.Pod]("")), storedSecret("s3cret")),
			cr:     desktop(withAtProvider(seen)),
			want:   observed{Err: errNotOurs("Pod", "alice-desktop"), CR: desktop(withAtProvider(seen))},
		},
		"PodOfOtherDesktop": {
			reason: "A Pod of the desktop's name that another Desktop made should be an error.",
			kube:   targettest.Kube(actualPod(desktop(), targettest.Owner[*corev1.Pod]("team-b/alice-desktop")), storedSecret("s3cret")),
			cr:     desktop(),
			want:   observed{Err: errOthers("Pod", "alice-desktop", "team-b/alice-desktop"), CR: desktop()},
		},
		"SecretNotOurs": {
			reason: "A Secret of the desktop's Secret name that provider-vdi did not make should be an error: its password must not be published.",
			kube:   targettest.Kube(actualPod(desktop()), storedSecret("theirs", targettest.Owner[*corev1.Secret](""))),
			cr:     desktop(),
			want:   observed{Err: errNotOurs("Secret", "alice-desktop-credentials"), CR: desktop()},
		},
		"SecretOfOtherDesktopPodMissing": {
			reason: "A Secret that another Desktop made should be an error even when the Pod is missing.",
			kube:   targettest.Kube(storedSecret("theirs", targettest.Owner[*corev1.Secret]("team-b/alice-desktop"))),
			cr:     desktop(),
			want:   observed{Err: errOthers("Secret", "alice-desktop-credentials", "team-b/alice-desktop"), CR: desktop()},
		},
		"GetPodError": {
			reason: "An error reading the Pod should be returned.",
			kube:   &test.MockClient{MockGet: getFn(nil, targettest.ErrBoom, storedSecret("s3cret"), nil)},
			cr:     desktop(),
			want:   observed{Err: errors.Wrapf(targettest.ErrBoom, "cannot get %s %q", "Pod", "alice-desktop"), CR: desktop()},
		},
		"GetSecretError": {
			reason: "An error reading the Secret should be returned.",
			kube:   &test.MockClient{MockGet: getFn(actualPod(desktop()), nil, nil, targettest.ErrBoom)},
			cr:     desktop(),
			want:   observed{Err: errors.Wrapf(targettest.ErrBoom, "cannot get %s %q", "Secret", "alice-desktop-credentials"), CR: desktop()},
		},
		"Ready": {
			reason: "A Desktop whose Pod runs and is ready should be Available and up to date, and publish its URL, username and password.",
			kube:   running(status(corev1.PodRunning, ready(corev1.ConditionTrue))),
			cr:     desktop(),
			want: observed{
				O: managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: true, ConnectionDetails: details("s3cret", servedLink(desktop(), testNow))},
				CR: desktop(
					withConditions(xpv2.Available()),
					withAtProvider(current(v1alpha1.DesktopObservation{
						Phase:              corev1.PodRunning,
						Ready:              true,
						NetworkPolicyReady: true,
					})),
				),
			},
		},
		"Unschedulable": {
			reason: "A Desktop whose Pod cannot be scheduled should be Unavailable saying why, yet up to date: a new Pod would not schedule either.",
			kube:   running(status(corev1.PodPending, unschedulable("0/3 nodes are available."))),
			cr:     desktop(),
			want: observed{
				O: managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: true, ConnectionDetails: details("s3cret", servedLink(desktop(), testNow))},
				CR: desktop(
					withConditions(xpv2.Unavailable().WithMessage("Unschedulable: 0/3 nodes are available.")),
					withAtProvider(current(v1alpha1.DesktopObservation{
						Phase:              corev1.PodPending,
						Message:            "Unschedulable: 0/3 nodes are available.",
						NetworkPolicyReady: true,
					})),
				),
			},
		},
		"RunningNotReady": {
			reason: "A Desktop whose Pod runs but is not ready yet should be Unavailable, naming the phase.",
			kube:   running(status(corev1.PodRunning, ready(corev1.ConditionFalse))),
			cr:     desktop(),
			want: observed{
				O: managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: true, ConnectionDetails: details("s3cret", servedLink(desktop(), testNow))},
				CR: desktop(
					withConditions(xpv2.Unavailable().WithMessage("the desktop Pod is Running and not ready yet")),
					withAtProvider(current(v1alpha1.DesktopObservation{Phase: corev1.PodRunning, NetworkPolicyReady: true})),
				),
			},
		},
		"SpecChanged": {
			reason: "A Desktop whose Pod was made from another spec should not be up to date, so that Update replaces the Pod, and show pendingRestart.",
			kube: targettest.Kube(
				actualPod(desktop(withImage("ghcr.io/selkies/desktop:0")), status(corev1.PodRunning, ready(corev1.ConditionTrue))),
				storedSecret("s3cret"),
				storedPolicy(),
			),
			cr: desktop(),
			want: observed{
				O: managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: false, ConnectionDetails: details("s3cret", servedLink(desktop(), testNow))},
				CR: desktop(
					withConditions(xpv2.Available()),
					withAtProvider(v1alpha1.DesktopObservation{
						Phase:                 corev1.PodRunning,
						Ready:                 true,
						SpecHash:              target.Hash(buildPod(desktop(withImage("ghcr.io/selkies/desktop:0")), "team-a", testGate)),
						PendingRestart:        true,
						NetworkPolicyReady:    true,
						CredentialsSecretName: "alice-desktop-credentials",
					}),
				),
			},
		},
		"Failed": {
			reason: "A Desktop whose Pod failed should not be up to date, so that Update replaces the Pod, even though its spec is current.",
			kube:   running(status(corev1.PodFailed)),
			cr:     desktop(),
			want: observed{
				O: stale,
				CR: desktop(
					withConditions(xpv2.Unavailable().WithMessage("the desktop Pod is Failed and not ready yet")),
					withAtProvider(current(v1alpha1.DesktopObservation{Phase: corev1.PodFailed, NetworkPolicyReady: true})),
				),
			},
		},
		"Succeeded": {
			reason: "A Desktop whose Pod exited should not be up to date, so that Update replaces the Pod.",
			kube:   running(status(corev1.PodSucceeded)),
			cr:     desktop(),
			want: observed{
				O: stale,
				CR: desktop(
					withConditions(xpv2.Unavailable().WithMessage("the desktop Pod is Succeeded and not ready yet")),
					withAtProvider(current(v1alpha1.DesktopObservation{Phase: corev1.PodSucceeded, NetworkPolicyReady: true})),
				),
			},
		},
		"Terminating": {
			reason: "A Desktop whose Pod is being deleted should be Unavailable and not up to date.",
			kube:   running(status(corev1.PodRunning, ready(corev1.ConditionTrue)), terminating()),
			cr:     desktop(),
			want: observed{
				O: stale,
				CR: desktop(
					withConditions(xpv2.Unavailable().WithMessage("the desktop Pod is terminating")),
					withAtProvider(current(v1alpha1.DesktopObservation{
						Phase:              corev1.PodRunning,
						Message:            "the desktop Pod is terminating",
						PendingRestart:     true,
						NetworkPolicyReady: true,
					})),
				),
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := &external{gate: testGate, now: at(testNow), kube: tc.kube, namespace: "team-a", bounds: DefaultBounds, password: func() (string, error) { return "", targettest.ErrBoom }}
			targettest.CheckObserve(t, tc.reason, e, tc.cr, tc.want)
		})
	}
}

func TestObserveWritesNothing(t *testing.T) {
	// Observe must never write to the target cluster, not even when it
	// finds a Pod that Update will replace.
	wrote := func(verb string) func(context.Context, client.Object) error {
		return func(_ context.Context, o client.Object) error {
			t.Errorf("\nObserve should only read the target cluster\nObserve(...): %s %T %q", verb, o, o.GetName())
			return nil
		}
	}
	kube := &test.MockClient{
		MockGet: getFn(actualPod(desktop(withImage("ghcr.io/selkies/desktop:0")), status(corev1.PodFailed)), nil, storedSecret("s3cret"), nil),
		MockCreate: func(ctx context.Context, o client.Object, _ ...client.CreateOption) error {
			return wrote("create")(ctx, o)
		},
		MockUpdate: func(ctx context.Context, o client.Object, _ ...client.UpdateOption) error {
			return wrote("update")(ctx, o)
		},
		MockPatch: func(ctx context.Context, o client.Object, _ client.Patch, _ ...client.PatchOption) error {
			return wrote("patch")(ctx, o)
		},
		MockDelete: func(ctx context.Context, o client.Object, _ ...client.DeleteOption) error {
			return wrote("delete")(ctx, o)
		},
	}
	e := &external{gate: testGate, now: at(testNow), kube: kube, namespace: "team-a", bounds: DefaultBounds, password: func() (string, error) { return "", targettest.ErrBoom }}
	if _, err := e.Observe(context.Background(), desktop()); err != nil {
		t.Errorf("\nObserve should only read the target cluster\nObserve(...): %v", err)
	}
}

func TestCreate(t *testing.T) {
	type args struct {
		kube     client.Client
		password func() (string, error)
	}
	type want struct {
		c   managed.ExternalCreation
		err error
		// stored is the password the cluster's Secret should hold
		// afterwards, beside a Pod of the current spec; checked only for
		// fake clusters.
		stored string
	}
	generated := func() (string, error) { return "generated", nil }
	mustNotGenerate := func() (string, error) { return "", errors.New("the password generator must not be called") }
	errMustNotCreate := errors.New("nothing must be created")
	// lostRace is a cluster in which another Create stores winner between
	// Create's first read of the Secret, which finds none, and its own
	// create of it; creating anything but the Secret returns create.
	lostRace := func(winner *corev1.Secret, create error) client.Client {
		var secretGets atomic.Int32
		return &test.MockClient{
			MockGet: func(ctx context.Context, key client.ObjectKey, o client.Object) error {
				if _, ok := o.(*corev1.Secret); ok && secretGets.Add(1) == 1 {
					return targettest.NotFound("secrets", key.Name)
				}
				return getFn(nil, nil, winner, nil)(ctx, key, o)
			},
			MockCreate: func(_ context.Context, o client.Object, _ ...client.CreateOption) error {
				if _, ok := o.(*corev1.Secret); ok {
					return kerrors.NewAlreadyExists(schema.GroupResource{Resource: "secrets"}, o.GetName())
				}
				return create
			},
		}
	}

	cases := map[string]struct {
		reason string
		args   args
		want   want
	}{
		"NothingExists": {
			reason: "Create should make the Secret with a new password and the Pod, and publish the new password.",
			args:   args{kube: targettest.Kube(), password: generated},
			want:   want{c: managed.ExternalCreation{ConnectionDetails: details("generated", "")}, stored: "generated"},
		},
		"SecretExists": {
			reason: "Create should keep the password of an existing Secret, without generating one, and make the Pod.",
			args:   args{kube: targettest.Kube(storedSecret("kept")), password: mustNotGenerate},
			want:   want{c: managed.ExternalCreation{ConnectionDetails: details("kept", "")}, stored: "kept"},
		},
		"PasswordError": {
			reason: "An error generating the password should be returned, and nothing created.",
			args:   args{kube: &test.MockClient{MockGet: getFn(nil, nil, nil, nil)}, password: func() (string, error) { return "", targettest.ErrBoom }},
			want:   want{err: errors.Wrap(targettest.ErrBoom, "cannot generate desktop password")},
		},
		"GetSecretError": {
			reason: "An error reading the Secret should be returned, and nothing created.",
			args:   args{kube: &test.MockClient{MockGet: getFn(nil, nil, nil, targettest.ErrBoom)}, password: mustNotGenerate},
			want:   want{err: errors.Wrapf(targettest.ErrBoom, "cannot get %s %q", "Secret", "alice-desktop-credentials")},
		},
		"CreateSecretError": {
			reason: "An error creating the Secret should be returned, and the Pod not created.",
			args: args{
				kube: &test.MockClient{
					MockGet:    getFn(nil, nil, nil, nil),
					MockCreate: test.NewMockCreateFn(targettest.ErrBoom),
				},
				password: generated,
			},
			want: want{err: errors.Wrapf(targettest.ErrBoom, "cannot create %s %q", "Secret", "alice-desktop-credentials")},
		},
		"CreatePodError": {
			reason: "An error creating the Pod should be returned.",
			args: args{
				kube: &test.MockClient{
					MockGet: getFn(nil, nil, storedSecret("kept"), nil),
					MockCreate: func(_ context.Context, o client.Object, _ ...client.CreateOption) error {
						if _, ok := o.(*corev1.Pod); ok {
							return targettest.ErrBoom
						}
						return nil
					},
				},
				password: mustNotGenerate,
			},
			want: want{err: errors.Wrapf(targettest.ErrBoom, "cannot create %s %q", "Pod", "alice-desktop")},
		},
		"PodOfThisDesktopExists": {
			reason: "A Pod that this Desktop made already should count as created, so that a repeated Create is harmless, the stored password be published, and the link be signed for the stored Pod.",
			args: args{
				kube: &test.MockClient{
					MockGet:    getFn(actualPod(desktop()), nil, storedSecret("kept"), nil),
					MockCreate: test.NewMockCreateFn(kerrors.NewAlreadyExists(schema.GroupResource{Resource: "pods"}, "alice-desktop")),
				},
				password: mustNotGenerate,
			},
			want: want{c: managed.ExternalCreation{ConnectionDetails: details("kept", servedLink(desktop(), testNow))}},
		},
		"PodNotOurs": {
			reason: "A Pod of the desktop's name that provider-vdi did not make should be an error, not taken for the desktop.",
			args: args{
				kube: &test.MockClient{
					MockGet:    getFn(actualPod(desktop(), targettest.Owner[*corev1.Pod]("")), nil, storedSecret("kept"), nil),
					MockCreate: test.NewMockCreateFn(kerrors.NewAlreadyExists(schema.GroupResource{Resource: "pods"}, "alice-desktop")),
				},
				password: mustNotGenerate,
			},
			want: want{err: errNotOurs("Pod", "alice-desktop")},
		},
		"PodOfOtherDesktop": {
			reason: "A Pod of the desktop's name that another Desktop made should be an error, not taken for this desktop.",
			args: args{
				kube: &test.MockClient{
					MockGet:    getFn(actualPod(desktop(), targettest.Owner[*corev1.Pod]("team-b/alice-desktop")), nil, storedSecret("kept"), nil),
					MockCreate: test.NewMockCreateFn(kerrors.NewAlreadyExists(schema.GroupResource{Resource: "pods"}, "alice-desktop")),
				},
				password: mustNotGenerate,
			},
			want: want{err: errOthers("Pod", "alice-desktop", "team-b/alice-desktop")},
		},
		"SecretNotOurs": {
			reason: "A Secret of the desktop's Secret name that provider-vdi did not make should be an error, its password not published, and no Pod created to use it.",
			args: args{
				kube: &test.MockClient{
					MockGet:    getFn(nil, nil, storedSecret("theirs", targettest.Owner[*corev1.Secret]("")), nil),
					MockCreate: test.NewMockCreateFn(errMustNotCreate),
				},
				password: mustNotGenerate,
			},
			want: want{err: errNotOurs("Secret", "alice-desktop-credentials")},
		},
		"SecretOfOtherDesktop": {
			reason: "A Secret that another Desktop made should be an error, its password not published, and no Pod created to use it.",
			args: args{
				kube: &test.MockClient{
					MockGet:    getFn(nil, nil, storedSecret("theirs", targettest.Owner[*corev1.Secret]("team-b/alice-desktop")), nil),
					MockCreate: test.NewMockCreateFn(errMustNotCreate),
				},
				password: mustNotGenerate,
			},
			want: want{err: errOthers("Secret", "alice-desktop-credentials", "team-b/alice-desktop")},
		},
		"LostRaceToOtherDesktop": {
			reason: "When another Desktop stored a Secret of the same name first, Create should fail rather than publish that Secret's password.",
			args: args{
				kube:     lostRace(storedSecret("theirs", targettest.Owner[*corev1.Secret]("team-b/alice-desktop")), errMustNotCreate),
				password: generated,
			},
			want: want{err: errOthers("Secret", "alice-desktop-credentials", "team-b/alice-desktop")},
		},
		"LostRace": {
			reason: "When another Create stored the Secret first, Create should publish the stored password, not the one it generated.",
			args: args{
				kube:     lostRace(storedSecret("winner"), nil),
				password: generated,
			},
			want: want{c: managed.ExternalCreation{ConnectionDetails: details("winner", "")}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := &external{gate: testGate, now: at(testNow), kube: tc.args.kube, namespace: "team-a", bounds: DefaultBounds, password: tc.args.password}
			got, err := e.Create(context.Background(), desktop())
			targettest.CheckError(t, tc.reason, "Create", tc.want.err, err)
			if diff := cmp.Diff(tc.want.c, got); diff != "" {
				t.Errorf("\n%s\nCreate(...): -want, +got:\n%s", tc.reason, diff)
			}
			if tc.want.stored == "" {
				return
			}
			s := &corev1.Secret{}
			targettest.MustGet(t, tc.reason, tc.args.kube, "alice-desktop-credentials", s)
			if diff := cmp.Diff(tc.want.stored, string(s.Data["password"])); diff != "" {
				t.Errorf("\n%s\nCreate(...): -want stored password, +got stored password:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(storedSecret(tc.want.stored).Labels, s.Labels); diff != "" {
				t.Errorf("\n%s\nCreate(...): -want Secret labels, +got Secret labels:\n%s", tc.reason, diff)
			}
			p := &corev1.Pod{}
			targettest.MustGet(t, tc.reason, tc.args.kube, "alice-desktop", p)
			if !target.UpToDate(p, buildPod(desktop(), "team-a", testGate)) {
				t.Errorf("\n%s\nCreate(...): want the Pod made from the Desktop's spec, got hash %q", tc.reason, target.Hash(p))
			}
		})
	}
}

func TestUpdate(t *testing.T) {
	type want struct {
		err error
		// pod and secret say whether each should still exist, and policy
		// whether the NetworkPolicy should be as specified; checked only
		// for fake clusters.
		pod, secret, policy bool
	}
	cases := map[string]struct {
		reason string
		kube   client.Client
		want   want
	}{
		"DeletesPod": {
			reason: "Update should delete the Pod, keeping its Secret, so that the next reconcile creates a Pod of the current spec with the same password.",
			kube:   targettest.Kube(actualPod(desktop(withImage("ghcr.io/selkies/desktop:0"))), storedSecret("kept")),
			want:   want{pod: false, secret: true},
		},
		"PodGone": {
			reason: "A Pod that is already gone should count as replaced.",
			kube:   targettest.Kube(storedSecret("kept")),
			want:   want{pod: false, secret: true},
		},
		"PodNotOurs": {
			reason: "Update should refuse to delete a Pod of the desktop's name that provider-vdi did not make, and leave it.",
			kube:   targettest.Kube(actualPod(desktop(), targettest.Owner[*corev1.Pod]("")), storedSecret("kept")),
			want:   want{err: errNotOurs("Pod", "alice-desktop"), pod: true, secret: true},
		},
		"PodOfOtherDesktop": {
			reason: "Update should refuse to delete a Pod that another Desktop made, and leave it.",
			kube:   targettest.Kube(actualPod(desktop(), targettest.Owner[*corev1.Pod]("team-b/alice-desktop")), storedSecret("kept")),
			want:   want{err: errOthers("Pod", "alice-desktop", "team-b/alice-desktop"), pod: true, secret: true},
		},
		"GetError": {
			reason: "An error reading the Pod should be returned.",
			kube:   &test.MockClient{MockGet: getFn(nil, targettest.ErrBoom, nil, nil)},
			want:   want{err: errors.Wrapf(targettest.ErrBoom, "cannot get %s %q", "Pod", "alice-desktop")},
		},
		"DeleteError": {
			reason: "An error deleting the Pod should be returned.",
			kube: &test.MockClient{
				MockGet:    getFn(actualPod(desktop(withImage("ghcr.io/selkies/desktop:0"))), nil, storedSecret("kept"), nil),
				MockDelete: test.NewMockDeleteFn(targettest.ErrBoom),
			},
			want: want{err: errors.Wrapf(targettest.ErrBoom, "cannot delete %s %q", "Pod", "alice-desktop")},
		},
		"PolicyRestoredWithoutRestart": {
			reason: "Update should restore an edited NetworkPolicy and leave a current Pod running.",
			kube: targettest.Kube(actualPod(desktop()), storedSecret("kept"),
				storedPolicy(func(np *networkingv1.NetworkPolicy) { np.Spec.Egress = nil })),
			want: want{pod: true, secret: true, policy: true},
		},
		"PolicyRemade": {
			reason: "Update should remake a deleted NetworkPolicy and leave a current Pod running.",
			kube:   targettest.Kube(actualPod(desktop()), storedSecret("kept")),
			want:   want{pod: true, secret: true, policy: true},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := &external{gate: testGate, now: at(testNow), kube: tc.kube, namespace: "team-a", bounds: DefaultBounds}
			got, err := e.Update(context.Background(), desktop())
			targettest.CheckError(t, tc.reason, "Update", tc.want.err, err)
			if diff := cmp.Diff(managed.ExternalUpdate{}, got); diff != "" {
				t.Errorf("\n%s\nUpdate(...): -want, +got:\n%s", tc.reason, diff)
			}
			if _, ok := tc.kube.(*test.MockClient); ok {
				return
			}
			targettest.CheckExists(t, tc.reason, tc.kube, &corev1.Pod{}, "alice-desktop", tc.want.pod)
			targettest.CheckExists(t, tc.reason, tc.kube, &corev1.Secret{}, "alice-desktop-credentials", tc.want.secret)
			if tc.want.policy {
				np := &networkingv1.NetworkPolicy{}
				if err := tc.kube.Get(context.Background(), types.NamespacedName{Namespace: "team-a", Name: "alice-desktop"}, np); err != nil || !policyCurrent(np, storedPolicy()) {
					t.Errorf("\n%s\nUpdate(...): want the NetworkPolicy as specified, got %+v (%v)", tc.reason, np.Spec, err)
				}
			}
		})
	}
}

func TestDelete(t *testing.T) {
	// deleteFn fails deletes of objects of the kind errOn with targettest.ErrBoom and
	// records the kinds it was asked to delete.
	deleteFn := func(errOn client.Object, deleted *[]string) test.MockDeleteFn {
		return func(_ context.Context, o client.Object, _ ...client.DeleteOption) error {
			kind := target.KindOf(o)
			*deleted = append(*deleted, kind+"/"+o.GetNamespace()+"/"+o.GetName())
			if errOn != nil && target.KindOf(errOn) == kind {
				return targettest.ErrBoom
			}
			return nil
		}
	}
	both := getFn(actualPod(desktop()), nil, storedSecret("s3cret"), nil)
	type want struct {
		err     error
		deleted []string
	}
	cases := map[string]struct {
		reason string
		get    test.MockGetFn
		errOn  client.Object
		want   want
	}{
		"PodTerminating": {
			reason: "Delete should delete the Pod, and keep its NetworkPolicy and Secret while the Pod is still there: the Pod never runs without its policy.",
			get:    both,
			want:   want{deleted: []string{"Pod/team-a/alice-desktop"}},
		},
		"PodGone": {
			reason: "Delete should delete the NetworkPolicy and then the Secret once the Pod is gone.",
			get:    getFn(nil, nil, storedSecret("s3cret"), nil),
			want:   want{deleted: []string{"NetworkPolicy/team-a/alice-desktop", "Secret/team-a/alice-desktop-credentials"}},
		},
		"PodError": {
			reason: "An error deleting the Pod should be returned, keeping the Secret the Pod may still use.",
			get:    both,
			errOn:  &corev1.Pod{},
			want: want{
				err:     errors.Wrapf(targettest.ErrBoom, "cannot delete %s %q", "Pod", "alice-desktop"),
				deleted: []string{"Pod/team-a/alice-desktop"},
			},
		},
		"PolicyError": {
			reason: "An error deleting the NetworkPolicy should be returned, keeping the Secret.",
			get:    getFn(nil, nil, storedSecret("s3cret"), nil),
			errOn:  &networkingv1.NetworkPolicy{},
			want: want{
				err:     errors.Wrapf(targettest.ErrBoom, "cannot delete %s %q", "NetworkPolicy", "alice-desktop"),
				deleted: []string{"NetworkPolicy/team-a/alice-desktop"},
			},
		},
		"SecretError": {
			reason: "An error deleting the Secret should be returned.",
			get:    getFn(nil, nil, storedSecret("s3cret"), nil),
			errOn:  &corev1.Secret{},
			want: want{
				err:     errors.Wrapf(targettest.ErrBoom, "cannot delete %s %q", "Secret", "alice-desktop-credentials"),
				deleted: []string{"NetworkPolicy/team-a/alice-desktop", "Secret/team-a/alice-desktop-credentials"},
			},
		},
		"PodNotOurs": {
			reason: "Delete should leave alone a Pod of the desktop's name that provider-vdi did not make, and keep the NetworkPolicy that its desktop label puts it under, saying why it waits.",
			get:    getFn(actualPod(desktop(), targettest.Owner[*corev1.Pod]("")), nil, storedSecret("s3cret"), nil),
			want:   want{err: errNotOurs("Pod", "alice-desktop")},
		},
		"SecretOfOtherDesktop": {
			reason: "Delete should delete its own NetworkPolicy and leave alone a Secret that another Desktop made, without an error that would hold up its deletion.",
			get:    getFn(nil, nil, storedSecret("theirs", targettest.Owner[*corev1.Secret]("team-b/alice-desktop")), nil),
			want:   want{deleted: []string{"NetworkPolicy/team-a/alice-desktop"}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var deleted []string
			e := &external{gate: testGate, now: at(testNow), kube: &test.MockClient{MockGet: tc.get, MockDelete: deleteFn(tc.errOn, &deleted)}, namespace: "team-a"}
			_, err := e.Delete(context.Background(), desktop())
			targettest.CheckError(t, tc.reason, "Delete", tc.want.err, err)
			if diff := cmp.Diff(tc.want.deleted, deleted); diff != "" {
				t.Errorf("\n%s\nDelete(...): -want deleted, +got deleted:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestDeleteFromCluster(t *testing.T) {
	cases := map[string]struct {
		reason string
		kube   client.Client
	}{
		"AllExist": {
			reason: "Delete should leave neither the Pod, nor its NetworkPolicy, nor the Secret, once the Pod is gone (at once, in a fake cluster).",
			kube:   targettest.Kube(actualPod(desktop()), storedSecret("s3cret"), storedPolicy()),
		},
		"AlreadyGone": {
			reason: "Delete should succeed when the Pod and Secret are already gone.",
			kube:   targettest.Kube(),
		},
		"OnlySecret": {
			reason: "Delete should delete the Secret even when the Pod is already gone.",
			kube:   targettest.Kube(storedSecret("s3cret")),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := &external{gate: testGate, now: at(testNow), kube: tc.kube, namespace: "team-a", bounds: DefaultBounds}
			if _, err := e.Delete(context.Background(), desktop()); err != nil {
				t.Errorf("\n%s\nDelete(...): %v", tc.reason, err)
			}
			targettest.CheckExists(t, tc.reason, tc.kube, &corev1.Pod{}, "alice-desktop", false)
			targettest.CheckExists(t, tc.reason, tc.kube, &corev1.Secret{}, "alice-desktop-credentials", false)
			targettest.CheckExists(t, tc.reason, tc.kube, &networkingv1.NetworkPolicy{}, "alice-desktop", false)
		})
	}
}

// TestPodMapsToDesktop checks that the Pod buildPod makes maps back to its
// Desktop through target.Owner, the map the controller's Pod watch uses.
func TestPodMapsToDesktop(t *testing.T) {
	cr := desktop()
	kube := fake.NewClientBuilder().WithScheme(controllertest.Scheme(t)).WithObjects(cr).Build()
	want := []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: "team-a", Name: "alice-desktop"}}}
	got := target.Owner(kube, v1alpha1.DesktopGroupVersionKind)(context.Background(), buildPod(cr, "team-a", testGate))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("target.Owner(...) of the Pod buildPod made: -want, +got:\n%s", diff)
	}
}
