package target_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/test"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/clients/target"
	"github.com/provider-vdi/provider-vdi/internal/clients/target/targettest"
)

// pod returns a Pod in namespace desktops named alice, modified by mods.
func pod(mods ...func(*corev1.Pod)) *corev1.Pod {
	return targettest.Modified(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "desktops", Name: "alice"}}, mods...)
}

func withLabels(l map[string]string) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.SetLabels(l) }
}

func withAnnotations(a map[string]string) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.SetAnnotations(a) }
}

// ours marks the Pod as made for targettest.Desktop(), which ObjectMeta records as
// team-a/alice.
func ours() func(*corev1.Pod) { return targettest.Owner[*corev1.Pod]("team-a/alice") }

func withPodUID(uid string) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.SetUID(types.UID(uid)) }
}

func withImage(image string) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Spec.Containers = []corev1.Container{{Name: "desktop", Image: image}} }
}

func withDeletionTimestamp() func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		now := metav1.Now()
		p.SetDeletionTimestamp(&now)
	}
}

// stamped stamps the Pod with the hash of its own spec.
func stamped() func(*corev1.Pod) {
	return func(p *corev1.Pod) { target.Stamp(p, p.Spec) }
}

func TestQualifiedName(t *testing.T) {
	cases := map[string]struct {
		reason                string
		mgNamespace, ns, name string
		want                  string
	}{
		"OwnNamespace": {
			reason:      "In the managed resource's own namespace the name should be kept: names are unique there.",
			mgNamespace: "team-a", ns: "team-a", name: "alice-desktop",
			want: "alice-desktop",
		},
		"SharedNamespace": {
			reason:      "In another namespace the name should carry the managed resource's namespace and the name's length.",
			mgNamespace: "team-a", ns: "desktops", name: "alice-desktop",
			want: "alice-desktop-team-a-13",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, target.QualifiedName(tc.mgNamespace, tc.ns, tc.name)); diff != "" {
				t.Errorf("\n%s\nQualifiedName(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

// TestQualifiedNameNoCollisions holds that the names of managed resources
// of different namespaces never meet in a shared namespace, for names and
// namespaces that <name>-<namespace> alone would confuse.
func TestQualifiedNameNoCollisions(t *testing.T) {
	parts := []string{"a", "b", "c", "a-b", "b-c", "a-b-c", "1", "a-1", "b-1", "c-1", "a-b-1"}
	seen := map[string]string{}
	for _, ns := range parts {
		for _, name := range parts {
			got := target.QualifiedName(ns, "shared", name)
			if prev, ok := seen[got]; ok {
				t.Errorf("QualifiedName(%q, \"shared\", %q) = %q, the same as for %s", ns, name, got, prev)
			}
			seen[got] = ns + "/" + name
		}
	}
}

func TestObjectMeta(t *testing.T) {
	type args struct {
		mg        *v1alpha1.Desktop
		ns        string
		component string
		owner     v1alpha1.Owner
	}
	cases := map[string]struct {
		reason string
		args   args
		want   metav1.ObjectMeta
	}{
		"NamedByExternalName": {
			reason: "The object should be named by the external name, not the name, of the managed resource, labelled with owner and component, and annotated with the managed resource's namespace/name.",
			args: args{
				mg:        targettest.Desktop(targettest.Named("alice-desktop"), targettest.ExternalName("alice-7f3c")),
				ns:        "team-a",
				component: target.ComponentDesktop,
				owner:     v1alpha1.Owner{Session: "s1", User: "alice"},
			},
			want: metav1.ObjectMeta{
				Name:      "alice-7f3c",
				Namespace: "team-a",
				Labels: map[string]string{
					v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue,
					v1alpha1.LabelComponent: target.ComponentDesktop,
					v1alpha1.LabelSession:   "s1",
					v1alpha1.LabelUser:      "alice",
				},
				Annotations: map[string]string{v1alpha1.AnnotationManagedResource: "team-a/alice-desktop"},
			},
		},
		"NamespaceUID": {
			reason: "The UID of the managed resource's namespace, once recorded on it, should be recorded on the object too.",
			args: args{
				mg:        targettest.Desktop(targettest.Named("alice-desktop"), targettest.ExternalName("alice-desktop"), targettest.NamespaceUID[*v1alpha1.Desktop]("uid-now")),
				ns:        "team-a",
				component: target.ComponentDesktop,
				owner:     v1alpha1.Owner{Session: "s1", User: "alice"},
			},
			want: func() metav1.ObjectMeta {
				m := targettest.Made(target.ComponentDesktop, "alice-desktop", "alice-desktop")
				m.Annotations["vdi.m.kasm.io/namespace-uid"] = "uid-now"
				return m
			}(),
		},
		"Component": {
			reason: "The component label should carry the component passed in, and an object in a namespace other than the managed resource's, which may be shared, should be named <name>-<namespace>-<length of name>.",
			args: args{
				mg:        targettest.Desktop(targettest.Named("bob-home"), targettest.ExternalName("bob-home")),
				ns:        "other",
				component: target.ComponentHome,
				owner:     v1alpha1.Owner{Session: "s2", User: "bob"},
			},
			want: metav1.ObjectMeta{
				Name:      "bob-home-team-a-8",
				Namespace: "other",
				Labels: map[string]string{
					v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue,
					v1alpha1.LabelComponent: target.ComponentHome,
					v1alpha1.LabelSession:   "s2",
					v1alpha1.LabelUser:      "bob",
				},
				Annotations: map[string]string{v1alpha1.AnnotationManagedResource: "team-a/bob-home"},
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := target.ObjectMeta(tc.args.mg, tc.args.ns, tc.args.component, tc.args.owner)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("\n%s\nObjectMeta(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestStamp(t *testing.T) {
	cases := map[string]struct {
		reason string
		o      *corev1.Pod
		spec   any
		want   map[string]string
	}{
		"NoAnnotations": {
			reason: "Stamp should add the spec-hash annotation to an object without annotations: the first 8 bytes of the SHA-256 of the spec's JSON, hex encoded.",
			o:      pod(),
			spec:   map[string]string{"a": "b"},
			// sha256(`{"a":"b"}`)[:8]
			want: map[string]string{v1alpha1.AnnotationSpecHash: "db4a7ecb114bc66c"},
		},
		"KeepsOtherAnnotations": {
			reason: "Stamp should keep the object's other annotations.",
			o:      pod(withAnnotations(map[string]string{"keep": "me"})),
			spec:   map[string]string{"a": "b"},
			want:   map[string]string{"keep": "me", v1alpha1.AnnotationSpecHash: "db4a7ecb114bc66c"},
		},
		"ReplacesOldHash": {
			reason: "Stamp should replace a hash recorded before.",
			o:      pod(withAnnotations(map[string]string{v1alpha1.AnnotationSpecHash: "stale"})),
			spec:   map[string]string{"a": "b"},
			want:   map[string]string{v1alpha1.AnnotationSpecHash: "db4a7ecb114bc66c"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			target.Stamp(tc.o, tc.spec)
			if diff := cmp.Diff(tc.want, tc.o.GetAnnotations()); diff != "" {
				t.Errorf("\n%s\nStamp(...): -want, +got annotations:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestHash(t *testing.T) {
	cases := map[string]struct {
		reason string
		o      *corev1.Pod
		want   string
	}{
		"Unstamped": {
			reason: "An object Stamp never touched should have no hash.",
			o:      pod(),
			want:   "",
		},
		"Stamped": {
			reason: "Hash should return what Stamp recorded.",
			o:      pod(withAnnotations(map[string]string{v1alpha1.AnnotationSpecHash: "0123456789abcdef"})),
			want:   "0123456789abcdef",
		},
		"SameSpecSameHash": {
			reason: "The same spec should always hash the same.",
			o:      pod(withImage("desktop:1"), stamped()),
			want:   target.Hash(pod(withImage("desktop:1"), stamped())),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, target.Hash(tc.o)); diff != "" {
				t.Errorf("\n%s\nHash(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestUpToDate(t *testing.T) {
	cases := map[string]struct {
		reason  string
		actual  *corev1.Pod
		desired *corev1.Pod
		want    bool
	}{
		"SameSpec": {
			reason:  "An object made from the desired spec should be up to date.",
			actual:  pod(withImage("desktop:1"), stamped()),
			desired: pod(withImage("desktop:1"), stamped()),
			want:    true,
		},
		"DifferentSpec": {
			reason:  "An object made from another spec should not be up to date.",
			actual:  pod(withImage("desktop:1"), stamped()),
			desired: pod(withImage("desktop:2"), stamped()),
			want:    false,
		},
		"NeitherStamped": {
			reason:  "An object without a hash should not be up to date, even when the desired object has none either.",
			actual:  pod(),
			desired: pod(),
			want:    false,
		},
		"ActualNotStamped": {
			reason:  "An object created by someone else, without a hash, should not be up to date.",
			actual:  pod(withImage("desktop:1")),
			desired: pod(withImage("desktop:1"), stamped()),
			want:    false,
		},
		"BeingDeleted": {
			reason:  "An object being deleted should not be up to date, whatever its hash.",
			actual:  pod(withImage("desktop:1"), stamped(), withDeletionTimestamp()),
			desired: pod(withImage("desktop:1"), stamped()),
			want:    false,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, target.UpToDate(tc.actual, tc.desired)); diff != "" {
				t.Errorf("\n%s\nUpToDate(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestGet(t *testing.T) {
	type want struct {
		exists bool
		err    error
		o      client.Object
	}
	cases := map[string]struct {
		reason string
		c      client.Reader
		o      client.Object
		want   want
	}{
		"NotFound": {
			reason: "An object that does not exist should read as not existing, without error.",
			c:      &test.MockClient{MockGet: test.NewMockGetFn(targettest.NotFound("pods", "alice"))},
			o:      pod(),
			want:   want{exists: false, o: pod()},
		},
		"GetError": {
			reason: "Any other error should be returned, naming the kind and name.",
			c:      &test.MockClient{MockGet: test.NewMockGetFn(targettest.ErrBoom)},
			o:      pod(),
			want:   want{err: errors.Wrapf(targettest.ErrBoom, "cannot get %s %q", "Pod", "alice"), o: pod()},
		},
		"GetErrorUnstructured": {
			reason: "An error on an unstructured object should name its kind from its GVK.",
			c:      &test.MockClient{MockGet: test.NewMockGetFn(targettest.ErrBoom)},
			o:      ingressRoute(),
			want:   want{err: errors.Wrapf(targettest.ErrBoom, "cannot get %s %q", "IngressRoute", "alice"), o: ingressRoute()},
		},
		"Exists": {
			reason: "An object that exists should be read into the object passed in.",
			c:      fake.NewClientBuilder().WithScheme(target.Scheme()).WithObjects(pod(withImage("desktop:1"))).Build(),
			o:      pod(),
			want:   want{exists: true, o: pod(withImage("desktop:1"))},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			exists, err := target.Get(context.Background(), tc.c, tc.o)
			if diff := cmp.Diff(tc.want.err, err, test.EquateErrors()); diff != "" {
				t.Errorf("\n%s\nGet(...): -want error, +got error:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.want.exists, exists); diff != "" {
				t.Errorf("\n%s\nGet(...): -want exists, +got exists:\n%s", tc.reason, diff)
			}
			// The fake client sets what the API server would; only the
			// name and spec matter here.
			if p, ok := tc.o.(*corev1.Pod); ok {
				if diff := cmp.Diff(tc.want.o.(*corev1.Pod).Spec, p.Spec); diff != "" {
					t.Errorf("\n%s\nGet(...): -want spec, +got spec:\n%s", tc.reason, diff)
				}
			}
		})
	}
}

func ingressRoute() *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(schema.GroupVersionKind{Group: "traefik.io", Version: "v1alpha1", Kind: "IngressRoute"})
	u.SetNamespace("desktops")
	u.SetName("alice")
	return u
}

func TestOwned(t *testing.T) {
	ownedRoute := func(mr string) *unstructured.Unstructured {
		u := ingressRoute()
		u.SetAnnotations(map[string]string{v1alpha1.AnnotationManagedResource: mr})
		return u
	}
	cases := map[string]struct {
		reason  string
		actual  client.Object
		desired client.Object
		want    error
	}{
		"SameManagedResource": {
			reason:  "An object annotated with the desired object's managed resource should be ours.",
			actual:  pod(ours()),
			desired: pod(ours()),
		},
		"SameManagedResourceOtherSpec": {
			reason:  "Ownership should follow the managed-resource annotation alone, so that an object of an older spec can still be replaced or updated.",
			actual:  pod(withAnnotations(map[string]string{v1alpha1.AnnotationSpecHash: "old", "other": "kept"}), ours()),
			desired: pod(withAnnotations(map[string]string{v1alpha1.AnnotationSpecHash: "new"}), ours()),
		},
		"NoAnnotations": {
			reason:  "An object without annotations was not made by provider-vdi and should not be adopted.",
			actual:  pod(),
			desired: pod(ours()),
			want:    targettest.ErrNotOurs("Pod", "alice", "desktops"),
		},
		"OtherAnnotationsOnly": {
			reason:  "An object with annotations, but not the managed-resource one, was not made by provider-vdi and should not be adopted.",
			actual:  pod(withAnnotations(map[string]string{"example.org/owner": "someone"})),
			desired: pod(ours()),
			want:    targettest.ErrNotOurs("Pod", "alice", "desktops"),
		},
		"OtherManagedResource": {
			reason:  "An object another managed resource made should not be taken over, and the error should name both.",
			actual:  pod(targettest.Owner[*corev1.Pod]("team-b/alice")),
			desired: pod(ours()),
			want:    targettest.ErrOthers("Pod", "alice", "desktops", "team-b/alice", "team-a/alice"),
		},
		"SameNamespace": {
			reason:  "An object made in the namespace of the managed resource's namespace UID should be ours.",
			actual:  pod(ours(), targettest.NamespaceUID[*corev1.Pod]("uid-now")),
			desired: pod(ours(), targettest.NamespaceUID[*corev1.Pod]("uid-now")),
		},
		"EarlierNamespace": {
			reason:  "An object made for a managed resource of the same namespace/name in an earlier namespace of that name should not be taken over, and the error should name both UIDs and what to do.",
			actual:  pod(ours(), targettest.NamespaceUID[*corev1.Pod]("uid-before")),
			desired: pod(ours(), targettest.NamespaceUID[*corev1.Pod]("uid-now")),
			want:    targettest.ErrEarlierNamespace("Pod", "alice", "desktops", "team-a/alice", "uid-before", "uid-now"),
		},
		"MadeBeforeNamespaceUIDs": {
			reason:  "An object made before the provider recorded namespace UIDs should be taken as the namespace's of its name, so that an upgrade strands nothing.",
			actual:  pod(ours()),
			desired: pod(ours(), targettest.NamespaceUID[*corev1.Pod]("uid-now")),
		},
		"NamespaceUIDNotRecordedYet": {
			reason:  "A managed resource whose namespace UID is not recorded yet should still own what it made.",
			actual:  pod(ours(), targettest.NamespaceUID[*corev1.Pod]("uid-now")),
			desired: pod(ours()),
		},
		"OtherManagedResourceUnstructured": {
			reason:  "An unstructured object of another managed resource should be refused, naming its kind from its GVK.",
			actual:  ownedRoute("team-b/alice"),
			desired: ownedRoute("team-a/alice"),
			want:    targettest.ErrOthers("IngressRoute", "alice", "desktops", "team-b/alice", "team-a/alice"),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, target.Owned(tc.actual, tc.desired), test.EquateErrors()); diff != "" {
				t.Errorf("\n%s\nOwned(...): -want error, +got error:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestCreate(t *testing.T) {
	alreadyExists := kerrors.NewAlreadyExists(schema.GroupResource{Resource: "pods"}, "alice")
	// existing answers every Get with p.
	existing := func(p *corev1.Pod) test.MockGetFn {
		return test.NewMockGetFn(nil, func(o client.Object) error {
			p.DeepCopyInto(o.(*corev1.Pod))
			return nil
		})
	}
	cases := map[string]struct {
		reason string
		c      client.Client
		o      client.Object
		want   error
		// stored is what o should hold afterwards; nil when not checked.
		stored client.Object
	}{
		"Created": {
			reason: "A successful create should return no error.",
			c:      &test.MockClient{MockCreate: test.NewMockCreateFn(nil)},
			o:      pod(ours()),
			stored: pod(ours()),
		},
		"AlreadyExistsOurs": {
			reason: "An object of the same name that this managed resource made should count as created, so that a repeated Create is harmless, and be read into o: its caller then has what the cluster stores.",
			c: &test.MockClient{
				MockCreate: test.NewMockCreateFn(alreadyExists),
				MockGet:    existing(pod(ours(), withImage("desktop:0"))),
			},
			o:      pod(ours(), withImage("desktop:1")),
			stored: pod(ours(), withImage("desktop:0")),
		},
		"AlreadyExistsNotOurs": {
			reason: "An object of the same name that provider-vdi did not make should be an error, not counted as created.",
			c: &test.MockClient{
				MockCreate: test.NewMockCreateFn(alreadyExists),
				MockGet:    existing(pod()),
			},
			o:    pod(ours()),
			want: targettest.ErrNotOurs("Pod", "alice", "desktops"),
		},
		"AlreadyExistsOfOtherResource": {
			reason: "An object of the same name that another managed resource made should be an error, not counted as created.",
			c: &test.MockClient{
				MockCreate: test.NewMockCreateFn(alreadyExists),
				MockGet:    existing(pod(targettest.Owner[*corev1.Pod]("team-b/alice"))),
			},
			o:    pod(ours()),
			want: targettest.ErrOthers("Pod", "alice", "desktops", "team-b/alice", "team-a/alice"),
		},
		"AlreadyExistsNotOursInCluster": {
			reason: "Create should read the existing object afresh, not judge it by the desired object's annotations.",
			c:      fake.NewClientBuilder().WithScheme(target.Scheme()).WithObjects(pod(withImage("someone:1"))).Build(),
			o:      pod(ours()),
			want:   targettest.ErrNotOurs("Pod", "alice", "desktops"),
		},
		"AlreadyExistsGetError": {
			reason: "An error reading the object that already exists should be returned, naming the kind and name.",
			c: &test.MockClient{
				MockCreate: test.NewMockCreateFn(alreadyExists),
				MockGet:    test.NewMockGetFn(targettest.ErrBoom),
			},
			o:    pod(ours()),
			want: errors.Wrapf(targettest.ErrBoom, "cannot get %s %q", "Pod", "alice"),
		},
		"CreateError": {
			reason: "Any other error should be returned, naming the kind and name.",
			c:      &test.MockClient{MockCreate: test.NewMockCreateFn(targettest.ErrBoom)},
			o:      pod(ours()),
			want:   errors.Wrapf(targettest.ErrBoom, "cannot create %s %q", "Pod", "alice"),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := target.Create(context.Background(), tc.c, tc.o)
			if diff := cmp.Diff(tc.want, err, test.EquateErrors()); diff != "" {
				t.Errorf("\n%s\nCreate(...): -want error, +got error:\n%s", tc.reason, diff)
			}
			if tc.stored == nil {
				return
			}
			if diff := cmp.Diff(tc.stored, tc.o); diff != "" {
				t.Errorf("\n%s\nCreate(...): -want object, +got object:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestDelete(t *testing.T) {
	// found answers every Get with p.
	found := func(p *corev1.Pod) test.MockGetFn {
		return test.NewMockGetFn(nil, func(o client.Object) error {
			p.DeepCopyInto(o.(*corev1.Pod))
			return nil
		})
	}
	type args struct {
		get test.MockGetFn
		err error
	}
	type want struct {
		err error
		// deleted is whether Delete was called at all; opts are the
		// options it was called with.
		deleted bool
		opts    *client.DeleteOptions
	}
	background := ptr.To(metav1.DeletePropagationBackground)
	cases := map[string]struct {
		reason string
		args   args
		want   want
	}{
		"Deleted": {
			reason: "An object of this managed resource should be deleted, its dependents in the background, on condition that it is still the object that was read.",
			args:   args{get: found(pod(ours(), withPodUID("u-1")))},
			want: want{deleted: true, opts: &client.DeleteOptions{
				PropagationPolicy: background,
				Preconditions:     &metav1.Preconditions{UID: ptr.To(types.UID("u-1"))},
			}},
		},
		"NoUID": {
			reason: "An object read without a UID should be deleted without a UID precondition, which could never hold.",
			args:   args{get: found(pod(ours()))},
			want:   want{deleted: true, opts: &client.DeleteOptions{PropagationPolicy: background}},
		},
		"NotFound": {
			reason: "An object that is already gone should count as deleted, without a delete call.",
			args:   args{get: test.NewMockGetFn(targettest.NotFound("pods", "alice"))},
		},
		"GetError": {
			reason: "An error reading the object should be returned, naming the kind and name, and nothing deleted.",
			args:   args{get: test.NewMockGetFn(targettest.ErrBoom)},
			want:   want{err: errors.Wrapf(targettest.ErrBoom, "cannot get %s %q", "Pod", "alice")},
		},
		"NotOurs": {
			reason: "An object of the same name that provider-vdi did not make should be left alone, and count as deleted: the managed resource's own is gone.",
			args:   args{get: found(pod(withPodUID("u-1")))},
		},
		"OfOtherResource": {
			reason: "An object of the same name that another managed resource made should be left alone, and count as deleted.",
			args:   args{get: found(pod(targettest.Owner[*corev1.Pod]("team-b/alice"), withPodUID("u-1")))},
		},
		"GoneBeforeDelete": {
			reason: "An object that is gone by the time it is deleted should count as deleted.",
			args:   args{get: found(pod(ours(), withPodUID("u-1"))), err: targettest.NotFound("pods", "alice")},
			want: want{deleted: true, opts: &client.DeleteOptions{
				PropagationPolicy: background,
				Preconditions:     &metav1.Preconditions{UID: ptr.To(types.UID("u-1"))},
			}},
		},
		"DeleteError": {
			reason: "Any other error deleting should be returned, naming the kind and name.",
			args:   args{get: found(pod(ours(), withPodUID("u-1"))), err: targettest.ErrBoom},
			want: want{
				err:     errors.Wrapf(targettest.ErrBoom, "cannot delete %s %q", "Pod", "alice"),
				deleted: true,
				opts: &client.DeleteOptions{
					PropagationPolicy: background,
					Preconditions:     &metav1.Preconditions{UID: ptr.To(types.UID("u-1"))},
				},
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var opts *client.DeleteOptions
			c := &test.MockClient{
				MockGet: tc.args.get,
				MockDelete: func(_ context.Context, _ client.Object, o ...client.DeleteOption) error {
					opts = &client.DeleteOptions{}
					opts.ApplyOptions(o)
					return tc.args.err
				},
			}
			err := target.Delete(context.Background(), c, pod(ours()))
			if diff := cmp.Diff(tc.want.err, err, test.EquateErrors()); diff != "" {
				t.Errorf("\n%s\nDelete(...): -want error, +got error:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.want.deleted, opts != nil); diff != "" {
				t.Errorf("\n%s\nDelete(...): -want delete call, +got delete call:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.want.opts, opts); diff != "" {
				t.Errorf("\n%s\nDelete(...): -want delete options, +got delete options:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestUpdate(t *testing.T) {
	type args struct {
		actual  *corev1.Pod
		desired *corev1.Pod
		mutate  func(actual *corev1.Pod)
		err     error
	}
	type want struct {
		err     error
		mutated bool
		updated *corev1.Pod
	}
	cases := map[string]struct {
		reason string
		args   args
		want   want
	}{
		"MergesMetadata": {
			reason: "Update should keep actual's own labels and annotations, take desired's over them, and write the result.",
			args: args{
				actual: pod(
					withLabels(map[string]string{"keep": "a", "take": "old"}),
					withAnnotations(map[string]string{"keep": "a", v1alpha1.AnnotationSpecHash: "old"}),
					ours(),
				),
				desired: pod(
					withLabels(map[string]string{"take": "new", "add": "b"}),
					withAnnotations(map[string]string{v1alpha1.AnnotationSpecHash: "new"}),
					ours(),
				),
				mutate: func(*corev1.Pod) {},
			},
			want: want{mutated: true, updated: pod(
				withLabels(map[string]string{"keep": "a", "take": "new", "add": "b"}),
				withAnnotations(map[string]string{"keep": "a", v1alpha1.AnnotationSpecHash: "new"}),
				ours(),
			)},
		},
		"NilLabels": {
			reason: "Update should take desired's labels when actual has none.",
			args: args{
				actual:  pod(ours()),
				desired: pod(withLabels(map[string]string{"add": "b"}), withAnnotations(map[string]string{"add": "c"}), ours()),
				mutate:  func(*corev1.Pod) {},
			},
			want: want{mutated: true, updated: pod(withLabels(map[string]string{"add": "b"}), withAnnotations(map[string]string{"add": "c"}), ours())},
		},
		"Mutates": {
			reason: "Update should call mutate before writing, so that its changes are written.",
			args: args{
				actual:  pod(withImage("desktop:1"), ours()),
				desired: pod(ours()),
				mutate:  func(p *corev1.Pod) { p.Spec.Containers[0].Image = "desktop:2" },
			},
			want: want{mutated: true, updated: pod(withImage("desktop:2"), withLabels(map[string]string{}), ours())},
		},
		"NotOurs": {
			reason: "Update should refuse an object that provider-vdi did not make, without changing or writing it.",
			args: args{
				actual:  pod(withImage("someone:1")),
				desired: pod(withImage("desktop:1"), ours()),
				mutate:  func(p *corev1.Pod) { p.Spec.Containers[0].Image = "desktop:1" },
			},
			want: want{err: targettest.ErrNotOurs("Pod", "alice", "desktops")},
		},
		"OfOtherResource": {
			reason: "Update should refuse an object that another managed resource made, without changing or writing it.",
			args: args{
				actual:  pod(withImage("desktop:0"), targettest.Owner[*corev1.Pod]("team-b/alice")),
				desired: pod(withImage("desktop:1"), ours()),
				mutate:  func(p *corev1.Pod) { p.Spec.Containers[0].Image = "desktop:1" },
			},
			want: want{err: targettest.ErrOthers("Pod", "alice", "desktops", "team-b/alice", "team-a/alice")},
		},
		"UpdateError": {
			reason: "An error writing the object should be returned, naming the kind and name.",
			args: args{
				actual:  pod(ours()),
				desired: pod(ours()),
				mutate:  func(*corev1.Pod) {},
				err:     targettest.ErrBoom,
			},
			want: want{
				err:     errors.Wrapf(targettest.ErrBoom, "cannot update %s %q", "Pod", "alice"),
				mutated: true,
				updated: pod(withLabels(map[string]string{}), ours()),
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var updated *corev1.Pod
			c := &test.MockClient{MockUpdate: func(_ context.Context, o client.Object, _ ...client.UpdateOption) error {
				updated = o.(*corev1.Pod).DeepCopy()
				return tc.args.err
			}}
			mutated := false
			err := target.Update(context.Background(), c, tc.args.actual, tc.args.desired, func() {
				mutated = true
				tc.args.mutate(tc.args.actual)
			})
			if diff := cmp.Diff(tc.want.err, err, test.EquateErrors()); diff != "" {
				t.Errorf("\n%s\nUpdate(...): -want error, +got error:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.want.mutated, mutated); diff != "" {
				t.Errorf("\n%s\nUpdate(...): -want mutate called, +got mutate called:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.want.updated, updated); diff != "" {
				t.Errorf("\n%s\nUpdate(...): -want written object, +got written object:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestKindOf(t *testing.T) {
	cases := map[string]struct {
		reason string
		o      client.Object
		want   string
	}{
		"TypedWithoutTypeMeta": {
			reason: "A typed object with an empty TypeMeta should be named by its Go type.",
			o:      pod(),
			want:   "Pod",
		},
		"Unstructured": {
			reason: "An object with a GVK should be named by its kind.",
			o:      ingressRoute(),
			want:   "IngressRoute",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, target.KindOf(tc.o)); diff != "" {
				t.Errorf("\n%s\nKindOf(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
