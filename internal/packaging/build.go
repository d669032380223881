package packaging

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"sigs.k8s.io/yaml"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

// DefaultRegistry is where releases are published. Packages live at
// <registry>/provider-vdi/<package>: Crossplane names a dependency after
// its repository path, and the Composition calls the function by that name
// (provider-vdi-function-vdi), so only the registry part may change.
const DefaultRegistry = "ghcr.io"

// Org is the repository path above every package.
const Org = "provider-vdi"

// Platforms the runtime images are built for.
var Platforms = []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}}

// Options of a build.
type Options struct {
	// Root of the repository.
	Root string
	// Out receives bin/, images/ and the .xpkg files.
	Out string
	// Crossplane is the path of the Crossplane CLI.
	Crossplane string
	// Version, Revision and Created describe the build; see Describe.
	Version  string
	Revision string
	Created  time.Time
	// Registry is the registry host of the packages' repositories, which
	// the Configuration's dependsOn names. Default DefaultRegistry.
	Registry string
	// Platforms to build runtime images for. Default Platforms.
	Platforms []v1.Platform
	// IngressDomain, if set, replaces the ingress domain of the
	// Composition's function input, as a platform sets its own.
	IngressDomain string
	// Progress receives a line per step; nil discards them.
	Progress io.Writer
}

// A Package is one built package: one .xpkg per platform for packages with
// a runtime, one for the configuration.
type Package struct {
	// Name of the package's repository, e.g. provider-vdi.
	Name string `json:"name"`
	// Files are the built .xpkg files, in the order of Platforms.
	Files []string `json:"files"`
	// Images are the runtime images embedded in Files, by platform
	// ("linux/amd64"), with the digest of each and of its binary.
	Images map[string]Image `json:"images,omitempty"`
	// Layout is, for an image that is no Crossplane package (the gate), the
	// OCI image layout holding its index of Images; it has no Files.
	Layout string `json:"layout,omitempty"`
	// Index is the digest of the image index in Layout.
	Index string `json:"index,omitempty"`
}

// An Image is a runtime image that a package embeds.
type Image struct {
	Digest       string `json:"digest"`
	Binary       string `json:"binary"`
	BinaryDigest string `json:"binaryDigest"`
}

// Repository returns where the package is pushed in registry.
func (p Package) Repository(registry string) string {
	return registry + "/" + Org + "/" + p.Name
}

// program is a Go program of this repository that becomes a runtime image.
type program struct {
	name, pkg string
	// ldflags returns -X flags that tell the program about the build.
	ldflags func(o *Options) string
}

// gateProgram is the gate in front of every desktop. It is no Crossplane
// package: the provider puts its image in desktop Pods, so it is published
// as an image of its own, <registry>/provider-vdi/gate:<version>, which the
// provider's binary names by default.
var gateProgram = program{name: "gate", pkg: "./cmd/gate"}

// GateImage returns the reference of the gate's image of version in
// registry.
func GateImage(registry, version string) string {
	return registry + "/" + Org + "/" + gateProgram.name + ":" + version
}

// providerLDFlags name the gate image of the same build in the provider.
func providerLDFlags(o *Options) string {
	return "-X main.defaultGateImage=" + GateImage(o.Registry, o.Version)
}

// packages of the repository: the provider's root is package/ without the
// function's and configuration's roots (xpkg build --ignore takes files, not
// folders).
var packages = []struct {
	name, root, ignore, examples string
	runtime                      *program
}{
	{"provider-vdi", "package", "function/*,function/*/*,configuration/*", "examples/provider", &program{"provider-vdi", "./cmd/provider", providerLDFlags}},
	{"function-vdi", "package/function", "", "examples/sessions", &program{name: "function-vdi", pkg: "./cmd/function"}},
	{"configuration-vdi", "package/configuration", "", "examples/sessions", nil},
}

func (o *Options) defaults() {
	if o.Registry == "" {
		o.Registry = DefaultRegistry
	}
	if len(o.Platforms) == 0 {
		o.Platforms = Platforms
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
}

func (o *Options) progress(format string, args ...any) {
	_, _ = fmt.Fprintf(o.Progress, "packaging: "+format+"\n", args...)
}

// Build builds the provider and function binaries and runtime images for
// every platform and the three packages into o.Out, and the gate's image
// for every platform as one index in an OCI layout.
func Build(ctx context.Context, o Options) ([]Package, error) {
	o.defaults()
	if o.Version == "" {
		return nil, errors.New("a version is required")
	}
	out := make([]Package, 0, len(packages)+1)
	for _, p := range packages {
		pkg := Package{Name: p.name, Images: map[string]Image{}}
		root := filepath.Join(o.Root, p.root)
		if p.runtime == nil {
			dir, err := o.configurationRoot(root)
			if err != nil {
				return nil, err
			}
			root = dir
		}
		targets := []v1.Platform{{}}
		if p.runtime != nil {
			targets = o.Platforms
		}
		for _, pl := range targets {
			file := filepath.Join(o.Out, p.name+".xpkg")
			args := []string{"xpkg", "build", "--package-root=" + root, "--examples-root=" + filepath.Join(o.Root, p.examples)}
			if p.ignore != "" {
				args = append(args, "--ignore="+p.ignore)
			}
			if p.runtime != nil {
				img, tar, err := o.runtimeImage(ctx, *p.runtime, pl)
				if err != nil {
					return nil, err
				}
				pkg.Images[pl.OS+"/"+pl.Architecture] = img
				file = filepath.Join(o.Out, p.name+"-"+pl.Architecture+".xpkg")
				args = append(args, "--embed-runtime-image-tarball="+tar)
			}
			args = append(args, "--package-file="+file)
			o.progress("crossplane xpkg build %s (%s)", p.name, platformOr(pl, "no runtime"))
			if err := o.crossplane(ctx, args...); err != nil {
				return nil, err
			}
			pkg.Files = append(pkg.Files, file)
		}
		out = append(out, pkg)
	}
	g, err := o.gateImage(ctx)
	if err != nil {
		return nil, err
	}
	return append(out, g), nil
}

// gateImage builds the gate's image for every platform and writes their
// index as an OCI layout.
func (o *Options) gateImage(ctx context.Context) (Package, error) {
	pkg := Package{Name: gateProgram.name, Images: map[string]Image{}, Layout: filepath.Join(o.Out, "images", gateProgram.name)}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, pl := range o.Platforms {
		img, tar, err := o.runtimeImage(ctx, gateProgram, pl)
		if err != nil {
			return Package{}, err
		}
		pkg.Images[pl.OS+"/"+pl.Architecture] = img
		i, err := tarball.ImageFromPath(tar, nil)
		if err != nil {
			return Package{}, errors.Wrapf(err, "cannot read image tarball %s", tar)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: i, Descriptor: v1.Descriptor{Platform: &pl}})
	}
	if err := os.RemoveAll(pkg.Layout); err != nil {
		return Package{}, errors.Wrap(err, "cannot clear the gate's image layout")
	}
	if _, err := layout.Write(pkg.Layout, idx); err != nil {
		return Package{}, errors.Wrap(err, "cannot write the gate's image layout")
	}
	d, err := idx.Digest()
	if err != nil {
		return Package{}, errors.Wrap(err, "cannot compute the gate's index digest")
	}
	pkg.Index = d.String()
	o.progress("gate image index %s: %s", GateImage(o.Registry, o.Version), d)
	return pkg, nil
}

func platformOr(p v1.Platform, none string) string {
	if p.OS == "" {
		return none
	}
	return p.OS + "/" + p.Architecture
}

// runtimeImage builds program p for platform pl, makes its runtime image
// and writes it as a tarball for xpkg build.
func (o *Options) runtimeImage(ctx context.Context, p program, pl v1.Platform) (Image, string, error) {
	bin := filepath.Join(o.Out, "bin", pl.OS+"_"+pl.Architecture, p.name)
	o.progress("go build %s for %s (static)", p.name, platformOr(pl, ""))
	ldflags := "-s -w -buildid="
	if p.ldflags != nil {
		ldflags += " " + p.ldflags(o)
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags="+ldflags, "-o", bin, p.pkg)
	cmd.Dir = o.Root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+pl.OS, "GOARCH="+pl.Architecture)
	if b, err := cmd.CombinedOutput(); err != nil {
		return Image{}, "", errors.Wrapf(err, "cannot build %s for %s: %s", p.name, platformOr(pl, ""), b)
	}
	binary, err := os.ReadFile(bin)
	if err != nil {
		return Image{}, "", errors.Wrapf(err, "cannot read %s", bin)
	}
	img, err := RuntimeImage(binary, ImageMeta{Name: p.name, Version: o.Version, Revision: o.Revision, Created: o.Created, Platform: pl})
	if err != nil {
		return Image{}, "", err
	}
	d, err := img.Digest()
	if err != nil {
		return Image{}, "", errors.Wrap(err, "cannot compute image digest")
	}
	tag, err := name.NewTag(fmt.Sprintf("%s/%s/%s:%s", o.Registry, Org, p.name, o.Version))
	if err != nil {
		return Image{}, "", errors.Wrap(err, "cannot name runtime image")
	}
	tar := filepath.Join(o.Out, "images", p.name+"-"+pl.Architecture+".tar")
	if err := os.MkdirAll(filepath.Dir(tar), 0o750); err != nil {
		return Image{}, "", errors.Wrap(err, "cannot create image folder")
	}
	if err := tarball.WriteToFile(tar, tag, img); err != nil {
		return Image{}, "", errors.Wrapf(err, "cannot write image tarball %s", tar)
	}
	sum := sha256.Sum256(binary)
	o.progress("runtime image %s %s: %s", p.name, platformOr(pl, ""), d)
	return Image{Digest: d.String(), Binary: bin, BinaryDigest: "sha256:" + hex.EncodeToString(sum[:])}, tar, nil
}

// configurationRoot copies the configuration's package root to
// Out/configuration-root, with every dependsOn on our packages pinned to
// this build's version and registry.
func (o *Options) configurationRoot(root string) (string, error) {
	dir := filepath.Join(o.Out, "configuration-root")
	if err := os.RemoveAll(dir); err != nil {
		return "", errors.Wrap(err, "cannot clear the configuration's package root")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", errors.Wrap(err, "cannot create the configuration's package root")
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return "", errors.Wrapf(err, "cannot read %s", root)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(root, e.Name()))
		if err != nil {
			return "", errors.Wrapf(err, "cannot read %s", e.Name())
		}
		if e.Name() == "crossplane.yaml" {
			if b, err = PinDependencies(b, o.Registry, o.Version); err != nil {
				return "", err
			}
		}
		if e.Name() == "composition.yaml" && o.IngressDomain != "" {
			if b, err = SetIngressDomain(b, o.IngressDomain); err != nil {
				return "", err
			}
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o600); err != nil {
			return "", errors.Wrapf(err, "cannot write %s", e.Name())
		}
	}
	return dir, nil
}

// PinDependencies returns the package metadata meta with every dependsOn on
// one of our packages naming registry and exactly version.
func PinDependencies(meta []byte, registry, version string) ([]byte, error) {
	b, pinned, err := editSpecList(meta, "crossplane.yaml", "dependsOn", func(dep map[string]any) bool {
		pkg, _ := dep["package"].(string)
		_, repo, ok := strings.Cut(pkg, "/"+Org+"/")
		if ok {
			dep["package"] = registry + "/" + Org + "/" + repo
			dep["version"] = version
		}
		return ok
	})
	if err == nil && pinned == 0 {
		err = errors.New("crossplane.yaml depends on none of our packages")
	}
	return b, err
}

// SetIngressDomain returns the Composition composition with the ingress
// domain of every pipeline step's input set to domain.
func SetIngressDomain(composition []byte, domain string) ([]byte, error) {
	b, set, err := editSpecList(composition, "composition.yaml", "pipeline", func(step map[string]any) bool {
		in, _ := step["input"].(map[string]any)
		ingress, ok := in["ingress"].(map[string]any)
		if ok {
			ingress["domain"] = domain
		}
		return ok
	})
	if err == nil && set == 0 {
		err = errors.New("composition.yaml has no step whose input sets an ingress domain")
	}
	return b, err
}

// editSpecList returns the YAML document doc, read from file, after edit
// has seen every entry of its spec's list, and how many entries edit
// changed (those it returned true for).
func editSpecList(doc []byte, file, list string, edit func(entry map[string]any) bool) ([]byte, int, error) {
	m := map[string]any{}
	if err := yaml.Unmarshal(doc, &m); err != nil {
		return nil, 0, errors.Wrapf(err, "cannot parse %s", file)
	}
	spec, _ := m["spec"].(map[string]any)
	entries, _ := spec[list].([]any)
	changed := 0
	for _, e := range entries {
		entry, _ := e.(map[string]any)
		if edit(entry) {
			changed++
		}
	}
	if changed == 0 {
		return nil, 0, nil
	}
	b, err := yaml.Marshal(m)
	return b, changed, errors.Wrapf(err, "cannot write %s", file)
}

// Push pushes each package to its repository in registry, tagged version:
// the packages with a runtime as one index of their platforms, and the
// gate's image index.
func Push(ctx context.Context, o Options, pkgs []Package, registry, version string) error {
	o.defaults()
	for _, p := range pkgs {
		ref := p.Repository(registry) + ":" + version
		if p.Layout != "" {
			o.progress("push %s (%d platforms)", ref, len(p.Images))
			if err := pushIndex(ctx, p.Layout, ref); err != nil {
				return err
			}
			continue
		}
		o.progress("crossplane xpkg push %s (%d platforms)", ref, len(p.Files))
		if err := o.crossplane(ctx, "xpkg", "push", "--package-files="+strings.Join(p.Files, ","), ref); err != nil {
			return err
		}
	}
	return nil
}

// pushIndex pushes the image index of the OCI layout dir to ref.
func pushIndex(ctx context.Context, dir, ref string) error {
	p, err := layout.FromPath(dir)
	if err != nil {
		return errors.Wrapf(err, "cannot read image layout %s", dir)
	}
	// layout.Write stores the index itself as the layout's index.json.
	idx, err := p.ImageIndex()
	if err != nil {
		return errors.Wrapf(err, "cannot read image layout %s", dir)
	}
	tag, err := name.NewTag(ref)
	if err != nil {
		return errors.Wrapf(err, "cannot name %q", ref)
	}
	return errors.Wrapf(remote.WriteIndex(tag, idx, remote.WithContext(ctx)), "cannot push %s", ref)
}

func (o *Options) crossplane(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, o.Crossplane, args...)
	cmd.Dir = o.Root
	b, err := cmd.CombinedOutput()
	return errors.Wrapf(err, "crossplane %s: %s", strings.Join(args, " "), b)
}

// semverTag matches a tag git describe can start from.
var semverTag = regexp.MustCompile(`^v\d+\.\d+\.\d+`)

// Describe returns the version of the repository at root as `git describe
// --tags --always --dirty` says it (v0.2.0-3-gabc1234), or, before the
// first tag, v0.0.0-<commits>-g<commit> so that it is still a semantic
// version Crossplane can resolve; its commit; and the commit's time.
func Describe(ctx context.Context, root string) (version, revision string, created time.Time, err error) {
	git := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Dir = root
		b, err := cmd.Output()
		return strings.TrimSpace(string(b)), errors.Wrapf(err, "git %s", strings.Join(args, " "))
	}
	if version, err = git("describe", "--tags", "--always", "--dirty", "--match=v[0-9]*"); err != nil {
		return "", "", time.Time{}, err
	}
	if !semverTag.MatchString(version) {
		n, err := git("rev-list", "--count", "HEAD")
		if err != nil {
			return "", "", time.Time{}, err
		}
		version = "v0.0.0-" + n + "-g" + version
	}
	if revision, err = git("rev-parse", "HEAD"); err != nil {
		return "", "", time.Time{}, err
	}
	ct, err := git("log", "-1", "--format=%ct")
	if err != nil {
		return "", "", time.Time{}, err
	}
	sec, err := strconv.ParseInt(ct, 10, 64)
	if err != nil {
		return "", "", time.Time{}, errors.Wrapf(err, "cannot parse commit time %q", ct)
	}
	return version, revision, time.Unix(sec, 0).UTC(), nil
}
