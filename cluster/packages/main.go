// Command packages builds provider-vdi's three Crossplane packages, with
// the provider's and the function's runtime images for linux/amd64 and
// linux/arm64 embedded, and the image of the gate in front of every
// desktop, and publishes them. `make packages` and `make
// publish` run it.
//
//	go run ./cluster/packages build   --out _output --crossplane .cache/tools/bin/crossplane [--version V] [--registry R]
//	go run ./cluster/packages publish --out _output --crossplane ... --registry R [--version V]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"

	"github.com/provider-vdi/provider-vdi/internal/packaging"
)

func main() {
	if len(os.Args) < 2 || (os.Args[1] != "build" && os.Args[1] != "publish") {
		fmt.Fprintln(os.Stderr, "usage: packages build|publish [--out DIR] [--crossplane CLI] [--version V] [--registry HOST]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	out := fs.String("out", "_output", "Folder of the built binaries, images and packages.")
	cli := fs.String("crossplane", ".cache/tools/bin/crossplane", "The Crossplane CLI.")
	version := fs.String("version", "", "The packages' version and tag; default from git describe.")
	registry := fs.String("registry", packaging.DefaultRegistry, "Registry host; packages go to <registry>/provider-vdi/<package>.")
	_ = fs.Parse(os.Args[2:])
	if err := run(context.Background(), os.Args[1], *out, *cli, *version, *registry); err != nil {
		fmt.Fprintln(os.Stderr, "packages:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cmd, out, cli, version, registry string) error {
	root, err := os.Getwd()
	if err != nil {
		return errors.Wrap(err, "cannot get working folder")
	}
	v, rev, created, err := packaging.Describe(ctx, root)
	if err != nil {
		return err
	}
	if version == "" {
		version = v
	}
	out, _ = filepath.Abs(out)
	cli, _ = filepath.Abs(cli)
	o := packaging.Options{
		Root: root, Out: out, Crossplane: cli, Version: version, Revision: rev, Created: created,
		Registry: registry, Progress: os.Stdout,
	}
	pkgs, err := packaging.Build(ctx, o)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(map[string]any{"version": version, "revision": rev, "registry": registry, "packages": relative(out, pkgs)}, "", "  ")
	if err != nil {
		return errors.Wrap(err, "cannot encode build record")
	}
	if err := os.WriteFile(filepath.Join(out, "packages.json"), append(b, '\n'), 0o600); err != nil {
		return errors.Wrap(err, "cannot write build record")
	}
	fmt.Printf("packages: version %s (commit %s), record in %s\n", version, rev, filepath.Join(out, "packages.json"))
	if cmd == "publish" {
		return packaging.Push(ctx, o, pkgs, registry, version)
	}
	return nil
}

// relative returns pkgs with their files named relative to out, so that
// builds of the same commit anywhere give the same record.
func relative(out string, pkgs []packaging.Package) []packaging.Package {
	rel := func(f string) string {
		r, err := filepath.Rel(out, f)
		if err != nil {
			return f
		}
		return r
	}
	cp := make([]packaging.Package, 0, len(pkgs))
	for _, p := range pkgs {
		q := packaging.Package{Name: p.Name, Images: map[string]packaging.Image{}, Index: p.Index}
		if p.Layout != "" {
			q.Layout = rel(p.Layout)
		}
		for _, f := range p.Files {
			q.Files = append(q.Files, rel(f))
		}
		for pl, img := range p.Images {
			img.Binary = rel(img.Binary)
			q.Images[pl] = img
		}
		cp = append(cp, q)
	}
	return cp
}
