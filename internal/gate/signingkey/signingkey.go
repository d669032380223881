// Package signingkey keeps the provider's link-signing key in a Secret of
// the provider's own namespace, which no tenant can read, and makes it on
// the provider's first start.
package signingkey

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"

	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

// Key is the Secret's key holding the private key, PKCS #8 in PEM.
const Key = "ed25519.pem"

// Ensure returns the Ed25519 private key in Secret ns/name, making the
// Secret with a new key if it does not exist. The Secret is immutable: a
// key is replaced only by deleting it, which invalidates every link and
// replaces every desktop at its next reconcile. Of two providers starting
// at once, both end with the key that was stored first.
func Ensure(ctx context.Context, c client.Client, ns, name string) (ed25519.PrivateKey, error) {
	s := &corev1.Secret{}
	err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, s)
	if kerrors.IsNotFound(err) {
		if err := create(ctx, c, ns, name); err != nil && !kerrors.IsAlreadyExists(err) {
			return nil, err
		}
		err = c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, s)
	}
	if err != nil {
		return nil, errors.Wrapf(err, "cannot get link signing key Secret %q in namespace %q", name, ns)
	}
	return parse(s.Data[Key], ns, name)
}

func create(ctx context.Context, c client.Client, ns, name string) error {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return errors.Wrap(err, "cannot generate link signing key")
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return errors.Wrap(err, "cannot encode link signing key")
	}
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns,
			Name:      name,
			Labels:    map[string]string{"app.kubernetes.io/managed-by": "provider-vdi", "app.kubernetes.io/component": "link-signing-key"},
		},
		Type:      corev1.SecretTypeOpaque,
		Immutable: ptr.To(true),
		Data:      map[string][]byte{Key: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})},
	}
	return errors.Wrapf(c.Create(ctx, s), "cannot create link signing key Secret %q in namespace %q", name, ns)
}

func parse(b []byte, ns, name string) (ed25519.PrivateKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, errors.Errorf("cannot read link signing key: Secret %q in namespace %q has no PEM PRIVATE KEY in %q", name, ns, Key)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, errors.Wrapf(err, "cannot read link signing key of Secret %q in namespace %q", name, ns)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, errors.Errorf("cannot use link signing key of Secret %q in namespace %q: it is %T, not Ed25519", name, ns, k)
	}
	return ek, nil
}
