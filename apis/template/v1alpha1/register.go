package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

// Package type metadata.
const (
	Group   = "vdi.kasm.io"
	Version = "v1alpha1"
)

var (
	// SchemeGroupVersion is the group version of VDITemplate.
	SchemeGroupVersion = schema.GroupVersion{Group: Group, Version: Version}

	// SchemeBuilder adds VDITemplate to a scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: SchemeGroupVersion}
)

// VDITemplateKind is the kind of a VDITemplate.
const VDITemplateKind = "VDITemplate"

func init() {
	SchemeBuilder.Register(&VDITemplate{}, &VDITemplateList{})
}
