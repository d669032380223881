package packaging

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestPushIndex pushes an image layout as the gate's is written to a
// registry on loopback and reads the same index back, with an image per
// platform.
func TestPushIndex(t *testing.T) {
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, pl := range Platforms {
		m := meta
		m.Name, m.Platform = "gate", pl
		img, err := RuntimeImage([]byte("\x7fELF gate "+pl.Architecture), m)
		if err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &pl}})
	}
	dir := t.TempDir()
	if _, err := layout.Write(dir, idx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	ref := strings.TrimPrefix(srv.URL, "http://") + "/provider-vdi/gate:v0.2.0"
	if err := pushIndex(context.Background(), dir, ref); err != nil {
		t.Fatalf("pushIndex(...): %v", err)
	}

	tag, _ := name.NewTag(ref)
	got, err := remote.Index(tag)
	if err != nil {
		t.Fatal(err)
	}
	wantDigest, _ := idx.Digest()
	gotDigest, _ := got.Digest()
	im, err := got.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var platforms []string
	for _, d := range im.Manifests {
		platforms = append(platforms, d.Platform.String())
	}
	if diff := cmp.Diff([]string{wantDigest.String(), "linux/amd64", "linux/arm64"}, append([]string{gotDigest.String()}, platforms...)); diff != "" {
		t.Errorf("\nThe pushed index should be the layout's, with an image per platform.\nremote.Index(...): -want, +got:\n%s", diff)
	}
}
