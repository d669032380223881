// Package apis contains the API types of provider-vdi.
package apis

import (
	"k8s.io/apimachinery/pkg/runtime"

	templatev1alpha1 "github.com/provider-vdi/provider-vdi/apis/template/v1alpha1"
	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
)

// AddToScheme adds every provider-vdi API to the supplied scheme.
func AddToScheme(s *runtime.Scheme) error {
	for _, add := range []func(*runtime.Scheme) error{
		v1alpha1.SchemeBuilder.AddToScheme,
		templatev1alpha1.SchemeBuilder.AddToScheme,
	} {
		if err := add(s); err != nil {
			return err
		}
	}
	return nil
}
