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

// verify fails t unless the certificate at path chains to the CA at caPath
// for usage and serves host.
func verify(t *testing.T, path, caPath, host string, usage x509.ExtKeyUsage) {
	t.Helper()
	roots := x509.NewCertPool()
	caPEM, err := os.ReadFile(caPath)
	if err != nil || !roots.AppendCertsFromPEM(caPEM) {
		t.Fatalf("cannot read the CA at %s: %v", caPath, err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s holds no PEM block", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: host, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
		t.Errorf("%s does not verify against %s for %s: %v", path, caPath, host, err)
	}
}

func TestIssue(t *testing.T) {
	certPEM, keyPEM := rsaCA(t)
	cases := map[string]struct {
		reason string
		ca     func(dir string) (*CA, error)
		leaf   Leaf
		host   string
		usage  x509.ExtKeyUsage
	}{
		"NewCAServing": {
			reason: "A CA made for the environment should issue a serving certificate for the names asked.",
			ca:     func(dir string) (*CA, error) { return NewCA(dir, "ca", "test CA") },
			leaf:   Leaf{Name: "apiserver", CommonName: "kube-apiserver", DNSNames: []string{"localhost"}, IPs: []net.IP{net.ParseIP("127.0.0.1")}},
			host:   "localhost",
			usage:  x509.ExtKeyUsageServerAuth,
		},
		"NewCAClient": {
			reason: "A CA made for the environment should issue a client certificate when asked.",
			ca:     func(dir string) (*CA, error) { return NewCA(dir, "ca", "test CA") },
			leaf:   Leaf{Name: "admin", CommonName: "admin", Organizations: []string{"system:masters"}, Client: true},
			usage:  x509.ExtKeyUsageClientAuth,
		},
		"LoadedRSACA": {
			reason: "A CA loaded from an RSA certificate and key, as Crossplane's root CA is, should issue a function's serving certificate.",
			ca:     func(dir string) (*CA, error) { return LoadCA(dir, "ca", certPEM, keyPEM) },
			leaf:   Leaf{Name: "tls", CommonName: "function-vdi", DNSNames: []string{"localhost", "function-vdi"}, IPs: []net.IP{net.ParseIP("127.0.0.1")}},
			host:   "function-vdi",
			usage:  x509.ExtKeyUsageServerAuth,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			ca, err := tc.ca(dir)
			if err != nil {
				t.Fatalf("\n%s\nthe CA: %v", tc.reason, err)
			}
			crt, _, err := ca.Issue(dir, tc.leaf)
			if err != nil {
				t.Fatalf("\n%s\nIssue(...): %v", tc.reason, err)
			}
			verify(t, crt, ca.Cert, tc.host, tc.usage)
		})
	}
}

func TestLoadCARefusesBadPEM(t *testing.T) {
	certPEM, _ := rsaCA(t)
	if _, err := LoadCA(t.TempDir(), "ca", certPEM, []byte("not a key")); err == nil {
		t.Error("LoadCA(...) with a key that is no PEM: want an error, got none")
	}
}
