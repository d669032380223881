package gate

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// CookieName is the gate's session cookie. The __Host- prefix makes
// browsers accept it only with Secure, Path=/ and no Domain, so it is
// scoped to the desktop's own host and no other host can set or read it.
const CookieName = "__Host-vdi-session"

// MaxCookieLifetime caps the cookie of a session without a deadline.
const MaxCookieLifetime = 12 * time.Hour

// cookieMethod signs the gate's cookies with a key only this gate process
// holds: a restarted gate, or a new Pod, knows none of the old cookies.
var cookieMethod = jwt.SigningMethodHS256

// Config of a Gate.
type Config struct {
	// Links checks the session links the gate exchanges for a cookie.
	Links Verifier
	// Upstream is the desktop, on the Pod's loopback.
	Upstream *url.URL
	// User and Password of the desktop's own basic authentication, which
	// the gate supplies upstream so that the user never types them.
	User, Password string
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Log receives a line per refused request; default log.Default().
	Log *log.Logger
}

// A Gate lets a request through to the desktop only if it carries a valid
// session link, which it exchanges for a cookie, or that cookie.
type Gate struct {
	cfg       Config
	cookieKey []byte
	// cookies checks the cookies of every request the gate proxies.
	cookies *jwt.Parser
	proxy   *httputil.ReverseProxy
}

// New returns a Gate with a new random cookie key.
func New(cfg Config) (*Gate, error) {
	if cfg.Links.Audience == "" || cfg.Links.Subject == "" || cfg.Links.Pod == "" || len(cfg.Links.Key) == 0 {
		return nil, errors.New("cannot start the gate without a public key, an audience, a subject and a Pod UID")
	}
	if cfg.Upstream == nil || cfg.Upstream.Host == "" {
		return nil, errors.New("cannot start the gate without an upstream desktop")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = log.Default()
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("cannot make cookie key: %w", err)
	}
	g := &Gate{cfg: cfg, cookieKey: key, cookies: jwt.NewParser(
		jwt.WithValidMethods([]string{cookieMethod.Alg()}),
		jwt.WithIssuer(Issuer),
		jwt.WithAudience(cfg.Links.Audience),
		jwt.WithSubject(cfg.Links.Subject),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(cfg.Now),
	)}
	g.proxy = &httputil.ReverseProxy{
		Rewrite: g.rewrite,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			g.cfg.Log.Printf("gate: cannot reach the desktop for %s %q: %v", r.Method, r.URL.Path, err)
			http.Error(w, "the desktop does not answer yet", http.StatusBadGateway)
		},
	}
	return g, nil
}

// ServeHTTP refuses, with 401 and never a redirect, a request that carries
// an invalid link, or neither a link nor a valid cookie. A valid link is
// exchanged for the cookie and a redirect to the same URL without the
// token. A request with a valid cookie goes to the desktop, WebSocket
// upgrades included, with the desktop's basic authentication added and the
// cookie removed.
func (g *Gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := g.cfg.Now()
	if q := r.URL.Query(); q.Has(TokenParameter) {
		c, err := g.cfg.Links.Verify(q.Get(TokenParameter), now)
		if err != nil {
			g.refuse(w, r, err)
			return
		}
		cookie, err := g.cookie(c, now)
		if err != nil {
			g.refuse(w, r, err)
			return
		}
		http.SetCookie(w, cookie)
		q.Del(TokenParameter)
		to := url.URL{Path: sameHostPath(r.URL.Path), RawPath: sameHostPath(r.URL.RawPath), RawQuery: q.Encode()}
		// The token must not linger in caches or leave in a Referer.
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Referrer-Policy", "no-referrer")
		http.Redirect(w, r, to.RequestURI(), http.StatusSeeOther)
		return
	}
	c, err := r.Cookie(CookieName)
	if err != nil {
		g.refuse(w, r, errors.New("no link and no session cookie"))
		return
	}
	if err := g.checkCookie(c.Value); err != nil {
		g.refuse(w, r, err)
		return
	}
	if err := sameOrigin(r); err != nil {
		g.refuse(w, r, err)
		return
	}
	g.proxy.ServeHTTP(w, r)
}

// sameHostPath is p with its leading slashes and backslashes made one
// slash, so that a redirect to it stays on this host: browsers read
// "//evil.example/" and "/\\evil.example/" as another host's URL, and the
// gate would otherwise redirect anyone holding a link of their own, on the
// desktops' domain, to any site. An empty p stays empty.
func sameHostPath(p string) string {
	if p == "" {
		return ""
	}
	return "/" + strings.TrimLeft(p, "/\\")
}

// refuse answers 401 with a short body and logs why, without the token or
// the query that may hold it.
func (g *Gate) refuse(w http.ResponseWriter, r *http.Request, why error) {
	g.cfg.Log.Printf("gate: refused %s %q from %s: %v", r.Method, r.URL.Path, r.RemoteAddr, why)
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, "unauthorized: open the desktop with its link", http.StatusUnauthorized)
}

// cookieClaims are the claims of the gate's cookie.
type cookieClaims struct {
	jwt.RegisteredClaims
	Pod string `json:"pod"`
}

// cookie returns the session cookie a valid link with claims c buys at now.
// It lasts until the session's deadline, or MaxCookieLifetime if it has
// none, and names the same host, user and Pod as the link.
func (g *Gate) cookie(c *LinkClaims, now time.Time) (*http.Cookie, error) {
	exp := now.Add(MaxCookieLifetime)
	if c.Deadline != nil && c.Deadline.Before(exp) {
		exp = c.Deadline.Time
	}
	v, err := jwt.NewWithClaims(cookieMethod, cookieClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    Issuer,
			Subject:   g.cfg.Links.Subject,
			Audience:  jwt.ClaimStrings{g.cfg.Links.Audience},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
		},
		Pod: g.cfg.Links.Pod,
	}).SignedString(g.cookieKey)
	if err != nil {
		return nil, fmt.Errorf("cannot sign session cookie: %w", err)
	}
	return &http.Cookie{
		Name:     CookieName,
		Value:    v,
		Path:     "/",
		Expires:  exp.UTC(),
		Secure:   true,
		HttpOnly: true,
		// Lax, not Strict: a link opened from another site (a portal, a
		// mail) is a cross-site navigation, and browsers do not send a
		// Strict cookie on the redirect that ends it, so the first click
		// would end in 401. Lax cookies still stay off cross-site
		// subrequests, WebSocket handshakes and POSTs.
		SameSite: http.SameSiteLaxMode,
	}, nil
}

// checkCookie reports whether v is a cookie this gate process made for its
// own host, user and Pod, and not expired.
func (g *Gate) checkCookie(v string) error {
	c := &cookieClaims{}
	if _, err := g.cookies.ParseWithClaims(v, c, func(*jwt.Token) (any, error) { return g.cookieKey, nil }); err != nil {
		return fmt.Errorf("invalid session cookie: %w", err)
	}
	if c.Pod != g.cfg.Links.Pod {
		return errors.New("invalid session cookie: it is for another desktop Pod")
	}
	return nil
}

// sameOrigin refuses a WebSocket handshake that a page of another origin
// started: browsers send cookies with WebSockets whatever the page's
// origin, so the Origin header is the only defence against cross-site
// WebSocket hijacking.
func sameOrigin(r *http.Request) error {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		return nil
	}
	o := r.Header.Get("Origin")
	if o == "" {
		// Not a browser: it holds the cookie itself.
		return nil
	}
	u, err := url.Parse(o)
	if err != nil || !strings.EqualFold(u.Host, r.Host) {
		return fmt.Errorf("WebSocket from origin %q, not from %q", o, r.Host)
	}
	return nil
}

// rewrite sends a request to the desktop with the desktop's basic
// authentication, and without the gate's cookie, which is the gate's alone.
func (g *Gate) rewrite(pr *httputil.ProxyRequest) {
	pr.SetURL(g.cfg.Upstream)
	pr.Out.Host = pr.In.Host
	// Keep the chain of proxies before the gate (Traefik's entry).
	if xff, ok := pr.In.Header["X-Forwarded-For"]; ok {
		pr.Out.Header["X-Forwarded-For"] = xff
	}
	pr.SetXForwarded()
	// The ingress controller's headers say what the user asked for (https,
	// the public host); only it reaches the gate (the desktop's
	// NetworkPolicy), so they are kept.
	for _, h := range []string{"X-Forwarded-Host", "X-Forwarded-Proto"} {
		if v := pr.In.Header.Get(h); v != "" {
			pr.Out.Header.Set(h, v)
		}
	}
	pr.Out.SetBasicAuth(g.cfg.User, g.cfg.Password)
	pr.Out.Header.Del("Cookie")
	for _, c := range pr.In.Cookies() {
		if c.Name != CookieName {
			pr.Out.AddCookie(c)
		}
	}
}
