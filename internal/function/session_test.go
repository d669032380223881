package function

import (
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	extv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"
)

// TestSessionSchema ties the Session's Go types to the VDISession schema of
// the XRD in package/configuration, which is written by hand: a field in one
// and not the other, a field of another type, or a field required in one and
// optional in the other fails it.
func TestSessionSchema(t *testing.T) {
	b, err := os.ReadFile("../../package/configuration/definition.yaml")
	if err != nil {
		t.Fatal(err)
	}
	xrd := struct {
		Spec struct {
			Versions []struct {
				Name   string `json:"name"`
				Schema struct {
					OpenAPIV3Schema extv1.JSONSchemaProps `json:"openAPIV3Schema"`
				} `json:"schema"`
			} `json:"versions"`
		} `json:"spec"`
	}{}
	if err := yaml.Unmarshal(b, &xrd); err != nil {
		t.Fatal(err)
	}
	var root *extv1.JSONSchemaProps
	for _, v := range xrd.Spec.Versions {
		if SessionAPIVersion == "vdi.kasm.io/"+v.Name {
			root = &v.Schema.OpenAPIV3Schema
		}
	}
	if root == nil {
		t.Fatalf("the XRD has no version %s", SessionAPIVersion)
	}

	cases := map[string]struct {
		reason string
		path   string
		goType reflect.Type
	}{
		"Spec": {
			reason: "SessionSpec should have exactly the fields of the XRD's spec, of the same types.",
			path:   "spec",
			goType: reflect.TypeFor[SessionSpec](),
		},
		"Status": {
			reason: "SessionStatus should have exactly the fields of the XRD's status, of the same types.",
			path:   "status",
			goType: reflect.TypeFor[SessionStatus](),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s, ok := root.Properties[tc.path]
			if !ok {
				t.Fatalf("the XRD's schema has no %s", tc.path)
			}
			if diff := cmp.Diff([]string(nil), schemaDiff(tc.path, tc.goType, s)); diff != "" {
				t.Errorf("\n%s\nschemaDiff(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

var quantityType = reflect.TypeFor[resource.Quantity]()

// schemaDiff returns every way in which the Go type t and the OpenAPI schema
// s describe the field at path differently.
func schemaDiff(path string, t reflect.Type, s extv1.JSONSchemaProps) []string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	want := ""
	switch {
	case t == quantityType:
		if !s.XIntOrString {
			return []string{path + ": a quantity in Go, not int-or-string in the schema"}
		}
		return nil
	case t.Kind() == reflect.Struct:
		want = "object"
	case t.Kind() == reflect.String:
		want = "string"
	case t.Kind() == reflect.Bool:
		want = "boolean"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		want = "integer"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		want = "number"
	case t.Kind() == reflect.Slice:
		want = "array"
	case t.Kind() == reflect.Map:
		want = "object"
	default:
		return []string{fmt.Sprintf("%s: the test cannot compare a %s", path, t)}
	}
	if s.Type != want {
		return []string{fmt.Sprintf("%s: %s in Go (%s), %q in the schema", path, want, t, s.Type)}
	}
	switch t.Kind() { //nolint:exhaustive // Scalars are compared above.
	case reflect.Slice:
		if s.Items == nil || s.Items.Schema == nil {
			return []string{path + ": the schema's array has no items"}
		}
		return schemaDiff(path+"[]", t.Elem(), *s.Items.Schema)
	case reflect.Map:
		if s.AdditionalProperties == nil || s.AdditionalProperties.Schema == nil {
			return []string{path + ": the schema's object has no additionalProperties"}
		}
		return schemaDiff(path+".*", t.Elem(), *s.AdditionalProperties.Schema)
	case reflect.Struct:
		return fieldsDiff(path, t, s)
	}
	return nil
}

// fieldsDiff compares a struct's JSON fields with an object's properties.
func fieldsDiff(path string, t reflect.Type, s extv1.JSONSchemaProps) []string {
	var diffs []string
	seen := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		seen[name] = true
		p, ok := s.Properties[name]
		if !ok {
			diffs = append(diffs, fmt.Sprintf("%s.%s: in Go, not in the schema", path, name))
			continue
		}
		optional := slices.Contains(strings.Split(opts, ","), "omitempty")
		if required := slices.Contains(s.Required, name); required == optional {
			diffs = append(diffs, fmt.Sprintf("%s.%s: required in the schema is %t, omitempty in Go is %t", path, name, required, optional))
		}
		diffs = append(diffs, schemaDiff(path+"."+name, f.Type, p)...)
	}
	for name := range s.Properties {
		if !seen[name] {
			diffs = append(diffs, fmt.Sprintf("%s.%s: in the schema, not in Go", path, name))
		}
	}
	slices.Sort(diffs)
	return diffs
}
