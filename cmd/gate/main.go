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
	srv, err := server(os.Getenv)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	// ListenAndServe returns as soon as Shutdown starts: the gate exits once
	// Shutdown has let the requests in flight finish (WebSockets, which
	// are hijacked, end with the Pod).
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	log.Printf("gate: serving %q for %q", srv.Addr, os.Getenv(gate.EnvAudience)) //nolint:gosec // The provider sets these variables; %q quotes them.
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	<-drained
	return nil
}

// server returns the gate's server as the environment getenv reads
// configures it, or an error naming what is missing or wrong.
func server(getenv func(string) string) (*http.Server, error) {
	links, err := gate.VerifierFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	up, err := url.Parse(getenv(gate.EnvUpstream))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", gate.EnvUpstream, err)
	}
	g, err := gate.New(gate.Config{
		Links:    links,
		Upstream: up,
		User:     getenv(gate.EnvUpstreamUser),
		Password: getenv(gate.EnvUpstreamPassword),
	})
	if err != nil {
		return nil, err
	}
	listen := getenv(gate.EnvListen)
	if listen == "" {
		return nil, errors.New(gate.EnvListen + " is not set")
	}
	return &http.Server{Addr: listen, Handler: g, ReadHeaderTimeout: 10 * time.Second}, nil
}
