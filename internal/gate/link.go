// Package gate is what stands in front of every desktop: the provider signs
// session links (JWTs) with a key only it holds, and the gate, a sidecar in
// the desktop Pod holding only the public key, lets a request through to the
// desktop only with a valid link or the cookie a valid link set.
//
// The package has no Kubernetes dependencies, so that the gate's binary
// (cmd/gate) is small and static. That is also why it wraps errors with the
// standard library rather than crossplane-runtime's errors package, which
// imports controller-runtime.
package gate

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"hash/fnv"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Issuer of every link; the gate accepts no other.
const Issuer = "provider-vdi"

// TokenParameter is the query parameter that carries a link's token.
const TokenParameter = "token"

// Window and Lifetime of links: a link is signed for the Window it falls
// in (see WindowStart) and is valid for Lifetime from the window's start,
// so the link published in a window always has at least Lifetime-Window
// left and is signed anew, and written, at most once per Window. Ed25519 signatures are
// deterministic: within a window the same session gives the same link, and
// publishing it again writes nothing. A window of 20 minutes and a life of
// 30 keep the 10 minutes a link read from the Secret always has, for half
// the writes of 10 and 20 (make bench-e2e's idle scenario: the re-signing
// was the provider's only idle write).
const (
	Window   = 20 * time.Minute
	Lifetime = 30 * time.Minute
)

// signingMethod is the only algorithm of links; the gate pins it.
var signingMethod = jwt.SigningMethodEdDSA

// LinkClaims are the claims of a session link. The registered claims bind it
// to the session's host (audience) and user (subject); Pod binds it to one
// desktop Pod, so that a link of a Pod that was stopped, restarted or deleted
// opens nothing; Deadline is the session's, which caps the gate's cookie.
type LinkClaims struct {
	jwt.RegisteredClaims

	// Pod is the UID of the desktop Pod the link opens.
	Pod string `json:"pod"`

	// Deadline after which the session's desktop must not run, if it has
	// one.
	Deadline *jwt.NumericDate `json:"deadline,omitempty"`
}

// A Session is what a link is for.
type Session struct {
	// URL of the desktop; its host is the link's audience.
	URL string
	// User of the desktop; the link's subject.
	User string
	// Pod is the UID of the desktop Pod.
	Pod string
	// Deadline of the session, if it has one: no link outlives it.
	Deadline *time.Time
}

// A Signer signs session links with the provider's private key.
type Signer struct {
	key ed25519.PrivateKey
}

// NewSigner returns a Signer that signs with key.
func NewSigner(key ed25519.PrivateKey) *Signer {
	return &Signer{key: key}
}

// PublicKeyPEM is the PEM of the public key that verifies the Signer's
// links. Public keys are not secrets: it goes into the gate's environment.
func (s *Signer) PublicKeyPEM() (string, error) {
	return PublicKeyPEM(s.key.Public().(ed25519.PublicKey)) //nolint:forcetypeassert // An ed25519.PrivateKey's public key is always an ed25519.PublicKey.
}

// Link returns the link that opens s at now: s's URL with the token as its
// token parameter. The token is the same for every now of one Window. It
// is an error to ask for a link of a session that has passed its deadline
// or has no URL, user or Pod.
func (s *Signer) Link(ss Session, now time.Time) (string, error) {
	u, err := url.Parse(ss.URL)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("cannot sign a link to %q: it is not an absolute URL", ss.URL)
	}
	if ss.User == "" || ss.Pod == "" {
		return "", errors.New("cannot sign a link without a user and a desktop Pod")
	}
	start := WindowStart(ss.Pod, now)
	exp := start.Add(Lifetime)
	c := LinkClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    Issuer,
			Subject:   ss.User,
			Audience:  jwt.ClaimStrings{Audience(u)},
			IssuedAt:  jwt.NewNumericDate(start),
			NotBefore: jwt.NewNumericDate(start),
		},
		Pod: ss.Pod,
	}
	if d := ss.Deadline; d != nil {
		if !now.Before(*d) {
			return "", fmt.Errorf("cannot sign a link: the session's deadline %s has passed", d.UTC().Format(time.RFC3339))
		}
		c.Deadline = jwt.NewNumericDate(*d)
		if d.Before(exp) {
			exp = *d
		}
	}
	c.ExpiresAt = jwt.NewNumericDate(exp)
	tok, err := jwt.NewWithClaims(signingMethod, c).SignedString(s.key)
	if err != nil {
		return "", fmt.Errorf("cannot sign link: %w", err)
	}
	q := u.Query()
	q.Set(TokenParameter, tok)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// WindowStart is the start of the Window that pod's links signed at now are
// for. Each Pod's windows are offset from the clock's by a whole number of
// seconds of their own, taken from its UID: a provider with many desktops
// signs their links anew spread over the Window, a Secret patch at a time,
// rather than every one of them at the same boundary.
func WindowStart(pod string, now time.Time) time.Time {
	h := fnv.New64a()
	_, _ = h.Write([]byte(pod))
	off := time.Duration(h.Sum64()%uint64(Window/time.Second)) * time.Second
	return now.Add(-off).Truncate(Window).Add(off)
}

// Audience is the audience of links to u: its host, with the port if it
// has one, as the Host header of a request to u carries it.
func Audience(u *url.URL) string {
	return strings.ToLower(u.Host)
}

// A Verifier checks links to one desktop Pod.
type Verifier struct {
	// Key is the public key of the provider's Signer.
	Key ed25519.PublicKey
	// Audience is the host of the desktop's URL.
	Audience string
	// Subject is the desktop's user.
	Subject string
	// Pod is the UID of the desktop Pod.
	Pod string
}

// Verify returns the claims of token if it is a link to the Verifier's
// desktop Pod, valid at now: signed by the provider's key with EdDSA (no
// other algorithm, "none" included), issued by Issuer for the Verifier's
// audience, subject and Pod, and not expired. Errors never contain the
// token.
func (v Verifier) Verify(token string, now time.Time) (*LinkClaims, error) {
	c := &LinkClaims{}
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{signingMethod.Alg()}),
		jwt.WithIssuer(Issuer),
		jwt.WithAudience(v.Audience),
		jwt.WithSubject(v.Subject),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	if _, err := p.ParseWithClaims(token, c, func(*jwt.Token) (any, error) { return v.Key, nil }); err != nil {
		return nil, fmt.Errorf("invalid link: %w", err)
	}
	if c.Pod != v.Pod {
		return nil, errors.New("invalid link: it opens another desktop Pod")
	}
	return c, nil
}

// PublicKeyPEM encodes k as a PEM "PUBLIC KEY" block (PKIX).
func PublicKeyPEM(k ed25519.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		return "", fmt.Errorf("cannot encode public key: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

// ParsePublicKeyPEM decodes a PEM "PUBLIC KEY" block holding an Ed25519 key.
func ParsePublicKeyPEM(s string) (ed25519.PublicKey, error) {
	b, _ := pem.Decode([]byte(s))
	if b == nil || b.Type != "PUBLIC KEY" {
		return nil, errors.New("cannot parse public key: no PEM PUBLIC KEY block")
	}
	k, err := x509.ParsePKIXPublicKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("cannot parse public key: %w", err)
	}
	ek, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("cannot use a %T public key: links are signed with Ed25519", k)
	}
	return ek, nil
}
