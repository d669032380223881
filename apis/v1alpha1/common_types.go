package v1alpha1

import (
	"fmt"
	"strconv"
	"strings"
)

// HostLabel is the first label of the host a session's desktop is served
// at: <session>-<namespace>-<len(session)>. Session and namespace names may
// both hold dashes, so <session>-<namespace> alone is ambiguous (a-b in c
// and a in b-c); the trailing length tells where the session's name ends,
// which makes the label unique per session across namespaces. A
// DesktopRoute's host must start with the label of its own session and
// namespace, so that no namespace can serve at another's host.
func HostLabel(session, namespace string) string {
	return session + "-" + namespace + "-" + strconv.Itoa(len(session))
}

// OwnsHost reports whether host, a host name without a port, is one that
// session of namespace may serve at: its first label, in any case, is the
// session's HostLabel.
func OwnsHost(host, session, namespace string) bool {
	label, _, _ := strings.Cut(host, ".")
	return strings.EqualFold(label, HostLabel(session, namespace))
}

// DefaultDesktopPort is the port a desktop's web client listens on unless
// its template says otherwise, and so the port of its Service and Route.
// The +kubebuilder:default markers of Desktop, DesktopService, DesktopRoute
// and VDITemplate cannot name a constant and spell it out;
// TestDefaultDesktopPort holds the generated CRDs to it.
const DefaultDesktopPort int32 = 8080

// GatePort is the port of the gate in front of every desktop: the sidecar
// that checks a session's signed link or cookie and only then proxies to
// the desktop's port on the Pod's loopback. The desktop's Service and
// NetworkPolicy admit this port only. A desktop may therefore not use it
// itself; the port fields of Desktop, DesktopService and VDITemplate refuse
// it with a CEL rule that cannot name a constant either, and
// TestGatePortRefused holds the generated CRDs to it. It is clear of the
// ports the Selkies-GStreamer images use (8080 nginx, 8081 Selkies, 9081
// its metrics, 3478 TURN).
const GatePort int32 = 8090

// Owner names the session and user an object belongs to. Every object the
// provider creates in the target cluster carries them as labels, so that an
// operator can find everything of one session or one user with a selector.
type Owner struct {
	// Session is the name of the VDISession this resource belongs to.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Session string `json:"session"`

	// User is the name of the desktop's user. It must be safe as a label value
	// and a host name label.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	User string `json:"user"`
}

// Labels and annotations the provider puts on every object it creates in the
// target cluster.
const (
	// LabelManagedBy is app.kubernetes.io/managed-by; its value is
	// ManagedByValue.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedByValue marks objects created by this provider.
	ManagedByValue = "provider-vdi"
	// LabelComponent is app.kubernetes.io/component: desktop, home, service,
	// route.
	LabelComponent = "app.kubernetes.io/component"
	// LabelSession carries Owner.Session.
	LabelSession = "vdi.kasm.io/session"
	// LabelUser carries Owner.User.
	LabelUser = "vdi.kasm.io/user"
	// LabelDesktop is on the desktop Pod and carries its name; the desktop's
	// Service selects it.
	LabelDesktop = "vdi.kasm.io/desktop"
	// AnnotationManagedResource is namespace/name of the managed resource that
	// owns an object, so that a watch on the target cluster can wake the
	// managed resource's reconciler.
	AnnotationManagedResource = "vdi.m.kasm.io/managed-resource"
	// AnnotationNamespaceUID is the UID of the namespace of the managed
	// resource that owns an object. The provider records it on each
	// managed resource the first time it reconciles it, and copies it to
	// the objects the managed resource makes, so that a namespace deleted
	// and made again under the same name (for another tenant, say) does
	// not take over what the old one left: a retained home claim above all.
	AnnotationNamespaceUID = "vdi.m.kasm.io/namespace-uid"
	// AnnotationRetain marks a home claim that must outlive its
	// DesktopVolume; the provider never deletes a claim so marked.
	AnnotationRetain = "vdi.m.kasm.io/retain"
	// AnnotationSpecHash is the hash of the desired Pod spec the Pod was made
	// from.
	AnnotationSpecHash = "vdi.m.kasm.io/spec-hash"
)

// CheckGPUResourceName returns an error unless name, a desktop's GPU
// resource, is an extended resource: a domain-qualified name outside
// kubernetes.io, such as nvidia.com/gpu. As cpu or memory the GPU count
// would be a request of that instead, which no GPU quota counts, while the
// desktop, asking for a GPU, would not be told it has none (see
// CheckEnvName). GPUResources' schema holds the same rule; this holds it
// for objects the schema did not check. Empty is the default,
// nvidia.com/gpu.
func CheckGPUResourceName(name string) error {
	if name != "" && (!strings.Contains(name, "/") || strings.Contains(name, "kubernetes.io/")) {
		return fmt.Errorf("resources.gpu.resourceName %s is not an extended resource: it must be a domain-qualified name outside kubernetes.io, such as nvidia.com/gpu", name)
	}
	return nil
}

// CheckEnvName returns an error if a desktop may not set the environment
// variable name: an NVIDIA_ variable other than NVIDIA_DRIVER_CAPABILITIES,
// NVIDIA_REQUIRE_* and NVIDIA_DISABLE_REQUIRE. The NVIDIA container runtime
// reads the others to hand a container devices: NVIDIA_VISIBLE_DEVICES=all
// gives it every GPU of its node, other tenants' included, whatever it
// asked for and whatever the quota. EnvVar's schema holds the same rule;
// this holds it for objects the schema did not check.
//
// The variables the provider sets itself (the desktop's ports and basic
// authentication) may be overridden: a template for an image that serves
// Selkies directly sets SELKIES_PORT, and a desktop that turns its own
// authentication off still has the gate in front of it.
func CheckEnvName(name string) error {
	if strings.HasPrefix(name, "NVIDIA_") && name != "NVIDIA_DRIVER_CAPABILITIES" && name != "NVIDIA_DISABLE_REQUIRE" && !strings.HasPrefix(name, "NVIDIA_REQUIRE_") {
		return fmt.Errorf("env %s may not be set: it makes the NVIDIA container runtime hand the desktop devices beyond the GPUs it asked for; of the NVIDIA_ variables only NVIDIA_DRIVER_CAPABILITIES, NVIDIA_REQUIRE_* and NVIDIA_DISABLE_REQUIRE may be", name)
	}
	return nil
}
