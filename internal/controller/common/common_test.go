package common

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	kevent "sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/statemetrics"
	"github.com/crossplane/crossplane-runtime/v2/pkg/test"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/clients/target"
	"github.com/provider-vdi/provider-vdi/internal/clients/target/targettest"
	"github.com/provider-vdi/provider-vdi/internal/controller/controllertest"
)

// external is what the tests' external client constructor makes: the
// cluster and managed resource it was given.
type external struct {
	managed.TypedExternalClient[*v1alpha1.Desktop]
	cluster *target.Cluster
	mg      *v1alpha1.Desktop
}

func TestConnector(t *testing.T) {
	kube := &test.MockClient{}
	cl := target.NewCluster(kube, "desktops")
	mg := &v1alpha1.Desktop{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "alice"}}
	type want struct {
		err     error
		cluster *target.Cluster
	}
	cases := map[string]struct {
		reason   string
		clusters target.Clusters
		want     want
	}{
		"ClustersError": {
			reason:   "An error resolving the target cluster should be returned as is, and no external client made.",
			clusters: targettest.Clusters{Err: targettest.ErrBoom},
			want:     want{err: targettest.ErrBoom},
		},
		"Connected": {
			reason:   "The external client should be made for the cluster the managed resource resolves to, and for that managed resource.",
			clusters: targettest.Clusters{Cluster: cl},
			want:     want{cluster: cl},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := NewConnector(tc.clusters, func(cl *target.Cluster, cr *v1alpha1.Desktop) managed.TypedExternalClient[*v1alpha1.Desktop] {
				return &external{cluster: cl, mg: cr}
			})
			got, err := c.Connect(context.Background(), mg)
			targettest.CheckError(t, tc.reason, "Connect", tc.want.err, err)
			if tc.want.err != nil {
				if got != nil {
					t.Errorf("\n%s\nConnect(...): want no external client with an error, got %v", tc.reason, got)
				}
				return
			}
			e, ok := got.(*external)
			if !ok {
				t.Fatalf("\n%s\nConnect(...): want the external client the constructor made, got %T", tc.reason, got)
			}
			if e.cluster != tc.want.cluster || e.mg != mg {
				t.Errorf("\n%s\nConnect(...): want the constructor called with the resolved cluster and the managed resource, got %+v", tc.reason, e)
			}
		})
	}
}

func usage(ns, name, pcKind, pcName string, resource xpv2.TypedReference) *v1alpha1.ProviderConfigUsage {
	u := &v1alpha1.ProviderConfigUsage{ObjectMeta: metav1.ObjectMeta{
		Namespace: ns, Name: name,
		Labels: map[string]string{xpv2.LabelKeyProviderName: pcName, xpv2.LabelKeyProviderKind: pcKind},
	}}
	u.ProviderConfigReference = xpv2.ProviderConfigReference{Kind: pcKind, Name: pcName}
	u.ResourceReference = resource
	return u
}

func desktopRef(name string) xpv2.TypedReference {
	return xpv2.TypedReference{APIVersion: v1alpha1.DesktopGroupVersionKind.GroupVersion().String(), Kind: v1alpha1.DesktopKind, Name: name}
}

func TestUsersOfProviderConfig(t *testing.T) {
	objs := []client.Object{
		usage("team-a", "u1", v1alpha1.ProviderConfigKind, "gpu", desktopRef("alice")),
		usage("team-a", "u2", v1alpha1.ProviderConfigKind, "gpu", xpv2.TypedReference{APIVersion: v1alpha1.DesktopVolumeGroupVersionKind.GroupVersion().String(), Kind: v1alpha1.DesktopVolumeKind, Name: "alice-home"}),
		usage("team-a", "u3", v1alpha1.ProviderConfigKind, "other", desktopRef("bob")),
		usage("team-b", "u4", v1alpha1.ProviderConfigKind, "gpu", desktopRef("carol")),
		usage("team-a", "u5", v1alpha1.ClusterProviderConfigKind, "gpu", desktopRef("dave")),
		usage("team-b", "u6", v1alpha1.ClusterProviderConfigKind, "gpu", desktopRef("erin")),
	}
	cases := map[string]struct {
		reason string
		kube   client.Reader
		config client.Object
		want   []reconcile.Request
	}{
		"ProviderConfig": {
			reason: "A changed ProviderConfig should enqueue the Desktops of its own namespace that use it, and no other kind's resources.",
			kube:   fake.NewClientBuilder().WithScheme(controllertest.Scheme(t)).WithObjects(objs...).Build(),
			config: &v1alpha1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "gpu"}},
			want:   []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: "team-a", Name: "alice"}}},
		},
		"ClusterProviderConfig": {
			reason: "A changed ClusterProviderConfig should enqueue the Desktops of every namespace that use it, not those using a namesake ProviderConfig.",
			kube:   fake.NewClientBuilder().WithScheme(controllertest.Scheme(t)).WithObjects(objs...).Build(),
			config: &v1alpha1.ClusterProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "gpu"}},
			want: []reconcile.Request{
				{NamespacedName: types.NamespacedName{Namespace: "team-a", Name: "dave"}},
				{NamespacedName: types.NamespacedName{Namespace: "team-b", Name: "erin"}},
			},
		},
		"ListError": {
			reason: "An error listing usages should enqueue nothing: the users see the change at their next poll.",
			kube:   &test.MockClient{MockList: test.NewMockListFn(targettest.ErrBoom)},
			config: &v1alpha1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "gpu"}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			h := UsersOfProviderConfig(tc.kube, v1alpha1.DesktopGroupVersionKind, logging.NewNopLogger())
			q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
			defer q.ShutDown()
			h.Update(context.Background(), kevent.UpdateEvent{ObjectOld: tc.config, ObjectNew: tc.config}, q)
			var got []reconcile.Request
			for q.Len() > 0 {
				r, _ := q.Get()
				got = append(got, r)
				q.Done(r)
			}
			less := func(a, b reconcile.Request) bool { return a.String() < b.String() }
			if diff := cmp.Diff(tc.want, got, cmpopts.SortSlices(less)); diff != "" {
				t.Errorf("\n%s\nenqueued: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestSetup(t *testing.T) {
	withoutLists := runtime.NewScheme()
	withoutLists.AddKnownTypes(v1alpha1.SchemeGroupVersion, &v1alpha1.Desktop{})

	options := func(state bool) controller.Options {
		o := controllertest.Options()
		o.MetricOptions = &controller.MetricOptions{MRMetrics: managed.NewMRMetricRecorder()}
		if state {
			o.MetricOptions.MRStateMetrics = statemetrics.NewMRStateMetrics()
		}
		return o
	}
	cases := map[string]struct {
		reason  string
		scheme  *runtime.Scheme
		o       controller.Options
		events  chan kevent.GenericEvent
		wantErr error
	}{
		"WithStateMetricsAndEvents": {
			reason: "A kind with state metrics and target events should be set up.",
			scheme: controllertest.Scheme(t),
			o:      options(true),
			events: make(chan kevent.GenericEvent),
		},
		"WithoutStateMetrics": {
			reason: "A kind without state metrics or target events should be set up.",
			scheme: controllertest.Scheme(t),
			o:      options(false),
		},
		"NoListKind": {
			reason:  "State metrics of a kind whose list the scheme does not know should be an error, not silently missing.",
			scheme:  withoutLists,
			o:       options(true),
			wantErr: errors.Wrapf(runtime.NewNotRegisteredErrForKind(withoutLists.Name(), v1alpha1.SchemeGroupVersion.WithKind("DesktopList")), "cannot make a list of %s", v1alpha1.DesktopKind),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			mgr := controllertest.Manager(t, tc.scheme)
			conn := NewConnector(targettest.Clusters{}, func(*target.Cluster, *v1alpha1.Desktop) managed.TypedExternalClient[*v1alpha1.Desktop] { return nil })
			err := Setup(mgr, tc.o, v1alpha1.DesktopGroupVersionKind, &v1alpha1.Desktop{}, conn, tc.events)
			if diff := cmp.Diff(tc.wantErr, err, test.EquateErrors()); diff != "" {
				t.Errorf("\n%s\nSetup(...): -want error, +got error:\n%s", tc.reason, diff)
			}
		})
	}
}
