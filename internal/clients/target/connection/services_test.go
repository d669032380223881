package connection

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
)

func TestServiceCreatesLimited(t *testing.T) {
	cases := map[string]struct {
		reason string
		obj    func(i int) client.Object
		want   int32
	}{
		"Services": {
			reason: "At most the limit of Service creates should be in flight at once.",
			obj: func(i int) client.Object {
				return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "s" + string(rune('a'+i))}}
			},
			want: 2,
		},
		"Pods": {
			reason: "Creates of other kinds should not wait for one another.",
			obj: func(i int) client.Object {
				return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "p" + string(rune('a'+i))}}
			},
			want: 6,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var inFlight, peak atomic.Int32
			release := make(chan struct{})
			kube := fake.NewClientBuilder().WithInterceptorFuncs(interceptor.Funcs{Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
				n := inFlight.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				<-release
				inFlight.Add(-1)
				return c.Create(ctx, obj, opts...)
			}}).Build()
			limited := serviceCreates(kube, 2)
			var wg sync.WaitGroup
			for i := range 6 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := limited.Create(t.Context(), tc.obj(i)); err != nil {
						t.Errorf("Create(...): %v", err)
					}
				}()
			}
			// Let every create that may start start.
			time.Sleep(200 * time.Millisecond)
			close(release)
			wg.Wait()
			if got := peak.Load(); got != tc.want {
				t.Errorf("\n%s\ncreates in flight at once: want %d, got %d", tc.reason, tc.want, got)
			}
		})
	}
}
