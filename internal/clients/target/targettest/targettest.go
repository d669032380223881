// Package targettest holds fakes of target clusters for the tests of the
// provider's controllers, in the manner of controller-runtime's fake client:
// written once here, beside package target, instead of in every test.
package targettest

import (
	"context"
	"fmt"

	"github.com/google/go-cmp/cmp/cmpopts"

	kerrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	xpmeta "github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/clients/target"
)

// Clusters is a target.Clusters that resolves every managed resource to
// Cluster, or fails with Err.
type Clusters struct {
	Cluster *target.Cluster
	Err     error
}

// Connect returns c.Cluster and c.Err.
func (c Clusters) Connect(_ context.Context, _ resource.ModernManaged) (*target.Cluster, error) {
	return c.Cluster, c.Err
}

// Kube returns a fake client of a target cluster holding objs, knowing every
// kind of target.Scheme.
func Kube(objs ...client.Object) client.Client {
	return fake.NewClientBuilder().WithScheme(target.Scheme()).WithObjects(objs...).Build()
}

// KubeServing returns a fake client of a target cluster that serves the
// namespaced kinds gvks, which the scheme does not know (such as Traefik's
// IngressRoute, handled as unstructured), and holds objs.
func KubeServing(gvks []schema.GroupVersionKind, objs ...client.Object) client.Client {
	rm := meta.NewDefaultRESTMapper(nil)
	for _, gvk := range gvks {
		rm.Add(gvk, meta.RESTScopeNamespace)
	}
	return fake.NewClientBuilder().WithScheme(target.Scheme()).WithRESTMapper(rm).WithObjects(objs...).Build()
}

// Owner returns a modifier that sets the managed-resource annotation of an
// object to mr, the namespace/name of the managed resource it was made for;
// "" removes it, as on an object provider-vdi did not make. An object left
// with no annotations has nil annotations, as read back from a cluster.
func Owner[T metav1.Object](mr string) func(T) {
	return func(o T) { annotate(o, v1alpha1.AnnotationManagedResource, mr) }
}

// annotate sets annotation k of o to v, or removes it if v is empty,
// leaving o with nil annotations rather than none.
func annotate(o metav1.Object, k, v string) {
	a := o.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	a[k] = v
	if v == "" {
		delete(a, k)
	}
	if len(a) == 0 {
		a = nil
	}
	o.SetAnnotations(a)
}

// NamespaceUID returns a modifier that records uid as the UID of the
// namespace of the managed resource an object was made for, or of a
// managed resource itself, as the provider records it.
func NamespaceUID[T metav1.Object](uid string) func(T) {
	return func(o T) { annotate(o, v1alpha1.AnnotationNamespaceUID, uid) }
}

// OwnedBy returns a copy of o whose managed-resource annotation is mr, as
// Owner sets it.
func OwnedBy[T client.Object](o T, mr string) T {
	c, _ := o.DeepCopyObject().(T)
	Owner[T](mr)(c)
	return c
}

// ErrNotOurs is the error target's ownership checks return for an object of
// kind and name in namespace ns that provider-vdi did not make.
func ErrNotOurs(kind, name, ns string) error {
	return target.NotOwnedError{Message: fmt.Sprintf("%s %q already exists in namespace %q and was not made by provider-vdi; refusing to adopt it", kind, name, ns)}
}

// ErrOthers is the error target's ownership checks return for an object of
// kind and name in namespace ns that managed resource other made, when mr
// wants it.
func ErrOthers(kind, name, ns, other, mr string) error {
	return target.NotOwnedError{Message: fmt.Sprintf("%s %q in namespace %q belongs to managed resource %s, not %s; refusing to take it over", kind, name, ns, other, mr)}
}

// ErrEarlierNamespace is the error target's ownership checks return for an
// object of kind and name in namespace ns that managed resource mr made in
// an earlier namespace of its namespace's name, whose UID was old, when the
// namespace there now has UID current.
func ErrEarlierNamespace(kind, name, ns, mr, old, current string) error {
	return target.NotOwnedError{Message: fmt.Sprintf("%s %q in namespace %q belongs to managed resource %s of an earlier namespace of that name (UID %s), not of the namespace there now (UID %s); refusing to take it over; an administrator may delete it if what it holds may go", kind, name, ns, mr, old, current)}
}

// NotFound is the error a client returns for a missing object of resource
// (plural, lower case) and name.
func NotFound(resource, name string) error {
	return kerrors.NewNotFound(schema.GroupResource{Resource: resource}, name)
}

// ErrBoom is the error a test makes a fake fail with.
var ErrBoom = errors.New("boom")

// IgnoreHash leaves the spec hash annotation out of a comparison of
// annotations, for tests of what else an object holds.
var IgnoreHash = cmpopts.IgnoreMapEntries(func(k, _ string) bool { return k == v1alpha1.AnnotationSpecHash })

// Conditions returns a modifier that sets the conditions c of a managed
// resource.
func Conditions[T resource.Managed](c ...xpv2.Condition) func(T) {
	return func(mr T) { mr.SetConditions(c...) }
}

// Modified returns o after applying mods to it in order: the tail of every
// fixture builder that takes modifiers.
func Modified[T any](o T, mods ...func(T)) T {
	for _, m := range mods {
		m(o)
	}
	return o
}

// Desktop returns the Desktop alice of namespace team-a, with its type
// meta as a managed resource read from the API server has it, modified by
// mods.
func Desktop(mods ...func(*v1alpha1.Desktop)) *v1alpha1.Desktop {
	return Modified(&v1alpha1.Desktop{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.DesktopGroupVersionKind.GroupVersion().String(), Kind: v1alpha1.DesktopKind},
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "alice"},
	}, mods...)
}

// Named returns a modifier that names a Desktop n.
func Named(n string) func(*v1alpha1.Desktop) {
	return func(d *v1alpha1.Desktop) { d.SetName(n) }
}

// ExternalName returns a modifier that sets the external name of a
// Desktop to n.
func ExternalName(n string) func(*v1alpha1.Desktop) {
	return func(d *v1alpha1.Desktop) { xpmeta.SetExternalName(d, n) }
}

// Made returns the metadata of the object named name that provider-vdi
// makes in namespace Namespace as component of the managed resource mr of
// namespace team-a, whose owner is session s1 of user alice, as every
// managed resource of the controllers' tests is. The labels are spelled
// out, not taken from package v1alpha1, so that the tests fail when what
// the provider writes changes.
func Made(component, name, mr string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Namespace: Namespace,
		Name:      name,
		Labels: map[string]string{
			"app.kubernetes.io/managed-by": "provider-vdi",
			"app.kubernetes.io/component":  component,
			"vdi.kasm.io/session":          "s1",
			"vdi.kasm.io/user":             "alice",
		},
		Annotations: map[string]string{"vdi.m.kasm.io/managed-resource": "team-a/" + mr},
	}
}

// Alice is the owner of every managed resource of the controllers' tests:
// session s1 of user alice, as Made labels their objects.
var Alice = v1alpha1.Owner{Session: "s1", User: "alice"}

// Managed returns the managed resource mr named, and externally named,
// name in namespace team-a, modified by mods: the head of every kind's
// fixture builder.
func Managed[T resource.Managed](mr T, name string, mods ...func(T)) T {
	mr.SetNamespace("team-a")
	mr.SetName(name)
	xpmeta.SetExternalName(mr, name)
	return Modified(mr, mods...)
}
