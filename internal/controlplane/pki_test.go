package controlplane

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"testing"
	"time"
)

// rsaCA returns the PEM certificate and key of an RSA CA, the kind
// Crossplane keeps in its root CA Secret.
func rsaCA(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Crossplane Root CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
}

// TestCAIssues: a serving certificate for the kubelet's IP and a client
// certificate for the API server, both verifying against the environment's
// CA, each only for its use; and a function's serving certificate from an
// RSA CA such as Crossplane's root CA.
func TestCAIssues(t *testing.T) {
	certPEM, keyPEM := rsaCA(t)
	made := func(dir string) (*CA, error) { return NewCA(dir, "ca", "test CA") }
	loaded := func(dir string) (*CA, error) { return LoadCA(dir, "ca", certPEM, keyPEM) }
	cases := map[string]struct {
		reason string
		ca     func(dir string) (*CA, error)
		leaf   Leaf
		usage  x509.ExtKeyUsage
		other  x509.ExtKeyUsage
		name   string
	}{
		"Serving": {
			reason: "A serving certificate verifies for its IP address as a server, not as a client.",
			ca:     made,
			leaf:   Leaf{Name: "kubelet", CommonName: "system:node:real-0", IPs: []net.IP{net.ParseIP(realNodeIP)}},
			usage:  x509.ExtKeyUsageServerAuth, other: x509.ExtKeyUsageClientAuth, name: realNodeIP,
		},
		"Client": {
			reason: "A client certificate verifies as a client, not as a server.",
			ca:     made,
			leaf:   Leaf{Name: "client", CommonName: "kube-apiserver-kubelet-client", Organizations: []string{"system:masters"}, Client: true},
			usage:  x509.ExtKeyUsageClientAuth, other: x509.ExtKeyUsageServerAuth,
		},
		"LoadedRSACA": {
			reason: "A CA loaded from an RSA certificate and key, as Crossplane's root CA is, issues a function's serving certificate.",
			ca:     loaded,
			leaf:   Leaf{Name: "tls", CommonName: "function-vdi", DNSNames: []string{"localhost", "function-vdi"}, IPs: []net.IP{net.ParseIP("127.0.0.1")}},
			usage:  x509.ExtKeyUsageServerAuth, other: x509.ExtKeyUsageClientAuth, name: "function-vdi",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			ca, err := tc.ca(dir)
			if err != nil {
				t.Fatalf("\n%s\nthe CA: %v", tc.reason, err)
			}
			roots := x509.NewCertPool()
			caPEM, err := os.ReadFile(ca.Cert)
			if err != nil || !roots.AppendCertsFromPEM(caPEM) {
				t.Fatalf("\n%s\ncannot read the CA at %s: %v", tc.reason, ca.Cert, err)
			}
			crt, key, err := ca.Issue(dir, tc.leaf)
			if err != nil {
				t.Fatalf("\n%s\nIssue(...): %v", tc.reason, err)
			}
			if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("\n%s\nkey %s: %v, mode %v; want 0600", tc.reason, key, err, fi.Mode().Perm())
			}
			b, _ := os.ReadFile(crt)
			block, _ := pem.Decode(b)
			if block == nil {
				t.Fatalf("\n%s\n%s holds no PEM block", tc.reason, crt)
			}
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Verify(x509.VerifyOptions{Roots: roots, DNSName: tc.name, KeyUsages: []x509.ExtKeyUsage{tc.usage}}); err != nil {
				t.Errorf("\n%s\nVerify: %v", tc.reason, err)
			}
			if _, err := c.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{tc.other}}); err == nil {
				t.Errorf("\n%s\nVerify for the other use: no error", tc.reason)
			}
		})
	}
}

func TestLoadCARefusesBadPEM(t *testing.T) {
	certPEM, _ := rsaCA(t)
	if _, err := LoadCA(t.TempDir(), "ca", certPEM, []byte("not a key")); err == nil {
		t.Error("LoadCA(...) with a key that is no PEM: want an error, got none")
	}
}
