package desktop

import (
	"context"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/clients/target/targettest"
	"github.com/provider-vdi/provider-vdi/internal/gate"
)

// verifierOf is the gate of pod as the gate binary would read it from its
// environment, the Pod's UID included.
func verifierOf(t *testing.T, pod *corev1.Pod) gate.Verifier {
	t.Helper()
	env := map[string]string{}
	for _, c := range pod.Spec.Containers {
		if c.Name == gateContainerName {
			for _, e := range c.Env {
				env[e.Name] = e.Value
			}
		}
	}
	key, err := gate.ParsePublicKeyPEM(env[gate.EnvPublicKey])
	if err != nil {
		t.Fatal(err)
	}
	return gate.Verifier{Key: key, Audience: env[gate.EnvAudience], Subject: env[gate.EnvSubject], Pod: string(pod.UID)}
}

// TestLinkOpensOnlyItsPod follows the link a Desktop publishes to the gate
// its Pod runs: it opens that Pod, and not the Pod that replaces it.
func TestLinkOpensOnlyItsPod(t *testing.T) {
	pod := actualPod(desktop())
	e := &external{gate: testGate, now: at(testNow), kube: targettest.Kube(pod, storedSecret("s3cret"), storedPolicy()), namespace: "team-a", bounds: DefaultBounds}
	o, err := e.Observe(context.Background(), desktop())
	if err != nil {
		t.Fatal(err)
	}
	link, err := url.Parse(string(o.ConnectionDetails[ConnectionLink]))
	if err != nil {
		t.Fatal(err)
	}
	token := link.Query().Get(gate.TokenParameter)
	replaced := pod.DeepCopy()
	replaced.UID = "another-pod"

	cases := map[string]struct {
		reason string
		pod    *corev1.Pod
		opens  bool
	}{
		"ItsPod": {
			reason: "The published link should open the gate of the Pod it was signed for.",
			pod:    pod,
			opens:  true,
		},
		"ReplacedPod": {
			reason: "The link should not open the gate of a new Pod of the same desktop (after Stop and Start, or a restart).",
			pod:    replaced,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := verifierOf(t, tc.pod).Verify(token, testNow)
			if diff := cmp.Diff(tc.opens, err == nil); diff != "" {
				t.Errorf("\n%s\nVerify(link): -want opens, +got opens (%v):\n%s", tc.reason, err, diff)
			}
		})
	}
}

// TestCreatePublishesLink shows that Create publishes the link of the Pod
// it made, as the API server returns it with its UID.
func TestCreatePublishesLink(t *testing.T) {
	kube := targettest.Kube()
	withUID := interceptor.NewClient(kube.(client.WithWatch), interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, o client.Object, opts ...client.CreateOption) error {
			if _, ok := o.(*corev1.Pod); ok {
				o.SetUID(types.UID(actualUID))
			}
			return c.Create(ctx, o, opts...)
		},
	})
	e := &external{gate: testGate, now: at(testNow), kube: withUID, namespace: "team-a", bounds: DefaultBounds, password: func() (string, error) { return "generated", nil }}
	got, err := e.Create(context.Background(), desktop())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(details("generated", servedLink(desktop(), testNow)), got.ConnectionDetails); diff != "" {
		t.Errorf("\nCreate should publish the link of the Pod it made.\nCreate(...): -want, +got:\n%s", diff)
	}
}

func TestObserveRefusesWhatTheGateCannotFront(t *testing.T) {
	cases := map[string]struct {
		reason string
		url    string
		port   int32
	}{
		"NoURL": {
			reason: "A desktop without a URL has no host for its gate to accept links to, and should be refused before anything is made.",
		},
		"RelativeURL": {
			reason: "A URL without a host should be refused too.",
			url:    "/alice/",
		},
		"AnotherSessionsHost": {
			reason: "A desktop at the host of another session (here bob's of team-b) should be refused: the provider would sign links that open that session's gate.",
			url:    "https://bob-team-b-3.vdi.example/",
		},
		"AnotherNamespacesHost": {
			reason: "A desktop at the host of a session of the same name in another namespace should be refused.",
			url:    "https://s1-team-b-2.vdi.example/",
		},
		"SharedHost": {
			reason: "A desktop at a host that is no session's, told apart by path only, should be refused.",
			url:    "https://vdi.example/alice/",
		},
		"GatePort": {
			reason: "A desktop on the gate's own port should be refused.",
			url:    "https://s1-team-a-2.vdi.example/alice/",
			port:   v1alpha1.GatePort,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := &external{gate: testGate, now: at(testNow), kube: targettest.Kube(), namespace: "team-a", bounds: DefaultBounds}
			cr := desktop(func(d *v1alpha1.Desktop) { d.Spec.ForProvider.URL, d.Spec.ForProvider.Port = tc.url, tc.port })
			if _, err := e.Observe(context.Background(), cr); err == nil {
				t.Errorf("\n%s\nObserve(...): want error, got none", tc.reason)
			}
		})
	}
}
