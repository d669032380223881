package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
)

// DesktopParameters is the desired desktop Pod.
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.deadline) || (has(self.deadline) && self.deadline <= oldSelf.deadline)",message="deadline may only move earlier once set"
type DesktopParameters struct {
	Owner `json:",inline"`

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

	// Resources of the desktop container. CPU and memory are both requested
	// and limited, so the desktop gets Guaranteed QoS when both are set.
	// +optional
	Resources ComputeResources `json:"resources,omitempty"`

	// ShmSize is the size of the memory-backed /dev/shm; browsers and
	// GStreamer need far more than the container default of 64Mi.
	// +optional
	// +kubebuilder:default="1Gi"
	ShmSize *resource.Quantity `json:"shmSize,omitempty"`

	// Env adds plain environment variables to the desktop container.
	// +optional
	// +listType=map
	// +listMapKey=name
	Env []EnvVar `json:"env,omitempty"`

	// NodeSelector constrains the desktop to nodes with these labels.
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`

	// Tolerations of the desktop Pod, e.g. for tainted GPU nodes.
	// +optional
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`

	// RuntimeClassName of the desktop Pod, e.g. nvidia.
	// +optional
	RuntimeClassName *string `json:"runtimeClassName,omitempty"`

	// Network says who may reach the desktop and what it may reach; the
	// provider makes the desktop's NetworkPolicy from it before the Pod.
	// +optional
	Network DesktopNetwork `json:"network,omitempty"`

	// Home mounts a PersistentVolumeClaim as the user's home directory.
	// +optional
	Home *HomeVolume `json:"home,omitempty"`

	// URL where the desktop is reached, its route's URL; published as the
	// url connection detail beside the username and password, and with a
	// signed token as the link detail. The gate in front of the desktop
	// accepts only links to this URL's host.
	// +kubebuilder:validation:Pattern=`^https?://[^/?#]+`
	URL string `json:"url"`

	// Deadline after which the desktop must not run, whatever else its
	// spec or its session says: the provider deletes the Pod at the
	// deadline and creates none after it, and the kubelet stops the Pod
	// (activeDeadlineSeconds) should the provider not be there. Once set it
	// may only move earlier.
	// +optional
	Deadline *metav1.Time `json:"deadline,omitempty"`
}

// ComputeResources of a desktop container.
type ComputeResources struct {
	// CPU requested and limited; more than 0, since a limit of 0 is no
	// limit. The provider refuses a desktop without one.
	// +optional
	// +kubebuilder:validation:XValidation:rule="quantity(string(self)).isGreaterThan(quantity('0'))",message="cpu must be more than 0"
	CPU *resource.Quantity `json:"cpu,omitempty"`

	// Memory requested and limited; more than 0. The provider refuses a
	// desktop without it.
	// +optional
	// +kubebuilder:validation:XValidation:rule="quantity(string(self)).isGreaterThan(quantity('0'))",message="memory must be more than 0"
	Memory *resource.Quantity `json:"memory,omitempty"`

	// GPU limit of the container.
	// +optional
	GPU *GPUResources `json:"gpu,omitempty"`
}

// GPUResources is a count of an extended GPU resource.
type GPUResources struct {
	// Count of GPUs. Zero asks for none.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=16
	Count int32 `json:"count"`

	// ResourceName is the extended resource the device plugin advertises: a
	// domain-qualified name outside kubernetes.io.
	// +optional
	// +kubebuilder:default="nvidia.com/gpu"
	// +kubebuilder:validation:MaxLength=317
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`
	// +kubebuilder:validation:XValidation:rule="!self.contains('kubernetes.io/')",message="must be an extended resource, outside kubernetes.io, such as nvidia.com/gpu"
	ResourceName string `json:"resourceName,omitempty"`
}

// EnvVar is a plain environment variable. It may not be one by which the
// NVIDIA container runtime hands a container devices (see CheckEnvName).
// +kubebuilder:validation:XValidation:rule="!self.name.startsWith('NVIDIA_') || self.name == 'NVIDIA_DRIVER_CAPABILITIES' || self.name == 'NVIDIA_DISABLE_REQUIRE' || self.name.startsWith('NVIDIA_REQUIRE_')",message="of the NVIDIA_ variables only NVIDIA_DRIVER_CAPABILITIES, NVIDIA_REQUIRE_* and NVIDIA_DISABLE_REQUIRE may be set: the others make the NVIDIA container runtime hand the container devices (NVIDIA_VISIBLE_DEVICES=all: every GPU of the node), past the GPUs asked for and any quota"
type EnvVar struct {
	// Name of the variable.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Value of the variable.
	// +optional
	Value string `json:"value,omitempty"`
}

// DesktopNetwork is the desktop's NetworkPolicy: ingress only from the
// ingress controller's namespace, on the desktop's port; egress only to the
// cluster's DNS (kube-dns in kube-system) and to what Egress allows. Without
// Egress a desktop reaches neither the API server, nor the cloud's metadata
// service, nor any other Pod.
type DesktopNetwork struct {
	// IngressNamespace is the namespace of the ingress controller; only its
	// Pods reach the desktop.
	// +optional
	// +kubebuilder:default="traefik"
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	IngressNamespace string `json:"ingressNamespace,omitempty"`

	// Egress the desktop may reach beyond DNS, e.g. a TURN server for
	// WebRTC or an HTTP proxy.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	Egress []networkingv1.NetworkPolicyEgressRule `json:"egress,omitempty"`
}

// HomeVolume is the claim mounted as the user's home.
type HomeVolume struct {
	// ClaimName of the PersistentVolumeClaim in the desktop's namespace.
	// +kubebuilder:validation:MinLength=1
	ClaimName string `json:"claimName"`

	// MountPath of the home directory in the container.
	// +optional
	// +kubebuilder:default="/home/ubuntu"
	// +kubebuilder:validation:Pattern=`^/`
	MountPath string `json:"mountPath,omitempty"`
}

// DesktopObservation is what the provider last saw of the desktop Pod.
type DesktopObservation struct {
	// Phase of the Pod: Pending, Running, Succeeded, Failed or Unknown.
	Phase corev1.PodPhase `json:"phase,omitempty"`
	// Ready is true when the desktop container passes its readiness probe.
	Ready bool `json:"ready,omitempty"`
	// Message says why the desktop is not ready yet, e.g. unschedulable.
	Message string `json:"message,omitempty"`
	// PodIP of the desktop.
	PodIP string `json:"podIP,omitempty"`
	// NodeName the desktop runs on.
	NodeName string `json:"nodeName,omitempty"`
	// StartTime of the Pod.
	StartTime *metav1.Time `json:"startTime,omitempty"`
	// Deadline the desktop stops at: forProvider.deadline or, if that is
	// later or unset, the end of the longest the provider lets a desktop
	// run (its --max-desktop-lifetime, counted from the Desktop's creation).
	// Unset when neither applies.
	Deadline *metav1.Time `json:"deadline,omitempty"`
	// RestartCount of the desktop container.
	RestartCount int32 `json:"restartCount,omitempty"`
	// SpecHash of the desired Pod spec the running Pod was made from.
	SpecHash string `json:"specHash,omitempty"`
	// PendingRestart is true while the running Pod differs from the desired
	// spec; the provider then replaces it, since Pods are immutable.
	PendingRestart bool `json:"pendingRestart,omitempty"`
	// Expired is true once the deadline has passed: the desktop Pod is
	// removed and no new one is made.
	Expired bool `json:"expired,omitempty"`
	// NetworkPolicyReady is true while the desktop's NetworkPolicy exists as
	// specified; the desktop is not Ready without it.
	NetworkPolicyReady bool `json:"networkPolicyReady,omitempty"`
	// CredentialsSecretName is the Secret in the target cluster holding the
	// desktop password. The password itself is only ever published as a
	// connection detail.
	CredentialsSecretName string `json:"credentialsSecretName,omitempty"`
}

// DesktopSpec is the desired state of a Desktop.
type DesktopSpec struct {
	xpv2.ManagedResourceSpec `json:",inline"`
	ForProvider              DesktopParameters `json:"forProvider"`
}

// DesktopStatus is the observed state of a Desktop.
type DesktopStatus struct {
	xpv2.ManagedResourceStatus `json:",inline"`
	AtProvider                 DesktopObservation `json:"atProvider,omitempty"`
}

// +kubebuilder:object:root=true

// A Desktop is a remote desktop Pod (Selkies-GStreamer) and the Secret that
// holds its password. The url, username and password are published as
// connection details.
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="READY",type="string",JSONPath=".status.conditions[?(@.type=='Ready')].status"
// +kubebuilder:printcolumn:name="SYNCED",type="string",JSONPath=".status.conditions[?(@.type=='Synced')].status"
// +kubebuilder:printcolumn:name="USER",type="string",JSONPath=".spec.forProvider.user"
// +kubebuilder:printcolumn:name="PHASE",type="string",JSONPath=".status.atProvider.phase"
// +kubebuilder:printcolumn:name="NODE",type="string",JSONPath=".status.atProvider.nodeName"
// +kubebuilder:printcolumn:name="DEADLINE",type="date",JSONPath=".spec.forProvider.deadline",priority=1
// +kubebuilder:printcolumn:name="RESTART",type="boolean",JSONPath=".status.atProvider.pendingRestart",priority=1
// +kubebuilder:printcolumn:name="IMAGE",type="string",JSONPath=".spec.forProvider.image",priority=1
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:resource:scope=Namespaced,categories={crossplane,managed,vdi}
type Desktop struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   DesktopSpec   `json:"spec"`
	Status DesktopStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// DesktopList contains a list of Desktop.
type DesktopList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Desktop `json:"items"`
}
