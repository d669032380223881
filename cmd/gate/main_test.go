package main

import (
	"crypto/ed25519"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/provider-vdi/provider-vdi/internal/gate"
)

// TestServer configures the gate from its environment, as the provider
// sets it in the desktop Pod, and follows a link the provider's Signer made
// for that Pod through it to the desktop.
func TestServer(t *testing.T) {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	signer := gate.NewSigner(key)
	pub, err := signer.PublicKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	desktop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "alice" || p != "s3cret" {
			http.Error(w, "who are you", http.StatusUnauthorized)
			return
		}
		_, _ = io.WriteString(w, "the desktop")
	}))
	defer desktop.Close()
	full := map[string]string{
		gate.EnvListen:           ":8090",
		gate.EnvUpstream:         desktop.URL,
		gate.EnvPublicKey:        pub,
		gate.EnvAudience:         "127.0.0.1",
		gate.EnvSubject:          "alice",
		gate.EnvPodUID:           "pod-1",
		gate.EnvUpstreamUser:     "alice",
		gate.EnvUpstreamPassword: "s3cret",
	}
	without := func(name string) map[string]string {
		env := map[string]string{}
		for k, v := range full {
			if k != name {
				env[k] = v
			}
		}
		return env
	}

	cases := map[string]struct {
		reason string
		env    map[string]string
		err    bool
	}{
		"Complete": {
			reason: "A gate configured as the provider configures it should open the desktop with the provider's link, without the user typing the password.",
			env:    full,
		},
		"NoPublicKey": {reason: "Without the public key the gate should not start.", env: without(gate.EnvPublicKey), err: true},
		"NoAudience":  {reason: "Without the audience the gate should not start.", env: without(gate.EnvAudience), err: true},
		"NoSubject":   {reason: "Without the subject the gate should not start.", env: without(gate.EnvSubject), err: true},
		"NoPodUID":    {reason: "Without its Pod's UID the gate should not start.", env: without(gate.EnvPodUID), err: true},
		"NoUpstream":  {reason: "Without the desktop the gate should not start.", env: without(gate.EnvUpstream), err: true},
		"NoListen":    {reason: "Without an address the gate should not start.", env: without(gate.EnvListen), err: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			srv, err := server(func(k string) string { return tc.env[k] })
			if tc.err {
				if err == nil {
					t.Errorf("\n%s\nserver(...): want error, got none", tc.reason)
				}
				return
			}
			if err != nil {
				t.Fatalf("\n%s\nserver(...): %v", tc.reason, err)
			}
			if srv.Addr != ":8090" {
				t.Errorf("\n%s\nserver(...).Addr = %q, want :8090", tc.reason, srv.Addr)
			}
			front := httptest.NewServer(srv.Handler)
			defer front.Close()
			// The link of the desktop at https://127.0.0.1/, sent to the
			// gate's test listener.
			signed, err := signer.Link(gate.Session{URL: "https://127.0.0.1/", User: "alice", Pod: "pod-1"}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(signed)
			link := front.URL + "/?" + u.RawQuery
			jar := &cookies{}
			hc := &http.Client{Jar: jar}
			// httptest serves plain HTTP; the cookie is Secure, so the
			// jar below hands it back as a browser would over HTTPS.
			rsp, err := hc.Get(link)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(rsp.Body)
			_ = rsp.Body.Close()
			got := struct {
				Status int
				Body   string
				Path   string
			}{rsp.StatusCode, string(body), rsp.Request.URL.RequestURI()}
			want := got
			want.Status, want.Body, want.Path = http.StatusOK, "the desktop", "/"
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("\n%s\nGET link: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

// cookies is a cookie jar of one host that, unlike net/http/cookiejar,
// returns Secure cookies over plain HTTP, as browsers do for loopback.
type cookies struct{ c []*http.Cookie }

func (j *cookies) SetCookies(_ *url.URL, c []*http.Cookie) { j.c = append(j.c, c...) }
func (j *cookies) Cookies(*url.URL) []*http.Cookie         { return j.c }
