package target

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
)

func TestConnectorRoutesEvents(t *testing.T) {
	cases := map[string]struct {
		reason string
		obj    client.Object
		claim  bool
	}{
		"Pod": {
			reason: "A desktop Pod's event should reach the Desktop controller.",
			obj:    &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "alice-desktop"}},
		},
		"Claim": {
			reason: "A home claim's event should reach the DesktopVolume controller.",
			obj:    &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "alice-home"}},
			claim:  true,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			c := NewConnector(ctx, nil, &rest.Config{})
			c.events <- event.GenericEvent{Object: tc.obj}
			want, other := c.PodEvents(), c.ClaimEvents()
			if tc.claim {
				want, other = other, want
			}
			select {
			case ev := <-want:
				if ev.Object != tc.obj {
					t.Errorf("\n%s\nwant the event's object passed on, got %v", tc.reason, ev.Object)
				}
			case ev := <-other:
				t.Errorf("\n%s\nthe event of %T reached the wrong controller", tc.reason, ev.Object)
			case <-time.After(5 * time.Second):
				t.Errorf("\n%s\nthe event of %T reached no controller", tc.reason, tc.obj)
			}
		})
	}
}
