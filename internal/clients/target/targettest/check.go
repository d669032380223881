package targettest

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	"github.com/crossplane/crossplane-runtime/v2/pkg/test"
)

// Namespace is the namespace of the target cluster the controllers' tests
// resolve their managed resources to.
const Namespace = "team-a"

// SameClient compares clients by identity: an external client should use
// the very client of the target cluster it was connected to.
var SameClient = cmp.Comparer(func(a, b client.Client) bool { return a == b })

// CheckConnect connects cr through c and reports, as a failure of t, an
// error or an external client other than want; opts compare the external
// clients (such as cmp.AllowUnexported of their type), and clients compare
// by identity.
func CheckConnect[T resource.Managed](t *testing.T, reason string, c managed.TypedExternalConnector[T], cr T, want managed.TypedExternalClient[T], opts ...cmp.Option) {
	t.Helper()
	got, err := c.Connect(context.Background(), cr)
	if diff := cmp.Diff(nil, err, test.EquateErrors()); diff != "" {
		t.Errorf("\n%s\nConnect(...): -want error, +got error:\n%s", reason, diff)
	}
	if diff := cmp.Diff(want, got, append(opts, SameClient)...); diff != "" {
		t.Errorf("\n%s\nConnect(...): -want, +got:\n%s", reason, diff)
	}
}

// Observed is what a test wants of an external client's Observe: its
// observation, its error, and the managed resource as Observe leaves it.
type Observed[T resource.Managed] struct {
	O   managed.ExternalObservation
	CR  T
	Err error
}

// CheckObserve observes cr through e and reports, as failures of t, where
// the observation, the error or cr afterwards (conditions compared without
// their times) differ from want.
func CheckObserve[T resource.Managed](t *testing.T, reason string, e managed.TypedExternalClient[T], cr T, want Observed[T]) {
	t.Helper()
	got, err := e.Observe(context.Background(), cr)
	if diff := cmp.Diff(want.Err, err, test.EquateErrors()); diff != "" {
		t.Errorf("\n%s\nObserve(...): -want error, +got error:\n%s", reason, diff)
	}
	if diff := cmp.Diff(want.O, got); diff != "" {
		t.Errorf("\n%s\nObserve(...): -want, +got:\n%s", reason, diff)
	}
	if diff := cmp.Diff(want.CR, cr, test.EquateConditions()); diff != "" {
		t.Errorf("\n%s\nObserve(...): -want %T, +got %T:\n%s", reason, want.CR, cr, diff)
	}
}

// CheckError reports, as a failure of t, an error of the call op other than
// want, and tells whether the call succeeded as it should: only then is
// there more to check of what it did.
func CheckError(t *testing.T, reason, op string, want, got error) bool {
	t.Helper()
	if diff := cmp.Diff(want, got, test.EquateErrors()); diff != "" {
		t.Errorf("\n%s\n%s(...): -want error, +got error:\n%s", reason, op, diff)
	}
	return want == nil && got == nil
}

// Get reads the object name of namespace Namespace from kube into o, and
// tells whether it exists; any error but NotFound fails t at once.
func Get(t *testing.T, reason string, kube client.Client, name string, o client.Object) bool {
	t.Helper()
	err := kube.Get(context.Background(), types.NamespacedName{Namespace: Namespace, Name: name}, o)
	if err != nil && !kerrors.IsNotFound(err) {
		t.Fatalf("\n%s\nGet(%T %q): %v", reason, o, name, err)
	}
	return err == nil
}

// MustGet reads the object name of namespace Namespace from kube into o;
// a missing object fails t at once.
func MustGet(t *testing.T, reason string, kube client.Client, name string, o client.Object) {
	t.Helper()
	if !Get(t, reason, kube, name, o) {
		t.Fatalf("\n%s\nwant %T %q in the target cluster, found none", reason, o, name)
	}
}

// CheckExists reports, as a failure of t, whether the object name of
// namespace Namespace exists in kube when it should not, or the other way
// round; o gives its kind.
func CheckExists(t *testing.T, reason string, kube client.Client, o client.Object, name string, want bool) {
	t.Helper()
	if diff := cmp.Diff(want, Get(t, reason, kube, name, o)); diff != "" {
		t.Errorf("\n%s\n%T %q exists: -want, +got:\n%s", reason, o, name, diff)
	}
}
