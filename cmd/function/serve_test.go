package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/testing/protocmp"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	fnresource "github.com/crossplane/function-sdk-go/resource"
)

// TestServeMTLS serves the function as Crossplane runs it, with mTLS from
// --tls-certs-dir, and calls it with and without a client certificate.
func TestServeMTLS(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := cert(t, nil, nil, "ca", dir)
	cert(t, ca, caKey, "tls", dir)
	client, clientKey := cert(t, ca, caKey, "client", dir)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	go func() { _ = run([]string{"--tls-certs-dir=" + dir, "--address=" + addr}) }() // Serves until the test binary exits.

	pool := x509.NewCertPool()
	pool.AddCert(ca)
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
		rsp, err := call([]tls.Certificate{{Certificate: [][]byte{client.Raw}, PrivateKey: clientKey}}, true)
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

// cert writes <name>.crt and <name>.key (tls.crt, tls.key and ca.crt, as
// Crossplane lays them out) signed by parent, or self-signed.
func cert(t *testing.T, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, name, dir string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if parent == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid, tmpl.KeyUsage = true, true, x509.KeyUsageCertSign
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(file, typ string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, file), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(name+".crt", "CERTIFICATE", der)
	write(name+".key", "EC PRIVATE KEY", keyDER)
	return c, key
}
