package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
)

// DesktopVolumeParameters is the desired home volume.
type DesktopVolumeParameters struct {
	Owner `json:",inline"`

	// Size of the volume. A volume grows when its size is raised (if its
	// storage class allows expansion) and is never shrunk.
	Size resource.Quantity `json:"size"`

	// StorageClassName of the claim; the cluster default when unset.
	// +optional
	StorageClassName *string `json:"storageClassName,omitempty"`

	// AccessModes of the claim.
	// +optional
	// +kubebuilder:default={"ReadWriteOnce"}
	AccessModes []corev1.PersistentVolumeAccessMode `json:"accessModes,omitempty"`

	// RetainOnDelete keeps the claim when the DesktopVolume is deleted. The
	// provider marks the claim itself as retained, and never deletes a
	// claim so marked, even for a later DesktopVolume of the same name that
	// does not ask for retention: retention, once asked for, sticks to the
	// data. Only an administrator deleting the claim removes it.
	// +optional
	RetainOnDelete bool `json:"retainOnDelete,omitempty"`
}

// DesktopVolumeObservation is what the provider last saw of the claim.
type DesktopVolumeObservation struct {
	// Phase of the claim: Pending, Bound or Lost.
	Phase corev1.PersistentVolumeClaimPhase `json:"phase,omitempty"`
	// Capacity the bound volume has.
	Capacity string `json:"capacity,omitempty"`
	// StorageClassName the claim ended up with.
	StorageClassName string `json:"storageClassName,omitempty"`
	// Retained is true when the claim is marked to outlive its DesktopVolume.
	Retained bool `json:"retained,omitempty"`
	// Location of the claim: its cluster's API server and namespace. The
	// provider refuses to make a new, empty claim anywhere else, e.g. after
	// the ProviderConfig was pointed at another cluster.
	Location string `json:"location,omitempty"`
}

// DesktopVolumeSpec is the desired state of a DesktopVolume.
type DesktopVolumeSpec struct {
	xpv2.ManagedResourceSpec `json:",inline"`
	ForProvider              DesktopVolumeParameters `json:"forProvider"`
}

// DesktopVolumeStatus is the observed state of a DesktopVolume.
type DesktopVolumeStatus struct {
	xpv2.ManagedResourceStatus `json:",inline"`
	AtProvider                 DesktopVolumeObservation `json:"atProvider,omitempty"`
}

// +kubebuilder:object:root=true

// A DesktopVolume is the PersistentVolumeClaim that holds a user's home
// directory. It is available as soon as the claim exists: with a
// WaitForFirstConsumer storage class it binds only once the desktop mounts it.
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="READY",type="string",JSONPath=".status.conditions[?(@.type=='Ready')].status"
// +kubebuilder:printcolumn:name="SYNCED",type="string",JSONPath=".status.conditions[?(@.type=='Synced')].status"
// +kubebuilder:printcolumn:name="USER",type="string",JSONPath=".spec.forProvider.user"
// +kubebuilder:printcolumn:name="SIZE",type="string",JSONPath=".spec.forProvider.size"
// +kubebuilder:printcolumn:name="PHASE",type="string",JSONPath=".status.atProvider.phase"
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:resource:scope=Namespaced,categories={crossplane,managed,vdi}
type DesktopVolume struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   DesktopVolumeSpec   `json:"spec"`
	Status DesktopVolumeStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// DesktopVolumeList contains a list of DesktopVolume.
type DesktopVolumeList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []DesktopVolume `json:"items"`
}
