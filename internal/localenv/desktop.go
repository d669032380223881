package localenv

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"

	"github.com/provider-vdi/provider-vdi/internal/gate"
)

// Credentials are what a session's credentials Secret gives its user.
type Credentials struct {
	URL, Username, Password string
	// Link is the URL to open: the Secret's link if it has one, else its
	// URL.
	Link string
}

// SessionCredentials reads the credentials Secret ns/name of a session.
func SessionCredentials(ctx context.Context, kube client.Client, ns, name string) (Credentials, error) {
	s := &corev1.Secret{}
	if err := kube.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, s); err != nil {
		return Credentials{}, errors.Wrapf(err, "cannot get credentials Secret %s/%s", ns, name)
	}
	c := Credentials{URL: string(s.Data["url"]), Username: string(s.Data["username"]), Password: string(s.Data["password"]), Link: string(s.Data["link"])}
	if c.Link == "" {
		c.Link = c.URL
	}
	return c, nil
}

// A DesktopPage is what Traefik served of a desktop: its start page and
// noVNC's page.
type DesktopPage struct {
	Credentials
	// Status and Body of noVNC's page, vnc.html.
	Status int
	Body   string
}

func (p DesktopPage) String() string {
	return fmt.Sprintf("%s -> HTTP %d, noVNC's vnc.html of %d bytes", p.URL, p.Status, len(p.Body))
}

// OpenDesktop opens, through Traefik, the link in the credentials Secret
// ns/secret of a session as a browser would: the gate in front of the
// desktop exchanges it for a cookie and redirects to the session's URL,
// which, with the cookie, serves the start page and noVNC's page. It
// fails unless all of that happens.
func OpenDesktop(ctx context.Context, e *Env, ns, secret string) (DesktopPage, error) {
	c, err := SessionCredentials(ctx, e.Kube, ns, secret)
	if err != nil {
		return DesktopPage{}, err
	}
	hc, err := e.IngressClient()
	if err != nil {
		return DesktopPage{}, err
	}
	p := DesktopPage{Credentials: c}
	cookie, err := exchangeLink(ctx, hc, c.Link)
	if err != nil {
		return p, err
	}
	for _, u := range []string{c.URL, strings.TrimSuffix(c.URL, "/") + "/vnc.html"} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return p, errors.Wrapf(err, "cannot make request for %s", u)
		}
		req.AddCookie(cookie)
		rsp, err := hc.Do(req)
		if err != nil {
			return p, errors.Wrapf(err, "cannot get %s through Traefik", u)
		}
		b, err := io.ReadAll(rsp.Body)
		_ = rsp.Body.Close()
		if err != nil {
			return p, errors.Wrapf(err, "cannot read %s", u)
		}
		if rsp.StatusCode != http.StatusOK {
			return p, errors.Errorf("GET %s through Traefik with the link's cookie: HTTP %d: %.200s", u, rsp.StatusCode, b)
		}
		p.Status, p.Body = rsp.StatusCode, string(b)
	}
	if !strings.Contains(p.Body, "noVNC") {
		return p, errors.Errorf("%svnc.html is not noVNC's page: %.200s", c.URL, p.Body)
	}
	return p, nil
}

// exchangeLink opens link with hc, which follows no redirect, and returns
// the cookie the gate sets for it. The gate answers a valid link with 303
// and the cookie, and anything else with 401.
func exchangeLink(ctx context.Context, hc *http.Client, link string) (*http.Cookie, error) {
	if u, err := url.Parse(link); err != nil || !u.Query().Has(gate.TokenParameter) {
		return nil, errors.Errorf("the credentials hold no link with a token, only %q", link)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
	if err != nil {
		return nil, errors.Wrap(err, "cannot make request for the link")
	}
	rsp, err := hc.Do(req)
	if err != nil {
		return nil, errors.Wrap(err, "cannot open the link through Traefik")
	}
	_ = rsp.Body.Close()
	cs := rsp.Cookies()
	if rsp.StatusCode != http.StatusSeeOther || len(cs) != 1 {
		return nil, errors.Errorf("opening the link through Traefik: HTTP %d with %d cookies, want 303 with the gate's cookie", rsp.StatusCode, len(cs))
	}
	return cs[0], nil
}
