package connection

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/clients/target"
	"github.com/provider-vdi/provider-vdi/internal/clients/target/targettest"
)

// TestBlackHoleClusterDoesNotDelayOthers connects a Desktop to a cluster
// that accepts connections and never answers, and, while that Connect is
// under way, a Desktop to the local cluster: the local one must connect
// while the other is still blocked. The black-hole Connect then fails with
// a clear error once its dial times out, and the Connect after it fails at
// once, without dialling, until its backoff has passed.
func TestBlackHoleClusterDoesNotDelayOthers(t *testing.T) {
	hole := targettest.NewBlackHole(t)
	local := targettest.NewServer(t)

	kube := kube(t,
		clusterProviderConfig("local"),
		clusterProviderConfig("hole", withSecretRef("crossplane-system", "hole", "kubeconfig")),
		secret("crossplane-system", "hole", map[string][]byte{"kubeconfig": tenantKubeconfig("https://"+hole.Addr().String(), []string{"certificate-authority-data: " + caData(local)}, []string{"token: t"})}),
	)
	localCfg := &rest.Config{Host: local.URL, TLSClientConfig: rest.TLSClientConfig{CAData: local.CAPEM()}}
	r := &recorder{}
	// A dial timeout far longer than a local Connect takes (milliseconds),
	// so that the black-hole Connect is surely still blocked when the local
	// one returns.
	c := NewConnector(kube, localCfg, WithWatchFn(r.watchFn), WithTimeouts(5*time.Second, 5*time.Second), WithBackoff(time.Hour, time.Hour))

	type result struct {
		cl  *target.Cluster
		err error
	}
	holeDone := make(chan result, 1)
	go func() {
		cl, err := c.Connect(t.Context(), targettest.Desktop(targettest.Named("hole"), withUID("u1"), usingConfig(v1alpha1.ClusterProviderConfigKind, "hole")))
		holeDone <- result{cl, err}
	}()
	select {
	case <-hole.Accepted:
	case res := <-holeDone:
		t.Fatalf("the black-hole Connect returned before the black hole saw a connection: %+v", res)
	case <-time.After(30 * time.Second):
		t.Fatal("the black hole saw no connection")
	}

	cl, err := c.Connect(t.Context(), targettest.Desktop(targettest.Named("local"), withUID("u2"), usingConfig(v1alpha1.ClusterProviderConfigKind, "local")))
	if err != nil || cl == nil {
		t.Fatalf("Connect of the local cluster while a black-hole cluster is dialled: %v", err)
	}
	select {
	case res := <-holeDone:
		t.Fatalf("want the local Connect to return while the black-hole Connect is still blocked, but the black-hole one returned first: %+v", res)
	default:
	}

	res := <-holeDone
	if res.err == nil || !strings.Contains(res.err.Error(), `cannot reach target cluster "https://`+hole.Addr().String()+`"`) {
		t.Errorf("black-hole Connect: want an error saying the cluster cannot be reached, got %v", res.err)
	}
	// Within its backoff the black-hole cluster is not dialled again, and
	// Connect fails with the same error at once.
	drain(hole.Accepted)
	_, err = c.Connect(t.Context(), targettest.Desktop(targettest.Named("hole"), withUID("u1"), usingConfig(v1alpha1.ClusterProviderConfigKind, "hole")))
	if err == nil || err.Error() != res.err.Error() {
		t.Errorf("black-hole Connect within its backoff: want %v, got %v", res.err, err)
	}
	select {
	case <-hole.Accepted:
		t.Errorf("black-hole Connect within its backoff: want no new connection to the black hole, got one")
	default:
	}
}

func drain(ch chan struct{}) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

// TestFailedRequestMarksClusterFailed uses a cluster's client after the
// cluster went away: the failed request marks the cluster failed, so that
// the next Connect fails at once instead of handing out a client whose every
// request waits out its timeout.
func TestFailedRequestMarksClusterFailed(t *testing.T) {
	srv := targettest.NewServer(t)
	kube := kube(t, clusterProviderConfig("local"))
	cfg := &rest.Config{Host: srv.URL, TLSClientConfig: rest.TLSClientConfig{CAData: srv.CAPEM()}}
	r := &recorder{}
	c := NewConnector(kube, cfg, WithWatchFn(r.watchFn), WithBackoff(time.Hour, time.Hour))
	mg := targettest.Desktop(withUID("u1"), usingConfig(v1alpha1.ClusterProviderConfigKind, "local"))

	cl, err := tryConnect(t, c, mg)
	if err != nil {
		t.Fatalf("Connect(...) to a cluster that answers: %v", err)
	}
	srv.Close()
	if err := cl.Client.Get(t.Context(), types.NamespacedName{Namespace: "team-a", Name: "alice"}, &corev1.Pod{}); err == nil {
		t.Fatalf("Get(...) from a cluster that went away: want an error, got none")
	}
	_, err = tryConnect(t, c, mg)
	if err == nil || !strings.Contains(err.Error(), `cannot reach target cluster "`+srv.URL+`"`) {
		t.Errorf("Connect(...) after a request failed: want an error saying the cluster cannot be reached, got %v", err)
	}
}

// TestSlowRequestOfAnsweringCluster times out one request of a cluster
// that answers every other: the cluster is slow, not gone, so the next
// Connect still hands out its client.
func TestSlowRequestOfAnsweringCluster(t *testing.T) {
	release := make(chan struct{})
	// Just enough of an API server for a client to get Pods: discovery,
	// one Pod that is served and one whose Get hangs.
	answers := map[string]string{
		"/api":                                `{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":"127.0.0.1"}]}`,
		"/apis":                               `{"kind":"APIGroupList","apiVersion":"v1","groups":[]}`,
		"/api/v1":                             `{"kind":"APIResourceList","groupVersion":"v1","resources":[{"name":"pods","singularName":"pod","namespaced":true,"kind":"Pod","verbs":["get"]}]}`,
		"/api/v1/namespaces/team-a/pods/fast": `{"kind":"Pod","apiVersion":"v1","metadata":{"name":"fast","namespace":"team-a"}}`,
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/namespaces/team-a/pods/slow" {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		body, ok := answers[r.URL.Path]
		if !ok {
			body = `{"major":"1","minor":"35","gitVersion":"v1.35.4"}`
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	}))
	srv.StartTLS()
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	kube := kube(t, clusterProviderConfig("local"))
	cfg := &rest.Config{Host: srv.URL, TLSClientConfig: rest.TLSClientConfig{CAData: ca}}
	r := &recorder{}
	c := NewConnector(kube, cfg, WithWatchFn(r.watchFn), WithTimeouts(5*time.Second, time.Second), WithBackoff(time.Hour, time.Hour))
	mg := targettest.Desktop(withUID("u1"), usingConfig(v1alpha1.ClusterProviderConfigKind, "local"))

	cl, err := tryConnect(t, c, mg)
	if err != nil {
		t.Fatalf("Connect(...) to a cluster that answers: %v", err)
	}
	slow := make(chan error, 1)
	go func() {
		slow <- cl.Client.Get(t.Context(), types.NamespacedName{Namespace: "team-a", Name: "slow"}, &corev1.Pod{})
	}()
	// Other requests are answered while the slow one waits out its timeout.
	deadline := time.After(10 * time.Second)
	for done := false; !done; {
		if err := cl.Client.Get(t.Context(), types.NamespacedName{Namespace: "team-a", Name: "fast"}, &corev1.Pod{}); err != nil {
			t.Fatalf("Get(...) of an object the cluster serves: %v", err)
		}
		select {
		case err := <-slow:
			if err == nil {
				t.Fatal("Get(...) of the slow object: want a timeout, got none")
			}
			done = true
		case <-deadline:
			t.Fatal("the slow Get(...) did not time out")
		case <-time.After(50 * time.Millisecond):
		}
	}
	if _, err := tryConnect(t, c, mg); err != nil {
		t.Errorf("Connect(...) after one slow request of a cluster that answers others: want its client, got %v", err)
	}
}
