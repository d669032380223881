package route

import (
	"cmp"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/clients/target"
)

// IngressRouteGVK is the kind of Traefik's IngressRoute. Traefik is not
// imported as a library: the few fields the provider writes are declared
// below and sent as unstructured content.
var IngressRouteGVK = schema.GroupVersionKind{Group: "traefik.io", Version: "v1alpha1", Kind: "IngressRoute"}

// ingressRouteSpec is the part of Traefik's IngressRoute spec the provider
// manages.
type ingressRouteSpec struct {
	EntryPoints []string  `json:"entryPoints,omitempty"`
	Routes      []route   `json:"routes"`
	TLS         *routeTLS `json:"tls,omitempty"`
}

type route struct {
	Kind     string         `json:"kind"`
	Match    string         `json:"match"`
	Services []routeService `json:"services"`
}

type routeService struct {
	Name string `json:"name"`
	Port int32  `json:"port"`
}

type routeTLS struct {
	SecretName   string    `json:"secretName,omitempty"`
	CertResolver string    `json:"certResolver,omitempty"`
	Store        *tlsStore `json:"store,omitempty"`
}

// tlsStore names a Traefik TLSStore in Traefik's own namespace.
type tlsStore struct {
	Name string `json:"name"`
}

func pathPrefix(p v1alpha1.DesktopRouteParameters) string {
	if p.PathPrefix == "" {
		return "/"
	}
	return p.PathPrefix
}

// buildIngressRoute returns the desired IngressRoute of cr in namespace ns.
func buildIngressRoute(cr *v1alpha1.DesktopRoute, ns string) *unstructured.Unstructured {
	p := cr.Spec.ForProvider
	match := fmt.Sprintf("Host(`%s`)", p.Host)
	if pp := pathPrefix(p); pp != "/" {
		match += fmt.Sprintf(" && PathPrefix(`%s`)", pp)
	}
	spec := ingressRouteSpec{
		EntryPoints: p.EntryPoints,
		Routes: []route{{
			Kind:     "Rule",
			Match:    match,
			Services: []routeService{{Name: target.QualifiedName(cr.GetNamespace(), ns, p.ServiceName), Port: cmp.Or(p.ServicePort, v1alpha1.DefaultDesktopPort)}},
		}},
	}
	if p.TLS != nil {
		spec.TLS = &routeTLS{SecretName: p.TLS.SecretName, CertResolver: p.TLS.CertResolver}
		if p.TLS.Store != "" {
			spec.TLS.Store = &tlsStore{Name: p.TLS.Store}
		}
	}
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&spec)
	if err != nil {
		// A plain struct of strings and ints always converts.
		panic(err)
	}
	u := &unstructured.Unstructured{Object: map[string]any{"spec": content}}
	u.SetGroupVersionKind(IngressRouteGVK)
	om := target.ObjectMeta(cr, ns, target.ComponentRoute, p.Owner)
	u.SetName(om.Name)
	u.SetNamespace(om.Namespace)
	u.SetLabels(om.Labels)
	u.SetAnnotations(om.Annotations)
	target.Stamp(u, struct {
		Labels map[string]string `json:"labels"`
		Spec   ingressRouteSpec  `json:"spec"`
	}{om.Labels, spec})
	return u
}
