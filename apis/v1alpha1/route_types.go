package v1alpha1

import (
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
)

// DesktopRouteParameters is the desired Traefik IngressRoute.
type DesktopRouteParameters struct {
	Owner `json:",inline"`

	// Host the desktop is served at.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Host string `json:"host"`

	// PathPrefix the desktop is served under.
	// +optional
	// +kubebuilder:default="/"
	// +kubebuilder:validation:Pattern=`^/[-a-zA-Z0-9_./]*$`
	PathPrefix string `json:"pathPrefix,omitempty"`

	// EntryPoints of Traefik that serve the route.
	// +optional
	// +kubebuilder:default={"websecure"}
	EntryPoints []string `json:"entryPoints,omitempty"`

	// TLS of the route; plain HTTP when unset.
	// +optional
	TLS *RouteTLS `json:"tls,omitempty"`

	// ServiceName of the desktop's Service.
	// +kubebuilder:validation:MinLength=1
	ServiceName string `json:"serviceName"`

	// ServicePort of the desktop's Service.
	// +optional
	// +kubebuilder:default=8080
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	ServicePort int32 `json:"servicePort,omitempty"`
}

// URL the route serves the desktop at: https when the route has TLS, and
// the path prefix ("/" when empty) with a trailing slash. The function puts
// it in the Desktop's connection details and the provider reports it in
// status.atProvider.url, so both build it here.
func (p DesktopRouteParameters) URL() string {
	scheme := "http"
	if p.TLS != nil {
		scheme = "https"
	}
	path := p.PathPrefix
	if !strings.HasSuffix(path, "/") {
		path += "/"
	}
	return scheme + "://" + p.Host + path
}

// RouteTLS is the TLS of an IngressRoute: a certificate Secret, a
// certificate resolver, or neither for Traefik's default certificate.
type RouteTLS struct {
	// SecretName of a TLS Secret in the route's namespace.
	// +optional
	SecretName string `json:"secretName,omitempty"`
	// CertResolver of Traefik, e.g. letsencrypt.
	// +optional
	CertResolver string `json:"certResolver,omitempty"`

	// Store is a Traefik TLSStore whose default certificate serves the
	// route; Traefik's Kubernetes CRD provider supports only "default". It
	// keeps the certificate's private key in Traefik's namespace, out of the
	// desktop's.
	// +optional
	// +kubebuilder:validation:Enum=default
	Store string `json:"store,omitempty"`
}

// DesktopRouteObservation is what the provider last saw of the route.
type DesktopRouteObservation struct {
	// URL the desktop is served at.
	URL string `json:"url,omitempty"`
}

// DesktopRouteSpec is the desired state of a DesktopRoute.
type DesktopRouteSpec struct {
	xpv2.ManagedResourceSpec `json:",inline"`
	ForProvider              DesktopRouteParameters `json:"forProvider"`
}

// DesktopRouteStatus is the observed state of a DesktopRoute.
type DesktopRouteStatus struct {
	xpv2.ManagedResourceStatus `json:",inline"`
	AtProvider                 DesktopRouteObservation `json:"atProvider,omitempty"`
}

// +kubebuilder:object:root=true

// A DesktopRoute is the Traefik IngressRoute (traefik.io/v1alpha1) that
// serves a desktop's Service at a host and path.
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="READY",type="string",JSONPath=".status.conditions[?(@.type=='Ready')].status"
// +kubebuilder:printcolumn:name="SYNCED",type="string",JSONPath=".status.conditions[?(@.type=='Synced')].status"
// +kubebuilder:printcolumn:name="URL",type="string",JSONPath=".status.atProvider.url"
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:resource:scope=Namespaced,categories={crossplane,managed,vdi}
type DesktopRoute struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   DesktopRouteSpec   `json:"spec"`
	Status DesktopRouteStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// DesktopRouteList contains a list of DesktopRoute.
type DesktopRouteList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []DesktopRoute `json:"items"`
}
