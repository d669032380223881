package function

import (
	"encoding/json"
	"time"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"google.golang.org/protobuf/types/known/structpb"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/resource"
	"github.com/crossplane/function-sdk-go/resource/composed"

	mv1alpha1 "github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/function/input/v1beta1"
)

func init() {
	// composed.From sets each object's apiVersion and kind from this scheme.
	if err := mv1alpha1.SchemeBuilder.AddToScheme(composed.Scheme); err != nil {
		panic(err)
	}
}

// Names of the composed resources in the Composition, i.e. the
// crossplane.io/composition-resource-name annotation.
const (
	ResourceDesktop resource.Name = "desktop"
	ResourceHome    resource.Name = "home"
	ResourceService resource.Name = "service"
	ResourceRoute   resource.Name = "route"
)

// The composed managed resources are named after the session, in its
// namespace; their names are also the names of the objects in the target
// cluster.
func desktopName(s *Session) string     { return s.Name + "-desktop" }
func homeName(s *Session) string        { return s.Name + "-home" }
func serviceName(s *Session) string     { return s.Name + "-service" }
func routeName(s *Session) string       { return s.Name + "-route" }
func credentialsName(s *Session) string { return s.Name + "-credentials" }

// hostLabel is the first label of the desktop's host, unique per session
// across namespaces (see mv1alpha1.HostLabel).
func hostLabel(s *Session) string { return mv1alpha1.HostLabel(s.Name, s.Namespace) }

// host the desktop is served at: <session>-<namespace>-<len(session)>.<domain>.
func host(s *Session, in *v1beta1.Input) string { return hostLabel(s) + "." + in.Ingress.Domain }

// retainPolicies let Crossplane create, update and observe a volume but
// never delete it: the PVC outlives its session.
var retainPolicies = xpv2.ManagementPolicies{
	xpv2.ManagementActionObserve,
	xpv2.ManagementActionCreate,
	xpv2.ManagementActionUpdate,
	xpv2.ManagementActionLateInitialize,
}

// compose returns the managed resources the session needs now, with their
// readiness, and whether a running desktop holds back a change (see
// holdPod). A home volume that exists stays desired even if the session no
// longer asks for one: only deleting the session deletes it.
func compose(p *plan, l lifecycle, o observed) (map[resource.Name]*fnv1.Resource, bool, error) {
	objs := make(map[resource.Name]runtime.Object, 4)
	if p.persistent || o.has(ResourceHome) {
		objs[ResourceHome] = home(p, o.homeRetained())
	}
	held := false
	if l.Desktop() {
		d := desktop(p, l.ExpiresAt)
		running, err := o.runningDesktop()
		if err != nil {
			return nil, false, err
		}
		if running != nil {
			if d.Spec.ForProvider, held, err = holdPod(d.Spec.ForProvider, *running); err != nil {
				return nil, false, err
			}
		}
		objs[ResourceDesktop] = d
		objs[ResourceService] = service(p)
		objs[ResourceRoute] = route(p)
	}

	out := make(map[resource.Name]*fnv1.Resource, len(objs))
	for name, obj := range objs {
		s, err := asStruct(obj)
		if err != nil {
			return nil, false, errors.Wrapf(err, "cannot compose %q", name)
		}
		out[name] = &fnv1.Resource{Resource: s, Ready: readiness(o, name)}
	}
	return out, held, nil
}

// holdPod returns the parameters of a desktop that serves with running and
// should now run with want: running's, but for the owner, the network
// policy and the deadline, which are want's (none of them shapes the Pod).
// The second result is whether that holds back a change: whether want sets
// a field to other than what the desktop runs with. A field want leaves out
// (the API server defaults it, as the GPU's resource name) changes nothing.
//
// Pods are immutable: a changed Pod would restart the desktop under its
// user, and a template edit would restart every serving desktop of the
// template at once (a mistyped image: every one into ImagePullBackOff). A
// held change applies when the desktop starts again, or as soon as it does
// not serve. A new URL holds nothing back: its host is in the gate's
// settings, so the Pod restarts for it anyway and takes the rest with it.
func holdPod(want, running mv1alpha1.DesktopParameters) (mv1alpha1.DesktopParameters, bool, error) {
	if running.URL != want.URL {
		return want, false, nil
	}
	held := withNotPod(running, want)
	changed, err := changes(withNotPod(held, mv1alpha1.DesktopParameters{}), withNotPod(want, mv1alpha1.DesktopParameters{}))
	return held, changed, err
}

// withNotPod returns p with the parameters that do not shape its Pod set to
// from's.
func withNotPod(p, from mv1alpha1.DesktopParameters) mv1alpha1.DesktopParameters {
	p.Owner, p.Network, p.Deadline = from.Owner, from.Network, from.Deadline
	return p
}

// changes reports whether patch, applied to base as a JSON merge patch,
// changes it. Equal values, the common case, are not encoded.
func changes(base, patch any) (bool, error) {
	if equality.Semantic.DeepEqual(base, patch) {
		return false, nil
	}
	b, err := json.Marshal(base)
	if err != nil {
		return false, errors.Wrap(err, "cannot encode the running desktop's parameters")
	}
	p, err := json.Marshal(patch)
	if err != nil {
		return false, errors.Wrap(err, "cannot encode the desktop's parameters")
	}
	merged, err := jsonpatch.MergePatch(b, p)
	if err != nil {
		return false, errors.Wrap(err, "cannot compare the desktop's parameters with the running desktop's")
	}
	return !jsonpatch.Equal(merged, b), nil
}

// asStruct is a composed resource as the SDK converts it, without status:
// the provider owns it, and composed.From would send the zero status of a
// typed object (observedGeneration: 0 and the like).
func asStruct(o runtime.Object) (*structpb.Struct, error) {
	cd, err := composed.From(o)
	if err != nil {
		return nil, err
	}
	delete(cd.Object, "status")
	return resource.AsStruct(cd)
}

// objectMeta of a composed resource of the session. Its external name is
// its name, as the provider would set it: composed with it, the provider
// does not write it on the resource's first reconcile, and so Crossplane,
// which runs the session again whenever one of its composed resources
// changes, runs it once less for each.
func objectMeta(p *plan, name, component string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:      name,
		Namespace: p.session.Namespace,
		Labels: map[string]string{
			mv1alpha1.LabelSession:   p.session.Name,
			mv1alpha1.LabelUser:      p.session.Spec.User,
			mv1alpha1.LabelComponent: component,
		},
		Annotations: map[string]string{meta.AnnotationKeyExternalName: name},
	}
}

// managedSpec is the spec every composed resource shares.
func managedSpec(p *plan) xpv2.ManagedResourceSpec {
	spec := xpv2.ManagedResourceSpec{}
	if r := p.input.ProviderConfigRef; r != nil {
		spec.ProviderConfigReference = &xpv2.ProviderConfigReference{Kind: r.Kind, Name: r.Name}
	}
	return spec
}

func owner(p *plan) mv1alpha1.Owner {
	return mv1alpha1.Owner{Session: p.session.Name, User: p.session.Spec.User}
}

// desktop is the desktop Pod, which must not run past deadline. Its
// credentials land in a Secret in the session's namespace.
func desktop(p *plan, deadline time.Time) *mv1alpha1.Desktop {
	t := p.template.Spec
	d := &mv1alpha1.Desktop{
		ObjectMeta: objectMeta(p, desktopName(p.session), "desktop"),
		Spec: mv1alpha1.DesktopSpec{
			ManagedResourceSpec: managedSpec(p),
			ForProvider: mv1alpha1.DesktopParameters{
				Owner:            owner(p),
				Image:            t.Image,
				Port:             t.Port,
				Resources:        p.resources,
				ShmSize:          t.ShmSize,
				Env:              t.Env,
				NodeSelector:     t.NodeSelector,
				Tolerations:      t.Tolerations,
				RuntimeClassName: t.RuntimeClassName,
				Network:          mv1alpha1.DesktopNetwork{IngressNamespace: p.input.Ingress.Namespace, Egress: t.Egress},
				URL:              desktopURL(p),
				Deadline:         &metav1.Time{Time: deadline.UTC()},
			},
		},
	}
	d.Spec.WriteConnectionSecretToReference = &xpv2.LocalSecretReference{Name: credentialsName(p.session)}
	if p.persistent {
		d.Spec.ForProvider.Home = &mv1alpha1.HomeVolume{ClaimName: homeName(p.session), MountPath: t.HomeMountPath}
	}
	return d
}

// home is the user's home volume. Once retained it stays retained, whatever
// the session says now: retention sticks to the data (the provider also
// marks the claim itself, for any later session of the same name).
func home(p *plan, retained bool) *mv1alpha1.DesktopVolume {
	v := &mv1alpha1.DesktopVolume{
		ObjectMeta: objectMeta(p, homeName(p.session), "home"),
		Spec: mv1alpha1.DesktopVolumeSpec{
			ManagedResourceSpec: managedSpec(p),
			ForProvider: mv1alpha1.DesktopVolumeParameters{
				Owner:            owner(p),
				Size:             p.volumeSize,
				StorageClassName: p.storageClassName,
			},
		},
	}
	if sp := p.session.Spec.Persistence; retained || (sp != nil && sp.RetainOnDelete) {
		v.Spec.ManagementPolicies = retainPolicies
		v.Spec.ForProvider.RetainOnDelete = true
	}
	return v
}

// service fronts the desktop Pod; the desktop's own NetworkPolicy admits
// only the ingress controller's namespace.
func service(p *plan) *mv1alpha1.DesktopService {
	return &mv1alpha1.DesktopService{
		ObjectMeta: objectMeta(p, serviceName(p.session), "service"),
		Spec: mv1alpha1.DesktopServiceSpec{
			ManagedResourceSpec: managedSpec(p),
			ForProvider: mv1alpha1.DesktopServiceParameters{
				Owner:       owner(p),
				DesktopName: desktopName(p.session),
				Port:        p.template.Spec.Port,
			},
		},
	}
}

// route serves the desktop's Service at its own host.
func route(p *plan) *mv1alpha1.DesktopRoute {
	in := p.input.Ingress
	r := &mv1alpha1.DesktopRoute{
		ObjectMeta: objectMeta(p, routeName(p.session), "route"),
		Spec: mv1alpha1.DesktopRouteSpec{
			ManagedResourceSpec: managedSpec(p),
			ForProvider: mv1alpha1.DesktopRouteParameters{
				Owner:       owner(p),
				Host:        p.host,
				EntryPoints: in.EntryPoints,
				ServiceName: serviceName(p.session),
				ServicePort: p.template.Spec.Port,
			},
		},
	}
	if in.TLS != nil {
		r.Spec.ForProvider.TLS = &mv1alpha1.RouteTLS{SecretName: in.TLS.SecretName, CertResolver: in.TLS.CertResolver, Store: in.TLS.Store}
	}
	return r
}

// desktopURL is the URL the desktop is served at: the one its DesktopRoute
// reports.
func desktopURL(p *plan) string { return route(p).Spec.ForProvider.URL() }
