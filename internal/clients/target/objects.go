package target

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"reflect"

	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
)

// ObjectMeta returns the metadata of an object that managed resource mg owns
// in namespace ns of the target cluster: named by mg's external name, labelled
// with its owner and component, and annotated with mg's namespace/name so that
// events on the object can be traced back to mg.
func ObjectMeta(mg resource.Managed, ns, component string, o v1alpha1.Owner) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:      meta.GetExternalName(mg),
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
	return err == nil, errors.Wrapf(err, "cannot get %s %q", kindOf(o), o.GetName())
}

// Create creates o. An object of the same name that already exists counts as
// created, so that a retried or repeated Create is harmless.
func Create(ctx context.Context, c client.Writer, o client.Object) error {
	err := c.Create(ctx, o)
	if kerrors.IsAlreadyExists(err) {
		return nil
	}
	return errors.Wrapf(err, "cannot create %s %q", kindOf(o), o.GetName())
}

// Delete deletes o, in the background for its dependents. An object that is
// already gone counts as deleted.
func Delete(ctx context.Context, c client.Writer, o client.Object) error {
	err := c.Delete(ctx, o, client.PropagationPolicy(metav1.DeletePropagationBackground))
	if kerrors.IsNotFound(err) {
		return nil
	}
	return errors.Wrapf(err, "cannot delete %s %q", kindOf(o), o.GetName())
}

// Update writes desired over actual: it keeps actual's identity and whatever
// the API server defaulted, and takes desired's labels, annotations and the
// fields that mutate copies.
func Update(ctx context.Context, c client.Writer, actual, desired client.Object, mutate func()) error {
	labels := actual.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	for k, v := range desired.GetLabels() {
		labels[k] = v
	}
	actual.SetLabels(labels)
	annotations := actual.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	for k, v := range desired.GetAnnotations() {
		annotations[k] = v
	}
	actual.SetAnnotations(annotations)
	mutate()
	return errors.Wrapf(c.Update(ctx, actual), "cannot update %s %q", kindOf(actual), actual.GetName())
}

// kindOf names o's kind for error messages. Typed objects read through a
// client often have an empty TypeMeta, so fall back to the Go type.
func kindOf(o client.Object) string {
	if k := o.GetObjectKind().GroupVersionKind().Kind; k != "" {
		return k
	}
	return reflect.TypeOf(o).Elem().Name()
}
