package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/testing/protocmp"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	fnresource "github.com/crossplane/function-sdk-go/resource"

	"github.com/provider-vdi/provider-vdi/internal/controlplane"
)

// TestServeMTLS serves the function as Crossplane runs it, with mTLS from
// --tls-certs-dir, and calls it with and without a client certificate.
func TestServeMTLS(t *testing.T) {
	// tls.crt, tls.key and ca.crt, as Crossplane lays them out, and a
	// client certificate of the same CA.
	dir := t.TempDir()
	ca, err := controlplane.NewCA(dir, "ca", "ca")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ca.Issue(dir, controlplane.Leaf{Name: "tls", CommonName: "tls", IPs: []net.IP{net.ParseIP("127.0.0.1")}}); err != nil {
		t.Fatal(err)
	}
	clientCert, clientKey, err := ca.Issue(t.TempDir(), controlplane.Leaf{Name: "client", CommonName: "client", Client: true})
	if err != nil {
		t.Fatal(err)
	}
	client, err := tls.LoadX509KeyPair(clientCert, clientKey)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(ca.Cert)
	if err != nil {
		t.Fatal(err)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	go func() { _ = run([]string{"--tls-certs-dir=" + dir, "--address=" + addr}) }() // Serves until the test binary exits.

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	req := &fnv1.RunFunctionRequest{
		Input: fnresource.MustStructJSON(`{"apiVersion":"vdi.fn.kasm.io/v1beta1","kind":"Input","ingress":{"domain":"vdi.example.com"}}`),
		Observed: &fnv1.State{Composite: &fnv1.Resource{Resource: fnresource.MustStructJSON(
			`{"apiVersion":"vdi.kasm.io/v1alpha1","kind":"VDISession","metadata":{"name":"s","namespace":"n"},"spec":{"user":"u","template":"ubuntu-gpu"}}`)}},
	}
	// The first call waits for the server to listen; the server is up by
	// the second, which must fail at the handshake.
	call := func(certs []tls.Certificate, wait bool) (*fnv1.RunFunctionResponse, error) {
		creds := credentials.NewTLS(&tls.Config{RootCAs: pool, Certificates: certs, MinVersion: tls.VersionTLS12})
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
		if err != nil {
			return nil, err
		}
		defer conn.Close() //nolint:errcheck // Best effort.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return fnv1.NewFunctionRunnerServiceClient(conn).RunFunction(ctx, req, grpc.WaitForReady(wait))
	}

	t.Run("WithClientCertificate", func(t *testing.T) {
		rsp, err := call([]tls.Certificate{client}, true)
		if err != nil {
			t.Fatalf("RunFunction over mTLS: %v", err)
		}
		want := &fnv1.Requirements{Resources: map[string]*fnv1.ResourceSelector{"template": {
			ApiVersion: "vdi.kasm.io/v1alpha1", Kind: "VDITemplate", Match: &fnv1.ResourceSelector_MatchName{MatchName: "ubuntu-gpu"},
		}}}
		if diff := cmp.Diff(want, rsp.GetRequirements(), protocmp.Transform()); diff != "" {
			t.Errorf("RunFunction over mTLS: the first pass should ask for the template: -want, +got:\n%s", diff)
		}
	})
	t.Run("WithoutClientCertificate", func(t *testing.T) {
		if _, err := call(nil, false); err == nil {
			t.Errorf("RunFunction without a client certificate: want an error, got none")
		}
	})
}
