package target

import (
	"context"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
)

// A Cluster is where the desktops of a managed resource run.
type Cluster struct {
	// Client reads and writes the target cluster directly, never through a
	// cache, so that Observe sees the cluster's truth.
	Client client.Client

	// Host is the target cluster's API server, as its config names it; ""
	// when unknown.
	Host string

	// namespace every object goes to; "" means the managed resource's own.
	namespace string
}

// NewCluster returns a Cluster reached through kube whose objects go to
// namespace, or to each managed resource's own namespace when namespace is
// "".
func NewCluster(kube client.Client, namespace string) *Cluster {
	return &Cluster{Client: kube, namespace: namespace}
}

// Location names where the objects of mg live: the API server and the
// namespace.
func (c *Cluster) Location(mg resource.Managed) string {
	return c.Host + "/" + c.Namespace(mg)
}

// Namespace returns the namespace of the target cluster that holds the
// objects of mg.
func (c *Cluster) Namespace(mg resource.Managed) string {
	if c.namespace != "" {
		return c.namespace
	}
	return mg.GetNamespace()
}

// Clusters resolves a managed resource to the cluster its objects live in.
// A connection.Connector is one; tests supply their own.
type Clusters interface {
	// Connect records that mg uses its ProviderConfig and returns the Cluster
	// that config reaches. It returns an error, and no Cluster, when the
	// config or its credentials are missing or refused, or the cluster is
	// unreachable.
	Connect(ctx context.Context, mg resource.ModernManaged) (*Cluster, error)
}

// Scheme knows every kind the provider creates in target clusters.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	_ = corev1.AddToScheme(s)
	_ = networkingv1.AddToScheme(s)
	return s
}

// Owner returns a map function from an object of a target cluster to the
// managed resource of kind gvk that owns it, by the managed-resource
// annotation every object the provider creates carries. Whoever may write
// objects in a target namespace, such as a tenant in its own namespace of
// the local cluster, may write that annotation too: so the object maps only
// to a managed resource that exists (in kube, the manager's cache) and that
// would give its object the object's name. A look-alike object then cannot
// make the provider reconcile names that do not exist, which would grow its
// rate limiter's state and take its reconciles from every tenant.
func Owner(kube client.Client, gvk schema.GroupVersionKind) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		ns, name, ok := strings.Cut(o.GetAnnotations()[v1alpha1.AnnotationManagedResource], "/")
		if !ok || name == "" {
			return nil
		}
		ro, err := kube.Scheme().New(gvk)
		if err != nil {
			return nil
		}
		mg, ok := ro.(resource.Managed)
		if !ok {
			return nil
		}
		if err := kube.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, mg); err != nil {
			return nil
		}
		if QualifiedName(ns, o.GetNamespace(), meta.GetExternalName(mg)) != o.GetName() {
			return nil
		}
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}}}
	}
}

// Components of a session, the app.kubernetes.io/component label of the
// objects each managed resource creates.
const (
	ComponentDesktop = "desktop"
	ComponentHome    = "home"
	ComponentService = "service"
	ComponentRoute   = "route"
)
