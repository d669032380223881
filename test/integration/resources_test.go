//go:build integration

package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/test/poll"
)

// conditioned is a managed resource as far as these tests read it.
type conditioned interface {
	client.Object
	GetCondition(xpv2.ConditionType) xpv2.Condition
}

func ready(ctx context.Context, mg conditioned) (bool, string, error) {
	if err := kube.Get(ctx, client.ObjectKeyFromObject(mg), mg); err != nil {
		return false, "", err
	}
	r, s := mg.GetCondition(xpv2.TypeReady), mg.GetCondition(xpv2.TypeSynced)
	return r.Status == corev1.ConditionTrue, fmt.Sprintf("ready %s %s; synced %s %s", r.Status, r.Message, s.Status, s.Message), nil
}

// edit reads o afresh into itself, changes it and writes it back.
func edit[T client.Object](t *testing.T, o T, change func(T)) {
	t.Helper()
	ctx := context.Background()
	if err := kube.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil {
		t.Fatal(err)
	}
	change(o)
	if err := kube.Update(ctx, o); err != nil {
		t.Fatalf("cannot update %T %q: %v", o, o.GetName(), err)
	}
}

func gone(ctx context.Context, o client.Object) (bool, string, error) {
	err := kube.Get(ctx, client.ObjectKeyFromObject(o), o)
	return kerrors.IsNotFound(err), fmt.Sprint(err), nil
}

func TestDesktopVolume(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t, "volume")

	// A statically provisioned, expandable volume, so that the claim binds
	// (kube-controller-manager binds it) and may grow.
	sc := &storagev1.StorageClass{
		ObjectMeta:           metav1.ObjectMeta{Name: "expandable"},
		Provisioner:          "kubernetes.io/no-provisioner",
		AllowVolumeExpansion: ptr.To(true),
	}
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "home-pv"},
		Spec: corev1.PersistentVolumeSpec{
			StorageClassName:       "expandable",
			AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("50Gi")},
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/tmp/home-pv"}},
		},
	}
	if err := kube.Create(ctx, sc); err != nil {
		t.Fatal(err)
	}

	v := &v1alpha1.DesktopVolume{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "alice-home"},
		Spec: v1alpha1.DesktopVolumeSpec{ForProvider: v1alpha1.DesktopVolumeParameters{
			Owner:            v1alpha1.Owner{Session: "alice-dev", User: "alice"},
			Size:             resource.MustParse("10Gi"),
			StorageClassName: ptr.To("expandable"),
		}},
	}
	if err := kube.Create(ctx, v); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "DesktopVolume is Ready", timeout, func(ctx context.Context) (bool, string, error) { return ready(ctx, v) })
	if v.Status.AtProvider.Phase != corev1.ClaimPending {
		t.Fatalf("with no volume to bind, the claim should be Pending, got %q", v.Status.AtProvider.Phase)
	}
	// Only now is there a volume for the claim to bind.
	if err := kube.Create(ctx, pv); err != nil {
		t.Fatal(err)
	}
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "alice-home"}}
	poll.Until(t, "claim is bound", timeout, func(ctx context.Context) (bool, string, error) {
		err := kube.Get(ctx, client.ObjectKeyFromObject(pvc), pvc)
		return err == nil && pvc.Status.Phase == corev1.ClaimBound, fmt.Sprintf("%v %s", err, pvc.Status.Phase), nil
	})

	// The claim's binding shows on the DesktopVolume from the watch on
	// home claims: the provider polls only every 10m.
	poll.Until(t, "DesktopVolume shows the claim Bound", timeout, func(ctx context.Context) (bool, string, error) {
		if err := kube.Get(ctx, client.ObjectKeyFromObject(v), v); err != nil {
			return false, "", err
		}
		return v.Status.AtProvider.Phase == corev1.ClaimBound, "phase " + string(v.Status.AtProvider.Phase), nil
	})

	// Growing the volume raises the claim's request.
	v.Spec.ForProvider.Size = resource.MustParse("20Gi")
	if err := kube.Update(ctx, v); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "claim grows to 20Gi", timeout, func(ctx context.Context) (bool, string, error) {
		if err := kube.Get(ctx, client.ObjectKeyFromObject(pvc), pvc); err != nil {
			return false, "", err
		}
		got := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
		return got.Cmp(resource.MustParse("20Gi")) == 0, "request " + got.String(), nil
	})

	// Shrinking is refused with a clear condition, and nothing changes.
	edit(t, v, func(v *v1alpha1.DesktopVolume) { v.Spec.ForProvider.Size = resource.MustParse("5Gi") })
	poll.Until(t, "shrink is refused", timeout, poll.SyncedFalse(kube, v, "cannot shrink"))
	if err := kube.Get(ctx, client.ObjectKeyFromObject(pvc), pvc); err != nil {
		t.Fatal(err)
	}
	if got := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; got.Cmp(resource.MustParse("20Gi")) != 0 {
		t.Errorf("a refused shrink changed the claim: request %s", got.String())
	}

	if err := kube.Delete(ctx, v); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "claim is deleted", timeout, func(ctx context.Context) (bool, string, error) {
		return gone(ctx, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "alice-home"}})
	})
}

func TestDesktopServiceAndRoute(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t, "service")
	owner := v1alpha1.Owner{Session: "alice-dev", User: "alice"}

	svc := &v1alpha1.DesktopService{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "alice-dev"},
		Spec: v1alpha1.DesktopServiceSpec{ForProvider: v1alpha1.DesktopServiceParameters{
			Owner: owner, DesktopName: "alice-dev", Port: 8080,
		}},
	}
	host := v1alpha1.HostLabel(owner.Session, ns) + ".vdi.example.org"
	rt := &v1alpha1.DesktopRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "alice-dev"},
		Spec: v1alpha1.DesktopRouteSpec{ForProvider: v1alpha1.DesktopRouteParameters{
			Owner: owner, Host: host, EntryPoints: []string{"websecure"},
			TLS: &v1alpha1.RouteTLS{CertResolver: "letsencrypt"}, ServiceName: "alice-dev", ServicePort: 8080,
		}},
	}
	for _, o := range []client.Object{svc, rt} {
		if err := kube.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	poll.Until(t, "DesktopService is Ready", timeout, func(ctx context.Context) (bool, string, error) { return ready(ctx, svc) })
	poll.Until(t, "DesktopRoute is Ready", timeout, func(ctx context.Context) (bool, string, error) { return ready(ctx, rt) })

	s := &corev1.Service{}
	if err := kube.Get(ctx, types.NamespacedName{Namespace: ns, Name: "alice-dev"}, s); err != nil {
		t.Fatal(err)
	}
	// The Service serves the desktop's port but forwards to the gate in
	// front of the desktop, never to the desktop itself.
	if s.Spec.Selector[v1alpha1.LabelDesktop] != "alice-dev" || s.Spec.Ports[0].Port != 8080 || s.Spec.Ports[0].TargetPort.IntValue() != int(v1alpha1.GatePort) || s.Spec.ClusterIP == "" {
		t.Errorf("Service: selector %v ports %v clusterIP %q", s.Spec.Selector, s.Spec.Ports, s.Spec.ClusterIP)
	}
	ir := &unstructured.Unstructured{}
	ir.SetAPIVersion("traefik.io/v1alpha1")
	ir.SetKind("IngressRoute")
	if err := kube.Get(ctx, types.NamespacedName{Namespace: ns, Name: "alice-dev"}, ir); err != nil {
		t.Fatal(err)
	}
	match, _, _ := unstructured.NestedSlice(ir.Object, "spec", "routes")
	if len(match) != 1 || !strings.Contains(fmt.Sprint(match[0]), "Host(`"+host+"`)") {
		t.Errorf("IngressRoute routes: %v", match)
	}
	if rt.Status.AtProvider.URL != "https://"+host+"/" {
		t.Errorf("DesktopRoute url: got %q", rt.Status.AtProvider.URL)
	}

	// A port change updates the Service in place, keeping its cluster IP.
	ip := s.Spec.ClusterIP
	svc.Spec.ForProvider.Port = 8443
	if err := kube.Update(ctx, svc); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "Service port is updated", timeout, func(ctx context.Context) (bool, string, error) {
		if err := kube.Get(ctx, client.ObjectKeyFromObject(s), s); err != nil {
			return false, "", err
		}
		return s.Spec.Ports[0].Port == 8443 && s.Spec.ClusterIP == ip, fmt.Sprintf("port %d ip %s", s.Spec.Ports[0].Port, s.Spec.ClusterIP), nil
	})

	for _, o := range []client.Object{svc, rt} {
		if err := kube.Delete(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	poll.Until(t, "Service and IngressRoute are deleted", timeout, func(ctx context.Context) (bool, string, error) {
		a, _, _ := gone(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "alice-dev"}})
		c, _, _ := gone(ctx, ir)
		return a && c, fmt.Sprintf("service gone %v, route gone %v", a, c), nil
	})
}

// TestRouteHostOfAnotherNamespace holds that a DesktopRoute cannot serve at
// the host of another namespace's session: sessions a-b in namespace c and
// a in namespace b-c once shared a host.
func TestRouteHostOfAnotherNamespace(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t, "shadow")
	victim := v1alpha1.HostLabel("alice-dev", "team-b") + ".vdi.example.org"
	rt := &v1alpha1.DesktopRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "alice-dev"},
		Spec: v1alpha1.DesktopRouteSpec{ForProvider: v1alpha1.DesktopRouteParameters{
			Owner: v1alpha1.Owner{Session: "alice-dev", User: "mallory"}, Host: victim, ServiceName: "alice-dev",
		}},
	}
	if err := kube.Create(ctx, rt); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "Synced=False refuses the host", timeout, poll.SyncedFalse(kube, rt, "a route may not serve another session's host"))
	ir := &unstructured.Unstructured{}
	ir.SetAPIVersion("traefik.io/v1alpha1")
	ir.SetKind("IngressRoute")
	if err := kube.Get(ctx, types.NamespacedName{Namespace: ns, Name: "alice-dev"}, ir); err == nil {
		t.Errorf("an IngressRoute was made for another namespace's host")
	}
}

// createDesktopService creates the DesktopService of user's session
// <user>-dev in namespace ns, in front of the desktop of the same name.
func createDesktopService(t *testing.T, ns, user string) *v1alpha1.DesktopService {
	t.Helper()
	svc := &v1alpha1.DesktopService{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: user + "-dev"},
		Spec: v1alpha1.DesktopServiceSpec{ForProvider: v1alpha1.DesktopServiceParameters{
			Owner: v1alpha1.Owner{Session: user + "-dev", User: user}, DesktopName: user + "-dev",
		}},
	}
	if err := kube.Create(context.Background(), svc); err != nil {
		t.Fatal(err)
	}
	return svc
}

// TestForeignObjectIsLeftAlone holds that an object the provider did not
// make, named like one it would make, is neither adopted, changed nor
// deleted: the managed resource says why it is not synced, and deleting it
// leaves the object be.
func TestForeignObjectIsLeftAlone(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t, "foreign")
	theirs := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bob-dev", Labels: map[string]string{"app": "bobs-database"}},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "bobs-database"},
			Ports:    []corev1.ServicePort{{Name: "sql", Port: 5432}},
		},
	}
	if err := kube.Create(ctx, theirs); err != nil {
		t.Fatal(err)
	}
	svc := createDesktopService(t, ns, "bob")
	poll.Until(t, "Synced=False refuses to adopt the Service", timeout, poll.SyncedFalse(kube, svc, "was not made by provider-vdi; refusing to adopt it"))

	got := &corev1.Service{}
	if err := kube.Get(ctx, client.ObjectKeyFromObject(theirs), got); err != nil {
		t.Fatal(err)
	}
	if got.Spec.Selector["app"] != "bobs-database" || len(got.Spec.Ports) != 1 || got.Spec.Ports[0].Port != 5432 || got.Annotations[v1alpha1.AnnotationManagedResource] != "" {
		t.Errorf("the foreign Service changed: selector %v, ports %v, annotations %v", got.Spec.Selector, got.Spec.Ports, got.Annotations)
	}

	// The DesktopService never got as far as its finalizer: deleting it
	// removes it at once, and the Service stays.
	if err := kube.Delete(ctx, svc); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "DesktopService is deleted", timeout, func(ctx context.Context) (bool, string, error) { return gone(ctx, svc) })
	if err := kube.Get(ctx, client.ObjectKeyFromObject(theirs), got); err != nil {
		t.Errorf("the foreign Service is gone after its namesake DesktopService was deleted: %v", err)
	}
}

// TestDeletionNotHeldUpByForeignObject holds that a managed resource whose
// object became someone else's (here its managed-resource annotation was
// removed) is deleted without deleting that object: it is not the managed
// resource's own, and must not hold up the deletion.
func TestDeletionNotHeldUpByForeignObject(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t, "taken")
	svc := createDesktopService(t, ns, "carol")
	poll.Until(t, "DesktopService is Ready", timeout, func(ctx context.Context) (bool, string, error) { return ready(ctx, svc) })

	taken := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "carol-dev"}}
	edit(t, taken, func(s *corev1.Service) { delete(s.Annotations, v1alpha1.AnnotationManagedResource) })

	if err := kube.Delete(ctx, svc); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "DesktopService is deleted", timeout, func(ctx context.Context) (bool, string, error) { return gone(ctx, svc) })
	if err := kube.Get(ctx, client.ObjectKeyFromObject(taken), &corev1.Service{}); err != nil {
		t.Errorf("the Service that is no longer the provider's is gone after the DesktopService was deleted: %v", err)
	}
}
