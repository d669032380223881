// Command images builds the images of the local environment's real node
// into the tools cache, without Docker or any registry: the pause image (the
// static program in ./pause) and the web desktop (the Debian root file
// system that `cluster/tools/build.sh desktop-rootfs` makes, with the
// entrypoint, auth plugin and start page in ./desktop). Each is an image
// archive that the node imports; each is rebuilt only when what it is made
// of changes. `make tools` runs it.
//
//	go run ./cluster/images --tools .cache/tools
package main

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"

	"github.com/provider-vdi/provider-vdi/internal/controlplane"
	"github.com/provider-vdi/provider-vdi/internal/localenv"
	"github.com/provider-vdi/provider-vdi/internal/packaging"
)

//go:embed desktop pause/main.go
var sources embed.FS

// version is part of every image's stamp: bump it when this program or
// internal/packaging changes how the images are made.
const version = "1"

func main() {
	tools := flag.String("tools", ".cache/tools", "The tools cache: reads desktop/rootfs, writes images/.")
	flag.Parse()
	if err := run(context.Background(), *tools); err != nil {
		fmt.Fprintln(os.Stderr, "images:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, tools string) error {
	out := filepath.Join(tools, "images")
	if err := os.MkdirAll(out, 0o750); err != nil {
		return errors.Wrap(err, "cannot create images folder")
	}
	if err := build(out, "pause", controlplane.PauseImage, []string{"pause/main.go"}, nil, func() (v1.Image, error) {
		return pause(ctx)
	}); err != nil {
		return err
	}
	rootfs := filepath.Join(tools, "desktop", "rootfs")
	stamp, err := os.ReadFile(filepath.Join(tools, "stamps", "desktop-rootfs")) //nolint:gosec // The tools cache we were pointed at.
	if err != nil {
		return errors.Wrap(err, "no desktop root file system: run `cluster/tools/build.sh desktop-rootfs`")
	}
	return build(out, "desktop", localenv.DesktopImage, []string{"desktop/vdi-desktop", "desktop/vdi_auth.py", "desktop/index.html"}, stamp, func() (v1.Image, error) {
		return desktop(rootfs)
	})
}

// build writes <out>/<name>.tar tagged ref with make, unless its stamp says
// it was made from the same sources, extra input and version.
func build(out, name, ref string, srcs []string, extra []byte, mk func() (v1.Image, error)) error {
	h := sha256.New()
	_, _ = fmt.Fprintln(h, version, ref)
	h.Write(extra)
	for _, s := range srcs {
		b, err := sources.ReadFile(s)
		if err != nil {
			return errors.Wrapf(err, "cannot read %s", s)
		}
		h.Write(b)
	}
	want := hex.EncodeToString(h.Sum(nil))
	tar, stamp := filepath.Join(out, name+".tar"), filepath.Join(out, name+".stamp")
	if have, err := os.ReadFile(stamp); err == nil && string(have) == want { //nolint:gosec // The tools cache we were pointed at.
		if _, err := os.Stat(tar); err == nil {
			fmt.Printf("images: %s is up to date\n", name)
			return nil
		}
	}
	start := time.Now()
	img, err := mk()
	if err != nil {
		return err
	}
	if err := packaging.WriteTarball(tar, ref, img); err != nil {
		return err
	}
	fi, _ := os.Stat(tar)
	fmt.Printf("images: built %s (%s, %d MB) in %s\n", name, ref, fi.Size()>>20, time.Since(start).Round(100*time.Millisecond))
	return errors.Wrap(os.WriteFile(stamp, []byte(want), 0o600), "cannot write stamp")
}

// pause builds the pause program, static, into an image run as 65535.
func pause(ctx context.Context) (v1.Image, error) {
	dir, err := os.MkdirTemp("", "pause-")
	if err != nil {
		return nil, errors.Wrap(err, "cannot create build folder")
	}
	defer os.RemoveAll(dir) //nolint:errcheck // A temporary folder.
	src, _ := sources.ReadFile("pause/main.go")
	if err := os.WriteFile(filepath.Join(dir, "main.go"), src, 0o600); err != nil {
		return nil, errors.Wrap(err, "cannot write pause source")
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module pause\n\ngo 1.24\n"), 0o600); err != nil {
		return nil, errors.Wrap(err, "cannot write pause module")
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", "pause", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, errors.Wrapf(err, "cannot build pause: %s", out)
	}
	bin, err := os.ReadFile(filepath.Join(dir, "pause")) //nolint:gosec // Our build.
	if err != nil {
		return nil, errors.Wrap(err, "cannot read pause")
	}
	return packaging.BinaryImage("/pause", bin, "65535:65535", time.Unix(0, 0))
}

// desktop adds the entrypoint, auth plugin and start page to the root file
// system; it runs as uid 1000 with its home at /home/desktop.
func desktop(rootfs string) (v1.Image, error) {
	var files []packaging.File
	add := func(src, dst string, mode int64) {
		b, _ := sources.ReadFile(src)
		files = append(files, packaging.File{Path: dst, Mode: mode, Content: b})
	}
	add("desktop/vdi-desktop", "/usr/local/bin/vdi-desktop", 0o755)
	add("desktop/vdi_auth.py", "/usr/local/lib/vdi/vdi_auth.py", 0o644)
	add("desktop/index.html", "/usr/share/novnc/index.html", 0o644)
	files = append(files,
		packaging.File{Path: "/usr/local/lib/vdi", Mode: 0o755, Dir: true},
		// X's socket folder, which Xvfb as a user cannot make.
		packaging.File{Path: "/tmp/.X11-unix", Mode: 0o1777, Dir: true},
		// The home of sessions without a volume.
		packaging.File{Path: "/home/desktop", Mode: 0o755, Dir: true, UID: 1000, GID: 1000},
	)
	return packaging.DirImage(rootfs, files, v1.Config{
		Entrypoint:   []string{"/usr/local/bin/vdi-desktop"},
		User:         "1000:1000",
		WorkingDir:   "/home/desktop",
		Env:          []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/home/desktop", "LANG=C.UTF-8"},
		ExposedPorts: map[string]struct{}{"8080/tcp": {}},
		Labels:       map[string]string{packaging.LabelTitle: "provider-vdi web desktop (Debian bookworm, noVNC)"},
	}, time.Unix(0, 0))
}
