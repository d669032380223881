//go:build e2e

package e2e

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/websocket"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/provider-vdi/provider-vdi/internal/gate"
	"github.com/provider-vdi/provider-vdi/internal/gate/gatetest"
	"github.com/provider-vdi/provider-vdi/internal/gate/signingkey"
	"github.com/provider-vdi/provider-vdi/internal/localenv"
	"github.com/provider-vdi/provider-vdi/test/poll"
)

// TestGateThroughTraefik: through real Traefik to the real desktop Pod,
// only the session's link, or the cookie it sets, opens the desktop. No
// token, a token of another key, an unsigned one, a tampered one, another
// session's and an expired one are refused with 401; the link is exchanged
// for the cookie with a redirect; the cookie opens the page and a
// WebSocket that carries the VNC handshake; after Stop the route is gone,
// and after Start neither the old cookie nor the old link opens the new
// desktop.
func TestGateThroughTraefik(t *testing.T) {
	realNodeTakesPods(t)
	ns := userNamespace(t, "gina")
	create(t, session(ns, "gated", "gina", "web-desktop", nil))
	// The real node has room for one web desktop at a time.
	t.Cleanup(func() { deleteSession(t, ns, "gated", "gated-desktop") })
	// Another session, on a fake GPU node: its link is validly signed, for
	// another host and Pod.
	other := userNamespace(t, "hank")
	create(t, session(other, "dev", "hank", "ubuntu-gpu", nil))
	s := waitPhase(t, ns, "gated", "Running")
	waitPhase(t, other, "dev", "Running")
	p := runningOnRealNode(t, ns, "gated-desktop")

	secretName, _, _ := unstructured.NestedString(s.Object, "status", "credentialsSecretName")
	creds := credentials(t, ns, secretName)
	theirs := credentials(t, other, "dev-credentials")
	u, err := url.Parse(creds.URL)
	if err != nil {
		t.Fatal(err)
	}
	// Traefik loads the route and the Pod's endpoints a moment after the
	// session is Running; until then the host is not found.
	servedByTraefik(t, creds.URL, nil)
	token := gatetest.Token(t, creds.Link)
	claims := &gate.LinkClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(token, claims); err != nil {
		t.Fatal(err)
	}
	if claims.Pod != string(p.UID) || claims.Audience[0] != u.Host {
		t.Fatalf("the published link is for Pod %s at %v, want Pod %s at %s", claims.Pod, claims.Audience, p.UID, u.Host)
	}
	providerKey := linkSigningKey(t)
	expired := *claims
	expired.IssuedAt = jwt.NewNumericDate(time.Now().Add(-time.Hour))
	expired.NotBefore = expired.IssuedAt
	expired.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Minute))

	refused := map[string]struct {
		reason string
		token  string
	}{
		"NoToken": {
			reason: "The URL without a token and without a cookie opens nothing.",
		},
		"OtherKey": {
			reason: "A token with the right claims signed with another key is refused.",
			token:  sign(t, jwt.SigningMethodEdDSA, ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)), claims),
		},
		"AlgNone": {
			reason: "An unsigned token (alg none) with the right claims is refused.",
			token:  sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims),
		},
		"Tampered": {
			reason: "The session's own token with its signature changed is refused.",
			token:  token[:len(token)-4] + flip(token[len(token)-4:]),
		},
		"OtherSession": {
			reason: "Another session's link, validly signed by the provider, is refused.",
			token:  gatetest.Token(t, theirs.Link),
		},
		"Expired": {
			reason: "A token the provider's own key signed for this very Pod, but expired, is refused.",
			token:  sign(t, jwt.SigningMethodEdDSA, providerKey, &expired),
		},
	}
	for name, tc := range refused {
		t.Run(name, func(t *testing.T) {
			target := creds.URL
			if tc.token != "" {
				target += "?token=" + url.QueryEscape(tc.token)
			}
			rsp := get(t, target, nil)
			got := struct {
				Status    int
				Location  string
				SetCookie []string
			}{rsp.StatusCode, rsp.Header.Get("Location"), rsp.Header.Values("Set-Cookie")}
			want := got
			want.Status, want.Location, want.SetCookie = http.StatusUnauthorized, "", nil
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("\n%s\nGET %s?token=…: -want, +got:\n%s", tc.reason, creds.URL, diff)
			}
		})
	}

	// The link: a redirect to the same URL without the token, and the
	// cookie for this host only.
	rsp := get(t, creds.Link, nil)
	cookies := rsp.Cookies()
	if rsp.StatusCode != http.StatusSeeOther || rsp.Header.Get("Location") != u.Path || len(cookies) != 1 {
		t.Fatalf("GET the link: HTTP %d, Location %q, cookies %v; want 303 to %q with one cookie", rsp.StatusCode, rsp.Header.Get("Location"), cookies, u.Path)
	}
	c := cookies[0]
	if c.Name != gate.CookieName || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" || strings.Contains(c.Value, token) {
		t.Errorf("the link's cookie: got %s", rsp.Header.Get("Set-Cookie"))
	}

	// The cookie opens the page and the desktop's WebSocket.
	page := get(t, strings.TrimSuffix(creds.URL, "/")+"/vnc.html", c)
	if page.StatusCode != http.StatusOK {
		t.Errorf("GET vnc.html with the cookie: HTTP %d, want 200", page.StatusCode)
	}
	if got, err := vncGreeting(creds.URL, c); err != nil || got != "RFB 003.008\n" {
		t.Errorf("WebSocket to /websockify with the cookie: first message %q (%v), want the VNC handshake %q", got, err, "RFB 003.008\n")
	}
	if _, err := vncGreeting(creds.URL, nil); err == nil {
		t.Errorf("a WebSocket to /websockify without the cookie was upgraded")
	}

	// After Stop the route is gone, and the cookie opens nothing.
	setState(t, ns, "gated", "Stopped")
	waitPhase(t, ns, "gated", "Stopped")
	poll.Until(t, "the desktop Pod and its route are gone after Stop", timeout, func(ctx context.Context) (bool, string, error) {
		po, r := exists(ctx, pod(ns, "gated-desktop")), exists(ctx, route(ns, "gated-route"))
		return !po && !r, fmt.Sprintf("pod %v, route %v", po, r), nil
	})
	poll.Until(t, "Traefik serves nothing at the session's host", timeout, func(context.Context) (bool, string, error) {
		rsp := get(t, creds.URL, c)
		return rsp.StatusCode == http.StatusNotFound, fmt.Sprintf("HTTP %d", rsp.StatusCode), nil
	})

	// After Start, a new Pod: neither the old cookie nor the old link
	// opens it; its own new link does.
	setState(t, ns, "gated", "Running")
	waitPhase(t, ns, "gated", "Running")
	p = runningOnRealNode(t, ns, "gated-desktop")
	var fresh localenv.Credentials
	poll.Until(t, "the new Pod's link is published", timeout, func(context.Context) (bool, string, error) {
		fresh = credentials(t, ns, secretName)
		return strings.Contains(fresh.Link, "?token=") && fresh.Link != creds.Link, "old or no link", nil
	})
	servedByTraefik(t, creds.URL, c)
	if rsp := get(t, creds.URL, c); rsp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the old cookie on the new desktop: HTTP %d, want 401", rsp.StatusCode)
	}
	if rsp := get(t, creds.Link, nil); rsp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the old link on the new desktop: HTTP %d, want 401", rsp.StatusCode)
	}
	if _, err := gatetest.Verifier(t, p).Verify(gatetest.Token(t, fresh.Link), time.Now()); err != nil {
		t.Errorf("the new Pod's gate refuses its own new link: %v", err)
	}
	if rsp := get(t, fresh.Link, nil); rsp.StatusCode != http.StatusSeeOther {
		t.Errorf("the new link: HTTP %d, want 303", rsp.StatusCode)
	}
}

// credentials reads a session's credentials Secret.
func credentials(t *testing.T, ns, name string) localenv.Credentials {
	t.Helper()
	c, err := localenv.SessionCredentials(context.Background(), kube, ns, name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// linkSigningKey reads the provider's link signing key, as only an
// administrator of the provider's namespace can.
func linkSigningKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	s := &corev1.Secret{}
	if err := kube.Get(context.Background(), client.ObjectKey{Namespace: "crossplane-system", Name: "provider-vdi-link-signing-key"}, s); err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(s.Data[signingkey.Key])
	if b == nil {
		t.Fatal("the link signing key Secret holds no PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(ed25519.PrivateKey) //nolint:forcetypeassert // A test: a panic is a failure.
}

// sign returns claims signed with m and key.
func sign(t *testing.T, m jwt.SigningMethod, key any, claims *gate.LinkClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// flip changes every character of s to another of the base64url alphabet.
func flip(s string) string {
	b := []byte(s)
	for i := range b {
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
	}
	return string(b)
}

// get sends GET u through Traefik, with cookie c if not nil, follows no
// redirect and returns the response with its body read.
func get(t *testing.T, u string, c *http.Cookie) *http.Response {
	t.Helper()
	hc, err := env.IngressClient()
	if err != nil {
		t.Fatal(err)
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, u, nil)
	if c != nil {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	rsp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	_, _ = io.Copy(io.Discard, rsp.Body)
	_ = rsp.Body.Close()
	return rsp
}

// vncGreeting opens a WebSocket to the desktop's /websockify through
// Traefik, with cookie c if not nil and the desktop's own origin, and
// returns its first message.
func vncGreeting(desktop string, c *http.Cookie) (string, error) {
	u, err := url.Parse(desktop)
	if err != nil {
		return "", err
	}
	cfg, err := websocket.NewConfig("wss://"+u.Host+"/websockify", "https://"+u.Host)
	if err != nil {
		return "", err
	}
	cfg.Protocol = []string{"binary"}
	if c != nil {
		cfg.Header = http.Header{"Cookie": {c.Name + "=" + c.Value}}
	}
	if cfg.TlsConfig, err = env.IngressTLS(); err != nil {
		return "", err
	}
	cfg.TlsConfig.ServerName = u.Hostname()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", localenv.IngressAddress, cfg.TlsConfig)
	if err != nil {
		return "", err
	}
	ws, err := websocket.NewClient(cfg, conn)
	if err != nil {
		_ = conn.Close()
		return "", err
	}
	defer ws.Close() //nolint:errcheck // Read only.
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	var msg []byte
	err = websocket.Message.Receive(ws, &msg)
	return string(msg), err
}

// linkCookie opens link through Traefik and returns the cookie the gate
// sets for it.
func linkCookie(t *testing.T, link string) *http.Cookie {
	t.Helper()
	rsp := get(t, link, nil)
	cs := rsp.Cookies()
	if rsp.StatusCode != http.StatusSeeOther || len(cs) != 1 {
		t.Fatalf("GET the link: HTTP %d with cookies %v, want 303 with the gate's cookie", rsp.StatusCode, cs)
	}
	return cs[0]
}

// deleteSession deletes session ns/name and waits until its desktop Pod is
// gone, so that the real node has room for the next test's.
func deleteSession(t *testing.T, ns, name, desktop string) {
	t.Helper()
	s := localenv.Session()
	s.SetNamespace(ns)
	s.SetName(name)
	if err := kube.Delete(context.Background(), s); client.IgnoreNotFound(err) != nil {
		t.Errorf("cannot delete session %s/%s: %v", ns, name, err)
		return
	}
	poll.Until(t, "the desktop Pod of the deleted session "+name+" is gone", timeout, func(ctx context.Context) (bool, string, error) {
		return !exists(ctx, pod(ns, desktop)), "Pod " + desktop + " still exists", nil
	})
}

// servedByTraefik waits until Traefik sends requests for desktop's host to
// a desktop Pod: not "404 not found", nor a gateway error for want of a
// ready endpoint. c is the cookie to send, if any.
func servedByTraefik(t *testing.T, desktop string, c *http.Cookie) {
	t.Helper()
	poll.Until(t, "Traefik serves the desktop's host", timeout, func(context.Context) (bool, string, error) {
		rsp := get(t, desktop, c)
		code := rsp.StatusCode
		return code != http.StatusNotFound && code != http.StatusBadGateway && code != http.StatusServiceUnavailable, fmt.Sprintf("HTTP %d", code), nil
	})
}
