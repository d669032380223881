//go:build render

// Package render tests function-vdi through the real Crossplane: every
// example session under examples/sessions is rendered by the Crossplane CLI
// with Crossplane core's own reconciler (--crossplane-binary) and the built
// function, compared with its committed expected output, and the output is
// validated against the provider's CRDs and the VDISession XRD.
package render

import (
	"bytes"
	"context"
	"flag"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/provider-vdi/provider-vdi/internal/controlplane"
)

var update = flag.Bool("update", false, "rewrite each example's expected.yaml from its render")

// now is the clock of the function under render: examples are created at
// 09:00, so an 8h session runs and a 30m one has expired.
const now = "2026-05-01T10:00:00Z"

// The files of one example, relative to its folder.
const (
	sessionFile  = "session.yaml"
	observedFile = "observed.yaml"
	expectedFile = "expected.yaml"
	errorFile    = "expected-error.txt"
)

type env struct {
	root, cli, core, addr, cache string
}

// A cli renders with one version of the Crossplane CLI.
type cli struct {
	// name of the version, for messages.
	name string
	// golden is the file of each example that holds this CLI's expected
	// output: the XR's status and conditions differ between Crossplane
	// engines, the composed resources must not.
	golden string
	// render returns the arguments that render xr with composition and
	// functions.
	args func(e env, xr, composition, functions string) []string
	// bin is the CLI binary.
	bin func(e env) string
}

// clis are the CLI versions users render with: v2.3 and later have
// `crossplane composition render`, driving Crossplane core's own binary;
// v2.0 to v2.2 have `crossplane render`, with the engine built into the
// CLI.
var clis = []cli{
	{
		name:   "v2.5 composition render",
		golden: expectedFile,
		bin:    func(e env) string { return e.cli },
		args: func(e env, xr, composition, functions string) []string {
			return []string{"composition", "render", xr, composition, functions, "--crossplane-binary=" + e.core}
		},
	},
	{
		name:   "v2.2 render",
		golden: "expected-v2.2.yaml",
		bin:    func(e env) string { return filepath.Join(tools(e.root), "bin", "crossplane-v2.2") },
		args: func(_ env, xr, composition, functions string) []string {
			return []string{"render", xr, composition, functions}
		},
	},
}

func TestRender(t *testing.T) {
	e := setup(t)
	dirs, err := filepath.Glob(filepath.Join(e.root, "examples", "sessions", "*", sessionFile))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("cannot find examples/sessions/*/%s: %v", sessionFile, err)
	}
	for _, c := range clis {
		built(t, c.bin(e))
	}
	for _, s := range dirs {
		dir := filepath.Dir(s)
		for _, c := range clis {
			t.Run(filepath.Base(dir)+"/"+strings.ReplaceAll(c.name, " ", "-"), func(t *testing.T) {
				e.renderTest(t, c, dir)
			})
		}
	}
}

// renderTest renders the example in dir with c and compares the result
// with the example's expected output.
func (e env) renderTest(t *testing.T, c cli, dir string) {
	t.Helper()
	out, stderr, err := e.render(c, dir)
	if want, ok := read(t, filepath.Join(dir, errorFile)); ok {
		want = strings.TrimSpace(want)
		if err == nil {
			t.Fatalf("crossplane %s: want a fatal result %q, got success:\n%s", c.name, want, out)
		}
		if !strings.Contains(stderr, want) {
			t.Errorf("crossplane %s: want stderr to contain %q, got:\n%s", c.name, want, stderr)
		}
		return
	}
	if err != nil {
		t.Fatalf("crossplane %s: %v\n%s", c.name, err, stderr)
	}
	golden := filepath.Join(dir, c.golden)
	if *update {
		if err := os.WriteFile(golden, []byte(out), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	want, ok := read(t, golden)
	if !ok {
		t.Fatalf("%s is missing; run make render-update", golden)
	}
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("crossplane %s: -want (%s), +got:\n%s", c.name, golden, diff)
	}
	e.validate(t, "", out)
	// Whichever CLI renders, the function composes the same resources.
	if c.golden != expectedFile {
		current, _ := read(t, filepath.Join(dir, expectedFile))
		if diff := cmp.Diff(composed(current), composed(out)); diff != "" {
			t.Errorf("crossplane %s composes other resources than %s: -%s, +got:\n%s", c.name, clis[0].name, expectedFile, diff)
		}
	}
}

// TestExamplesValid validates the inputs of the examples, which the
// end-to-end test also applies: templates and sessions against the
// provider's CRDs and the XRD, observed resources against the CRDs.
func TestExamplesValid(t *testing.T) {
	e := validator(t)
	inputs, err := filepath.Glob(filepath.Join(e.root, "examples", "sessions", "*", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, f := range inputs {
		if !strings.HasPrefix(filepath.Base(f), "expected") {
			files = append(files, f)
		}
	}
	files = append(files, filepath.Join(e.root, "examples", "templates"))
	e.validate(t, strings.Join(files, ","), "")
}

// TestXRDRejects holds the XRD's OpenAPI and CEL validation to rejecting
// sessions before the function ever sees them.
func TestXRDRejects(t *testing.T) {
	e := validator(t)
	cases := map[string]struct {
		reason string
		spec   string
		want   string
	}{
		"UserNotALabel": {
			reason: "A user that is no DNS label should be rejected.",
			spec:   "user: Bob\n  template: ubuntu-gpu",
			want:   `spec.user: Invalid value: "Bob"`,
		},
		"MissingTemplate": {
			reason: "A session without a template should be rejected.",
			spec:   "user: bob",
			want:   "spec.template: Required value",
		},
		"StateNotInEnum": {
			reason: "A state other than Running or Stopped should be rejected.",
			spec:   "user: bob\n  template: t\n  state: Paused",
			want:   `spec.state: Unsupported value: "Paused"`,
		},
		"TimeoutNotADuration": {
			reason: "A timeout in days should be rejected.",
			spec:   "user: bob\n  template: t\n  timeout: 1d",
			want:   `spec.timeout: Invalid value: "1d"`,
		},
		"ZeroTimeout": {
			reason: "A zero timeout should be rejected by CEL.",
			spec:   "user: bob\n  template: t\n  timeout: 0s",
			want:   "timeout must be a positive duration such as 8h or 90m",
		},
		"CPUNotAQuantity": {
			reason: "A CPU that is no quantity should be rejected.",
			spec:   "user: bob\n  template: t\n  resources:\n    cpu: lots",
			want:   `spec.resources.cpu: Invalid value: "lots"`,
		},
		"TooManyGPUs": {
			reason: "More GPUs than any node has should be rejected.",
			spec:   "user: bob\n  template: t\n  resources:\n    gpu: 17",
			want:   "spec.resources.gpu: Invalid value: 17",
		},
		"RetainWithoutPersistence": {
			reason: "Retaining a volume the session turns off should be rejected by CEL.",
			spec:   "user: bob\n  template: t\n  persistence:\n    enabled: false\n    retainOnDelete: true",
			want:   "retainOnDelete needs persistence, but enabled is false",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "session.yaml")
			doc := "apiVersion: vdi.kasm.io/v1alpha1\nkind: VDISession\nmetadata:\n  name: s\n  namespace: team-a\nspec:\n  " + tc.spec + "\n"
			if err := os.WriteFile(f, []byte(doc), 0o600); err != nil {
				t.Fatal(err)
			}
			out, stderr, err := run(e.root, e.cli, "resource", "validate", filepath.Join(e.root, "package", "configuration", "definition.yaml"), f,
				"--cache-dir="+e.cache, "--crossplane-image="+coreImage)
			if err == nil || !strings.Contains(out, tc.want) {
				t.Errorf("\n%s\ncrossplane resource validate: want a failure containing %q, got error %v:\n%s%s", tc.reason, tc.want, err, out, stderr)
			}
		})
	}
}

// validator finds the Crossplane CLI and seeds the schema cache of
// crossplane resource validate: all that validating, without rendering,
// needs.
func validator(t *testing.T) env {
	t.Helper()
	e := env{root: root(t)}
	e.cli = built(t, filepath.Join(tools(e.root), "bin", "crossplane"))
	e.cache = seedSchemaCache(t, e.root)
	return e
}

// setup finds the Crossplane binaries, builds and starts the function, and
// seeds the schema cache of crossplane resource validate.
func setup(t *testing.T) env {
	t.Helper()
	e := validator(t)
	e.core = built(t, filepath.Join(tools(e.root), "bin", "crossplane-core"))
	e.addr = startFunction(t, e.root)
	return e
}

// built returns bin, failing t when `make tools` has not built it.
func built(t *testing.T, bin string) string {
	t.Helper()
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s is missing: run `make tools` first, which builds the Crossplane CLIs and core (%v)", bin, err)
	}
	return bin
}

func (e env) render(c cli, dir string) (stdout, stderr string, err error) {
	args := c.args(e,
		filepath.Join(dir, sessionFile),
		filepath.Join(e.root, "package", "configuration", "composition.yaml"),
		filepath.Join(e.root, "examples", "functions.yaml"))
	args = append(args,
		"--xrd="+filepath.Join(e.root, "package", "configuration", "definition.yaml"),
		"--required-resources="+filepath.Join(e.root, "examples", "templates"),
		"--function-annotations=render.crossplane.io/runtime-development-target="+e.addr,
		"--include-full-xr",
	)
	if _, err := os.Stat(filepath.Join(dir, observedFile)); err == nil {
		args = append(args, "--observed-resources="+filepath.Join(dir, observedFile))
	}
	return run(e.root, c.bin(e), args...)
}

// validate checks objects, in files or rendered, against the provider's
// generated CRDs and the VDISession XRD.
func (e env) validate(t *testing.T, files, rendered string) {
	t.Helper()
	f := files
	if rendered != "" {
		f = filepath.Join(t.TempDir(), "rendered.yaml")
		if err := os.WriteFile(f, []byte(rendered), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	schemas := filepath.Join(e.root, "package", "crds") + "," + filepath.Join(e.root, "package", "configuration", "definition.yaml")
	out, stderr, err := run(e.root, e.cli, "resource", "validate", schemas, f,
		"--cache-dir="+e.cache, "--crossplane-image="+coreImage, "--error-on-missing-schemas")
	if err != nil {
		t.Errorf("crossplane resource validate: %v\n%s%s", err, out, stderr)
	}
}

// ownerUID is the XR's UID in the composed resources' owner references,
// which Crossplane v2.4's engine sets in render and v2.2's leaves empty.
var ownerUID = regexp.MustCompile(`(?m)^(\s+)uid: .*$`)

// composed returns the documents of a render after the first, the XR,
// without the owner's UID.
func composed(render string) []string {
	docs := strings.Split(ownerUID.ReplaceAllString(render, "${1}uid: <owner>"), "\n---\n")
	return docs[1:]
}

// tools is the cache `make tools` fills: $TOOLS_DIR, else .cache/tools.
func tools(root string) string {
	if d := os.Getenv("TOOLS_DIR"); d != "" {
		return d
	}
	return filepath.Join(root, ".cache", "tools")
}

func root(t *testing.T) string {
	t.Helper()
	r, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func run(dir, bin string, args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var o, e bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

func read(t *testing.T, path string) (string, bool) {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b), true
}

// startFunction builds cmd/function and serves it insecurely on a free
// loopback port with the fixed clock, as the Development runtime expects.
func startFunction(t *testing.T, root string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "function-vdi")
	if _, stderr, err := run(root, "go", "build", "-o", bin, "./cmd/function"); err != nil {
		t.Fatalf("cannot build the function: %v\n%s", err, stderr)
	}
	ports, err := controlplane.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + ports[0]

	var stderr bytes.Buffer
	cmd := exec.Command(bin, "--insecure", "--address="+addr, "--now="+now)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("cannot start the function: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			_ = c.Close()
			return addr
		}
	}
	t.Fatalf("the function did not listen at %s within 30s:\n%s", addr, stderr.String())
	return ""
}

// coreImage names Crossplane core's schemas in the validate cache. validate
// downloads them from a registry unless cached; we cache the CRDs of the very
// core module `make tools` builds, so validation runs offline.
const coreImage = "local/crossplane:v2.4.0"

func seedSchemaCache(t *testing.T, root string) string {
	t.Helper()
	out, stderr, err := run(filepath.Join(root, "cluster", "tools", "crossplane"), "go", "list", "-mod=readonly", "-m", "-f", "{{.Dir}}", "github.com/crossplane/crossplane/v2")
	if err != nil {
		t.Fatalf("cannot find the Crossplane core module: %v\n%s", err, stderr)
	}
	crds, err := filepath.Glob(filepath.Join(strings.TrimSpace(out), "cluster", "crds", "*.yaml"))
	if err != nil || len(crds) == 0 {
		t.Fatalf("cannot find Crossplane core's CRDs: %v", err)
	}
	var all bytes.Buffer
	for _, c := range crds {
		b, err := os.ReadFile(c)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(b)
		all.WriteString("\n---\n")
	}
	cache := t.TempDir()
	dir := filepath.Join(cache, strings.ReplaceAll(coreImage, ":", "@"))
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "package.yaml"), all.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return cache
}
