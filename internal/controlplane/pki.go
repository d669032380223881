package controlplane

import (
	"crypto"
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
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

// A CA is a certificate authority made for one local environment. Its key
// never leaves the environment's folder.
type CA struct {
	// Cert is the path of its PEM certificate, for clients to trust.
	Cert string

	cert *x509.Certificate
	key  crypto.Signer
}

// A Leaf is a certificate the CA issued: the Name used for its files, and
// what it is for.
type Leaf struct {
	// Name of the files: <Name>.crt and <Name>.key.
	Name string
	// CommonName and Organizations are the subject; for client
	// certificates Kubernetes reads them as user and groups.
	CommonName    string
	Organizations []string
	DNSNames      []string
	IPs           []net.IP
	// Client makes a client certificate, else a serving one.
	Client bool
}

// NewCA makes a CA named cn and writes its certificate and key into dir as
// <name>.crt and <name>.key.
func NewCA(dir, name, cn string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, errors.Wrap(err, "cannot generate CA key")
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, errors.Wrapf(err, "cannot create CA %q", cn)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, errors.Wrapf(err, "cannot parse CA %q", cn)
	}
	ca := &CA{Cert: filepath.Join(dir, name+".crt"), cert: cert, key: key}
	return ca, writePair(dir, name, der, key)
}

// LoadCA returns the CA whose PEM certificate and key are given (such as
// Crossplane's root CA, from its Secret), and writes its certificate into
// dir as <name>.crt.
func LoadCA(dir, name string, certPEM, keyPEM []byte) (*CA, error) {
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, errors.Wrapf(err, "cannot parse CA %q", name)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, errors.Wrapf(err, "cannot parse CA %q", name)
	}
	key, ok := pair.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, errors.Errorf("the key of CA %q cannot sign", name)
	}
	ca := &CA{Cert: filepath.Join(dir, name+".crt"), cert: cert, key: key}
	return ca, errors.Wrapf(os.WriteFile(ca.Cert, certPEM, 0o644), "cannot write certificate %q", name) //nolint:gosec // A certificate is public.
}

// Issue signs l and writes its certificate and key into dir. It returns the
// paths of both.
func (ca *CA) Issue(dir string, l Leaf) (string, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", errors.Wrapf(err, "cannot generate key of %q", l.Name)
	}
	usage := x509.ExtKeyUsageServerAuth
	if l.Client {
		usage = x509.ExtKeyUsageClientAuth
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: l.CommonName, Organization: l.Organizations},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		DNSNames:     l.DNSNames,
		IPAddresses:  l.IPs,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return "", "", errors.Wrapf(err, "cannot issue certificate %q", l.Name)
	}
	return filepath.Join(dir, l.Name+".crt"), filepath.Join(dir, l.Name+".key"), writePair(dir, l.Name, der, key)
}

func writePair(dir, name string, der []byte, key *ecdsa.PrivateKey) error {
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return errors.Wrapf(err, "cannot marshal key of %q", name)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil { //nolint:gosec // A certificate is public.
		return errors.Wrapf(err, "cannot write certificate %q", name)
	}
	return errors.Wrapf(os.WriteFile(filepath.Join(dir, name+".key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600), "cannot write key %q", name)
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	return n
}
