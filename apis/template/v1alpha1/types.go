package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	mv1alpha1 "github.com/provider-vdi/provider-vdi/apis/v1alpha1"
)

// VDITemplateSpec is a desktop offering: its image, defaults, and the limits
// within which a session may override them.
// +kubebuilder:validation:XValidation:rule="!has(self.maxResources) || !has(self.maxResources.cpu) || !has(self.resources) || !has(self.resources.cpu) || quantity(string(self.maxResources.cpu)).compareTo(quantity(string(self.resources.cpu))) >= 0",message="maxResources.cpu must not be below resources.cpu"
// +kubebuilder:validation:XValidation:rule="!has(self.maxResources) || !has(self.maxResources.memory) || !has(self.resources) || !has(self.resources.memory) || quantity(string(self.maxResources.memory)).compareTo(quantity(string(self.resources.memory))) >= 0",message="maxResources.memory must not be below resources.memory"
// +kubebuilder:validation:XValidation:rule="!has(self.maxResources) || !has(self.maxResources.gpu) || !has(self.resources) || !has(self.resources.gpu) || self.maxResources.gpu >= self.resources.gpu.count",message="maxResources.gpu must not be below resources.gpu.count"
// +kubebuilder:validation:XValidation:rule="!has(self.maxTimeout) || !has(self.defaultTimeout) || duration(self.maxTimeout) >= duration(self.defaultTimeout)",message="maxTimeout must not be below defaultTimeout"
// +kubebuilder:validation:XValidation:rule="!has(self.persistence) || !has(self.persistence.maxSize) || !has(self.persistence.size) || quantity(string(self.persistence.maxSize)).compareTo(quantity(string(self.persistence.size))) >= 0",message="persistence.maxSize must not be below persistence.size"
type VDITemplateSpec struct {
	// DisplayName is what a catalogue shows users.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	DisplayName string `json:"displayName,omitempty"`

	// Image is the Selkies-GStreamer desktop image.
	// +kubebuilder:validation:MinLength=1
	Image string `json:"image"`

	// Port the desktop's web client listens on.
	// +optional
	// +kubebuilder:default=8080
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +kubebuilder:validation:XValidation:rule="self != 8090",message="port 8090 is the gate's, in front of every desktop; the desktop must listen on another"
	Port int32 `json:"port,omitempty"`

	// Resources a session gets unless it asks for others.
	// +optional
	Resources mv1alpha1.ComputeResources `json:"resources,omitempty"`

	// MaxResources caps what a session may ask for. A resource without a cap
	// cannot be raised above its default.
	// +optional
	MaxResources *ResourceCaps `json:"maxResources,omitempty"`

	// Env adds plain environment variables to the desktop container.
	// +optional
	// +listType=map
	// +listMapKey=name
	Env []mv1alpha1.EnvVar `json:"env,omitempty"`

	// Egress the template's desktops may reach beyond the cluster's DNS;
	// none when empty (see the Desktop's network.egress).
	// +optional
	// +kubebuilder:validation:MaxItems=32
	Egress []networkingv1.NetworkPolicyEgressRule `json:"egress,omitempty"`

	// NodeSelector constrains desktops to nodes with these labels.
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`

	// Tolerations of desktop Pods, e.g. for tainted GPU nodes.
	// +optional
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`

	// RuntimeClassName of desktop Pods, e.g. nvidia.
	// +optional
	RuntimeClassName *string `json:"runtimeClassName,omitempty"`

	// ShmSize is the size of the memory-backed /dev/shm.
	// +optional
	// +kubebuilder:default="1Gi"
	ShmSize *resource.Quantity `json:"shmSize,omitempty"`

	// HomeMountPath is where a persistent home volume is mounted.
	// +optional
	// +kubebuilder:default="/home/ubuntu"
	// +kubebuilder:validation:Pattern=`^/`
	HomeMountPath string `json:"homeMountPath,omitempty"`

	// Persistence defaults for sessions' home volumes.
	// +optional
	Persistence *PersistenceDefaults `json:"persistence,omitempty"`

	// DefaultTimeout is how long a session runs unless it asks otherwise,
	// e.g. 8h.
	// +optional
	// +kubebuilder:default="8h"
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('0s')",message="defaultTimeout must be a positive duration such as 8h or 90m"
	DefaultTimeout string `json:"defaultTimeout,omitempty"`

	// MaxTimeout is the longest timeout a session may ask for.
	// +optional
	// +kubebuilder:default="24h"
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('0s')",message="maxTimeout must be a positive duration such as 24h"
	MaxTimeout string `json:"maxTimeout,omitempty"`

	// AllowedNamespaces may create sessions from this template; every
	// namespace may when the list is empty.
	// +optional
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	AllowedNamespaces []string `json:"allowedNamespaces,omitempty"`
}

// ResourceCaps are the most a session may ask for.
type ResourceCaps struct {
	// CPU cap.
	// +optional
	// +kubebuilder:validation:XValidation:rule="quantity(string(self)).isGreaterThan(quantity('0'))",message="cpu must be more than 0"
	CPU *resource.Quantity `json:"cpu,omitempty"`
	// Memory cap.
	// +optional
	// +kubebuilder:validation:XValidation:rule="quantity(string(self)).isGreaterThan(quantity('0'))",message="memory must be more than 0"
	Memory *resource.Quantity `json:"memory,omitempty"`
	// GPU count cap.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=16
	GPU *int32 `json:"gpu,omitempty"`
}

// PersistenceDefaults for sessions' home volumes.
type PersistenceDefaults struct {
	// Enabled gives sessions a home volume unless they opt out.
	// +optional
	Enabled bool `json:"enabled,omitempty"`
	// Size of a new home volume.
	// +optional
	// +kubebuilder:default="10Gi"
	Size *resource.Quantity `json:"size,omitempty"`
	// MaxSize caps the size a session may ask for.
	// +optional
	MaxSize *resource.Quantity `json:"maxSize,omitempty"`
	// StorageClassName of home volumes; the platform default when unset.
	// +optional
	StorageClassName *string `json:"storageClassName,omitempty"`
}

// +kubebuilder:object:root=true

// A VDITemplate is a desktop offering that VDISessions name: the image,
// resources, placement and limits of a kind of desktop.
// +kubebuilder:printcolumn:name="DISPLAY-NAME",type="string",JSONPath=".spec.displayName"
// +kubebuilder:printcolumn:name="IMAGE",type="string",JSONPath=".spec.image"
// +kubebuilder:printcolumn:name="GPU",type="integer",JSONPath=".spec.resources.gpu.count"
// +kubebuilder:printcolumn:name="TIMEOUT",type="string",JSONPath=".spec.defaultTimeout"
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:resource:scope=Cluster,categories={vdi}
type VDITemplate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec VDITemplateSpec `json:"spec"`
}

// +kubebuilder:object:root=true

// VDITemplateList contains a list of VDITemplate.
type VDITemplateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []VDITemplate `json:"items"`
}
