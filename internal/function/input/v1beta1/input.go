// Package v1beta1 contains the input type of function-vdi: the platform's
// settings that every VDISession composed by one Composition shares.
// +kubebuilder:object:generate=true
// +groupName=vdi.fn.kasm.io
// +versionName=v1beta1
package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// An Input configures function-vdi in a Composition's pipeline step: where
// desktops are served, and the defaults of the resources it composes.
// +kubebuilder:object:root=true
// +kubebuilder:storageversion
// +kubebuilder:resource:categories=crossplane
type Input struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Ingress says how desktops are exposed through Traefik.
	Ingress Ingress `json:"ingress"`

	// Storage holds defaults of home volumes.
	// +optional
	Storage *Storage `json:"storage,omitempty"`

	// ProviderConfigRef of every composed managed resource; the provider's
	// default (ClusterProviderConfig "default") when unset.
	// +optional
	ProviderConfigRef *ProviderConfigReference `json:"providerConfigRef,omitempty"`
}

// Ingress of desktops. A session is served at https://<session>-<namespace>.<domain>/.
type Ingress struct {
	// Domain under which every desktop gets its own host,
	// <session>-<namespace>.<domain>. A wildcard DNS record and certificate
	// for *.<domain> serve them all.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=190
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Domain string `json:"domain"`

	// EntryPoints of Traefik that serve desktops; the route's default
	// (websecure) when unset.
	// +optional
	EntryPoints []string `json:"entryPoints,omitempty"`

	// TLS of desktop routes; plain HTTP when unset.
	// +optional
	TLS *TLS `json:"tls,omitempty"`

	// Namespace of the ingress controller in the target cluster; only it may
	// reach desktops. The provider's default (traefik) when unset.
	// +optional
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Namespace string `json:"namespace,omitempty"`
}

// TLS of desktop routes. The recommended setup is store: default, a
// wildcard certificate for *.<domain> as the default certificate of
// Traefik's TLSStore named default, which keeps the private key in
// Traefik's own namespace. A certResolver (e.g. ACME) gets one certificate
// per host.
type TLS struct {
	// Store is the Traefik TLSStore whose default certificate serves
	// desktops; only "default" is supported by Traefik's Kubernetes CRD
	// provider.
	// +optional
	// +kubebuilder:validation:Enum=default
	Store string `json:"store,omitempty"`

	// SecretName of a TLS Secret in the target namespace. Every namespace
	// that holds desktops then needs a copy of the certificate and its
	// private key, which every user able to read Secrets there can read:
	// prefer the default TLSStore.
	// +optional
	SecretName string `json:"secretName,omitempty"`

	// CertResolver of Traefik, e.g. letsencrypt.
	// +optional
	CertResolver string `json:"certResolver,omitempty"`
}

// Storage defaults of home volumes.
type Storage struct {
	// StorageClassName of home volumes when neither the session nor its
	// template names one; the target cluster's default class when unset.
	// +optional
	StorageClassName *string `json:"storageClassName,omitempty"`
}

// ProviderConfigReference names the ProviderConfig or ClusterProviderConfig
// of provider-vdi that composed resources use.
type ProviderConfigReference struct {
	// Kind is ProviderConfig (in the session's namespace) or
	// ClusterProviderConfig.
	// +kubebuilder:validation:Enum=ProviderConfig;ClusterProviderConfig
	Kind string `json:"kind"`

	// Name of the ProviderConfig or ClusterProviderConfig.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
}
