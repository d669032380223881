// Command function serves function-vdi, the composition function that turns
// a VDISession into provider-vdi's managed resources.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	function "github.com/crossplane/function-sdk-go"

	fn "github.com/provider-vdi/provider-vdi/internal/function"
)

func main() {
	err := run(os.Args[1:])
	switch {
	case errors.Is(err, flag.ErrHelp):
		return
	case err != nil:
		fmt.Fprintln(os.Stderr, "function-vdi:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("function-vdi", flag.ContinueOnError)
	var (
		network  = fs.String("network", "tcp", "Network on which to listen for gRPC connections.")
		address  = fs.String("address", ":9443", "Address at which to listen for gRPC connections.")
		certs    = fs.String("tls-certs-dir", os.Getenv("TLS_SERVER_CERTS_DIR"), "Directory of the mTLS certificates: tls.crt, tls.key and ca.crt (env TLS_SERVER_CERTS_DIR).")
		insecure = fs.Bool("insecure", false, "Serve without mTLS, e.g. for crossplane render; Crossplane itself always uses mTLS.")
		metrics  = fs.String("metrics-address", "", "Address of the Prometheus metrics endpoint, e.g. :8081; off when empty. Kept off 8080, which Crossplane and the provider use.")
		debug    = fs.Bool("debug", false, "Log debug messages.")
		now      = fs.String("now", "", "For tests only: a fixed RFC 3339 time that decides expiry instead of the clock.")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}

	log, err := function.NewLogger(*debug)
	if err != nil {
		return err
	}
	opts := []fn.Option{fn.WithLogger(log)}
	if *now != "" {
		t, err := time.Parse(time.RFC3339, *now)
		if err != nil {
			return fmt.Errorf("cannot parse --now: %w", err)
		}
		opts = append(opts, fn.WithClock(func() time.Time { return t }))
	}

	return function.Serve(fn.New(opts...),
		function.Listen(*network, *address),
		function.MTLSCertificates(*certs),
		function.Insecure(*insecure),
		function.WithMetricsServer(*metrics),
	)
}
