package packaging

import (
	"archive/tar"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// entry is what a test reads of a tar header and its content.
type entry struct {
	Type    byte
	Mode    int64
	Link    string
	UID     int
	Content string
}

func TestDirImage(t *testing.T) {
	root := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "usr/bin"), 0o755))
	must(os.MkdirAll(filepath.Join(root, "proc/1"), 0o755))
	must(os.MkdirAll(filepath.Join(root, "tmp"), 0o755))
	must(os.Chmod(filepath.Join(root, "tmp"), os.ModeSticky|0o777))
	must(os.WriteFile(filepath.Join(root, "usr/bin/tool"), []byte("tool"), 0o755))
	must(os.Link(filepath.Join(root, "usr/bin/tool"), filepath.Join(root, "usr/bin/tool2")))
	must(os.Symlink("tool", filepath.Join(root, "usr/bin/alias")))
	must(os.WriteFile(filepath.Join(root, "proc/1/status"), []byte("not in an image"), 0o644))
	must(os.WriteFile(filepath.Join(root, "usr/bin/start"), []byte("old"), 0o644))

	img, err := DirImage(root, []File{
		{Path: "/usr/bin/start", Mode: 0o755, Content: []byte("new")},
		{Path: "/home/desktop", Mode: 0o755, Dir: true, UID: 1000},
	}, v1.Config{User: "1000:1000", Entrypoint: []string{"/usr/bin/start"}}, time.Unix(0, 0))
	must(err)

	got := map[string]entry{}
	r := tar.NewReader(mutate.Extract(img))
	for {
		h, err := r.Next()
		if err == io.EOF {
			break
		}
		must(err)
		b, err := io.ReadAll(r)
		must(err)
		got[h.Name] = entry{Type: h.Typeflag, Mode: h.Mode & 0o7777, Link: h.Linkname, UID: h.Uid, Content: string(b)}
	}
	uid := os.Getuid()
	want := map[string]entry{
		"proc":          {Type: tar.TypeDir, Mode: 0o755, UID: uid},
		"tmp":           {Type: tar.TypeDir, Mode: 0o1777, UID: uid},
		"usr":           {Type: tar.TypeDir, Mode: 0o755, UID: uid},
		"usr/bin":       {Type: tar.TypeDir, Mode: 0o755, UID: uid},
		"usr/bin/alias": {Type: tar.TypeSymlink, Mode: 0o777, Link: "tool", UID: uid},
		"usr/bin/tool":  {Type: tar.TypeReg, Mode: 0o755, UID: uid, Content: "tool"},
		"usr/bin/tool2": {Type: tar.TypeLink, Mode: 0o755, Link: "usr/bin/tool", UID: uid},
		"usr/bin/start": {Type: tar.TypeReg, Mode: 0o755, Content: "new"},
		"home/desktop":  {Type: tar.TypeDir, Mode: 0o755, UID: 1000},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DirImage: the root file system without /proc's content, with start replaced and the home added: -want, +got:\n%s", diff)
	}
	cf, err := img.ConfigFile()
	must(err)
	if cf.Config.User != "1000:1000" || cf.OS != "linux" || cf.Architecture != "amd64" || cf.Config.Labels[LabelSource] != Source {
		t.Errorf("DirImage config: user %q, platform %s/%s, labels %v", cf.Config.User, cf.OS, cf.Architecture, cf.Config.Labels)
	}
}

func TestSetIngressDomain(t *testing.T) {
	cases := map[string]struct {
		reason string
		in     string
		want   string
		err    bool
	}{
		"StepInput": {
			reason: "The domain of the step's ingress input is replaced; nothing else changes.",
			in: `apiVersion: apiextensions.crossplane.io/v1
kind: Composition
spec:
  mode: Pipeline
  pipeline:
  - step: compose
    input:
      ingress:
        domain: vdi.example.com
        entryPoints: [websecure]
`,
			want: `apiVersion: apiextensions.crossplane.io/v1
kind: Composition
spec:
  mode: Pipeline
  pipeline:
  - input:
      ingress:
        domain: vdi.localhost
        entryPoints:
        - websecure
    step: compose
`,
		},
		"NoIngress": {
			reason: "A Composition whose steps set no ingress is an error, not a silent no-op.",
			in:     "spec:\n  pipeline:\n  - step: compose\n    input: {}\n",
			err:    true,
		},
		"NotYAML": {
			reason: "A file that does not parse is an error.",
			in:     "spec: [",
			err:    true,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := SetIngressDomain([]byte(tc.in), "vdi.localhost")
			if (err != nil) != tc.err {
				t.Fatalf("\n%s\nSetIngressDomain: error %v, want error %t", tc.reason, err, tc.err)
			}
			if diff := cmp.Diff(tc.want, string(got)); !tc.err && diff != "" {
				t.Errorf("\n%s\nSetIngressDomain: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
