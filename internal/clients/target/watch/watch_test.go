package watch

import (
	"context"
	"net"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/event"
)

// TestDesktopPodsAndClaimsBounded starts a watch of a cluster that accepts
// connections and never answers: it must return an error once cfg's timeout
// has passed, not hang.
func TestDesktopPodsAndClaimsBounded(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		var held []net.Conn // accepted, never answered
		for {
			c, err := l.Accept()
			if err != nil {
				for _, c := range held {
					_ = c.Close()
				}
				return
			}
			held = append(held, c)
		}
	}()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := &rest.Config{Host: "http://" + l.Addr().String(), Timeout: 500 * time.Millisecond}
	done := make(chan error, 1)
	go func() {
		done <- DesktopPodsAndClaims(ctx, cfg, Sinks{Pods: make(chan event.GenericEvent), Claims: make(chan event.GenericEvent)})
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("DesktopPodsAndClaims(...): want an error from a cluster that never answers, got none")
		}
	case <-time.After(time.Minute):
		t.Errorf("DesktopPodsAndClaims(...): still blocked a minute after its 500ms discovery timeout")
	}
}
