package v1alpha1_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	extv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
)

// TestDefaultDesktopPort holds the port defaults of the generated CRDs to
// DefaultDesktopPort, which their +kubebuilder:default markers cannot name.
func TestDefaultDesktopPort(t *testing.T) {
	cases := map[string]struct {
		reason string
		crd    string
		path   []string
	}{
		"Desktop": {
			reason: "A Desktop's port should default to DefaultDesktopPort.",
			crd:    "vdi.m.kasm.io_desktops.yaml",
			path:   []string{"spec", "forProvider", "port"},
		},
		"DesktopService": {
			reason: "A DesktopService's port should default to DefaultDesktopPort.",
			crd:    "vdi.m.kasm.io_desktopservices.yaml",
			path:   []string{"spec", "forProvider", "port"},
		},
		"DesktopRoute": {
			reason: "A DesktopRoute's servicePort should default to DefaultDesktopPort.",
			crd:    "vdi.m.kasm.io_desktoproutes.yaml",
			path:   []string{"spec", "forProvider", "servicePort"},
		},
		"VDITemplate": {
			reason: "A VDITemplate's port should default to DefaultDesktopPort.",
			crd:    "vdi.kasm.io_vditemplates.yaml",
			path:   []string{"spec", "port"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			for v, s := range schemasAt(t, tc.crd, tc.path) {
				var got int32
				if s.Default == nil {
					t.Fatalf("\n%s\n%s %s: %v has no default", tc.reason, tc.crd, v, tc.path)
				}
				if err := json.Unmarshal(s.Default.Raw, &got); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(v1alpha1.DefaultDesktopPort, got); diff != "" {
					t.Errorf("\n%s\n%s %s: default of %v: -want, +got:\n%s", tc.reason, tc.crd, v, tc.path, diff)
				}
			}
		})
	}
}

// TestGatePortRefused holds the CEL rules that keep desktops off the gate's
// port to GatePort, which their markers cannot name.
func TestGatePortRefused(t *testing.T) {
	cases := map[string]struct {
		reason string
		crd    string
		path   []string
	}{
		"Desktop": {
			reason: "A Desktop's port should refuse GatePort.",
			crd:    "vdi.m.kasm.io_desktops.yaml",
			path:   []string{"spec", "forProvider", "port"},
		},
		"VDITemplate": {
			reason: "A VDITemplate's port should refuse GatePort.",
			crd:    "vdi.kasm.io_vditemplates.yaml",
			path:   []string{"spec", "port"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			for v, s := range schemasAt(t, tc.crd, tc.path) {
				rules := make([]string, 0, len(s.XValidations))
				for _, r := range s.XValidations {
					rules = append(rules, r.Rule)
				}
				want := []string{"self != " + strconv.Itoa(int(v1alpha1.GatePort))}
				if diff := cmp.Diff(want, rules); diff != "" {
					t.Errorf("\n%s\n%s %s: rules of %v: -want, +got:\n%s", tc.reason, tc.crd, v, tc.path, diff)
				}
			}
		})
	}
}

// schemasAt returns the schema of the property at path in every version of
// the generated CRD file crd, by version; a CRD without versions or without
// the property fails t at once.
func schemasAt(t *testing.T, crd string, path []string) map[string]*extv1.JSONSchemaProps {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "package", "crds", crd))
	if err != nil {
		t.Fatal(err)
	}
	c := &extv1.CustomResourceDefinition{}
	if err := yaml.UnmarshalStrict(b, c); err != nil {
		t.Fatal(err)
	}
	if len(c.Spec.Versions) == 0 {
		t.Fatalf("%s has no versions", crd)
	}
	at := map[string]*extv1.JSONSchemaProps{}
	for _, v := range c.Spec.Versions {
		s := v.Schema.OpenAPIV3Schema
		for _, p := range path {
			next, ok := s.Properties[p]
			if !ok {
				t.Fatalf("%s %s: no property %v", crd, v.Name, path)
			}
			s = &next
		}
		at[v.Name] = s
	}
	return at
}
