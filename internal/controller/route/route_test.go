package route

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/test"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/clients/target"
	"github.com/provider-vdi/provider-vdi/internal/clients/target/targettest"
)

// noMatch is what a client returns for a kind the cluster does not serve.
var noMatch = &meta.NoKindMatchError{GroupKind: IngressRouteGVK.GroupKind(), SearchedVersions: []string{"v1alpha1"}}

const errNoTraefik = "the target cluster does not serve traefik.io/v1alpha1 IngressRoute; install Traefik's CRDs there"

// desktopRoute returns the DesktopRoute alice-route of namespace team-a that
// serves the Service alice-svc at vdi.example, modified by mods.
func desktopRoute(mods ...func(*v1alpha1.DesktopRoute)) *v1alpha1.DesktopRoute {
	return targettest.Managed(&v1alpha1.DesktopRoute{Spec: v1alpha1.DesktopRouteSpec{ForProvider: v1alpha1.DesktopRouteParameters{
		Owner:       targettest.Alice,
		Host:        "s1-team-a-2.vdi.example",
		ServiceName: "alice-svc",
	}}}, "alice-route", mods...)
}

func withHost(h string) func(*v1alpha1.DesktopRoute) {
	return func(r *v1alpha1.DesktopRoute) { r.Spec.ForProvider.Host = h }
}

func withPathPrefix(p string) func(*v1alpha1.DesktopRoute) {
	return func(r *v1alpha1.DesktopRoute) { r.Spec.ForProvider.PathPrefix = p }
}

func withTLS(secretName, certResolver string) func(*v1alpha1.DesktopRoute) {
	return func(r *v1alpha1.DesktopRoute) {
		r.Spec.ForProvider.TLS = &v1alpha1.RouteTLS{SecretName: secretName, CertResolver: certResolver}
	}
}

func withEntryPoints(ep ...string) func(*v1alpha1.DesktopRoute) {
	return func(r *v1alpha1.DesktopRoute) { r.Spec.ForProvider.EntryPoints = ep }
}

func withService(name string, port int32) func(*v1alpha1.DesktopRoute) {
	return func(r *v1alpha1.DesktopRoute) {
		r.Spec.ForProvider.ServiceName = name
		r.Spec.ForProvider.ServicePort = port
	}
}

func withURL(u string) func(*v1alpha1.DesktopRoute) {
	return func(r *v1alpha1.DesktopRoute) { r.Status.AtProvider.URL = u }
}

var withConditions = targettest.Conditions[*v1alpha1.DesktopRoute]

// spec returns the IngressRoute spec, as unstructured content, that serves
// match at the Service alice-svc on port, modified by mods.
func spec(match string, port int64, mods ...func(map[string]any)) map[string]any {
	s := map[string]any{
		"routes": []any{map[string]any{
			"kind":     "Rule",
			"match":    match,
			"services": []any{map[string]any{"name": "alice-svc", "port": port}},
		}},
	}
	return targettest.Modified(s, mods...)
}

func TestBuildIngressRoute(t *testing.T) {
	// Every route's IngressRoute has the same metadata; the cases differ
	// in their specs.
	om := targettest.Made("route", "alice-route", "alice-route")
	cases := map[string]struct {
		reason string
		cr     *v1alpha1.DesktopRoute
		want   map[string]any
	}{
		"HostOnly": {
			reason: "A route without a path prefix should match the host alone, and send to the Service's port 8080 by default.",
			cr:     desktopRoute(),
			want:   spec("Host(`s1-team-a-2.vdi.example`)", 8080),
		},
		"RootPathPrefix": {
			reason: "A path prefix of / should match the host alone.",
			cr:     desktopRoute(withPathPrefix("/")),
			want:   spec("Host(`s1-team-a-2.vdi.example`)", 8080),
		},
		"PathPrefix": {
			reason: "A route with a path prefix should match host and prefix.",
			cr:     desktopRoute(withPathPrefix("/alice")),
			want:   spec("Host(`s1-team-a-2.vdi.example`) && PathPrefix(`/alice`)", 8080),
		},
		"TLSSecret": {
			reason: "A route with a TLS Secret should name it and nothing else in its TLS block.",
			cr:     desktopRoute(withTLS("vdi-tls", "")),
			want:   spec("Host(`s1-team-a-2.vdi.example`)", 8080, func(s map[string]any) { s["tls"] = map[string]any{"secretName": "vdi-tls"} }),
		},
		"TLSCertResolver": {
			reason: "A route with a certificate resolver should name it in its TLS block.",
			cr:     desktopRoute(withTLS("", "letsencrypt")),
			want:   spec("Host(`s1-team-a-2.vdi.example`)", 8080, func(s map[string]any) { s["tls"] = map[string]any{"certResolver": "letsencrypt"} }),
		},
		"TLSStore": {
			reason: "A route served by Traefik's default TLSStore should name the store, so that the certificate's key stays in Traefik's namespace.",
			cr:     desktopRoute(func(r *v1alpha1.DesktopRoute) { r.Spec.ForProvider.TLS = &v1alpha1.RouteTLS{Store: "default"} }),
			want: spec("Host(`s1-team-a-2.vdi.example`)", 8080, func(s map[string]any) {
				s["tls"] = map[string]any{"store": map[string]any{"name": "default"}}
			}),
		},
		"EntryPointsAndService": {
			reason: "Entry points, Service name and port should be passed to the IngressRoute.",
			cr:     desktopRoute(withEntryPoints("websecure"), withService("bob-svc", 3000)),
			want: spec("Host(`s1-team-a-2.vdi.example`)", 3000, func(s map[string]any) {
				s["entryPoints"] = []any{"websecure"}
				s["routes"].([]any)[0].(map[string]any)["services"] = []any{map[string]any{"name": "bob-svc", "port": int64(3000)}}
			}),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := buildIngressRoute(tc.cr, "team-a")
			if diff := cmp.Diff(IngressRouteGVK, got.GroupVersionKind()); diff != "" {
				t.Errorf("\n%s\nbuildIngressRoute(...): -want GVK, +got GVK:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(types.NamespacedName{Namespace: om.Namespace, Name: om.Name}, client.ObjectKeyFromObject(got)); diff != "" {
				t.Errorf("\n%s\nbuildIngressRoute(...): -want key, +got key:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.want, got.Object["spec"]); diff != "" {
				t.Errorf("\n%s\nbuildIngressRoute(...): -want spec, +got spec:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(om.Labels, got.GetLabels()); diff != "" {
				t.Errorf("\n%s\nbuildIngressRoute(...): -want labels, +got labels:\n%s", tc.reason, diff)
			}
			a := got.GetAnnotations()
			if target.Hash(got) == "" {
				t.Errorf("\n%s\nbuildIngressRoute(...): want the IngressRoute stamped with its spec hash, got none", tc.reason)
			}
			delete(a, v1alpha1.AnnotationSpecHash)
			if diff := cmp.Diff(om.Annotations, a); diff != "" {
				t.Errorf("\n%s\nbuildIngressRoute(...): -want annotations, +got annotations:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestSpecHash(t *testing.T) {
	cases := map[string]struct {
		reason string
		a, b   *v1alpha1.DesktopRoute
		same   bool
	}{
		"Same": {
			reason: "The same route should hash the same.",
			a:      desktopRoute(withPathPrefix("/alice"), withTLS("vdi-tls", "")),
			b:      desktopRoute(withPathPrefix("/alice"), withTLS("vdi-tls", "")),
			same:   true,
		},
		"DefaultPort": {
			reason: "A route that leaves the port out and one that asks for the default 8080 make the same IngressRoute.",
			a:      desktopRoute(),
			b:      desktopRoute(withService("alice-svc", 8080)),
			same:   true,
		},
		"HostChanged": {
			reason: "A new host should change the hash.",
			a:      desktopRoute(),
			b:      desktopRoute(withHost("s1-team-a-2.other.example")),
		},
		"PathPrefixChanged": {
			reason: "A new path prefix should change the hash.",
			a:      desktopRoute(),
			b:      desktopRoute(withPathPrefix("/alice")),
		},
		"TLSAdded": {
			reason: "Adding TLS should change the hash.",
			a:      desktopRoute(),
			b:      desktopRoute(withTLS("vdi-tls", "")),
		},
		"ServiceChanged": {
			reason: "A new Service should change the hash.",
			a:      desktopRoute(),
			b:      desktopRoute(withService("bob-svc", 8080)),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			a, b := target.Hash(buildIngressRoute(tc.a, "team-a")), target.Hash(buildIngressRoute(tc.b, "team-a"))
			if diff := cmp.Diff(tc.same, a == b); diff != "" {
				t.Errorf("\n%s\nhashes %q and %q equal: -want, +got:\n%s", tc.reason, a, b, diff)
			}
		})
	}
}

func TestTraefikMissing(t *testing.T) {
	cases := map[string]struct {
		reason string
		err    error
		want   error
	}{
		"Nil": {
			reason: "No error should stay no error.",
		},
		"NoKindMatch": {
			reason: "An error that the cluster serves no IngressRoute kind should say to install Traefik's CRDs.",
			err:    noMatch,
			want:   errors.Wrap(noMatch, errNoTraefik),
		},
		"WrappedNoKindMatch": {
			reason: "A wrapped no-match error should be recognised too.",
			err:    errors.Wrap(noMatch, "cannot get IngressRoute"),
			want:   errors.Wrap(errors.Wrap(noMatch, "cannot get IngressRoute"), errNoTraefik),
		},
		"NoResourceMatch": {
			reason: "An error that the cluster serves no IngressRoute resource should say to install Traefik's CRDs.",
			err:    &meta.NoResourceMatchError{PartialResource: schema.GroupVersionResource{Group: "traefik.io", Resource: "ingressroutes"}},
			want:   errors.Wrap(&meta.NoResourceMatchError{PartialResource: schema.GroupVersionResource{Group: "traefik.io", Resource: "ingressroutes"}}, errNoTraefik),
		},
		"OtherError": {
			reason: "Any other error should be returned as is.",
			err:    targettest.ErrBoom,
			want:   targettest.ErrBoom,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, traefikMissing(tc.err), test.EquateErrors()); diff != "" {
				t.Errorf("\n%s\ntraefikMissing(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

// kubeServingRoutes returns a fake target cluster that serves Traefik's
// IngressRoute and holds objs.
func kubeServingRoutes(objs ...client.Object) client.Client {
	return targettest.KubeServing([]schema.GroupVersionKind{IngressRouteGVK}, objs...)
}

// actual returns the IngressRoute made of cr in namespace desktops.
func actual(cr *v1alpha1.DesktopRoute) *unstructured.Unstructured {
	return buildIngressRoute(cr, "team-a")
}

func TestConnect(t *testing.T) { kind.TestConnect(t, cmp.AllowUnexported(external{})) }

type observed = targettest.Observed[*v1alpha1.DesktopRoute]

func TestObserve(t *testing.T) {
	kind.TestObserve(t)
	cases := map[string]struct {
		reason string
		kube   client.Client
		cr     *v1alpha1.DesktopRoute
		want   observed
	}{
		"Missing": {
			reason: "A route whose IngressRoute does not exist should not exist.",
			kube:   kubeServingRoutes(),
			cr:     desktopRoute(),
			want:   observed{O: managed.ExternalObservation{ResourceExists: false}, CR: desktopRoute()},
		},
		"NoTraefik": {
			reason: "A target cluster without Traefik's CRDs should be an error saying to install them.",
			kube:   &test.MockClient{MockGet: test.NewMockGetFn(noMatch)},
			cr:     desktopRoute(),
			want: observed{
				Err: errors.Wrap(errors.Wrapf(noMatch, "cannot get %s %q", "IngressRoute", "alice-route"), errNoTraefik),
				CR:  desktopRoute(),
			},
		},
		"UpToDate": {
			reason: "A route whose IngressRoute was made from the current spec should be Available, up to date, and report its URL.",
			kube:   kubeServingRoutes(actual(desktopRoute(withPathPrefix("/alice"), withTLS("vdi-tls", "")))),
			cr:     desktopRoute(withPathPrefix("/alice"), withTLS("vdi-tls", "")),
			want: observed{
				O: managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: true},
				CR: desktopRoute(withPathPrefix("/alice"), withTLS("vdi-tls", ""),
					withURL("https://s1-team-a-2.vdi.example/alice/"), withConditions(xpv2.Available())),
			},
		},
		"SpecChanged": {
			reason: "A route whose IngressRoute was made from another spec should not be up to date, and report the URL it is to have.",
			kube:   kubeServingRoutes(actual(desktopRoute())),
			cr:     desktopRoute(withHost("s1-team-a-2.other.example")),
			want: observed{
				O:  managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: false},
				CR: desktopRoute(withHost("s1-team-a-2.other.example"), withURL("http://s1-team-a-2.other.example/"), withConditions(xpv2.Available())),
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := &external{kube: tc.kube, namespace: "team-a"}
			targettest.CheckObserve(t, tc.reason, e, tc.cr, tc.want)
		})
	}
}

// TestObserveRefusesOthersHost holds Observe to refusing a host that is not
// the route's own before it reads anything (the client fails every read),
// so that no namespace can shadow another's desktop.
func TestObserveRefusesOthersHost(t *testing.T) {
	cases := map[string]struct {
		reason string
		host   string
	}{
		"AnotherNamespacesHost": {
			reason: "The host of another namespace's session (s1 of namespace team-b) should be refused.",
			host:   "s1-team-b-2.vdi.example",
		},
		"AmbiguousHost": {
			reason: "The host <session>-<namespace> of session s1-team in namespace a, which would collide with s1 in team-a, should be refused for s1 in team-a.",
			host:   "s1-team-a.vdi.example",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := &external{kube: &test.MockClient{MockGet: test.NewMockGetFn(targettest.ErrBoom)}, namespace: "team-a"}
			cr := desktopRoute(withHost(tc.host))
			targettest.CheckObserve(t, tc.reason, e, cr, observed{
				Err: errors.Errorf(`forProvider.host %q must start with "s1-team-a-2.", the host label of session "s1" in namespace "team-a" (<session>-<namespace>-<length of session>); a route may not serve another session's host`, tc.host),
				CR:  desktopRoute(withHost(tc.host)),
			})
		})
	}
}

// kind is the DesktopRoute's external client, for the cases that every kind
// shares.
var kind = targettest.Kind[*v1alpha1.DesktopRoute]{
	Kind:     "IngressRoute",
	Resource: "ingressroutes",
	CR:       func() *v1alpha1.DesktopRoute { return desktopRoute() },
	Changed:  func() *v1alpha1.DesktopRoute { return desktopRoute(withHost("s1-team-a-2.other.example")) },
	Object:   func() client.Object { return actual(desktopRoute()) },
	Kube:     kubeServingRoutes,
	External: func(kube client.Client) managed.TypedExternalClient[*v1alpha1.DesktopRoute] {
		return &external{kube: kube, namespace: "team-a"}
	},
	Connect: func(c target.Clusters) managed.TypedExternalConnector[*v1alpha1.DesktopRoute] { return newConnector(c) },
}

func TestCreate(t *testing.T) {
	kind.TestCreate(t)
	kube := kubeServingRoutes()
	e := &external{kube: kube, namespace: "team-a"}
	if _, err := e.Create(context.Background(), desktopRoute()); err != nil {
		t.Fatalf("Create(...): %v", err)
	}
	got := &unstructured.Unstructured{}
	got.SetGroupVersionKind(IngressRouteGVK)
	targettest.MustGet(t, "Create should create the IngressRoute.", kube, "alice-route", got)
	if !target.UpToDate(got, actual(desktopRoute())) {
		t.Errorf("Create(...): want the IngressRoute made from the current spec, got hash %q", target.Hash(got))
	}
}

func TestUpdate(t *testing.T) { kind.TestUpdate(t) }

func TestDelete(t *testing.T) { kind.TestDelete(t) }

// TestNoTraefik checks that every call on a target cluster without
// Traefik's CRDs says to install them, but that of a DesktopRoute being
// deleted: with the CRDs every IngressRoute went, so it has nothing left to
// delete, and its deletion is not held up.
func TestNoTraefik(t *testing.T) {
	noTraefik := func(op string) error {
		return errors.Wrap(errors.Wrapf(noMatch, "cannot %s %s %q", op, "IngressRoute", "alice-route"), errNoTraefik)
	}
	deleting := func() *v1alpha1.DesktopRoute {
		at := metav1.NewTime(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
		return desktopRoute(func(r *v1alpha1.DesktopRoute) { r.SetDeletionTimestamp(&at) })
	}
	cases := map[string]struct {
		reason string
		call   func(*external) error
		want   error
	}{
		"Observe": {
			reason: "Observe should say to install Traefik's CRDs.",
			call:   func(e *external) error { _, err := e.Observe(context.Background(), desktopRoute()); return err },
			want:   noTraefik("get"),
		},
		"Create": {
			reason: "Create should say to install Traefik's CRDs.",
			call:   func(e *external) error { _, err := e.Create(context.Background(), desktopRoute()); return err },
			want:   noTraefik("create"),
		},
		"Update": {
			reason: "Update should say to install Traefik's CRDs.",
			call:   func(e *external) error { _, err := e.Update(context.Background(), desktopRoute()); return err },
			want:   noTraefik("get"),
		},
		"ObserveDeleting": {
			reason: "Observe of a DesktopRoute being deleted should find nothing left, so that its deletion is not held up.",
			call: func(e *external) error {
				o, err := e.Observe(context.Background(), deleting())
				if o.ResourceExists {
					return errors.New("the IngressRoute reads as existing")
				}
				return err
			},
		},
		"Delete": {
			reason: "Delete should find nothing left to delete.",
			call:   func(e *external) error { _, err := e.Delete(context.Background(), deleting()); return err },
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			kube := &test.MockClient{MockGet: test.NewMockGetFn(noMatch), MockCreate: test.NewMockCreateFn(noMatch)}
			targettest.CheckError(t, tc.reason, name, tc.want, tc.call(&external{kube: kube, namespace: "team-a"}))
		})
	}
}

func TestUpdateInCluster(t *testing.T) {
	cases := map[string]struct {
		reason string
		was    *v1alpha1.DesktopRoute
		is     *v1alpha1.DesktopRoute
	}{
		"HostChanged": {
			reason: "Update should bring the IngressRoute to the new host.",
			was:    desktopRoute(),
			is:     desktopRoute(withHost("s1-team-a-2.other.example")),
		},
		"TLSRemoved": {
			reason: "Update should drop a TLS block the spec no longer has.",
			was:    desktopRoute(withTLS("vdi-tls", "")),
			is:     desktopRoute(),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			was := actual(tc.was)
			// Fields Traefik or other controllers add stay untouched.
			was.SetLabels(map[string]string{"extra": "kept"})
			kube := kubeServingRoutes(was)
			e := &external{kube: kube, namespace: "team-a"}
			if _, err := e.Update(context.Background(), tc.is); err != nil {
				t.Fatalf("\n%s\nUpdate(...): %v", tc.reason, err)
			}
			got := &unstructured.Unstructured{}
			got.SetGroupVersionKind(IngressRouteGVK)
			targettest.MustGet(t, tc.reason, kube, "alice-route", got)
			want := actual(tc.is)
			if diff := cmp.Diff(want.Object["spec"], got.Object["spec"]); diff != "" {
				t.Errorf("\n%s\nUpdate(...): -want spec, +got spec:\n%s", tc.reason, diff)
			}
			if !target.UpToDate(got, want) {
				t.Errorf("\n%s\nUpdate(...): want the IngressRoute stamped with the new spec's hash, got %q", tc.reason, target.Hash(got))
			}
			if diff := cmp.Diff("kept", got.GetLabels()["extra"]); diff != "" {
				t.Errorf("\n%s\nUpdate(...): -want label of others, +got label of others:\n%s", tc.reason, diff)
			}
		})
	}
}
