package common

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/controller/controllertest"
)

func TestQuietStatusUpdate(t *testing.T) {
	cases := map[string]struct {
		reason string
		change func(d *v1alpha1.Desktop)
		want   int
	}{
		"Unchanged": {
			reason: "A status update that changes nothing should not be sent.",
			change: func(*v1alpha1.Desktop) {},
			want:   0,
		},
		"ConditionChanged": {
			reason: "A status update with a new condition should be sent.",
			change: func(d *v1alpha1.Desktop) { d.SetConditions(xpv2.Available()) },
			want:   1,
		},
		"ObservationChanged": {
			reason: "A status update with a new observation should be sent.",
			change: func(d *v1alpha1.Desktop) { d.Status.AtProvider.NodeName = "gpu-1" },
			want:   1,
		},
		"StaleResourceVersion": {
			reason: "A status update of an object older or newer than the cache's should be sent, and let the API server decide.",
			change: func(d *v1alpha1.Desktop) { d.SetResourceVersion("1") },
			want:   1,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			d := &v1alpha1.Desktop{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "alice-desktop"}}
			d.SetConditions(xpv2.Creating())
			sent := 0
			kube := fake.NewClientBuilder().WithScheme(controllertest.Scheme(t)).WithObjects(d).WithStatusSubresource(d).
				WithInterceptorFuncs(interceptor.Funcs{SubResourceUpdate: func(ctx context.Context, c client.Client, sub string, obj client.Object, opts ...client.SubResourceUpdateOption) error {
					sent++
					return c.SubResource(sub).Update(ctx, obj, opts...)
				}}).Build()
			got := &v1alpha1.Desktop{}
			if err := kube.Get(t.Context(), client.ObjectKeyFromObject(d), got); err != nil {
				t.Fatal(err)
			}
			tc.change(got)
			_ = quietClient{Client: kube, reader: kube, cache: kube}.Status().Update(t.Context(), got)
			if sent != tc.want {
				t.Errorf("\n%s\nstatus updates sent: want %d, got %d", tc.reason, tc.want, sent)
			}
		})
	}
}

func TestQuietClientReadsTheAPIServer(t *testing.T) {
	key := client.ObjectKey{Namespace: "team-a", Name: "alice-desktop"}
	stale := &v1alpha1.Desktop{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
	fresh := stale.DeepCopy()
	fresh.SetFinalizers([]string{"finalizer.managedresource.crossplane.io"})
	api := fake.NewClientBuilder().WithScheme(controllertest.Scheme(t)).WithObjects(fresh).Build()
	cache := fake.NewClientBuilder().WithScheme(controllertest.Scheme(t)).WithObjects(stale).Build()
	got := &v1alpha1.Desktop{}
	qc := quietClient{Client: cache, reader: withoutKind{api}, cache: cache, scheme: controllertest.Scheme(t)}
	if err := qc.Get(t.Context(), key, got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fresh.GetFinalizers(), got.GetFinalizers()); diff != "" {
		t.Errorf("\nA reconcile should start from the managed resource as the API server has it, not the cache's older copy:\nGet(...) finalizers: -want, +got:\n%s", diff)
	}
	if diff := cmp.Diff(v1alpha1.DesktopGroupVersionKind, got.GroupVersionKind()); diff != "" {
		t.Errorf("\nA managed resource read from the API server should know its kind, which the API server's typed answer lacks:\nGet(...) kind: -want, +got:\n%s", diff)
	}
}

// withoutKind reads as the API server's typed answer decodes: with no
// apiVersion and kind.
type withoutKind struct{ client.Reader }

func (r withoutKind) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	err := r.Reader.Get(ctx, key, obj, opts...)
	obj.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{})
	return err
}
