package target

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"strconv"

	kerrors "k8s.io/apimachinery/pkg/api/errors"
	kmeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
)

// QualifiedName is the name, in namespace ns of the target cluster, of the
// object that a managed resource of namespace mgNamespace names name: name
// itself in the managed resource's own namespace, where names are already
// unique; in any other namespace, which managed resources of several
// namespaces may share through a ProviderConfig's targetNamespace,
// <name>-<mgNamespace>-<len(name)>. The trailing length makes the mapping
// one to one (it tells where name ends), so objects of different namespaces
// never share a name; and since a managed resource can only name objects
// through it, one namespace cannot reach another's. The result may exceed
// the 63 characters a Pod's host name or a Service allows, and the API
// server then refuses the object, naming the limit.
func QualifiedName(mgNamespace, ns, name string) string {
	if ns == mgNamespace {
		return name
	}
	return name + "-" + mgNamespace + "-" + strconv.Itoa(len(name))
}

// ObjectMeta returns the metadata of an object that managed resource mg owns
// in namespace ns of the target cluster: named by mg's external name, as
// QualifiedName qualifies it, labelled with its owner and component, and
// annotated with mg's namespace/name, so that events on the object can be
// traced back to mg, and with the UID of mg's namespace, once recorded on mg.
func ObjectMeta(mg resource.Managed, ns, component string, o v1alpha1.Owner) metav1.ObjectMeta {
	m := metav1.ObjectMeta{
		Name:      QualifiedName(mg.GetNamespace(), ns, meta.GetExternalName(mg)),
		Namespace: ns,
		Labels: map[string]string{
			v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue,
			v1alpha1.LabelComponent: component,
			v1alpha1.LabelSession:   o.Session,
			v1alpha1.LabelUser:      o.User,
		},
		Annotations: map[string]string{
			v1alpha1.AnnotationManagedResource: mg.GetNamespace() + "/" + mg.GetName(),
		},
	}
	if uid := NamespaceUID(mg); uid != "" {
		m.Annotations[v1alpha1.AnnotationNamespaceUID] = uid
	}
	return m
}

// Stamp records the hash of spec, the part of o that the provider manages, in
// o's spec-hash annotation. Spec must marshal to JSON deterministically, which
// Kubernetes API types do.
func Stamp(o metav1.Object, spec any) {
	b, err := json.Marshal(spec)
	if err != nil {
		// API types always marshal; a failure here is a programming error.
		panic(errors.Wrap(err, "cannot hash object spec"))
	}
	sum := sha256.Sum256(b)
	a := o.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	a[v1alpha1.AnnotationSpecHash] = hex.EncodeToString(sum[:8])
	o.SetAnnotations(a)
}

// Hash returns the spec hash Stamp recorded on o, or "" if none.
func Hash(o metav1.Object) string {
	return o.GetAnnotations()[v1alpha1.AnnotationSpecHash]
}

// UpToDate reports whether actual was made from the same spec as desired and
// is not being deleted.
func UpToDate(actual, desired metav1.Object) bool {
	return actual.GetDeletionTimestamp() == nil && Hash(actual) != "" && Hash(actual) == Hash(desired)
}

// Get reads the object named like o into o. It returns false, without error,
// when the object does not exist.
func Get(ctx context.Context, c client.Reader, o client.Object) (bool, error) {
	err := c.Get(ctx, client.ObjectKeyFromObject(o), o)
	if kerrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, errors.Wrapf(err, "cannot get %s %q", KindOf(o), o.GetName())
}

// GetOwned reads the object named like desired into actual, as Get does,
// and returns an error if it exists but does not belong to the managed
// resource desired belongs to.
func GetOwned(ctx context.Context, c client.Reader, actual, desired client.Object) (bool, error) {
	found, err := Get(ctx, c, actual)
	if err != nil || !found {
		return found, err
	}
	return true, Owned(actual, desired)
}

// Create creates o. An object of the same name that this managed resource
// already owns counts as created, so that a retried or repeated Create is
// harmless, and is read into o: either way o is then what the cluster
// stores (its UID, and the data of a Secret made by an earlier Create). One
// that something else owns is an error, and is left alone.
func Create(ctx context.Context, c client.Client, o client.Object) error {
	err := c.Create(ctx, o)
	if !kerrors.IsAlreadyExists(err) {
		return errors.Wrapf(err, "cannot create %s %q", KindOf(o), o.GetName())
	}
	desired, ok := o.DeepCopyObject().(client.Object)
	if !ok {
		return errors.Errorf("cannot copy %s %q", KindOf(o), o.GetName())
	}
	found, err := GetOwned(ctx, c, o, desired)
	if err == nil && !found {
		return errors.Errorf("%s %q was deleted while being created; will retry", KindOf(o), o.GetName())
	}
	return err
}

// Owned returns an error unless actual belongs to the same managed resource
// as desired, by the managed-resource annotation every object the provider
// creates carries, and to the same namespace of that name, by the
// namespace-UID annotation where both carry it. The provider never adopts,
// changes or deletes an object it did not create: one of the same name is
// someone else's. An object made before the provider recorded namespace
// UIDs carries none, and is taken as the namespace's of its name.
func Owned(actual, desired client.Object) error {
	want := desired.GetAnnotations()[v1alpha1.AnnotationManagedResource]
	got, ok := actual.GetAnnotations()[v1alpha1.AnnotationManagedResource]
	switch {
	case !ok:
		return NotOwnedError{Message: fmt.Sprintf("%s %q already exists in namespace %q and was not made by provider-vdi; refusing to adopt it", KindOf(actual), actual.GetName(), actual.GetNamespace())}
	case got != want:
		return NotOwnedError{Message: fmt.Sprintf("%s %q in namespace %q belongs to managed resource %s, not %s; refusing to take it over", KindOf(actual), actual.GetName(), actual.GetNamespace(), got, want)}
	case EarlierNamespace(actual, desired):
		return NotOwnedError{Message: fmt.Sprintf("%s %q in namespace %q belongs to managed resource %s of an earlier namespace of that name (UID %s), not of the namespace there now (UID %s); refusing to take it over; an administrator may delete it if what it holds may go", KindOf(actual), actual.GetName(), actual.GetNamespace(), got, NamespaceUID(actual), NamespaceUID(desired))}
	}
	return nil
}

// NamespaceUID is the UID of the namespace of the managed resource o is, or
// was made for, as the provider recorded it; empty if it recorded none.
func NamespaceUID(o metav1.Object) string {
	return o.GetAnnotations()[v1alpha1.AnnotationNamespaceUID]
}

// EarlierNamespace reports whether o was made for a managed resource of an
// earlier namespace than ref's namespace of the same name: both record a
// namespace UID, and they differ. An object made before the provider
// recorded UIDs, or a ref that has none yet, is taken by name.
func EarlierNamespace(o, ref metav1.Object) bool {
	have, want := NamespaceUID(o), NamespaceUID(ref)
	return have != "" && want != "" && have != want
}

// A NotOwnedError says that an object of a managed resource's name is not
// the managed resource's: provider-vdi did not make it, or made it for
// another managed resource.
type NotOwnedError struct {
	Message string
}

func (e NotOwnedError) Error() string { return e.Message }

// IsNotOwned reports whether err is, or wraps, a NotOwnedError.
func IsNotOwned(err error) bool {
	return errors.As(err, new(NotOwnedError))
}

// ObserveOwned is GetOwned for the Observe of a managed resource, which may
// be being deleted (deleting): then nothing that is not its own may hold up
// its deletion. An object of its name that is another's reads as absent, and
// is left alone; so does an object of a kind the cluster no longer serves
// (its CRD was removed, and every object of the kind with it).
func ObserveOwned(ctx context.Context, c client.Reader, actual, desired client.Object, deleting bool) (bool, error) {
	found, err := GetOwned(ctx, c, actual, desired)
	if deleting && (IsNotOwned(err) || kmeta.IsNoMatchError(err)) {
		return false, nil
	}
	return found, err
}

// Delete deletes the object named like desired, in the background for its
// dependents, if it belongs to the same managed resource as desired. An
// object that is already gone counts as deleted; so does one that belongs
// to something else, which is left alone: the managed resource's own is
// gone.
func Delete(ctx context.Context, c client.Client, desired client.Object) error {
	actual, ok := desired.DeepCopyObject().(client.Object)
	if !ok {
		return errors.Errorf("cannot copy %s %q", KindOf(desired), desired.GetName())
	}
	found, err := ObserveOwned(ctx, c, actual, desired, true)
	if err != nil || !found {
		return err
	}
	opts := []client.DeleteOption{client.PropagationPolicy(metav1.DeletePropagationBackground)}
	if uid := actual.GetUID(); uid != "" {
		// Delete what was checked, not a namesake made since.
		opts = append(opts, client.Preconditions{UID: &uid})
	}
	err = c.Delete(ctx, actual, opts...)
	if kerrors.IsNotFound(err) {
		return nil
	}
	return errors.Wrapf(err, "cannot delete %s %q", KindOf(desired), desired.GetName())
}

// Update writes desired over actual: it keeps actual's identity and whatever
// the API server defaulted, and takes desired's labels, annotations and the
// fields that mutate copies. It refuses to touch an actual that another
// managed resource, or nobody of ours, owns.
func Update(ctx context.Context, c client.Writer, actual, desired client.Object, mutate func()) error {
	if err := Owned(actual, desired); err != nil {
		return err
	}
	actual.SetLabels(merge(actual.GetLabels(), desired.GetLabels()))
	actual.SetAnnotations(merge(actual.GetAnnotations(), desired.GetAnnotations()))
	mutate()
	return errors.Wrapf(c.Update(ctx, actual), "cannot update %s %q", KindOf(actual), actual.GetName())
}

// merge returns have with every entry of want set on it.
func merge(have, want map[string]string) map[string]string {
	if have == nil {
		have = make(map[string]string, len(want))
	}
	maps.Copy(have, want)
	return have
}

// KindOf names o's kind for messages. Typed objects read through a client
// often have an empty TypeMeta, so it falls back to the Go type.
func KindOf(o client.Object) string {
	if k := o.GetObjectKind().GroupVersionKind().Kind; k != "" {
		return k
	}
	return reflect.TypeOf(o).Elem().Name()
}
