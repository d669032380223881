package controlplane

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCleanFolder: a failed run's folder keeps its logs, the Pods' logs
// among them, and its binaries' checksums; binaries, data and the folders
// left empty go. A run that passed leaves nothing.
func TestCleanFolder(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{
		"kube-apiserver.log", "binaries.sha256", "kubeconfig",
		"bin/kube-apiserver", "etcd/member/snap/db",
		"realnode/logs/kubelet.log", "realnode/kubelet/pod-logs/ns_web_uid/desktop/0.log",
		"realnode/containerd/io.containerd.content.v1.content/blobs/sha256/abc",
	} {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var out strings.Builder
	CleanFolder(dir, true, &out)
	if want := "logs of the failed run are in " + dir + "\n"; out.String() != want {
		t.Errorf("CleanFolder: said %q, want %q", out.String(), want)
	}
	var got []string
	_ = filepath.WalkDir(dir, func(p string, _ os.DirEntry, _ error) error {
		rel, _ := filepath.Rel(dir, p)
		got = append(got, rel)
		return nil
	})
	sort.Strings(got)
	want := []string{
		".", "binaries.sha256", "kube-apiserver.log",
		"realnode", "realnode/kubelet", "realnode/kubelet/pod-logs", "realnode/kubelet/pod-logs/ns_web_uid",
		"realnode/kubelet/pod-logs/ns_web_uid/desktop", "realnode/kubelet/pod-logs/ns_web_uid/desktop/0.log",
		"realnode/logs", "realnode/logs/kubelet.log",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CleanFolder: what a failed run leaves, -want, +got:\n%s", diff)
	}

	CleanFolder(dir, false, &out)
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("CleanFolder: a run that passed leaves its folder (%v)", err)
	}
}
