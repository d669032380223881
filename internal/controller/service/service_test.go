package service

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/clients/target"
	"github.com/provider-vdi/provider-vdi/internal/clients/target/targettest"
)

// desktopService returns the DesktopService alice-svc of namespace team-a in
// front of the desktop alice-desktop, modified by mods.
func desktopService(mods ...func(*v1alpha1.DesktopService)) *v1alpha1.DesktopService {
	return targettest.Managed(&v1alpha1.DesktopService{Spec: v1alpha1.DesktopServiceSpec{ForProvider: v1alpha1.DesktopServiceParameters{
		Owner:       targettest.Alice,
		DesktopName: "alice-desktop",
	}}}, "alice-svc", mods...)
}

func withPort(p int32) func(*v1alpha1.DesktopService) {
	return func(s *v1alpha1.DesktopService) { s.Spec.ForProvider.Port = p }
}

func withDesktopName(n string) func(*v1alpha1.DesktopService) {
	return func(s *v1alpha1.DesktopService) { s.Spec.ForProvider.DesktopName = n }
}

func withClusterIP(ip string) func(*v1alpha1.DesktopService) {
	return func(s *v1alpha1.DesktopService) { s.Status.AtProvider.ClusterIP = ip }
}

var withConditions = targettest.Conditions[*v1alpha1.DesktopService]

func objectMeta() metav1.ObjectMeta {
	return targettest.Made("service", "alice-svc", "alice-svc")
}

// actual returns the Service made of cr in namespace team-a, as read back
// from the cluster, with the given cluster IP: None, or an address for a
// Service an earlier provider made.
func actual(cr *v1alpha1.DesktopService, clusterIP string) *corev1.Service {
	svc := buildService(cr, "team-a")
	svc.Spec.ClusterIP = clusterIP
	svc.Spec.ClusterIPs = []string{clusterIP}
	return svc
}

func TestConnect(t *testing.T) { kind.TestConnect(t, cmp.AllowUnexported(external{})) }

func TestBuildService(t *testing.T) {
	cases := map[string]struct {
		reason string
		cr     *v1alpha1.DesktopService
		want   *corev1.Service
	}{
		"DefaultPort": {
			reason: "A DesktopService without a port should be a headless Service that serves the desktop's port 8080, forward to the gate's port 8090 in front of the desktop, and select the desktop Pod by name.",
			cr:     desktopService(),
			want: &corev1.Service{
				ObjectMeta: objectMeta(),
				Spec: corev1.ServiceSpec{
					Type:      corev1.ServiceTypeClusterIP,
					ClusterIP: corev1.ClusterIPNone,
					Selector:  map[string]string{"vdi.kasm.io/desktop": "alice-desktop"},
					Ports:     []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 8080, TargetPort: intstr.FromInt32(8090)}},
				},
			},
		},
		"SharedTargetNamespace": {
			reason: "In a target namespace other than its own, a DesktopService's Service should be named, and select its desktop, by the qualified names (target.QualifiedName).",
			cr:     desktopService(),
			want: func() *corev1.Service {
				om := objectMeta()
				om.Namespace, om.Name = "shared", "alice-svc-team-a-9"
				return &corev1.Service{
					ObjectMeta: om,
					Spec: corev1.ServiceSpec{
						Type:      corev1.ServiceTypeClusterIP,
						ClusterIP: corev1.ClusterIPNone,
						Selector:  map[string]string{"vdi.kasm.io/desktop": "alice-desktop-team-a-13"},
						Ports:     []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 8080, TargetPort: intstr.FromInt32(8090)}},
					},
				}
			}(),
		},
		"Port": {
			reason: "A DesktopService's port should be the Service port; the target port stays the gate's.",
			cr:     desktopService(withPort(3000), withDesktopName("bob-desktop")),
			want: &corev1.Service{
				ObjectMeta: objectMeta(),
				Spec: corev1.ServiceSpec{
					Type:      corev1.ServiceTypeClusterIP,
					ClusterIP: corev1.ClusterIPNone,
					Selector:  map[string]string{"vdi.kasm.io/desktop": "bob-desktop"},
					Ports:     []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 3000, TargetPort: intstr.FromInt32(8090)}},
				},
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := buildService(tc.cr, tc.want.Namespace)
			if diff := cmp.Diff(tc.want, got, targettest.IgnoreHash); diff != "" {
				t.Errorf("\n%s\nbuildService(...): -want, +got:\n%s", tc.reason, diff)
			}
			if target.Hash(got) == "" {
				t.Errorf("\n%s\nbuildService(...): want the Service stamped with its spec hash, got none", tc.reason)
			}
		})
	}
}

func TestSpecHash(t *testing.T) {
	cases := map[string]struct {
		reason string
		a, b   *v1alpha1.DesktopService
		same   bool
	}{
		"Same": {
			reason: "The same DesktopService should hash the same.",
			a:      desktopService(withPort(3000)),
			b:      desktopService(withPort(3000)),
			same:   true,
		},
		"PortChanged": {
			reason: "A new port should change the hash.",
			a:      desktopService(),
			b:      desktopService(withPort(3000)),
		},
		"DesktopChanged": {
			reason: "A new desktop should change the hash, since the Service selects it.",
			a:      desktopService(),
			b:      desktopService(withDesktopName("bob-desktop")),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			a, b := target.Hash(buildService(tc.a, "team-a")), target.Hash(buildService(tc.b, "team-a"))
			if diff := cmp.Diff(tc.same, a == b); diff != "" {
				t.Errorf("\n%s\nService hashes %q and %q equal: -want, +got:\n%s", tc.reason, a, b, diff)
			}
		})
	}
}

type observed = targettest.Observed[*v1alpha1.DesktopService]

func TestObserve(t *testing.T) {
	kind.TestObserve(t)
	svc := actual(desktopService(), corev1.ClusterIPNone)
	legacySvc := actual(desktopService(), "10.96.0.10")
	oldSvc := actual(desktopService(withPort(3000)), corev1.ClusterIPNone)

	cases := map[string]struct {
		reason string
		kube   client.Client
		want   observed
	}{
		"ServiceMissing": {
			reason: "A DesktopService whose Service does not exist should not exist.",
			kube:   targettest.Kube(),
			want:   observed{O: managed.ExternalObservation{ResourceExists: false}, CR: desktopService()},
		},
		"Available": {
			reason: "A DesktopService whose headless Service exists should be Available, up to date, and report no cluster IP.",
			kube:   targettest.Kube(svc),
			want: observed{
				O:  managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: true},
				CR: desktopService(withClusterIP("None"), withConditions(xpv2.Available())),
			},
		},
		"ServiceWithClusterIP": {
			reason: "A Service that an earlier provider made with a cluster IP should still count: Available, up to date, reporting the IP it keeps.",
			kube:   targettest.Kube(legacySvc),
			want: observed{
				O:  managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: true},
				CR: desktopService(withClusterIP("10.96.0.10"), withConditions(xpv2.Available())),
			},
		},
		"ServiceChanged": {
			reason: "A DesktopService whose Service was made from another spec should not be up to date.",
			kube:   targettest.Kube(oldSvc),
			want: observed{
				O:  managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: false},
				CR: desktopService(withClusterIP("None"), withConditions(xpv2.Available())),
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			cr := desktopService()
			e := &external{kube: tc.kube, namespace: "team-a"}
			targettest.CheckObserve(t, tc.reason, e, cr, tc.want)
		})
	}
}

// kind is the DesktopService's external client, for the cases that every
// kind shares.
var kind = targettest.Kind[*v1alpha1.DesktopService]{
	Kind:     "Service",
	Resource: "services",
	CR:       func() *v1alpha1.DesktopService { return desktopService() },
	Changed:  func() *v1alpha1.DesktopService { return desktopService(withPort(3000)) },
	Object:   func() client.Object { return actual(desktopService(), corev1.ClusterIPNone) },
	External: func(kube client.Client) managed.TypedExternalClient[*v1alpha1.DesktopService] {
		return &external{kube: kube, namespace: "team-a"}
	},
	Connect: func(c target.Clusters) managed.TypedExternalConnector[*v1alpha1.DesktopService] {
		return newConnector(c)
	},
}

func TestCreate(t *testing.T) {
	kind.TestCreate(t)
	svc := actual(desktopService(), corev1.ClusterIPNone)
	t.Run("InCluster", func(t *testing.T) {
		kube := targettest.Kube()
		e := &external{kube: kube, namespace: "team-a"}
		if _, err := e.Create(context.Background(), desktopService()); err != nil {
			t.Fatalf("Create(...): %v", err)
		}
		got := &corev1.Service{}
		targettest.MustGet(t, "Create should create the Service.", kube, "alice-svc", got)
		if !target.UpToDate(got, svc) {
			t.Errorf("\nCreate should create a Service made from the current spec, got hash %q", target.Hash(got))
		}
	})
}

func TestUpdate(t *testing.T) { kind.TestUpdate(t) }

func TestUpdateInCluster(t *testing.T) {
	cases := map[string]struct {
		reason string
		was    *v1alpha1.DesktopService
		is     *v1alpha1.DesktopService
	}{
		"PortChanged": {
			reason: "Update should bring the Service to the new port, keeping the cluster IP.",
			was:    desktopService(),
			is:     desktopService(withPort(3000)),
		},
		"DesktopChanged": {
			reason: "Update should point the Service at the new desktop, keeping the cluster IP.",
			was:    desktopService(),
			is:     desktopService(withDesktopName("bob-desktop")),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			svc := actual(tc.was, "10.96.0.10")
			svc.Spec.SessionAffinity = corev1.ServiceAffinityNone // Defaulted by the API server.
			kube := targettest.Kube(svc)
			e := &external{kube: kube, namespace: "team-a"}
			if _, err := e.Update(context.Background(), tc.is); err != nil {
				t.Fatalf("\n%s\nUpdate(...): %v", tc.reason, err)
			}
			got := &corev1.Service{}
			targettest.MustGet(t, tc.reason, kube, "alice-svc", got)
			want := actual(tc.is, "10.96.0.10")
			want.Spec.SessionAffinity = corev1.ServiceAffinityNone
			if diff := cmp.Diff(want.Spec, got.Spec); diff != "" {
				t.Errorf("\n%s\nUpdate(...): -want Service spec, +got Service spec:\n%s", tc.reason, diff)
			}
			o, err := e.Observe(context.Background(), tc.is)
			if err != nil {
				t.Fatalf("\n%s\nObserve(...): %v", tc.reason, err)
			}
			if diff := cmp.Diff(managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: true}, o); diff != "" {
				t.Errorf("\n%s\nObserve(...) after Update(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestDelete(t *testing.T) { kind.TestDelete(t) }
