// Package function is function-vdi: it composes a VDISession and the
// VDITemplate it names into the managed resources of provider-vdi.
package function

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/function-sdk-go/logging"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/resource"
	"github.com/crossplane/function-sdk-go/response"
)

// Function composes VDISessions.
type Function struct {
	fnv1.UnimplementedFunctionRunnerServiceServer

	log logging.Logger
	now func() time.Time
}

// An Option configures a Function.
type Option func(*Function)

// WithLogger sets the Function's logger.
func WithLogger(l logging.Logger) Option { return func(f *Function) { f.log = l } }

// WithClock sets the clock that decides expiry; tests inject a fixed one.
func WithClock(now func() time.Time) Option { return func(f *Function) { f.now = now } }

// New returns a Function.
func New(o ...Option) *Function {
	f := &Function{log: logging.NewNopLogger(), now: time.Now}
	for _, fn := range o {
		fn(f)
	}
	return f
}

// RunFunction composes a VDISession in two passes: first it asks Crossplane
// for the session's VDITemplate, then it validates and composes. Broken
// input is a Fatal result, which leaves every existing resource in place.
// RunFunction always returns a nil error.
func (f *Function) RunFunction(_ context.Context, req *fnv1.RunFunctionRequest) (*fnv1.RunFunctionResponse, error) {
	rsp := response.To(req, response.DefaultTTL)

	in, err := inputFrom(req)
	if err != nil {
		return fatal(rsp, err)
	}
	s, err := sessionFrom(req.GetObserved().GetComposite().GetResource())
	if err != nil {
		return fatal(rsp, err)
	}

	rsp.Requirements = requirements(s)
	o, now := observed(req.GetObserved().GetResources()), f.now()
	t, resolved, err := requiredTemplate(req, s.Spec.Template)
	switch {
	case !resolved:
		return rsp, nil // Pass one: Crossplane runs us again with the template.
	case errors.Is(err, errTemplateNotFound):
		return f.invalid(req, rsp, s, o, now, errors.Errorf("spec.template: VDITemplate %q not found", s.Spec.Template))
	case err != nil:
		return fatal(rsp, err)
	}

	p, errs := validate(s, t, in)
	if len(errs) > 0 {
		return f.invalid(req, rsp, s, o, now, errors.Wrapf(errs.ToAggregate(), "invalid VDISession %q", s.Name))
	}

	l := decideLifecycle(lifecycleInput{State: s.Spec.State, Created: s.CreationTimestamp.Time, Timeout: p.timeout, Defaulted: s.Spec.Timeout == "", Deadline: o.desktopDeadline(), Now: now})
	composed, held, err := compose(p, l, o)
	if err != nil {
		return fatal(rsp, err)
	}
	if !p.persistent && o.has(ResourceHome) {
		response.Warning(rsp, errors.Errorf("spec.persistence: the session no longer asks for a home volume, but DesktopVolume %q exists; it is kept until the session is deleted", homeName(s))).TargetComposite()
	}
	st, c := sessionStatus(p, l, o, held)
	return f.respond(req, rsp, s, l, composed, st, c)
}

// invalid answers a session that is invalid or names a missing template:
// Fatal, so that nothing changes, unless its desktop is past the deadline it
// already carries and so expired whatever the session now says; then it
// stops the desktop and warns. Only the recorded deadline counts, never one
// derived from the session's current template, which the user may have
// changed.
func (f *Function) invalid(req *fnv1.RunFunctionRequest, rsp *fnv1.RunFunctionResponse, s *Session, o observed, now time.Time, err error) (*fnv1.RunFunctionResponse, error) {
	at := o.desktopDeadline()
	if at.IsZero() || now.Before(at) {
		return fatal(rsp, err)
	}
	response.Warning(rsp, err).TargetComposite()
	l, composed := expiredInvalid(s, at, o)
	st, c := lifecycleStatus(l)
	return f.respond(req, rsp, s, l, composed, st, c)
}

// respond completes the response: desired state, condition and TTL.
func (f *Function) respond(req *fnv1.RunFunctionRequest, rsp *fnv1.RunFunctionResponse, s *Session, l lifecycle, composed map[resource.Name]*fnv1.Resource, st SessionStatus, c condition) (*fnv1.RunFunctionResponse, error) {
	var err error
	if rsp.Desired, err = desiredState(req.GetDesired(), composed, st); err != nil {
		return fatal(rsp, err)
	}
	setCondition(rsp, c)
	ttl := responseTTL(l.TTL, st.Phase)
	rsp.Meta.Ttl = durationpb.New(ttl)
	f.log.Debug("Composed VDISession", "namespace", s.Namespace, "name", s.Name, "phase", st.Phase, "ttl", ttl)
	return rsp, nil
}

// desiredState is the desired state earlier pipeline steps accumulated,
// plus the composed resources and the session's status. It leaves the
// request's state untouched.
func desiredState(in *fnv1.State, composed map[resource.Name]*fnv1.Resource, st SessionStatus) (*fnv1.State, error) {
	out := &fnv1.State{Resources: make(map[string]*fnv1.Resource, len(in.GetResources())+len(composed))}
	for name, r := range in.GetResources() {
		out.Resources[name] = r
	}
	for name, r := range composed {
		out.Resources[string(name)] = r
	}

	xr := &structpb.Struct{Fields: make(map[string]*structpb.Value, len(in.GetComposite().GetResource().GetFields())+1)}
	for k, v := range in.GetComposite().GetResource().GetFields() {
		xr.Fields[k] = v
	}
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&st)
	if err != nil {
		return nil, errors.Wrap(err, "cannot convert the session's status")
	}
	status, err := structpb.NewStruct(u)
	if err != nil {
		return nil, errors.Wrap(err, "cannot convert the session's status")
	}
	for k, v := range xr.Fields["status"].GetStructValue().GetFields() {
		if _, ours := status.Fields[k]; !ours {
			status.Fields[k] = v
		}
	}
	xr.Fields["status"] = structpb.NewStructValue(status)
	out.Composite = &fnv1.Resource{Resource: xr, Ready: in.GetComposite().GetReady(), ConnectionDetails: in.GetComposite().GetConnectionDetails()}
	return out, nil
}

// setCondition sets the session's DesktopReady condition.
func setCondition(rsp *fnv1.RunFunctionResponse, c condition) {
	newCondition := response.ConditionFalse
	if c.True {
		newCondition = response.ConditionTrue
	}
	cond := newCondition(rsp, ConditionDesktopReady, c.Reason)
	if c.Message != "" {
		cond.WithMessage(c.Message)
	}
	cond.TargetComposite()
}

// fatal fails the pipeline. Crossplane then applies nothing and deletes
// nothing, so a running desktop survives a bad edit.
func fatal(rsp *fnv1.RunFunctionResponse, err error) (*fnv1.RunFunctionResponse, error) {
	response.Fatal(rsp, err)
	return rsp, nil
}
