package function

import (
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/resource"
)

// An invalid session is Fatal, so that a bad edit never deletes a running
// desktop. Left at that, a user could keep a desktop past its expiry by
// making the session invalid (a timeout above the maximum, a template that
// does not exist or is not allowed): the deadline the desktop already
// carries bounds that, here and in the provider, which removes the Pod at
// the deadline even when the function does not run at all.

// expiredInvalid is the lifecycle and composed resources of an invalid
// session past its desktop's recorded deadline: no desktop, and the home volume,
// if one exists, kept exactly as observed, since the session's own
// persistence settings cannot be trusted.
func expiredInvalid(s *Session, expiresAt time.Time, o observed) (lifecycle, map[resource.Name]*fnv1.Resource) {
	l := lifecycle{
		Phase: PhaseExpired, Reason: "Expired",
		Message:   "the session is invalid and past its desktop's deadline; its desktop is stopped, its home volume kept",
		StartedAt: s.CreationTimestamp.Time, ExpiresAt: expiresAt, TTL: defaultTTL,
	}
	composed := map[resource.Name]*fnv1.Resource{}
	if h := o[string(ResourceHome)].GetResource(); h != nil {
		composed[ResourceHome] = &fnv1.Resource{Resource: asObserved(h), Ready: readiness(o, ResourceHome)}
	}
	return l, composed
}

// asObserved is the desired form of an observed resource: its kind, name,
// labels and spec, so that applying it changes nothing.
func asObserved(h *structpb.Struct) *structpb.Struct {
	f := h.GetFields()
	md := f["metadata"].GetStructValue().GetFields()
	keep := map[string]*structpb.Value{}
	for _, k := range []string{"name", "namespace", "labels"} {
		if v, ok := md[k]; ok {
			keep[k] = v
		}
	}
	out := &structpb.Struct{Fields: map[string]*structpb.Value{
		"metadata": structpb.NewStructValue(&structpb.Struct{Fields: keep}),
	}}
	for _, k := range []string{"apiVersion", "kind", "spec"} {
		if v, ok := f[k]; ok {
			out.Fields[k] = v
		}
	}
	return out
}
