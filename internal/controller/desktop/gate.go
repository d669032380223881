package desktop

import (
	"crypto/ed25519"
	"net/url"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/gate"
)

// Names of the gate's container and port in the desktop Pod.
const (
	gateContainerName = "gate"
	gatePortName      = "gate"

	// gateUID is the gate image's user (internal/packaging), the
	// distroless "nonroot" uid.
	gateUID = 65532
)

// gateResources are the gate's requests and limits, equal so that the
// desktop Pod keeps Guaranteed QoS. The gate proxies every byte of the
// desktop's web client, VNC and WebSocket streams included.
var gateResources = corev1.ResourceList{
	corev1.ResourceCPU:    resource.MustParse("200m"),
	corev1.ResourceMemory: resource.MustParse("64Mi"),
}

// A Gate is the gate in front of every desktop: the image of the sidecar,
// and the signer of the links it lets through. The zero Gate signs nothing.
type Gate struct {
	// Image of the gate (cmd/gate).
	Image string

	links     *gate.Signer
	publicKey string
}

// NewGate returns the Gate of image whose links key signs.
func NewGate(image string, key ed25519.PrivateKey) (Gate, error) {
	s := gate.NewSigner(key)
	pub, err := s.PublicKeyPEM()
	if err != nil {
		return Gate{}, errors.Wrap(err, "cannot encode the gate's public key")
	}
	return Gate{Image: image, links: s, publicKey: pub}, nil
}

// audience returns the host a Desktop's links are for, the host of its URL,
// or an error if it has none: a desktop is served only behind the gate, and
// the gate accepts only links to its own host.
func audience(cr *v1alpha1.Desktop) (string, error) {
	u, err := url.Parse(cr.Spec.ForProvider.URL)
	if err != nil || u.Host == "" {
		return "", errors.Errorf("cannot run desktop %q without an absolute url (got %q): the gate in front of it accepts only links to the url's host", cr.GetName(), cr.Spec.ForProvider.URL)
	}
	return gate.Audience(u), nil
}

// checkGate refuses a Desktop the gate cannot stand in front of: one
// without an absolute URL, one whose URL is not at its own session's host,
// or one that would listen on the gate's own port. The schema refuses the
// first and the last already; this holds for objects it did not check.
//
// The provider signs the links of a Desktop for its URL's host, with one key
// every gate trusts: were that host another session's, the provider would
// sign links that open the other session's gate, given its Pod's UID (which
// a tenant can have its own target cluster report, and which every link
// carries in the clear). A Desktop's host must therefore start with the host
// label of its own session and namespace, as a DesktopRoute's must.
func checkGate(cr *v1alpha1.Desktop) error {
	if _, err := audience(cr); err != nil {
		return err
	}
	p := cr.Spec.ForProvider
	if u, _ := url.Parse(p.URL); !v1alpha1.OwnsHost(u.Hostname(), p.Session, cr.GetNamespace()) {
		want := v1alpha1.HostLabel(p.Session, cr.GetNamespace())
		return errors.Errorf("forProvider.url %q must be at a host starting with %q, the host label of session %q in namespace %q (<session>-<namespace>-<length of session>): the provider signs links for the url's host, and signs none for another session's", p.URL, want+".", p.Session, cr.GetNamespace())
	}
	if desktopPort(cr.Spec.ForProvider) == v1alpha1.GatePort {
		return errors.Errorf("cannot run desktop %q on port %d: it is the gate's, in front of every desktop; the desktop must listen on another", cr.GetName(), v1alpha1.GatePort)
	}
	return nil
}

// container returns the gate's container for the desktop of cr, which
// listens on port and whose password is in Secret secret. It passes the
// Pod Security "restricted" profile on its own: non-root, no privilege
// escalation, no capabilities, read-only root file system (the Pod sets the
// RuntimeDefault seccomp profile).
func (g Gate) container(cr *v1alpha1.Desktop, port int32, password *corev1.EnvVarSource) corev1.Container {
	p := cr.Spec.ForProvider
	aud, _ := audience(cr) // Observe refuses a Desktop without one.
	return corev1.Container{
		Name:  gateContainerName,
		Image: g.Image,
		Ports: []corev1.ContainerPort{{Name: gatePortName, ContainerPort: v1alpha1.GatePort, Protocol: corev1.ProtocolTCP}},
		Env: []corev1.EnvVar{
			{Name: gate.EnvListen, Value: ":" + strconv.Itoa(int(v1alpha1.GatePort))},
			{Name: gate.EnvUpstream, Value: "http://127.0.0.1:" + strconv.Itoa(int(port))},
			{Name: gate.EnvPublicKey, Value: g.publicKey},
			{Name: gate.EnvAudience, Value: aud},
			{Name: gate.EnvSubject, Value: p.User},
			{Name: gate.EnvPodUID, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.uid"}}},
			{Name: gate.EnvUpstreamUser, Value: p.User},
			{Name: gate.EnvUpstreamPassword, ValueFrom: password},
		},
		Resources: corev1.ResourceRequirements{Limits: gateResources.DeepCopy(), Requests: gateResources.DeepCopy()},
		ReadinessProbe: &corev1.Probe{
			ProbeHandler:     corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString(gatePortName)}},
			PeriodSeconds:    5,
			FailureThreshold: 3,
		},
		SecurityContext: &corev1.SecurityContext{
			RunAsNonRoot:             ptr.To(true),
			RunAsUser:                ptr.To[int64](gateUID),
			RunAsGroup:               ptr.To[int64](gateUID),
			AllowPrivilegeEscalation: ptr.To(false),
			ReadOnlyRootFilesystem:   ptr.To(true),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		},
	}
}

// link returns the link that opens cr's desktop Pod at now, or "" if the
// Pod serves no one: the Desktop is being deleted or past deadline d, the
// Pod is terminating or has terminated, or (as a Pod the API server has
// not stored yet) it has no UID. Only a failure to sign is an error.
func (g Gate) link(cr *v1alpha1.Desktop, d *metav1.Time, pod *corev1.Pod, now time.Time) (string, error) {
	if g.links == nil || meta.WasDeleted(cr) || (d != nil && !now.Before(d.Time)) ||
		pod.UID == "" || pod.DeletionTimestamp != nil || terminated(pod) {
		return "", nil
	}
	s := gate.Session{URL: cr.Spec.ForProvider.URL, User: cr.Spec.ForProvider.User, Pod: string(pod.UID)}
	if d != nil {
		s.Deadline = &d.Time
	}
	l, err := g.links.Link(s, now)
	return l, errors.Wrap(err, "cannot sign the desktop's link")
}
