package function

import (
	"google.golang.org/protobuf/types/known/structpb"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

// The VDISession composite resource, as defined by the XRD in
// package/configuration. The function reads it into these types rather than
// walking unstructured paths.
const (
	SessionAPIVersion = "vdi.kasm.io/v1alpha1"
	SessionKind       = "VDISession"
)

// Desired states of a session.
const (
	StateRunning = "Running"
	StateStopped = "Stopped"
)

// Phases of a session, shown in status.phase.
const (
	PhasePending  = "Pending"
	PhaseStarting = "Starting"
	PhaseRunning  = "Running"
	PhaseStopped  = "Stopped"
	PhaseExpired  = "Expired"
	PhaseFailed   = "Failed"
)

// A Session is a VDISession: one user's desktop from a VDITemplate.
type Session struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec SessionSpec `json:"spec"`
}

// SessionSpec is what the user asks for.
type SessionSpec struct {
	// User of the desktop; a DNS label.
	User string `json:"user"`
	// Template is the name of the VDITemplate.
	Template string `json:"template"`
	// Resources override the template's, within its maxResources.
	Resources *ResourceOverrides `json:"resources,omitempty"`
	// Persistence of the user's home volume.
	Persistence *Persistence `json:"persistence,omitempty"`
	// Timeout after which the desktop stops, counted from creation; the
	// template's defaultTimeout when empty.
	Timeout string `json:"timeout,omitempty"`
	// State is Running or Stopped; Running when empty.
	State string `json:"state,omitempty"`
}

// ResourceOverrides of the template's compute resources.
type ResourceOverrides struct {
	CPU    *resource.Quantity `json:"cpu,omitempty"`
	Memory *resource.Quantity `json:"memory,omitempty"`
	GPU    *int32             `json:"gpu,omitempty"`
}

// Persistence of the home volume.
type Persistence struct {
	// Enabled overrides the template's persistence.enabled.
	Enabled *bool `json:"enabled,omitempty"`
	// Size overrides the template's persistence.size, up to its maxSize.
	Size *resource.Quantity `json:"size,omitempty"`
	// StorageClassName overrides the template's and the platform's class.
	StorageClassName *string `json:"storageClassName,omitempty"`
	// RetainOnDelete keeps the volume in the target cluster when the
	// session is deleted.
	RetainOnDelete bool `json:"retainOnDelete,omitempty"`
}

// SessionStatus is what the function writes to the session's status.
type SessionStatus struct {
	Phase                 string `json:"phase,omitempty"`
	URL                   string `json:"url,omitempty"`
	Node                  string `json:"node,omitempty"`
	StartedAt             string `json:"startedAt,omitempty"`
	ExpiresAt             string `json:"expiresAt,omitempty"`
	Message               string `json:"message,omitempty"`
	CredentialsSecretName string `json:"credentialsSecretName,omitempty"`
}

// sessionFrom decodes an observed VDISession.
func sessionFrom(obj *structpb.Struct) (*Session, error) {
	s := &Session{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.AsMap(), s); err != nil {
		return nil, errors.Wrap(err, "cannot decode VDISession")
	}
	if s.Kind != SessionKind {
		return nil, errors.Errorf("cannot compose a %q: function-vdi composes %s", s.Kind, SessionKind)
	}
	return s, nil
}
