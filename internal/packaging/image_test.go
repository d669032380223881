package packaging

import (
	"archive/tar"
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"sigs.k8s.io/yaml"
)

var meta = ImageMeta{
	Name:     "provider-vdi",
	Version:  "v0.2.0-3-gabc1234",
	Revision: "abc1234abc1234abc1234abc1234abc1234abc12",
	Created:  time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC),
	Platform: v1.Platform{OS: "linux", Architecture: "arm64"},
}

// fakeRuntimeImage returns the runtime image of a fake binary described by m.
func fakeRuntimeImage(t *testing.T, m ImageMeta) v1.Image {
	t.Helper()
	img, err := RuntimeImage([]byte("\x7fELF binary"), m)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestRuntimeImageConfig(t *testing.T) {
	cf, err := fakeRuntimeImage(t, meta).ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	type view struct {
		OS, Architecture string
		Entrypoint, Cmd  []string
		User             string
		Labels           map[string]string
		Created          time.Time
	}
	want := view{
		OS: "linux", Architecture: "arm64",
		Entrypoint: []string{"/usr/local/bin/provider-vdi"},
		User:       "65532:65532",
		Labels: map[string]string{
			LabelSource:   Source,
			LabelVersion:  meta.Version,
			LabelRevision: meta.Revision,
			LabelTitle:    "provider-vdi",
			LabelCreated:  "2026-11-26T05:00:00Z",
		},
		Created: meta.Created,
	}
	got := view{cf.OS, cf.Architecture, cf.Config.Entrypoint, cf.Config.Cmd, cf.Config.User, cf.Config.Labels, cf.Created.UTC()}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("RuntimeImage config: -want, +got:\n%s", diff)
	}
}

// TestRuntimeImageFiles checks that the image holds only the binary and the
// folders above it: executable, owned by root, at the fixed time.
func TestRuntimeImageFiles(t *testing.T) {
	img := fakeRuntimeImage(t, meta)
	type entry struct {
		Name     string
		Mode     int64
		UID, GID int
		ModTime  time.Time
		Content  string
	}
	var got []entry
	r := tar.NewReader(mutate.Extract(img))
	for {
		h, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r)
		got = append(got, entry{h.Name, h.Mode, h.Uid, h.Gid, h.ModTime.UTC(), string(b)})
	}
	at := meta.Created
	want := []entry{
		{"usr", 0o755, 0, 0, at, ""},
		{"usr/local", 0o755, 0, 0, at, ""},
		{"usr/local/bin", 0o755, 0, 0, at, ""},
		{"usr/local/bin/provider-vdi", 0o755, 0, 0, at, "\x7fELF binary"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("RuntimeImage files: -want, +got:\n%s", diff)
	}
	b, err := Extract(img, Entrypoint("provider-vdi"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, []byte("\x7fELF binary")) {
		t.Errorf("Extract: got %q, want the binary", b)
	}
}

func TestRuntimeImageReproducible(t *testing.T) {
	cases := map[string]struct {
		reason string
		a, b   ImageMeta
		same   bool
	}{
		"SameInput": {
			reason: "The same binary and metadata must give the same digest, built at any time.",
			a:      meta, b: meta, same: true,
		},
		"OtherRevision": {
			reason: "Another commit must give another digest.",
			a:      meta, b: func() ImageMeta { m := meta; m.Revision = "def"; return m }(), same: false,
		},
		"OtherPlatform": {
			reason: "Each platform is its own image.",
			a:      meta, b: func() ImageMeta { m := meta; m.Platform.Architecture = "amd64"; return m }(), same: false,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			digest := func(m ImageMeta) v1.Hash {
				d, err := fakeRuntimeImage(t, m).Digest()
				if err != nil {
					t.Fatal(err)
				}
				return d
			}
			a, b := digest(tc.a), digest(tc.b)
			if (a == b) != tc.same {
				t.Errorf("\n%s\nRuntimeImage digests %s and %s: want same=%t", tc.reason, a, b, tc.same)
			}
		})
	}
}

func TestPinDependencies(t *testing.T) {
	in := []byte(`apiVersion: meta.pkg.crossplane.io/v1
kind: Configuration
metadata:
  name: configuration-vdi
spec:
  dependsOn:
    - apiVersion: pkg.crossplane.io/v1
      kind: Provider
      package: ghcr.io/provider-vdi/provider-vdi
      version: ">=v0.0.0-0"
    - apiVersion: pkg.crossplane.io/v1
      kind: Function
      package: xpkg.crossplane.io/crossplane-contrib/function-auto-ready
      version: ">=v0.5.0"
`)
	// pinned is the provider dependency pinned to the build at pkg.
	pinned := func(pkg string) map[string]any {
		return map[string]any{"apiVersion": "pkg.crossplane.io/v1", "kind": "Provider", "package": pkg, "version": "v0.2.0-3-gabc1234"}
	}
	// autoReady is the dependency that is not ours, as it was.
	autoReady := map[string]any{"apiVersion": "pkg.crossplane.io/v1", "kind": "Function", "package": "xpkg.crossplane.io/crossplane-contrib/function-auto-ready", "version": ">=v0.5.0"}
	cases := map[string]struct {
		reason   string
		registry string
		want     []map[string]any
	}{
		"Release": {
			reason:   "Our dependencies are pinned to the build's version; others are left alone.",
			registry: "ghcr.io",
			want:     []map[string]any{pinned("ghcr.io/provider-vdi/provider-vdi"), autoReady},
		},
		"OtherRegistry": {
			reason:   "Publishing to another registry names it in dependsOn, keeping the repository path.",
			registry: "registry.example.com:5000",
			want:     []map[string]any{pinned("registry.example.com:5000/provider-vdi/provider-vdi"), autoReady},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			out, err := PinDependencies(in, tc.registry, "v0.2.0-3-gabc1234")
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				Spec struct {
					DependsOn []map[string]any `json:"dependsOn"`
				} `json:"spec"`
			}
			if err := yaml.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got.Spec.DependsOn); diff != "" {
				t.Errorf("\n%s\nPinDependencies: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
