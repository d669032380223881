// Package manifest makes the objects of make bench-e2e's floor and peers
// from the objects provider-vdi made for one session: the floor creates
// them with client-go, the peers' composition function composes them.
package manifest

import (
	"encoding/json"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

// Instance returns tmpl in namespace ns with every occurrence of
// placeholder, in names, labels and references alike, replaced by name.
func Instance(tmpl map[string]any, placeholder, name, ns string) (*unstructured.Unstructured, error) {
	raw, err := json.Marshal(tmpl)
	if err != nil {
		return nil, errors.Wrap(err, "cannot encode object template")
	}
	// Unstructured's own decoder keeps whole numbers int64, as objects read
	// from the API server have them.
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON([]byte(strings.ReplaceAll(string(raw), placeholder, name))); err != nil {
		return nil, errors.Wrap(err, "cannot decode object template")
	}
	u.SetNamespace(ns)
	return u, nil
}
