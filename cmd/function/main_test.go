package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestRunErrors covers the ways the function refuses to start; serving
// itself is covered by the render tests, which run this binary.
func TestRunErrors(t *testing.T) {
	cases := map[string]struct {
		reason string
		args   []string
		want   string
	}{
		"UnknownFlag": {
			reason: "An unknown flag should be an error.",
			args:   []string{"--insecur"},
			want:   "flag provided but not defined: -insecur",
		},
		"BadNow": {
			reason: "A --now that is no RFC 3339 time should be an error.",
			args:   []string{"--insecure", "--now=tomorrow"},
			want:   `cannot parse --now: parsing time "tomorrow" as "2006-01-02T15:04:05Z07:00": cannot parse "tomorrow" as "2006"`,
		},
		"NoCredentials": {
			reason: "Neither --insecure nor --tls-certs-dir should be an error, not an unauthenticated server.",
			args:   []string{"--tls-certs-dir=", "--address=127.0.0.1:0"},
			want:   "no credentials provided - did you specify the Insecure or MTLSCertificates options?",
		},
		"MissingCerts": {
			reason: "A certificate directory without certificates should be an error.",
			args:   []string{"--tls-certs-dir=/nonexistent", "--address=127.0.0.1:0"},
			want:   "cannot apply ServeOption: cannot load X509 keypair: open /nonexistent/tls.crt: no such file or directory",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := run(tc.args)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("\n%s\nrun(%q): -want error, +got:\n%s", tc.reason, tc.args, diff)
			}
		})
	}
}
