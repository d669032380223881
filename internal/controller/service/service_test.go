package service

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/test"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/clients/target"
	"github.com/provider-vdi/provider-vdi/internal/clients/target/targettest"
)

var errBoom = errors.New("boom")

// desktopService returns the DesktopService alice-svc of namespace team-a in
// front of the desktop alice-desktop, modified by mods.
func desktopService(mods ...func(*v1alpha1.DesktopService)) *v1alpha1.DesktopService {
	s := &v1alpha1.DesktopService{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "alice-svc"},
		Spec: v1alpha1.DesktopServiceSpec{ForProvider: v1alpha1.DesktopServiceParameters{
			Owner:       v1alpha1.Owner{Session: "s1", User: "alice"},
			DesktopName: "alice-desktop",
		}},
	}
	meta.SetExternalName(s, "alice-svc")
	for _, m := range mods {
		m(s)
	}
	return s
}

func withPort(p int32) func(*v1alpha1.DesktopService) {
	return func(s *v1alpha1.DesktopService) { s.Spec.ForProvider.Port = p }
}

func withIngressNamespace(ns string) func(*v1alpha1.DesktopService) {
	return func(s *v1alpha1.DesktopService) { s.Spec.ForProvider.IngressNamespace = ns }
}

func withDesktopName(n string) func(*v1alpha1.DesktopService) {
	return func(s *v1alpha1.DesktopService) { s.Spec.ForProvider.DesktopName = n }
}

func withClusterIP(ip string) func(*v1alpha1.DesktopService) {
	return func(s *v1alpha1.DesktopService) { s.Status.AtProvider.ClusterIP = ip }
}

func withConditions(c ...xpv2.Condition) func(*v1alpha1.DesktopService) {
	return func(s *v1alpha1.DesktopService) { s.SetConditions(c...) }
}

func objectMeta() metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Namespace: "team-a",
		Name:      "alice-svc",
		Labels: map[string]string{
			"app.kubernetes.io/managed-by": "provider-vdi",
			"app.kubernetes.io/component":  "service",
			"vdi.kasm.io/session":          "s1",
			"vdi.kasm.io/user":             "alice",
		},
		Annotations: map[string]string{"vdi.m.kasm.io/managed-resource": "team-a/alice-svc"},
	}
}

// ignoreHash leaves the spec hash out of a comparison; TestSpecHash covers it.
var ignoreHash = cmpopts.IgnoreMapEntries(func(k, _ string) bool { return k == v1alpha1.AnnotationSpecHash })

// actual returns the Service and NetworkPolicy made of cr in namespace
// desktops, as read back from the cluster: the Service has a cluster IP.
func actual(cr *v1alpha1.DesktopService, clusterIP string) (*corev1.Service, *networkingv1.NetworkPolicy) {
	svc := buildService(cr, "team-a")
	svc.Spec.ClusterIP = clusterIP
	if clusterIP != "" {
		svc.Spec.ClusterIPs = []string{clusterIP}
	}
	return svc, buildPolicy(cr, "team-a")
}

// errNotOurs is the error for an object alice-svc in namespace desktops that
// provider-vdi did not make.
func errNotOurs(kind string) error {
	return targettest.ErrNotOurs(kind, "alice-svc", "team-a")
}

// errOthers is the error for an object alice-svc in namespace desktops that
// the DesktopService other made.
func errOthers(kind, other string) error {
	return targettest.ErrOthers(kind, "alice-svc", "team-a", other, "team-a/alice-svc")
}

// TestConnect checks what this kind's connector makes of a connected
// cluster; common's tests cover the connector itself, errors included.
func TestConnect(t *testing.T) {
	kube := &test.MockClient{}
	cases := map[string]struct {
		reason   string
		clusters target.Clusters
		want     managed.TypedExternalClient[*v1alpha1.DesktopService]
		err      error
	}{

		"Connected": {
			reason:   "The external client should use the target cluster's client and the namespace it resolves for the DesktopService.",
			clusters: targettest.Clusters{Cluster: &target.Cluster{Client: kube}},
			want:     &external{kube: kube, namespace: "team-a"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := newConnector(tc.clusters)
			got, err := c.Connect(context.Background(), desktopService())
			if diff := cmp.Diff(tc.err, err, test.EquateErrors()); diff != "" {
				t.Errorf("\n%s\nConnect(...): -want error, +got error:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(external{}), cmp.Comparer(func(a, b client.Client) bool { return a == b })); diff != "" {
				t.Errorf("\n%s\nConnect(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestBuildService(t *testing.T) {
	cases := map[string]struct {
		reason string
		cr     *v1alpha1.DesktopService
		want   *corev1.Service
	}{
		"DefaultPort": {
			reason: "A DesktopService without a port should serve the desktop's port 8080 and select the desktop Pod by name.",
			cr:     desktopService(),
			want: &corev1.Service{
				ObjectMeta: objectMeta(),
				Spec: corev1.ServiceSpec{
					Type:     corev1.ServiceTypeClusterIP,
					Selector: map[string]string{"vdi.kasm.io/desktop": "alice-desktop"},
					Ports:    []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 8080, TargetPort: intstr.FromInt32(8080)}},
				},
			},
		},
		"Port": {
			reason: "A DesktopService's port should be both the Service port and the target port.",
			cr:     desktopService(withPort(3000), withDesktopName("bob-desktop")),
			want: &corev1.Service{
				ObjectMeta: objectMeta(),
				Spec: corev1.ServiceSpec{
					Type:     corev1.ServiceTypeClusterIP,
					Selector: map[string]string{"vdi.kasm.io/desktop": "bob-desktop"},
					Ports:    []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 3000, TargetPort: intstr.FromInt32(3000)}},
				},
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := buildService(tc.cr, "team-a")
			if diff := cmp.Diff(tc.want, got, ignoreHash); diff != "" {
				t.Errorf("\n%s\nbuildService(...): -want, +got:\n%s", tc.reason, diff)
			}
			if target.Hash(got) == "" {
				t.Errorf("\n%s\nbuildService(...): want the Service stamped with its spec hash, got none", tc.reason)
			}
		})
	}
}

func TestBuildPolicy(t *testing.T) {
	policy := func(ingressNS string, port int32) *networkingv1.NetworkPolicy {
		return &networkingv1.NetworkPolicy{
			ObjectMeta: objectMeta(),
			Spec: networkingv1.NetworkPolicySpec{
				PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"vdi.kasm.io/desktop": "alice-desktop"}},
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
				Ingress: []networkingv1.NetworkPolicyIngressRule{{
					From: []networkingv1.NetworkPolicyPeer{{
						NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": ingressNS}},
					}},
					Ports: []networkingv1.NetworkPolicyPort{{Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(intstr.FromInt32(port))}},
				}},
			},
		}
	}
	cases := map[string]struct {
		reason string
		cr     *v1alpha1.DesktopService
		want   *networkingv1.NetworkPolicy
	}{
		"Defaults": {
			reason: "By default only the traefik namespace should reach the desktop, and only on port 8080.",
			cr:     desktopService(),
			want:   policy("traefik", 8080),
		},
		"IngressNamespaceAndPort": {
			reason: "The ingress namespace and port of the DesktopService should be the only way in.",
			cr:     desktopService(withIngressNamespace("ingress-nginx"), withPort(3000)),
			want:   policy("ingress-nginx", 3000),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := buildPolicy(tc.cr, "team-a")
			if diff := cmp.Diff(tc.want, got, ignoreHash); diff != "" {
				t.Errorf("\n%s\nbuildPolicy(...): -want, +got:\n%s", tc.reason, diff)
			}
			if target.Hash(got) == "" {
				t.Errorf("\n%s\nbuildPolicy(...): want the NetworkPolicy stamped with its spec hash, got none", tc.reason)
			}
		})
	}
}

func TestSpecHash(t *testing.T) {
	cases := map[string]struct {
		reason     string
		a, b       *v1alpha1.DesktopService
		sameSvc    bool
		samePolicy bool
	}{
		"Same": {
			reason:     "The same DesktopService should hash the same.",
			a:          desktopService(withPort(3000)),
			b:          desktopService(withPort(3000)),
			sameSvc:    true,
			samePolicy: true,
		},
		"PortChanged": {
			reason: "A new port should change both hashes.",
			a:      desktopService(),
			b:      desktopService(withPort(3000)),
		},
		"DesktopChanged": {
			reason: "A new desktop should change both hashes, since both select it.",
			a:      desktopService(),
			b:      desktopService(withDesktopName("bob-desktop")),
		},
		"IngressNamespaceChanged": {
			reason:  "A new ingress namespace should change only the NetworkPolicy's hash.",
			a:       desktopService(),
			b:       desktopService(withIngressNamespace("ingress-nginx")),
			sameSvc: true,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			svcA, svcB := target.Hash(buildService(tc.a, "team-a")), target.Hash(buildService(tc.b, "team-a"))
			if diff := cmp.Diff(tc.sameSvc, svcA == svcB); diff != "" {
				t.Errorf("\n%s\nService hashes %q and %q equal: -want, +got:\n%s", tc.reason, svcA, svcB, diff)
			}
			npA, npB := target.Hash(buildPolicy(tc.a, "team-a")), target.Hash(buildPolicy(tc.b, "team-a"))
			if diff := cmp.Diff(tc.samePolicy, npA == npB); diff != "" {
				t.Errorf("\n%s\nNetworkPolicy hashes %q and %q equal: -want, +got:\n%s", tc.reason, npA, npB, diff)
			}
		})
	}
}

// getFn returns a MockGetFn that reads Services as svc and NetworkPolicies as
// np, or fails them with svcErr and npErr. A nil object reads as NotFound.
func getFn(svc *corev1.Service, svcErr error, np *networkingv1.NetworkPolicy, npErr error) test.MockGetFn {
	return func(_ context.Context, key client.ObjectKey, o client.Object) error {
		switch o := o.(type) {
		case *corev1.Service:
			if svcErr != nil {
				return svcErr
			}
			if svc == nil {
				return targettest.NotFound("services", key.Name)
			}
			svc.DeepCopyInto(o)
		case *networkingv1.NetworkPolicy:
			if npErr != nil {
				return npErr
			}
			if np == nil {
				return targettest.NotFound("networkpolicies", key.Name)
			}
			np.DeepCopyInto(o)
		}
		return nil
	}
}

// byKind returns an error for objects of the kind of errOn, nil for others.
func byKind(errOn client.Object, err error) func(o client.Object) error {
	return func(o client.Object) error {
		switch errOn.(type) {
		case *corev1.Service:
			if _, ok := o.(*corev1.Service); ok {
				return err
			}
		case *networkingv1.NetworkPolicy:
			if _, ok := o.(*networkingv1.NetworkPolicy); ok {
				return err
			}
		}
		return nil
	}
}

func TestObserve(t *testing.T) {
	svc, np := actual(desktopService(), "10.96.0.10")
	pendingSvc, _ := actual(desktopService(), "")
	oldSvc, _ := actual(desktopService(withPort(3000)), "10.96.0.10")
	_, oldNP := actual(desktopService(withIngressNamespace("ingress-nginx")), "")

	type want struct {
		o   managed.ExternalObservation
		err error
		cr  *v1alpha1.DesktopService
	}
	cases := map[string]struct {
		reason string
		kube   client.Client
		want   want
	}{
		"ServiceMissing": {
			reason: "A DesktopService whose Service does not exist should not exist.",
			kube:   targettest.Kube(np),
			want:   want{o: managed.ExternalObservation{ResourceExists: false}, cr: desktopService()},
		},
		"PolicyMissing": {
			reason: "A DesktopService whose NetworkPolicy does not exist should not exist, so that Create makes it.",
			kube:   targettest.Kube(svc),
			want:   want{o: managed.ExternalObservation{ResourceExists: false}, cr: desktopService()},
		},
		"ServiceNotOurs": {
			reason: "A Service of the DesktopService's name that provider-vdi did not make should be an error, not taken for it.",
			kube:   targettest.Kube(targettest.OwnedBy(svc, ""), np),
			want:   want{err: errNotOurs("Service"), cr: desktopService()},
		},
		"PolicyOfOtherService": {
			reason: "A NetworkPolicy that another DesktopService made should be an error, not taken over.",
			kube:   targettest.Kube(svc, targettest.OwnedBy(np, "team-b/alice-svc")),
			want:   want{err: errOthers("NetworkPolicy", "team-b/alice-svc"), cr: desktopService()},
		},
		"PolicyNotOursServiceMissing": {
			reason: "A NetworkPolicy that provider-vdi did not make should be an error even when the Service is missing, rather than read as a DesktopService to create.",
			kube:   targettest.Kube(targettest.OwnedBy(np, "")),
			want:   want{err: errNotOurs("NetworkPolicy"), cr: desktopService()},
		},
		"GetServiceError": {
			reason: "An error reading the Service should be returned.",
			kube:   &test.MockClient{MockGet: getFn(nil, errBoom, np, nil)},
			want:   want{err: errors.Wrapf(errBoom, "cannot get %s %q", "Service", "alice-svc"), cr: desktopService()},
		},
		"GetPolicyError": {
			reason: "An error reading the NetworkPolicy should be returned.",
			kube:   &test.MockClient{MockGet: getFn(svc, nil, nil, errBoom)},
			want:   want{err: errors.Wrapf(errBoom, "cannot get %s %q", "NetworkPolicy", "alice-svc"), cr: desktopService()},
		},
		"Available": {
			reason: "A DesktopService whose Service has a cluster IP should be Available, up to date, and report the IP.",
			kube:   targettest.Kube(svc, np),
			want: want{
				o:  managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: true},
				cr: desktopService(withClusterIP("10.96.0.10"), withConditions(xpv2.Available())),
			},
		},
		"NoClusterIP": {
			reason: "A DesktopService whose Service has no cluster IP yet should be Unavailable saying so.",
			kube:   targettest.Kube(pendingSvc, np),
			want: want{
				o:  managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: true},
				cr: desktopService(withConditions(xpv2.Unavailable().WithMessage("the Service has no cluster IP yet"))),
			},
		},
		"ServiceChanged": {
			reason: "A DesktopService whose Service was made from another spec should not be up to date.",
			kube:   targettest.Kube(oldSvc, np),
			want: want{
				o:  managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: false},
				cr: desktopService(withClusterIP("10.96.0.10"), withConditions(xpv2.Available())),
			},
		},
		"PolicyChanged": {
			reason: "A DesktopService whose NetworkPolicy was made from another spec should not be up to date.",
			kube:   targettest.Kube(svc, oldNP),
			want: want{
				o:  managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: false},
				cr: desktopService(withClusterIP("10.96.0.10"), withConditions(xpv2.Available())),
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			cr := desktopService()
			e := &external{kube: tc.kube, namespace: "team-a"}
			got, err := e.Observe(context.Background(), cr)
			if diff := cmp.Diff(tc.want.err, err, test.EquateErrors()); diff != "" {
				t.Errorf("\n%s\nObserve(...): -want error, +got error:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.want.o, got); diff != "" {
				t.Errorf("\n%s\nObserve(...): -want, +got:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.want.cr, cr, test.EquateConditions()); diff != "" {
				t.Errorf("\n%s\nObserve(...): -want DesktopService, +got DesktopService:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestCreate(t *testing.T) {
	svc, np := actual(desktopService(), "10.96.0.10")
	type want struct {
		err     error
		created []string
	}
	alreadyExists := func(resource string) error {
		return kerrors.NewAlreadyExists(schema.GroupResource{Resource: resource}, "alice-svc")
	}
	cases := map[string]struct {
		reason string
		get    test.MockGetFn
		errOn  client.Object
		err    error
		want   want
	}{
		"CreatesBoth": {
			reason: "Create should create the Service and the NetworkPolicy.",
			want:   want{created: []string{"Service", "NetworkPolicy"}},
		},
		"ServiceExists": {
			reason: "A Service that this DesktopService made already should count as created, and the NetworkPolicy still be created.",
			get:    getFn(svc, nil, nil, nil),
			errOn:  &corev1.Service{},
			err:    alreadyExists("services"),
			want:   want{created: []string{"Service", "NetworkPolicy"}},
		},
		"ServiceExistsNotOurs": {
			reason: "A Service of the same name that provider-vdi did not make should be an error, and the NetworkPolicy not created.",
			get:    getFn(targettest.OwnedBy(svc, ""), nil, nil, nil),
			errOn:  &corev1.Service{},
			err:    alreadyExists("services"),
			want:   want{err: errNotOurs("Service"), created: []string{"Service"}},
		},
		"PolicyExistsOfOtherService": {
			reason: "A NetworkPolicy of the same name that another DesktopService made should be an error.",
			get:    getFn(svc, nil, targettest.OwnedBy(np, "team-b/alice-svc"), nil),
			errOn:  &networkingv1.NetworkPolicy{},
			err:    alreadyExists("networkpolicies"),
			want:   want{err: errOthers("NetworkPolicy", "team-b/alice-svc"), created: []string{"Service", "NetworkPolicy"}},
		},
		"ServiceError": {
			reason: "An error creating the Service should be returned, and the NetworkPolicy not created.",
			errOn:  &corev1.Service{},
			err:    errBoom,
			want:   want{err: errors.Wrapf(errBoom, "cannot create %s %q", "Service", "alice-svc"), created: []string{"Service"}},
		},
		"PolicyError": {
			reason: "An error creating the NetworkPolicy should be returned.",
			errOn:  &networkingv1.NetworkPolicy{},
			err:    errBoom,
			want:   want{err: errors.Wrapf(errBoom, "cannot create %s %q", "NetworkPolicy", "alice-svc"), created: []string{"Service", "NetworkPolicy"}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var created []string
			fail := byKind(tc.errOn, tc.err)
			kube := &test.MockClient{
				MockGet: tc.get,
				MockCreate: func(_ context.Context, o client.Object, _ ...client.CreateOption) error {
					switch o.(type) {
					case *corev1.Service:
						created = append(created, "Service")
					case *networkingv1.NetworkPolicy:
						created = append(created, "NetworkPolicy")
					}
					return fail(o)
				},
			}
			e := &external{kube: kube, namespace: "team-a"}
			_, err := e.Create(context.Background(), desktopService())
			if diff := cmp.Diff(tc.want.err, err, test.EquateErrors()); diff != "" {
				t.Errorf("\n%s\nCreate(...): -want error, +got error:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.want.created, created); diff != "" {
				t.Errorf("\n%s\nCreate(...): -want created, +got created:\n%s", tc.reason, diff)
			}
		})
	}

	t.Run("InCluster", func(t *testing.T) {
		kube := targettest.Kube()
		e := &external{kube: kube, namespace: "team-a"}
		if _, err := e.Create(context.Background(), desktopService()); err != nil {
			t.Fatalf("Create(...): %v", err)
		}
		gotSvc, gotNP := &corev1.Service{}, &networkingv1.NetworkPolicy{}
		key := types.NamespacedName{Namespace: "team-a", Name: "alice-svc"}
		if err := kube.Get(context.Background(), key, gotSvc); err != nil {
			t.Fatalf("\nCreate should create the Service\nGet(...): %v", err)
		}
		if err := kube.Get(context.Background(), key, gotNP); err != nil {
			t.Fatalf("\nCreate should create the NetworkPolicy\nGet(...): %v", err)
		}
		if !target.UpToDate(gotSvc, svc) || !target.UpToDate(gotNP, np) {
			t.Errorf("\nCreate should create objects made from the current spec, got hashes %q and %q", target.Hash(gotSvc), target.Hash(gotNP))
		}
	})
}

func TestUpdate(t *testing.T) {
	svc, np := actual(desktopService(), "10.96.0.10")
	type want struct {
		err     error
		updated []string
	}
	cases := map[string]struct {
		reason string
		get    test.MockGetFn
		errOn  client.Object
		want   want
	}{
		"UpdatesBoth": {
			reason: "Update should write the Service and then the NetworkPolicy.",
			get:    getFn(svc, nil, np, nil),
			want:   want{updated: []string{"Service", "NetworkPolicy"}},
		},
		"GetServiceError": {
			reason: "An error reading the Service should be returned, and nothing written.",
			get:    getFn(nil, errBoom, np, nil),
			want:   want{err: errors.Wrapf(errBoom, "cannot get %s %q", "Service", "alice-svc")},
		},
		"UpdateServiceError": {
			reason: "An error writing the Service should be returned, and the NetworkPolicy not written.",
			get:    getFn(svc, nil, np, nil),
			errOn:  &corev1.Service{},
			want:   want{err: errors.Wrapf(errBoom, "cannot update %s %q", "Service", "alice-svc"), updated: []string{"Service"}},
		},
		"GetPolicyError": {
			reason: "An error reading the NetworkPolicy should be returned.",
			get:    getFn(svc, nil, nil, errBoom),
			want:   want{err: errors.Wrapf(errBoom, "cannot get %s %q", "NetworkPolicy", "alice-svc"), updated: []string{"Service"}},
		},
		"UpdatePolicyError": {
			reason: "An error writing the NetworkPolicy should be returned.",
			get:    getFn(svc, nil, np, nil),
			errOn:  &networkingv1.NetworkPolicy{},
			want:   want{err: errors.Wrapf(errBoom, "cannot update %s %q", "NetworkPolicy", "alice-svc"), updated: []string{"Service", "NetworkPolicy"}},
		},
		"ServiceNotOurs": {
			reason: "Update should refuse a Service of the same name that provider-vdi did not make, and write nothing.",
			get:    getFn(targettest.OwnedBy(svc, ""), nil, np, nil),
			want:   want{err: errNotOurs("Service")},
		},
		"PolicyOfOtherService": {
			reason: "Update should refuse a NetworkPolicy that another DesktopService made, and not write it.",
			get:    getFn(svc, nil, targettest.OwnedBy(np, "team-b/alice-svc"), nil),
			want:   want{err: errOthers("NetworkPolicy", "team-b/alice-svc"), updated: []string{"Service"}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var updated []string
			fail := byKind(tc.errOn, errBoom)
			kube := &test.MockClient{
				MockGet: tc.get,
				MockUpdate: func(_ context.Context, o client.Object, _ ...client.UpdateOption) error {
					switch o.(type) {
					case *corev1.Service:
						updated = append(updated, "Service")
					case *networkingv1.NetworkPolicy:
						updated = append(updated, "NetworkPolicy")
					}
					return fail(o)
				},
			}
			e := &external{kube: kube, namespace: "team-a"}
			_, err := e.Update(context.Background(), desktopService(withPort(3000)))
			if diff := cmp.Diff(tc.want.err, err, test.EquateErrors()); diff != "" {
				t.Errorf("\n%s\nUpdate(...): -want error, +got error:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.want.updated, updated); diff != "" {
				t.Errorf("\n%s\nUpdate(...): -want updated, +got updated:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestUpdateInCluster(t *testing.T) {
	cases := map[string]struct {
		reason string
		was    *v1alpha1.DesktopService
		is     *v1alpha1.DesktopService
	}{
		"PortChanged": {
			reason: "Update should bring the Service and NetworkPolicy to the new port, keeping the cluster IP.",
			was:    desktopService(),
			is:     desktopService(withPort(3000)),
		},
		"DesktopChanged": {
			reason: "Update should point the Service and NetworkPolicy at the new desktop, keeping the cluster IP.",
			was:    desktopService(),
			is:     desktopService(withDesktopName("bob-desktop")),
		},
		"IngressNamespaceChanged": {
			reason: "Update should admit the new ingress namespace.",
			was:    desktopService(),
			is:     desktopService(withIngressNamespace("ingress-nginx")),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			svc, np := actual(tc.was, "10.96.0.10")
			svc.Spec.SessionAffinity = corev1.ServiceAffinityNone // Defaulted by the API server.
			kube := targettest.Kube(svc, np)
			e := &external{kube: kube, namespace: "team-a"}
			if _, err := e.Update(context.Background(), tc.is); err != nil {
				t.Fatalf("\n%s\nUpdate(...): %v", tc.reason, err)
			}

			gotSvc, gotNP := &corev1.Service{}, &networkingv1.NetworkPolicy{}
			key := types.NamespacedName{Namespace: "team-a", Name: "alice-svc"}
			if err := kube.Get(context.Background(), key, gotSvc); err != nil {
				t.Fatalf("\n%s\nGet(...): %v", tc.reason, err)
			}
			if err := kube.Get(context.Background(), key, gotNP); err != nil {
				t.Fatalf("\n%s\nGet(...): %v", tc.reason, err)
			}

			wantSvc, wantNP := actual(tc.is, "10.96.0.10")
			wantSvc.Spec.SessionAffinity = corev1.ServiceAffinityNone
			if diff := cmp.Diff(wantSvc.Spec, gotSvc.Spec); diff != "" {
				t.Errorf("\n%s\nUpdate(...): -want Service spec, +got Service spec:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(wantNP.Spec, gotNP.Spec); diff != "" {
				t.Errorf("\n%s\nUpdate(...): -want NetworkPolicy spec, +got NetworkPolicy spec:\n%s", tc.reason, diff)
			}
			if !target.UpToDate(gotSvc, wantSvc) || !target.UpToDate(gotNP, wantNP) {
				t.Errorf("\n%s\nUpdate(...): want both objects stamped with the new spec's hash", tc.reason)
			}

			// A new Observe should now find the DesktopService up to date.
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

func TestDelete(t *testing.T) {
	svc, np := actual(desktopService(), "10.96.0.10")
	both := getFn(svc, nil, np, nil)
	type want struct {
		err     error
		deleted []string
	}
	cases := map[string]struct {
		reason string
		get    test.MockGetFn
		errOn  client.Object
		err    error
		want   want
	}{
		"DeletesBoth": {
			reason: "Delete should delete the Service and the NetworkPolicy.",
			get:    both,
			want:   want{deleted: []string{"Service", "NetworkPolicy"}},
		},
		"ServiceAlreadyGone": {
			reason: "A Service that is already gone should count as deleted, and the NetworkPolicy still be deleted.",
			get:    getFn(nil, nil, np, nil),
			want:   want{deleted: []string{"NetworkPolicy"}},
		},
		"ServiceGoneBeforeDelete": {
			reason: "A Service that is gone by the time it is deleted should count as deleted, and the NetworkPolicy still be deleted.",
			get:    both,
			errOn:  &corev1.Service{},
			err:    targettest.NotFound("services", "alice-svc"),
			want:   want{deleted: []string{"Service", "NetworkPolicy"}},
		},
		"ServiceError": {
			reason: "An error deleting the Service should be returned, and the NetworkPolicy kept.",
			get:    both,
			errOn:  &corev1.Service{},
			err:    errBoom,
			want:   want{err: errors.Wrapf(errBoom, "cannot delete %s %q", "Service", "alice-svc"), deleted: []string{"Service"}},
		},
		"PolicyError": {
			reason: "An error deleting the NetworkPolicy should be returned.",
			get:    both,
			errOn:  &networkingv1.NetworkPolicy{},
			err:    errBoom,
			want:   want{err: errors.Wrapf(errBoom, "cannot delete %s %q", "NetworkPolicy", "alice-svc"), deleted: []string{"Service", "NetworkPolicy"}},
		},
		"ServiceNotOurs": {
			reason: "Delete should refuse to delete a Service of the same name that provider-vdi did not make, and delete nothing.",
			get:    getFn(targettest.OwnedBy(svc, ""), nil, np, nil),
			want:   want{err: errNotOurs("Service")},
		},
		"PolicyOfOtherService": {
			reason: "Delete should delete its own Service but refuse to delete a NetworkPolicy that another DesktopService made.",
			get:    getFn(svc, nil, targettest.OwnedBy(np, "team-b/alice-svc"), nil),
			want:   want{err: errOthers("NetworkPolicy", "team-b/alice-svc"), deleted: []string{"Service"}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var deleted []string
			fail := byKind(tc.errOn, tc.err)
			kube := &test.MockClient{
				MockGet: tc.get,
				MockDelete: func(_ context.Context, o client.Object, _ ...client.DeleteOption) error {
					switch o.(type) {
					case *corev1.Service:
						deleted = append(deleted, "Service")
					case *networkingv1.NetworkPolicy:
						deleted = append(deleted, "NetworkPolicy")
					}
					return fail(o)
				},
			}
			e := &external{kube: kube, namespace: "team-a"}
			_, err := e.Delete(context.Background(), desktopService())
			if diff := cmp.Diff(tc.want.err, err, test.EquateErrors()); diff != "" {
				t.Errorf("\n%s\nDelete(...): -want error, +got error:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.want.deleted, deleted); diff != "" {
				t.Errorf("\n%s\nDelete(...): -want deleted, +got deleted:\n%s", tc.reason, diff)
			}
		})
	}

	t.Run("InCluster", func(t *testing.T) {
		svc, np := actual(desktopService(), "10.96.0.10")
		kube := targettest.Kube(svc, np)
		e := &external{kube: kube, namespace: "team-a"}
		if _, err := e.Delete(context.Background(), desktopService()); err != nil {
			t.Fatalf("Delete(...): %v", err)
		}
		key := types.NamespacedName{Namespace: "team-a", Name: "alice-svc"}
		if err := kube.Get(context.Background(), key, &corev1.Service{}); !kerrors.IsNotFound(err) {
			t.Errorf("\nDelete should delete the Service\nGet(...): %v", err)
		}
		if err := kube.Get(context.Background(), key, &networkingv1.NetworkPolicy{}); !kerrors.IsNotFound(err) {
			t.Errorf("\nDelete should delete the NetworkPolicy\nGet(...): %v", err)
		}
	})
}
