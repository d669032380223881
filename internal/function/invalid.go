package function

import (
	"cmp"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/resource"

	tv1alpha1 "github.com/provider-vdi/provider-vdi/apis/template/v1alpha1"
)

// An invalid session is Fatal, so that a bad edit never deletes a running
// desktop. Left at that, a user could keep a desktop past its expiry by
// making the session invalid, e.g. asking for a timeout above the maximum.
// pastMaxTimeout bounds that: once the longest timeout the template allows
// has run out, the session has expired whatever its spec says.
func pastMaxTimeout(s *Session, t *tv1alpha1.VDITemplate, now time.Time) (time.Time, bool) {
	d, err := time.ParseDuration(cmp.Or(t.Spec.MaxTimeout, defaultMaxTime))
	if err != nil || s.CreationTimestamp.IsZero() {
		return time.Time{}, false
	}
	at := s.CreationTimestamp.Add(d)
	return at, !now.Before(at)
}

// expiredInvalid is the lifecycle and composed resources of an invalid
// session past its template's maxTimeout: no desktop, and the home volume,
// if one exists, kept exactly as observed, since the session's own
// persistence settings cannot be trusted.
func expiredInvalid(s *Session, expiresAt time.Time, o observed) (lifecycle, map[resource.Name]*fnv1.Resource) {
	l := lifecycle{
		Phase: PhaseExpired, Reason: "Expired",
		Message:   "the session is invalid and past the maxTimeout of its template; its desktop is stopped, its home volume kept",
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
