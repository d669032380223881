// Package v1alpha1 contains VDITemplate, the cluster-wide catalogue entry a
// VDISession names: which desktop image to run and within which limits.
// +kubebuilder:object:generate=true
// +groupName=vdi.kasm.io
// +versionName=v1alpha1
package v1alpha1
