// Command gate runs in every desktop Pod, in front of the desktop: it lets
// a request through only with a valid session link, signed by the
// provider, or the cookie that such a link set, and then proxies it,
// WebSocket upgrades included, to the desktop on the Pod's loopback with the
// desktop's own basic authentication. The provider configures it through
// its environment (see internal/controller/desktop).
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/provider-vdi/provider-vdi/internal/gate"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gate:", err)
		os.Exit(1)
	}
}

func run() error {
	key, err := gate.ParsePublicKeyPEM(os.Getenv(gate.EnvPublicKey))
	if err != nil {
		return fmt.Errorf("%s: %w", gate.EnvPublicKey, err)
	}
	up, err := url.Parse(os.Getenv(gate.EnvUpstream))
	if err != nil {
		return fmt.Errorf("%s: %w", gate.EnvUpstream, err)
	}
	g, err := gate.New(gate.Config{
		Links: gate.Verifier{
			Key:      key,
			Audience: os.Getenv(gate.EnvAudience),
			Subject:  os.Getenv(gate.EnvSubject),
			Pod:      os.Getenv(gate.EnvPodUID),
		},
		Upstream: up,
		User:     os.Getenv(gate.EnvUpstreamUser),
		Password: os.Getenv(gate.EnvUpstreamPassword),
	})
	if err != nil {
		return err
	}
	listen := os.Getenv(gate.EnvListen)
	if listen == "" {
		return errors.New(gate.EnvListen + " is not set")
	}
	srv := &http.Server{Addr: listen, Handler: g, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	log.Printf("gate: serving %q for %q, in front of %q", listen, os.Getenv(gate.EnvAudience), up.Redacted()) //nolint:gosec // The provider sets these variables; %q quotes them.
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
