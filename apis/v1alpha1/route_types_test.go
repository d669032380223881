package v1alpha1

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestURL(t *testing.T) {
	cases := map[string]struct {
		reason string
		p      DesktopRouteParameters
		want   string
	}{
		"HTTP": {
			reason: "A route without TLS should serve http at the root.",
			p:      DesktopRouteParameters{Host: "vdi.example"},
			want:   "http://vdi.example/",
		},
		"HTTPS": {
			reason: "A route with TLS should serve https.",
			p:      DesktopRouteParameters{Host: "vdi.example", TLS: &RouteTLS{CertResolver: "letsencrypt"}},
			want:   "https://vdi.example/",
		},
		"HTTPSEmptyTLS": {
			reason: "An empty TLS block still means https, with Traefik's default certificate.",
			p:      DesktopRouteParameters{Host: "vdi.example", TLS: &RouteTLS{}},
			want:   "https://vdi.example/",
		},
		"PathPrefix": {
			reason: "A path prefix should be the URL's path, with a trailing slash.",
			p:      DesktopRouteParameters{Host: "vdi.example", PathPrefix: "/alice"},
			want:   "http://vdi.example/alice/",
		},
		"PathPrefixWithSlash": {
			reason: "A path prefix that ends in a slash should not get a second one.",
			p:      DesktopRouteParameters{Host: "vdi.example", PathPrefix: "/alice/", TLS: &RouteTLS{SecretName: "vdi-tls"}},
			want:   "https://vdi.example/alice/",
		},
		"RootPrefix": {
			reason: "A path prefix of / should be the root.",
			p:      DesktopRouteParameters{Host: "vdi.example", PathPrefix: "/"},
			want:   "http://vdi.example/",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.p.URL()); diff != "" {
				t.Errorf("\n%s\nURL(): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
