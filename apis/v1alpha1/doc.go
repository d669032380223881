// Package v1alpha1 contains the managed resources of provider-vdi
// (Desktop, DesktopVolume, DesktopService, DesktopRoute) and the
// ProviderConfig kinds that say which cluster they run in.
// +kubebuilder:object:generate=true
// +groupName=vdi.m.kasm.io
// +versionName=v1alpha1
package v1alpha1
