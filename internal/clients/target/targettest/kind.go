package targettest

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	"github.com/crossplane/crossplane-runtime/v2/pkg/test"

	"github.com/provider-vdi/provider-vdi/internal/clients/target"
)

// A Kind describes the external client of one managed resource kind and the
// one object it keeps in the target cluster, so that the cases every kind
// shares are written once: the object already there or already gone, made
// by someone else, and the target cluster failing. Each kind's own tests
// keep what only it does.
type Kind[T resource.Managed] struct {
	// Kind is the target object's kind as errors name it, e.g. "Service".
	Kind string

	// Resource is the target object's API resource, e.g. "services".
	Resource string

	// CR returns the managed resource under test; Changed returns it with
	// a spec that its Update must write.
	CR, Changed func() T

	// Object returns the target object as the external client makes it of
	// CR, in namespace Namespace.
	Object func() client.Object

	// Kube returns a fake target cluster that serves the kind and holds
	// objs; Kube of this package when nil.
	Kube func(objs ...client.Object) client.Client

	// External returns the external client under test, on kube.
	External func(kube client.Client) managed.TypedExternalClient[T]

	// Connect returns the kind's connector, which resolves target clusters
	// through clusters.
	Connect func(clusters target.Clusters) managed.TypedExternalConnector[T]
}

// failing is a target cluster that answers reads from its Client and fails
// every write with err, counting them.
type failing struct {
	client.Client
	err    error
	writes *int
}

func (f failing) Create(context.Context, client.Object, ...client.CreateOption) error {
	*f.writes++
	return f.err
}

func (f failing) Update(context.Context, client.Object, ...client.UpdateOption) error {
	*f.writes++
	return f.err
}

func (f failing) Patch(context.Context, client.Object, client.Patch, ...client.PatchOption) error {
	*f.writes++
	return f.err
}

func (f failing) Delete(context.Context, client.Object, ...client.DeleteOption) error {
	*f.writes++
	return f.err
}

func (k Kind[T]) kube(objs ...client.Object) client.Client {
	if k.Kube == nil {
		return Kube(objs...)
	}
	return k.Kube(objs...)
}

// name is the name of the target object.
func (k Kind[T]) name() string { return k.Object().GetName() }

// other is the managed resource of CR's name in namespace team-b.
func (k Kind[T]) other() string { return "team-b/" + k.CR().GetName() }

// errs returns the errors of a target object made by nobody, and made for
// the managed resource other.
func (k Kind[T]) errs() (notOurs, others error) {
	cr := k.CR()
	return ErrNotOurs(k.Kind, k.name(), Namespace),
		ErrOthers(k.Kind, k.name(), Namespace, k.other(), cr.GetNamespace()+"/"+cr.GetName())
}

// refused returns the cases in which op finds, in the target cluster that
// kube returns, a target object that provider-vdi did not make, or made for
// another managed resource: op must return the ownership error, keep the
// object, and not count it as its own.
func (k Kind[T]) refused(op string, kube func(objs ...client.Object) client.Client) map[string]kindCase {
	notOurs, others := k.errs()
	return map[string]kindCase{
		"NotOurs": {
			reason: op + " should refuse a " + k.Kind + " of the same name that provider-vdi did not make, and keep it.",
			kube:   kube(OwnedBy(k.Object(), "")),
			err:    notOurs,
			exists: true,
		},
		"OfOther": {
			reason: op + " should refuse a " + k.Kind + " of the same name that another managed resource made, and keep it.",
			kube:   kube(OwnedBy(k.Object(), k.other())),
			err:    others,
			exists: true,
		},
	}
}

// getError is the case of a target cluster that fails every read: the
// call should return the error.
func (k Kind[T]) getError() kindCase {
	return kindCase{
		reason: "An error reading the " + k.Kind + " should be returned.",
		kube:   &test.MockClient{MockGet: test.NewMockGetFn(ErrBoom)},
		err:    errors.Wrapf(ErrBoom, "cannot get %s %q", k.Kind, k.name()),
	}
}

// failingWrites returns a target cluster holding objs that fails every
// write with err.
func (k Kind[T]) failingWrites(err error, objs ...client.Object) client.Client {
	return failing{Client: k.kube(objs...), err: err, writes: new(int)}
}

// kindCase is one case of the shared tests: a target cluster, the error the
// call should return, and whether the target object should exist after it.
type kindCase struct {
	reason string
	kube   client.Client
	err    error
	exists bool
}

// run calls op on cases and checks its error and, for fake clusters, that
// the target object exists afterwards exactly when it should.
func (k Kind[T]) run(t *testing.T, op string, call func(*testing.T, managed.TypedExternalClient[T]) error, cases map[string]kindCase) {
	t.Helper()
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := call(t, k.External(tc.kube))
			CheckError(t, tc.reason, op, tc.err, err)
			if _, mock := tc.kube.(*test.MockClient); mock {
				return
			}
			CheckExists(t, tc.reason, tc.kube, k.Object(), k.name(), tc.exists)
		})
	}
}

// with returns cases with more added.
func with(cases, more map[string]kindCase) map[string]kindCase {
	maps.Copy(cases, more)
	return cases
}

// TestConnect checks that the kind's connector, given a target cluster,
// makes for CR the external client that External makes on the cluster's
// client; opts compare the external clients (such as cmp.AllowUnexported
// of their type). common's tests cover the connector itself, errors
// included.
func (k Kind[T]) TestConnect(t *testing.T, opts ...cmp.Option) {
	t.Helper()
	kube := &test.MockClient{}
	CheckConnect(t, "The external client should use the target cluster's client and the namespace it resolves for the "+k.Kind+"'s managed resource.",
		k.Connect(Clusters{Cluster: &target.Cluster{Client: kube}}), k.CR(), k.External(kube), opts...)
}

// TestObserve checks that Observe refuses a target object that it did not
// make, returns the target cluster's errors, and in both cases leaves the
// managed resource as it was; and that, once the managed resource is being
// deleted, a target object it did not make reads as absent, and is kept,
// so that it cannot hold up the deletion.
func (k Kind[T]) TestObserve(t *testing.T) {
	t.Helper()
	observe := func(cr func() T) func(*testing.T, managed.TypedExternalClient[T]) error {
		return func(t *testing.T, e managed.TypedExternalClient[T]) error {
			got := cr()
			o, err := e.Observe(context.Background(), got)
			if diff := cmp.Diff(managed.ExternalObservation{}, o); diff != "" {
				t.Errorf("Observe(...): -want, +got:\n%s", diff)
			}
			if diff := cmp.Diff(cr(), got, test.EquateConditions()); diff != "" {
				t.Errorf("Observe(...): -want %T, +got %T:\n%s", got, got, diff)
			}
			return err
		}
	}
	k.run(t, "Observe", observe(k.CR), with(k.refused("Observe", k.kube), map[string]kindCase{
		"GetError": k.getError(),
	}))
	k.run(t, "Observe", observe(k.deleting), with(k.leftAlone("Observe"), map[string]kindCase{
		"DeletingGetError": k.getError(),
	}))
}

// deleting returns CR being deleted.
func (k Kind[T]) deleting() T {
	cr := k.CR()
	at := metav1.NewTime(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
	cr.SetDeletionTimestamp(&at)
	return cr
}

// leftAlone returns the cases in which op, for a managed resource being
// deleted, finds a target object that provider-vdi did not make, or made
// for another managed resource: op must keep it, and return no error, which
// would hold up the deletion.
func (k Kind[T]) leftAlone(op string) map[string]kindCase {
	return map[string]kindCase{
		"DeletingNotOurs": {
			reason: op + " should keep a " + k.Kind + " of the same name that provider-vdi did not make, and not hold up the deletion.",
			kube:   k.kube(OwnedBy(k.Object(), "")),
			exists: true,
		},
		"DeletingOfOther": {
			reason: op + " should keep a " + k.Kind + " of the same name that another managed resource made, and not hold up the deletion.",
			kube:   k.kube(OwnedBy(k.Object(), k.other())),
			exists: true,
		},
	}
}

// TestCreate checks that Create makes the target object, counts one it made
// before as made, and refuses one that it did not make.
func (k Kind[T]) TestCreate(t *testing.T) {
	t.Helper()
	k.run(t, "Create", func(_ *testing.T, e managed.TypedExternalClient[T]) error {
		_, err := e.Create(context.Background(), k.CR())
		return err
	}, with(k.refused("Create", k.kube), map[string]kindCase{
		"Created": {
			reason: "Create should create the " + k.Kind + ".",
			kube:   k.kube(),
			exists: true,
		},
		"AlreadyExists": {
			reason: "A " + k.Kind + " that this managed resource made already should count as created.",
			kube:   k.kube(k.Object()),
			exists: true,
		},
		"CreateError": {
			reason: "An error creating the " + k.Kind + " should be returned.",
			kube:   k.failingWrites(ErrBoom),
			err:    errors.Wrapf(ErrBoom, "cannot create %s %q", k.Kind, k.name()),
		},
	}))
}

// TestUpdate checks that Update refuses, writing nothing, a target object
// that it did not make, and returns the target cluster's errors.
func (k Kind[T]) TestUpdate(t *testing.T) {
	t.Helper()
	writes := 0
	readOnly := func(objs ...client.Object) client.Client {
		return failing{Client: k.kube(objs...), err: errors.New("nothing must be written"), writes: &writes}
	}
	update := func(_ *testing.T, e managed.TypedExternalClient[T]) error {
		_, err := e.Update(context.Background(), k.Changed())
		return err
	}
	k.run(t, "Update", update, with(k.refused("Update", readOnly), map[string]kindCase{
		"GetError": k.getError(),
	}))
	if writes != 0 {
		t.Errorf("Update(...): want no writes to a %s that is not the managed resource's, got %d", k.Kind, writes)
	}
	k.run(t, "Update", update, map[string]kindCase{
		"UpdateError": {
			reason: "An error writing the " + k.Kind + " should be returned.",
			kube:   k.failingWrites(ErrBoom, k.Object()),
			err:    errors.Wrapf(ErrBoom, "cannot update %s %q", k.Kind, k.name()),
			exists: true,
		},
	})
}

// TestDelete checks that Delete deletes the target object, counts one that
// is gone as deleted, and keeps one that it did not make.
func (k Kind[T]) TestDelete(t *testing.T) {
	t.Helper()
	k.run(t, "Delete", func(_ *testing.T, e managed.TypedExternalClient[T]) error {
		_, err := e.Delete(context.Background(), k.deleting())
		return err
	}, with(k.leftAlone("Delete"), map[string]kindCase{
		"Deleted": {
			reason: "Delete should delete the " + k.Kind + ".",
			kube:   k.kube(k.Object()),
		},
		"AlreadyGone": {
			reason: "A " + k.Kind + " that is already gone should count as deleted.",
			kube:   k.kube(),
		},
		"GoneBeforeDelete": {
			reason: "A " + k.Kind + " that is gone by the time it is deleted should count as deleted.",
			kube:   k.failingWrites(NotFound(k.Resource, k.name()), k.Object()),
			exists: true, // The fake still holds it; what counts is the error.
		},
		"GetError": k.getError(),
		"DeleteError": {
			reason: "An error deleting the " + k.Kind + " should be returned.",
			kube:   k.failingWrites(ErrBoom, k.Object()),
			err:    errors.Wrapf(ErrBoom, "cannot delete %s %q", k.Kind, k.name()),
			exists: true,
		},
	}))
}
