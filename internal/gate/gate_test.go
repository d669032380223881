package gate

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
)

const host = "dev-alice-3.vdi.localhost"

// verifier checks links of session.
var verifier = Verifier{Key: providerKey.Public().(ed25519.PublicKey), Audience: host, Subject: "alice", Pod: "pod-uid-1"}

// signed returns a token of claims c signed with m and key.
func signed(t *testing.T, m jwt.SigningMethod, key any, c jwt.Claims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// validClaims are the claims of a valid link of session at t0, with mods
// applied.
func validClaims(mods ...func(*LinkClaims)) *LinkClaims {
	c := &LinkClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: Issuer, Subject: "alice", Audience: jwt.ClaimStrings{host},
			IssuedAt: jwt.NewNumericDate(t0), NotBefore: jwt.NewNumericDate(t0), ExpiresAt: jwt.NewNumericDate(t0.Add(Lifetime)),
		},
		Pod: "pod-uid-1", Deadline: jwt.NewNumericDate(deadline),
	}
	for _, m := range mods {
		m(c)
	}
	return c
}

// signedWith returns the token of a link the provider signed, with the
// claims of a valid link changed by mod.
func signedWith(mod func(*LinkClaims)) func(*testing.T) string {
	return func(t *testing.T) string { return signed(t, signingMethod, providerKey, validClaims(mod)) }
}

// tampered returns token with the last character of its signature changed.
func tampered(token string) string {
	last := token[len(token)-2]
	repl := byte('A')
	if last == 'A' {
		repl = 'B'
	}
	return token[:len(token)-2] + string(repl) + token[len(token)-1:]
}

// withSubject returns token with its payload's subject replaced and its
// signature kept.
func withSubject(t *testing.T, token, sub string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.Replace(b, []byte(`"sub":"alice"`), []byte(`"sub":"`+sub+`"`), 1)
	parts[1] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

// upstream is the desktop: it records what reached it.
type upstream struct {
	*httptest.Server
	got *http.Request
}

func newUpstream(t *testing.T) *upstream {
	t.Helper()
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.got = r
		if r.Header.Get("Upgrade") == "websocket" {
			// A VNC server behind websockify: switch protocols and greet.
			conn, rw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close() //nolint:errcheck // A test server.
			_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nRFB 003.008\n")
			_ = rw.Flush()
			return
		}
		_, _ = io.WriteString(w, "the desktop")
	}))
	t.Cleanup(u.Close)
	return u
}

// newGate returns a Gate for session in front of up, at now, logging to
// logs.
func newGate(t *testing.T, up *upstream, now time.Time, logs *bytes.Buffer) *Gate {
	t.Helper()
	u, _ := url.Parse(up.URL)
	g, err := New(Config{Links: verifier, Upstream: u, User: "alice", Password: "s3cret", Now: func() time.Time { return now }, Log: log.New(logs, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// validCookie returns the cookie g gives for a valid link at now.
func validCookie(t *testing.T, g *Gate, now time.Time) *http.Cookie {
	t.Helper()
	c, err := g.cookie(validClaims(), now)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestGateRefuses(t *testing.T) {
	valid := signed(t, signingMethod, providerKey, validClaims())
	otherGate := func(t *testing.T) *http.Cookie {
		g := newGate(t, newUpstream(t), t0, &bytes.Buffer{})
		return validCookie(t, g, t0)
	}
	cases := map[string]struct {
		reason string
		token  func(t *testing.T) string
		cookie func(t *testing.T, g *Gate) *http.Cookie
		at     time.Time
		header http.Header
	}{
		"Nothing": {
			reason: "A request with neither a link nor a cookie should be refused.",
		},
		"OtherKey": {
			reason: "A link signed with another key should be refused.",
			token:  func(t *testing.T) string { return signed(t, signingMethod, otherKey, validClaims()) },
		},
		"AlgNone": {
			reason: "An unsigned link (alg none) should be refused.",
			token: func(t *testing.T) string {
				return signed(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, validClaims())
			},
		},
		"HMACWithPublicKey": {
			reason: "A link MACed with the public key (HS256, algorithm confusion) should be refused.",
			token: func(t *testing.T) string {
				pemKey, _ := NewSigner(providerKey).PublicKeyPEM()
				return signed(t, jwt.SigningMethodHS256, []byte(pemKey), validClaims())
			},
		},
		"TamperedSignature": {
			reason: "A link whose signature was changed should be refused.",
			token:  func(*testing.T) string { return tampered(valid) },
		},
		"TamperedClaims": {
			reason: "A link whose claims were changed under its signature should be refused.",
			token:  func(t *testing.T) string { return withSubject(t, valid, "alice") + "x" },
		},
		"OtherSubjectUnderSignature": {
			reason: "A link whose subject was rewritten should be refused.",
			token:  func(t *testing.T) string { return withSubject(t, valid, "mallory") },
		},
		"OtherSession": {
			reason: "A validly signed link of another session (another host) should be refused.",
			token:  signedWith(func(c *LinkClaims) { c.Audience = jwt.ClaimStrings{"dev-bob-3.vdi.localhost"} }),
		},
		"OtherUser": {
			reason: "A validly signed link for another user should be refused.",
			token:  signedWith(func(c *LinkClaims) { c.Subject = "bob" }),
		},
		"OtherPod": {
			reason: "A link of the session's previous Pod (stopped, restarted) should be refused.",
			token:  signedWith(func(c *LinkClaims) { c.Pod = "pod-uid-0" }),
		},
		"OtherIssuer": {
			reason: "A link of another issuer should be refused.",
			token:  signedWith(func(c *LinkClaims) { c.Issuer = "someone" }),
		},
		"Expired": {
			reason: "An expired link should be refused.",
			token:  func(*testing.T) string { return valid },
			at:     t0.Add(Lifetime + time.Second),
		},
		"NoExpiry": {
			reason: "A link without an expiry should be refused.",
			token:  signedWith(func(c *LinkClaims) { c.ExpiresAt = nil }),
		},
		"NotAToken": {
			reason: "Garbage in the token parameter should be refused.",
			token:  func(*testing.T) string { return "garbage" },
		},
		"InsignedWithValidCookie": {
			reason: "An invalid link should be refused even with a valid cookie: a link is judged on its own.",
			token:  func(*testing.T) string { return tampered(valid) },
			cookie: func(t *testing.T, g *Gate) *http.Cookie { return validCookie(t, g, t0) },
		},
		"CookieOfAnotherGate": {
			reason: "A cookie another gate (another Pod, or this one before a restart) made should be refused.",
			cookie: func(t *testing.T, _ *Gate) *http.Cookie { return otherGate(t) },
		},
		"ExpiredCookie": {
			reason: "A cookie past the session's deadline should be refused.",
			cookie: func(t *testing.T, g *Gate) *http.Cookie { return validCookie(t, g, t0) },
			at:     deadline.Add(time.Second),
		},
		"ForgedCookie": {
			reason: "A cookie that is not the gate's signed value should be refused.",
			cookie: func(*testing.T, *Gate) *http.Cookie { return &http.Cookie{Name: CookieName, Value: valid} },
		},
		"CrossSiteWebSocket": {
			reason: "A WebSocket that a page of another origin opens with the user's cookie should be refused.",
			cookie: func(t *testing.T, g *Gate) *http.Cookie { return validCookie(t, g, t0) },
			header: http.Header{"Upgrade": {"websocket"}, "Connection": {"Upgrade"}, "Origin": {"https://evil.example"}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			at := tc.at
			if at.IsZero() {
				at = t0.Add(time.Minute)
			}
			up := newUpstream(t)
			logs := &bytes.Buffer{}
			g := newGate(t, up, at, logs)
			target := "https://" + host + "/vnc.html?resize=remote"
			token := ""
			if tc.token != nil {
				token = tc.token(t)
				target += "&token=" + url.QueryEscape(token)
			}
			r := httptest.NewRequest(http.MethodGet, target, nil)
			for k, v := range tc.header {
				r.Header[k] = v
			}
			if tc.cookie != nil {
				r.AddCookie(tc.cookie(t, g))
			}
			w := httptest.NewRecorder()
			g.ServeHTTP(w, r)

			got := struct {
				Status          int
				Location        string
				SetCookie       string
				ReachedUpstream bool
			}{w.Code, w.Header().Get("Location"), w.Header().Get("Set-Cookie"), up.got != nil}
			want := got
			want.Status, want.Location, want.SetCookie, want.ReachedUpstream = http.StatusUnauthorized, "", "", false
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("\n%s\nServeHTTP(...): -want, +got:\n%s", tc.reason, diff)
			}
			if !strings.Contains(logs.String(), `refused GET "/vnc.html"`) {
				t.Errorf("\n%s\nThe refusal should be logged with its path; logs: %q", tc.reason, logs.String())
			}
			if token != "" && strings.Contains(logs.String(), token) {
				t.Errorf("\n%s\nThe refusal's log should not hold the token; logs: %q", tc.reason, logs.String())
			}
		})
	}
}

func TestGateExchangesLink(t *testing.T) {
	early := t0.Add(2 * time.Hour)
	cases := map[string]struct {
		reason     string
		claims     *LinkClaims
		target     string
		wantTo     string
		wantExpiry time.Time
	}{
		"KeepsOtherParameters": {
			reason:     "A valid link should set the cookie, valid until the session's deadline, and redirect to the same URL without the token.",
			claims:     validClaims(),
			target:     "/vnc.html?resize=remote&token=%s&autoconnect=1",
			wantTo:     "/vnc.html?autoconnect=1&resize=remote",
			wantExpiry: t0.Add(8 * time.Hour),
		},
		"OnlyToken": {
			reason:     "A link with only the token should redirect to its path.",
			claims:     validClaims(func(c *LinkClaims) { c.Deadline = jwt.NewNumericDate(early) }),
			target:     "/?token=%s",
			wantTo:     "/",
			wantExpiry: early,
		},
		"StaysOnHost": {
			reason:     "A path that starts with two slashes should redirect to this host, not to the host a browser would read in it (an open redirect).",
			claims:     validClaims(),
			target:     "//evil.example/x?token=%s",
			wantTo:     "/evil.example/x",
			wantExpiry: t0.Add(8 * time.Hour),
		},
		"StaysOnHostBackslash": {
			reason:     "A path that starts with a slash and a backslash should redirect to this host: browsers read /\\ as //.",
			claims:     validClaims(),
			target:     "/%5C/evil.example/x?token=%s",
			wantTo:     "/evil.example/x",
			wantExpiry: t0.Add(8 * time.Hour),
		},
		"NoDeadline": {
			reason:     "A session without a deadline should get a cookie of MaxCookieLifetime.",
			claims:     validClaims(func(c *LinkClaims) { c.Deadline = nil }),
			target:     "/?token=%s",
			wantTo:     "/",
			wantExpiry: t0.Add(time.Minute + MaxCookieLifetime),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			now := t0.Add(time.Minute)
			up := newUpstream(t)
			g := newGate(t, up, now, &bytes.Buffer{})
			token := signed(t, signingMethod, providerKey, tc.claims)
			r := httptest.NewRequest(http.MethodGet, "https://"+host+strings.Replace(tc.target, "%s", token, 1), nil)
			w := httptest.NewRecorder()
			g.ServeHTTP(w, r)

			type cookie struct {
				Name, Path, Domain       string
				Expires                  time.Time
				Secure, HttpOnly         bool
				SameSite                 http.SameSite
				ValidForGate, HoldsToken bool
			}
			type result struct {
				Status                       int
				Location                     string
				CacheControl, ReferrerPolicy string
				Cookie                       cookie
				ReachedUpstream              bool
			}
			got := result{Status: w.Code, Location: w.Header().Get("Location"), CacheControl: w.Header().Get("Cache-Control"), ReferrerPolicy: w.Header().Get("Referrer-Policy"), ReachedUpstream: up.got != nil}
			if cs := w.Result().Cookies(); len(cs) == 1 {
				c := cs[0]
				got.Cookie = cookie{
					Name: c.Name, Path: c.Path, Domain: c.Domain, Expires: c.Expires, Secure: c.Secure, HttpOnly: c.HttpOnly, SameSite: c.SameSite,
					ValidForGate: g.checkCookie(c.Value) == nil, HoldsToken: strings.Contains(c.Value, token),
				}
			}
			want := result{
				Status: http.StatusSeeOther, Location: tc.wantTo, CacheControl: "no-store", ReferrerPolicy: "no-referrer",
				Cookie: cookie{Name: CookieName, Path: "/", Expires: tc.wantExpiry, Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode, ValidForGate: true},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("\n%s\nServeHTTP(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestGateProxies(t *testing.T) {
	now := t0.Add(time.Minute)
	up := newUpstream(t)
	g := newGate(t, up, now, &bytes.Buffer{})
	r := httptest.NewRequest(http.MethodGet, "https://"+host+"/vnc.html", nil)
	r.Header.Set("Authorization", "Basic bWFsbG9yeTp4")
	r.Header.Set("X-Forwarded-Proto", "https")
	r.AddCookie(validCookie(t, g, now))
	r.AddCookie(&http.Cookie{Name: "theme", Value: "dark"})
	w := httptest.NewRecorder()
	g.ServeHTTP(w, r)

	type result struct {
		Status         int
		Body           string
		Host           string
		Authorization  string
		Cookie         string
		ForwardedProto string
	}
	got := result{Status: w.Code, Body: w.Body.String()}
	if up.got != nil {
		got.Host, got.Authorization, got.Cookie, got.ForwardedProto = up.got.Host, up.got.Header.Get("Authorization"), up.got.Header.Get("Cookie"), up.got.Header.Get("X-Forwarded-Proto")
	}
	want := result{
		Status: http.StatusOK, Body: "the desktop", Host: host,
		Authorization:  "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:s3cret")),
		Cookie:         "theme=dark",
		ForwardedProto: "https",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("\nA request with a valid cookie should reach the desktop with the desktop's basic authentication (not the client's), without the gate's cookie and with the ingress's forwarded headers.\nServeHTTP(...): -want, +got:\n%s", diff)
	}
}

// TestGateUpgradesWebSocket sends a WebSocket handshake with the cookie
// through a real listener and reads the desktop's VNC greeting through the
// upgraded connection.
func TestGateUpgradesWebSocket(t *testing.T) {
	now := t0.Add(time.Minute)
	up := newUpstream(t)
	g := newGate(t, up, now, &bytes.Buffer{})
	srv := httptest.NewServer(g)
	defer srv.Close()

	cases := map[string]struct {
		reason   string
		origin   string
		wantLine string
		wantRFB  string
	}{
		"SameOrigin": {
			reason:   "A WebSocket of the desktop's own page should upgrade and carry the VNC handshake.",
			origin:   "https://" + host,
			wantLine: "HTTP/1.1 101 Switching Protocols",
			wantRFB:  "RFB 003.008",
		},
		"NoOrigin": {
			reason:   "A WebSocket client that is no browser (no Origin) and holds the cookie should upgrade.",
			wantLine: "HTTP/1.1 101 Switching Protocols",
			wantRFB:  "RFB 003.008",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close() //nolint:errcheck // A test connection.
			_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
			req := "GET /websockify HTTP/1.1\r\nHost: " + host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
				"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
				"Cookie: " + CookieName + "=" + validCookie(t, g, now).Value + "\r\n"
			if tc.origin != "" {
				req += "Origin: " + tc.origin + "\r\n"
			}
			if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			rfb, _ := br.ReadString('\n')
			got := struct{ Line, RFB string }{resp.Proto + " " + resp.Status, strings.TrimSpace(rfb)}
			want := struct{ Line, RFB string }{tc.wantLine, tc.wantRFB}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("\n%s\nWebSocket handshake: -want, +got:\n%s", tc.reason, diff)
			}
			if a := up.got.Header.Get("Authorization"); a == "" {
				t.Errorf("\n%s\nThe upgrade should reach the desktop with its basic authentication", tc.reason)
			}
		})
	}
}

func TestNew(t *testing.T) {
	u, _ := url.Parse("http://127.0.0.1:8080")
	cases := map[string]struct {
		reason string
		cfg    Config
	}{
		"NoAudience": {
			reason: "A gate without an audience would take any session's link.",
			cfg:    Config{Links: Verifier{Key: verifier.Key, Subject: "alice", Pod: "p"}, Upstream: u},
		},
		"NoPod": {
			reason: "A gate without its Pod's UID cannot bind links to it.",
			cfg:    Config{Links: Verifier{Key: verifier.Key, Audience: host, Subject: "alice"}, Upstream: u},
		},
		"NoKey": {
			reason: "A gate without the provider's public key can verify nothing.",
			cfg:    Config{Links: Verifier{Audience: host, Subject: "alice", Pod: "p"}, Upstream: u},
		},
		"NoUpstream": {
			reason: "A gate needs the desktop behind it.",
			cfg:    Config{Links: verifier},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := New(tc.cfg); err == nil {
				t.Errorf("\n%s\nNew(...): want error, got none", tc.reason)
			}
		})
	}
}
