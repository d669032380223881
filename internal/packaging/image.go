// Package packaging builds provider-vdi's three Crossplane packages the way
// a release does: static binaries of the provider and the function for each
// platform, an OCI runtime image of each binary made with go-containerregistry,
// and `crossplane xpkg build --embed-runtime-image-tarball` once per platform,
// so that `crossplane xpkg push` publishes each package as a multi-platform
// index. `make packages`, `make publish`, `make run` and the end-to-end tests
// share it.
package packaging

import (
	"archive/tar"
	"bytes"
	"io"
	"path"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

// NonRootUID is the user and group runtime images run as: the "nonroot"
// user of distroless images, so that Pod Security's restricted profile
// admits them.
const NonRootUID = "65532"

// OCI annotation keys (opencontainers/image-spec annotations.md) that the
// runtime images carry as labels.
const (
	LabelSource   = "org.opencontainers.image.source"
	LabelVersion  = "org.opencontainers.image.version"
	LabelRevision = "org.opencontainers.image.revision"
	LabelTitle    = "org.opencontainers.image.title"
	LabelCreated  = "org.opencontainers.image.created"
)

// Source is where the code of every image comes from.
const Source = "https://github.com/provider-vdi/provider-vdi"

// ImageMeta describes a runtime image.
type ImageMeta struct {
	// Name of the program, e.g. provider-vdi; the binary is installed as
	// /usr/local/bin/<Name> and is the image's entrypoint.
	Name string
	// Version of the build, e.g. v0.2.0-3-gabc1234.
	Version string
	// Revision is the git commit the binary was built from.
	Revision string
	// Created stamps every timestamp of the image, so that the same commit
	// gives the same digest. Use the commit's time.
	Created time.Time
	// Platform of the binary.
	Platform v1.Platform
}

// Entrypoint returns the path of the binary inside an image of program name.
func Entrypoint(name string) string { return "/usr/local/bin/" + name }

// RuntimeImage returns a single-layer image holding binary as the
// entrypoint, run as the non-root user, with no shell or other file, and
// labelled with its source, version and revision. Its digest depends only on
// binary and m.
func RuntimeImage(binary []byte, m ImageMeta) (v1.Image, error) {
	layer, err := binaryLayer(Entrypoint(m.Name), binary, m.Created)
	if err != nil {
		return nil, err
	}
	return oneLayerImage(layer, func(cf *v1.ConfigFile) {
		cf.OS, cf.Architecture, cf.Variant = m.Platform.OS, m.Platform.Architecture, m.Platform.Variant
		cf.Created = v1.Time{Time: m.Created.UTC()}
		cf.Author = "provider-vdi maintainers"
		cf.Config = v1.Config{
			Entrypoint: []string{Entrypoint(m.Name)},
			User:       NonRootUID + ":" + NonRootUID,
			WorkingDir: "/",
			Labels: map[string]string{
				LabelSource:   Source,
				LabelVersion:  m.Version,
				LabelRevision: m.Revision,
				LabelTitle:    m.Name,
				LabelCreated:  m.Created.UTC().Format(time.RFC3339),
			},
		}
		// The layer's history entry keeps the image's timestamps fixed too.
		cf.History = []v1.History{{Created: cf.Created, CreatedBy: "provider-vdi packaging: " + m.Name + " " + m.Version, Comment: "static binary"}}
	})
}

// oneLayerImage returns an image of layer alone, whose config file
// configure fills in.
func oneLayerImage(layer v1.Layer, configure func(*v1.ConfigFile)) (v1.Image, error) {
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, errors.Wrap(err, "cannot append layer")
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, errors.Wrap(err, "cannot read image config")
	}
	cf = cf.DeepCopy()
	configure(cf)
	img, err = mutate.ConfigFile(img, cf)
	return img, errors.Wrap(err, "cannot set image config")
}

// binaryLayer returns a layer holding binary at file, owned by root and
// executable by anyone, and the folders above it, every entry stamped with
// modified. The tar stream comes from archive/tar; go-containerregistry
// compresses it and computes its digests.
func binaryLayer(file string, binary []byte, modified time.Time) (v1.Layer, error) {
	var b bytes.Buffer
	w := tar.NewWriter(&b)
	var dirs []string
	for d := path.Dir(file); d != "/"; d = path.Dir(d) {
		dirs = append([]string{strings.TrimPrefix(d, "/") + "/"}, dirs...)
	}
	for _, d := range dirs {
		if err := w.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755, ModTime: modified, Format: tar.FormatPAX}); err != nil {
			return nil, errors.Wrapf(err, "cannot add folder %q to layer", d)
		}
	}
	if err := w.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(file, "/"), Mode: 0o755, Size: int64(len(binary)), ModTime: modified, Format: tar.FormatPAX}); err != nil {
		return nil, errors.Wrapf(err, "cannot add %q to layer", file)
	}
	if _, err := w.Write(binary); err != nil {
		return nil, errors.Wrapf(err, "cannot write %q to layer", file)
	}
	if err := w.Close(); err != nil {
		return nil, errors.Wrap(err, "cannot close layer")
	}
	content := b.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(content)), nil
	})
	return l, errors.Wrap(err, "cannot make layer")
}

// Extract returns the file at file of img's flattened file system.
func Extract(img v1.Image, file string) ([]byte, error) {
	rc := mutate.Extract(img)
	defer rc.Close() //nolint:errcheck // Read only.
	want := strings.TrimPrefix(file, "/")
	r := tar.NewReader(rc)
	for {
		h, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil, errors.Errorf("image has no file %q", file)
		}
		if err != nil {
			return nil, errors.Wrap(err, "cannot read image file system")
		}
		if strings.TrimPrefix(h.Name, "/") != want {
			continue
		}
		b, err := io.ReadAll(r)
		return b, errors.Wrapf(err, "cannot read %q from image", file)
	}
}
