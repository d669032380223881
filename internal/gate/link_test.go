package gate

import (
	"crypto/ed25519"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
)

// keyFrom returns the Ed25519 key of a 32-byte seed made of b.
func keyFrom(b byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed([]byte(strings.Repeat(string(b), ed25519.SeedSize)))
}

var (
	providerKey = keyFrom('p')
	otherKey    = keyFrom('o')
	// t0 is the start of a link window of the session's Pod.
	t0       = WindowStart("pod-uid-1", time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC))
	deadline = t0.Add(8 * time.Hour)
	session  = Session{URL: "https://dev-alice-3.vdi.localhost/", User: "alice", Pod: "pod-uid-1", Deadline: &deadline}
)

// tokenOf returns the token parameter of link.
func tokenOf(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get(TokenParameter)
}

// claimsOf returns the claims of token, unverified.
func claimsOf(t *testing.T, token string) *LinkClaims {
	t.Helper()
	c := &LinkClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(token, c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLink(t *testing.T) {
	early := t0.Add(15 * time.Minute)
	type want struct {
		claims *LinkClaims
		err    bool
	}
	cases := map[string]struct {
		reason  string
		session Session
		now     time.Time
		want    want
	}{
		"StartOfWindow": {
			reason:  "A link signed at the start of a window should be valid from then for Lifetime, for the session's host, user and Pod, and carry its deadline.",
			session: session,
			now:     t0,
			want:    want{claims: validClaims()},
		},
		"EndOfWindow": {
			reason:  "A link signed at the end of a window should still be the window's, with Lifetime-Window left.",
			session: session,
			now:     t0.Add(Window - time.Second),
			want:    want{claims: validClaims()},
		},
		"DeadlineFirst": {
			reason:  "No link should outlive the session's deadline.",
			session: Session{URL: "https://h.example/x/", User: "alice", Pod: "pod-uid-1", Deadline: &early},
			now:     t0.Add(time.Minute),
			want: want{claims: validClaims(func(c *LinkClaims) {
				c.Audience = jwt.ClaimStrings{"h.example"}
				c.ExpiresAt, c.Deadline = jwt.NewNumericDate(early), jwt.NewNumericDate(early)
			})},
		},
		"PastDeadline": {
			reason:  "A session past its deadline should get no link.",
			session: Session{URL: "https://h.example/", User: "alice", Pod: "p", Deadline: &early},
			now:     early,
			want:    want{err: true},
		},
		"NoURL": {
			reason:  "A session without a URL has no host to bind a link to.",
			session: Session{User: "alice", Pod: "p"},
			now:     t0,
			want:    want{err: true},
		},
		"NoPod": {
			reason:  "A link is bound to a Pod; without one there is no link.",
			session: Session{URL: "https://h.example/", User: "alice"},
			now:     t0,
			want:    want{err: true},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			link, err := NewSigner(providerKey).Link(tc.session, tc.now)
			if tc.want.err {
				if err == nil {
					t.Errorf("\n%s\nLink(...): want error, got %q", tc.reason, link)
				}
				return
			}
			if err != nil {
				t.Fatalf("\n%s\nLink(...): %v", tc.reason, err)
			}
			if !strings.HasPrefix(link, tc.session.URL+"?token=") {
				t.Errorf("\n%s\nLink(...) = %q, want the session's URL with a token parameter", tc.reason, link)
			}
			if diff := cmp.Diff(tc.want.claims, claimsOf(t, tokenOf(t, link))); diff != "" {
				t.Errorf("\n%s\nLink(...) claims: -want, +got:\n%s", tc.reason, diff)
			}
			v := Verifier{Key: providerKey.Public().(ed25519.PublicKey), Audience: tc.want.claims.Audience[0], Subject: tc.session.User, Pod: tc.session.Pod}
			if _, err := v.Verify(tokenOf(t, link), tc.now); err != nil {
				t.Errorf("\n%s\nVerify(Link(...)) at signing time: %v", tc.reason, err)
			}
		})
	}
}

// TestLinkWindows shows that a link is the same throughout a window, so that
// publishing it again writes nothing, and a new one in the next.
func TestLinkWindows(t *testing.T) {
	s := NewSigner(providerKey)
	link := func(at time.Time) string {
		l, err := s.Link(session, at)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	cases := map[string]struct {
		reason string
		a, b   time.Time
		same   bool
	}{
		"SameWindow": {
			reason: "Two links of one window should be the same bytes (Ed25519 signatures are deterministic).",
			a:      t0.Add(time.Second), b: t0.Add(Window - time.Second), same: true,
		},
		"NextWindow": {
			reason: "The next window should have a new link.",
			a:      t0.Add(Window - time.Second), b: t0.Add(Window), same: false,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := link(tc.a) == link(tc.b); got != tc.same {
				t.Errorf("\n%s\nLink(%s) == Link(%s): want %t, got %t", tc.reason, tc.a, tc.b, tc.same, got)
			}
		})
	}
}

// TestWindowStart shows that each Pod's windows start at an offset of its
// own, spread over the Window, so that links are signed anew a few at a
// time, not all at one boundary.
func TestWindowStart(t *testing.T) {
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	perMinute := map[time.Duration]int{}
	for i := range 1000 {
		pod := fmt.Sprintf("0b7e6a4c-%04d-4f1e-9a57-5d3c2b1a0f%02d", i, i%100)
		start := WindowStart(pod, now)
		if start.After(now) || !now.Before(start.Add(Window)) {
			t.Fatalf("WindowStart(%q, %s) = %s: want a start at most one Window before now", pod, now, start)
		}
		if got := WindowStart(pod, start.Add(Window-time.Second)); !got.Equal(start) {
			t.Errorf("WindowStart(%q, ...) at the window's last second = %s, want its start %s", pod, got, start)
		}
		if got := WindowStart(pod, start.Add(Window)); !got.Equal(start.Add(Window)) {
			t.Errorf("WindowStart(%q, ...) at the next window = %s, want %s", pod, got, start.Add(Window))
		}
		perMinute[start.Sub(start.Truncate(Window)).Truncate(time.Minute)]++
	}
	// 1000 Pods over 20 minutes: 50 a minute if evenly spread.
	for m := time.Duration(0); m < Window; m += time.Minute {
		if n := perMinute[m]; n < 25 || n > 75 {
			t.Errorf("%d of 1000 Pods' windows start in minute %s of the Window, want about 50: links would be signed anew in bursts", n, m)
		}
	}
}

func TestPublicKeyPEM(t *testing.T) {
	pemKey, err := NewSigner(providerKey).PublicKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParsePublicKeyPEM(pemKey)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(providerKey.Public(), got); diff != "" {
		t.Errorf("\nA public key should survive its PEM.\nParsePublicKeyPEM(PublicKeyPEM()): -want, +got:\n%s", diff)
	}
	if _, err := ParsePublicKeyPEM("not a key"); err == nil {
		t.Errorf("\nA value that is no PEM should be refused.\nParsePublicKeyPEM(...): want error, got none")
	}
}
