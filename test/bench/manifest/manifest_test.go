package manifest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestInstance(t *testing.T) {
	tmpl := map[string]any{
		"apiVersion": "v1",
		"kind":       "Service",
		"metadata":   map[string]any{"name": "zz-svc", "namespace": "single", "labels": map[string]any{"session": "zz"}},
		"spec":       map[string]any{"selector": map[string]any{"app": "zz-desktop"}, "ports": []any{map[string]any{"port": int64(8090)}}},
	}
	want := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1",
		"kind":       "Service",
		"metadata":   map[string]any{"name": "s001-svc", "namespace": "burst", "labels": map[string]any{"session": "s001"}},
		"spec":       map[string]any{"selector": map[string]any{"app": "s001-desktop"}, "ports": []any{map[string]any{"port": int64(8090)}}},
	}}
	got, err := Instance(tmpl, "zz", "s001", "burst")
	if err != nil {
		t.Fatalf("Instance(...): %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Instance(...): the placeholder should be replaced everywhere and the namespace set: -want, +got:\n%s", diff)
	}
	if tmpl["metadata"].(map[string]any)["name"] != "zz-svc" {
		t.Errorf("Instance(...) changed its template: %v", tmpl["metadata"])
	}
}
