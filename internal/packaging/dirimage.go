package packaging

import (
	"archive/tar"
	"compress/gzip"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

// A File is a file an image adds to a root file system.
type File struct {
	// Path inside the image, absolute.
	Path string
	// Mode of the file, such as 0o755; a folder when Dir.
	Mode     int64
	Dir      bool
	UID, GID int
	Content  []byte
}

// runtimeMounted are the folders whose content a container runtime mounts
// over; an image holds them empty.
var runtimeMounted = map[string]bool{"dev": true, "proc": true, "sys": true}

// DirLayer returns a layer of the root file system in dir, as it is on
// disk: modes, owners, symbolic and hard links; the content of /dev, /proc
// and /sys, sockets and device files are left out. files are added after
// it, replacing any file of the same path. The layer is gzipped at the
// fastest level: it is made for a local runtime, not a registry.
func DirLayer(dir string, files []File) (v1.Layer, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, errors.Wrapf(err, "cannot read root file system %s", dir)
	}
	// The opener may run more than once at a time.
	files = append([]File(nil), files...)
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	opener := func() (io.ReadCloser, error) {
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(writeDirTar(pw, dir, files)) }()
		return pr, nil
	}
	l, err := tarball.LayerFromOpener(opener, tarball.WithCompressionLevel(gzip.BestSpeed))
	return l, errors.Wrapf(err, "cannot make a layer of %s", dir)
}

func writeDirTar(w io.Writer, dir string, files []File) error {
	tw := tar.NewWriter(w)
	replaced := map[string]bool{}
	for _, f := range files {
		replaced[strings.TrimPrefix(f.Path, "/")] = true
	}
	// Hard links are written once, then as links to the first path.
	type inode struct{ dev, ino uint64 }
	seen := map[inode]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		top, _, _ := strings.Cut(rel, string(filepath.Separator))
		if runtimeMounted[top] && rel != top {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if replaced[rel] {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.Mode()&(fs.ModeSocket|fs.ModeDevice|fs.ModeCharDevice|fs.ModeNamedPipe) != 0 {
			return nil
		}
		link := ""
		if fi.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		h, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		if fi.IsDir() {
			h.Name += "/"
		}
		h.Uname, h.Gname = "", ""
		h.Format = tar.FormatPAX
		st, ok := fi.Sys().(*syscall.Stat_t)
		if ok && fi.Mode().IsRegular() && st.Nlink > 1 {
			id := inode{uint64(st.Dev), st.Ino} //nolint:unconvert // Dev is uint64 on amd64 only.
			if first, ok := seen[id]; ok {
				h.Typeflag, h.Linkname, h.Size = tar.TypeLink, first, 0
				return tw.WriteHeader(h)
			}
			seen[id] = h.Name
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(p) //nolint:gosec // A file of the root file system we were given.
		if err != nil {
			return err
		}
		defer f.Close() //nolint:errcheck // Read only.
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return errors.Wrapf(err, "cannot archive %s", dir)
	}
	for _, f := range files {
		h := &tar.Header{Name: strings.TrimPrefix(f.Path, "/"), Mode: f.Mode, ModTime: time.Unix(0, 0), Format: tar.FormatPAX, Typeflag: tar.TypeReg, Size: int64(len(f.Content)), Uid: f.UID, Gid: f.GID}
		if f.Dir {
			h.Typeflag, h.Size, h.Name = tar.TypeDir, 0, h.Name+"/"
		}
		if err := tw.WriteHeader(h); err != nil {
			return errors.Wrapf(err, "cannot add %s", f.Path)
		}
		if _, err := tw.Write(f.Content); err != nil {
			return errors.Wrapf(err, "cannot add %s", f.Path)
		}
	}
	return errors.Wrap(tw.Close(), "cannot close layer")
}

// DirImage returns an image of the root file system in dir plus files, for
// linux/amd64, with config as its configuration.
func DirImage(dir string, files []File, config v1.Config, created time.Time) (v1.Image, error) {
	layer, err := DirLayer(dir, files)
	if err != nil {
		return nil, err
	}
	return withConfig(layer, config, created)
}

// BinaryImage returns an image of one static binary at file, its
// entrypoint, for linux/amd64, run as user.
func BinaryImage(file string, binary []byte, user string, created time.Time) (v1.Image, error) {
	layer, err := binaryLayer(file, binary, created)
	if err != nil {
		return nil, err
	}
	return withConfig(layer, v1.Config{Entrypoint: []string{file}, User: user, WorkingDir: "/"}, created)
}

func withConfig(layer v1.Layer, config v1.Config, created time.Time) (v1.Image, error) {
	return oneLayerImage(layer, func(cf *v1.ConfigFile) {
		cf.OS, cf.Architecture = "linux", "amd64"
		cf.Created = v1.Time{Time: created.UTC()}
		cf.Config = config
		if cf.Config.Labels == nil {
			cf.Config.Labels = map[string]string{}
		}
		cf.Config.Labels[LabelSource] = Source
	})
}

// WriteTarball writes img to path as an image archive tagged ref, which
// `ctr images import` and `crane push` read.
func WriteTarball(path, ref string, img v1.Image) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return errors.Wrapf(err, "cannot parse image reference %q", ref)
	}
	tmp := path + ".tmp"
	if err := tarball.WriteToFile(tmp, tag, img); err != nil {
		return errors.Wrapf(err, "cannot write image %s", path)
	}
	return errors.Wrapf(os.Rename(tmp, path), "cannot write image %s", path)
}
