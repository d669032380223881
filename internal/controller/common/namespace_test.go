package common

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/event"
	xpmeta "github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/test"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/clients/target/targettest"
)

func TestNamespaceRecorder(t *testing.T) {
	teamA := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a", UID: types.UID("uid-now")}}
	// namespaces answers a Get of namespace team-a, and only of that.
	namespaces := &test.MockClient{MockGet: func(_ context.Context, key client.ObjectKey, o client.Object) error {
		if key != (client.ObjectKey{Name: "team-a"}) {
			return errors.Errorf("read %v, want namespace team-a", key)
		}
		teamA.DeepCopyInto(o.(*corev1.Namespace))
		return nil
	}}
	// untouched fails the test on any call.
	untouched := func(t *testing.T) *test.MockClient {
		return &test.MockClient{
			MockGet: func(context.Context, client.ObjectKey, client.Object) error {
				t.Error("the namespace was read")
				return nil
			},
			MockUpdate: func(context.Context, client.Object, ...client.UpdateOption) error {
				t.Error("the managed resource was updated")
				return nil
			},
		}
	}
	deleted := func(d *v1alpha1.Desktop) {
		d.SetDeletionTimestamp(&metav1.Time{Time: time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC)})
	}
	created := func(d *v1alpha1.Desktop) {
		xpmeta.SetExternalCreateSucceeded(d, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	}
	unreadable := errors.Wrap(targettest.ErrBoom, `cannot read namespace "team-a" to record its UID (provider-vdi needs get on namespaces: examples/install/namespaces.yaml)`)

	cases := map[string]struct {
		reason     string
		namespaces func(t *testing.T) client.Reader
		update     func(t *testing.T) client.Client
		mg         *v1alpha1.Desktop
		want       *v1alpha1.Desktop
		err        error
		events     []event.Event
	}{
		"Records": {
			reason:     "The UID of the managed resource's namespace should be recorded on it, and the managed resource updated.",
			namespaces: func(*testing.T) client.Reader { return namespaces },
			update: func(t *testing.T) client.Client {
				return &test.MockClient{MockUpdate: func(_ context.Context, o client.Object, _ ...client.UpdateOption) error {
					if got := o.GetAnnotations()[v1alpha1.AnnotationNamespaceUID]; got != "uid-now" {
						t.Errorf("the managed resource was updated with namespace UID %q, want uid-now", got)
					}
					return nil
				}}
			},
			mg:   targettest.Desktop(),
			want: targettest.Desktop(targettest.NamespaceUID[*v1alpha1.Desktop]("uid-now")),
		},
		"AlreadyRecorded": {
			reason:     "A UID already recorded should be kept, even if the namespace now has another: it is the namespace the managed resource was made in.",
			namespaces: func(t *testing.T) client.Reader { return untouched(t) },
			update:     func(t *testing.T) client.Client { return untouched(t) },
			mg:         targettest.Desktop(targettest.NamespaceUID[*v1alpha1.Desktop]("uid-before")),
			want:       targettest.Desktop(targettest.NamespaceUID[*v1alpha1.Desktop]("uid-before")),
		},
		"BeingDeleted": {
			reason:     "A managed resource being deleted should not wait on a read of its namespace.",
			namespaces: func(t *testing.T) client.Reader { return untouched(t) },
			update:     func(t *testing.T) client.Client { return untouched(t) },
			mg:         targettest.Desktop(deleted),
			want:       targettest.Desktop(deleted),
		},
		"NamespaceUnreadable": {
			reason: "A namespace the provider may not read should be an error naming the namespace and the permission to grant.",
			namespaces: func(*testing.T) client.Reader {
				return &test.MockClient{MockGet: test.NewMockGetFn(targettest.ErrBoom)}
			},
			update: func(t *testing.T) client.Client { return untouched(t) },
			mg:     targettest.Desktop(),
			want:   targettest.Desktop(),
			err:    unreadable,
		},
		"NamespaceUnreadableMadeBefore": {
			reason: "A managed resource whose objects were made before should go on without a UID, with a warning event saying why, so that a permission missing after an upgrade stops nothing it runs.",
			namespaces: func(*testing.T) client.Reader {
				return &test.MockClient{MockGet: test.NewMockGetFn(targettest.ErrBoom)}
			},
			update: func(t *testing.T) client.Client { return untouched(t) },
			mg:     targettest.Desktop(created),
			want:   targettest.Desktop(created),
			events: []event.Event{event.Warning(reasonNamespaceUnread, unreadable)},
		},
		"UpdateFails": {
			reason:     "An error recording the UID should be returned, so that the reconcile is retried before anything is made.",
			namespaces: func(*testing.T) client.Reader { return namespaces },
			update: func(*testing.T) client.Client {
				return &test.MockClient{MockUpdate: test.NewMockUpdateFn(targettest.ErrBoom)}
			},
			mg:   targettest.Desktop(),
			want: targettest.Desktop(targettest.NamespaceUID[*v1alpha1.Desktop]("uid-now")),
			err:  errors.Wrap(targettest.ErrBoom, `cannot record the UID of namespace "team-a" on the managed resource`),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			rec := &events{}
			err := NewNamespaceRecorder(tc.namespaces(t), tc.update(t), rec).Initialize(context.Background(), tc.mg)
			if diff := cmp.Diff(tc.err, err, test.EquateErrors()); diff != "" {
				t.Errorf("\n%s\nInitialize(...): -want error, +got error:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.events, rec.got, test.EquateErrors()); diff != "" {
				t.Errorf("\n%s\nInitialize(...): -want events, +got events:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.want, tc.mg); diff != "" {
				t.Errorf("\n%s\nInitialize(...): -want managed resource, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

// events records the events it is given.
type events struct{ got []event.Event }

func (r *events) Event(_ runtime.Object, e event.Event) { r.got = append(r.got, e) }

func (r *events) WithAnnotations(...string) event.Recorder { return r }
