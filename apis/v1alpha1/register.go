package v1alpha1

import (
	"reflect"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

// Package type metadata.
const (
	Group   = "vdi.m.kasm.io"
	Version = "v1alpha1"
)

var (
	// SchemeGroupVersion is the group version of the managed resources.
	SchemeGroupVersion = schema.GroupVersion{Group: Group, Version: Version}

	// SchemeBuilder adds the managed resources to a scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: SchemeGroupVersion}
)

func kindOf(o any) string { return reflect.TypeOf(o).Name() }

// Kind metadata of every type in this group.
var (
	ProviderConfigKind                      = kindOf(ProviderConfig{})
	ProviderConfigGroupKind                 = schema.GroupKind{Group: Group, Kind: ProviderConfigKind}.String()
	ProviderConfigGroupVersionKind          = SchemeGroupVersion.WithKind(ProviderConfigKind)
	ClusterProviderConfigKind               = kindOf(ClusterProviderConfig{})
	ClusterProviderConfigGroupKind          = schema.GroupKind{Group: Group, Kind: ClusterProviderConfigKind}.String()
	ClusterProviderConfigGroupVersionKind   = SchemeGroupVersion.WithKind(ClusterProviderConfigKind)
	ProviderConfigUsageGroupVersionKind     = SchemeGroupVersion.WithKind(kindOf(ProviderConfigUsage{}))
	ProviderConfigUsageListGroupVersionKind = SchemeGroupVersion.WithKind(kindOf(ProviderConfigUsageList{}))

	DesktopKind                    = kindOf(Desktop{})
	DesktopGroupVersionKind        = SchemeGroupVersion.WithKind(DesktopKind)
	DesktopVolumeKind              = kindOf(DesktopVolume{})
	DesktopVolumeGroupVersionKind  = SchemeGroupVersion.WithKind(DesktopVolumeKind)
	DesktopServiceKind             = kindOf(DesktopService{})
	DesktopServiceGroupVersionKind = SchemeGroupVersion.WithKind(DesktopServiceKind)
	DesktopRouteKind               = kindOf(DesktopRoute{})
	DesktopRouteGroupVersionKind   = SchemeGroupVersion.WithKind(DesktopRouteKind)
)

func init() {
	SchemeBuilder.Register(
		&ProviderConfig{}, &ProviderConfigList{},
		&ClusterProviderConfig{}, &ClusterProviderConfigList{},
		&ProviderConfigUsage{}, &ProviderConfigUsageList{},
		&Desktop{}, &DesktopList{},
		&DesktopVolume{}, &DesktopVolumeList{},
		&DesktopService{}, &DesktopServiceList{},
		&DesktopRoute{}, &DesktopRouteList{},
	)
}
