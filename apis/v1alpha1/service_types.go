package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
)

// DesktopServiceParameters is the desired Service and NetworkPolicy.
type DesktopServiceParameters struct {
	Owner `json:",inline"`

	// DesktopName is the name of the desktop Pod the Service selects.
	// +kubebuilder:validation:MinLength=1
	DesktopName string `json:"desktopName"`

	// Port of the desktop's web client: the Service serves under this port
	// and forwards to the gate (port 8090, v1alpha1.GatePort) in front of
	// the desktop, never to the desktop's own port.
	// +optional
	// +kubebuilder:default=8080
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port,omitempty"`
}

// DesktopServiceObservation is what the provider last saw of the Service.
type DesktopServiceObservation struct {
	// ClusterIP of the Service: None, since desktops' Services are headless
	// (Traefik routes to the Service's endpoints); a Service made by an
	// earlier provider keeps the address it was given.
	ClusterIP string `json:"clusterIP,omitempty"`
}

// DesktopServiceSpec is the desired state of a DesktopService.
type DesktopServiceSpec struct {
	xpv2.ManagedResourceSpec `json:",inline"`
	ForProvider              DesktopServiceParameters `json:"forProvider"`
}

// DesktopServiceStatus is the observed state of a DesktopService.
type DesktopServiceStatus struct {
	xpv2.ManagedResourceStatus `json:",inline"`
	AtProvider                 DesktopServiceObservation `json:"atProvider,omitempty"`
}

// +kubebuilder:object:root=true

// A DesktopService is the headless Service in front of a desktop and the
// NetworkPolicy that lets only the ingress controller reach it.
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="READY",type="string",JSONPath=".status.conditions[?(@.type=='Ready')].status"
// +kubebuilder:printcolumn:name="SYNCED",type="string",JSONPath=".status.conditions[?(@.type=='Synced')].status"
// +kubebuilder:printcolumn:name="DESKTOP",type="string",JSONPath=".spec.forProvider.desktopName"
// +kubebuilder:printcolumn:name="CLUSTER-IP",type="string",JSONPath=".status.atProvider.clusterIP"
// +kubebuilder:printcolumn:name="PORT",type="integer",JSONPath=".spec.forProvider.port"
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:resource:scope=Namespaced,categories={crossplane,managed,vdi}
type DesktopService struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   DesktopServiceSpec   `json:"spec"`
	Status DesktopServiceStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// DesktopServiceList contains a list of DesktopService.
type DesktopServiceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []DesktopService `json:"items"`
}
