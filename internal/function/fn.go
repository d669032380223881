// Package function is function-vdi: it composes a VDISession and the
// VDITemplate it names into the managed resources of provider-vdi.
package function

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/function-sdk-go/logging"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/request"
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
	s, err := sessionFrom(req.GetObserved().GetComposite().GetResource().AsMap())
	if err != nil {
		return fatal(rsp, err)
	}

	rsp.Requirements = requirements(s)
	t, resolved, err := requiredTemplate(req)
	switch {
	case !resolved:
		return rsp, nil // Pass one: Crossplane runs us again with the template.
	case errors.Is(err, errTemplateNotFound):
		return fatal(rsp, errors.Errorf("spec.template: VDITemplate %q not found", s.Spec.Template))
	case err != nil:
		return fatal(rsp, err)
	}

	p, errs := validate(s, t, in)
	if len(errs) > 0 {
		return fatal(rsp, errors.Wrapf(errs.ToAggregate(), "invalid VDISession %q", s.Name))
	}
	observed, err := request.GetObservedComposedResources(req)
	if err != nil {
		return fatal(rsp, errors.Wrap(err, "cannot get observed composed resources"))
	}

	l := decideLifecycle(lifecycleInput{State: s.Spec.State, Created: s.CreationTimestamp.Time, Timeout: p.timeout, Now: f.now()})
	if err := setDesired(req, rsp, p, l, observed); err != nil {
		return fatal(rsp, err)
	}
	rsp.Meta.Ttl = durationpb.New(l.TTL)
	f.log.Debug("Composed VDISession", "namespace", s.Namespace, "name", s.Name, "phase", l.Phase, "ttl", l.TTL)
	return rsp, nil
}

// setDesired adds the composed resources and the session's status to the
// desired state that earlier pipeline steps accumulated.
func setDesired(req *fnv1.RunFunctionRequest, rsp *fnv1.RunFunctionResponse, p *plan, l lifecycle, observed map[resource.Name]resource.ObservedComposed) error {
	desired, err := request.GetDesiredComposedResources(req)
	if err != nil {
		return errors.Wrap(err, "cannot get desired composed resources")
	}
	composed, err := compose(p, l, observed)
	if err != nil {
		return err
	}
	for name, cd := range composed {
		desired[name] = cd
	}
	if err := response.SetDesiredComposedResources(rsp, desired); err != nil {
		return errors.Wrap(err, "cannot set desired composed resources")
	}

	xr, err := request.GetDesiredCompositeResource(req)
	if err != nil {
		return errors.Wrap(err, "cannot get desired composite resource")
	}
	st, c := sessionStatus(p, l, observed)
	so, err := statusObject(st)
	if err != nil {
		return errors.Wrap(err, "cannot convert session status")
	}
	for k, v := range so {
		if err := xr.Resource.SetValue("status."+k, v); err != nil {
			return errors.Wrapf(err, "cannot set status.%s", k)
		}
	}
	if err := response.SetDesiredCompositeResource(rsp, xr); err != nil {
		return errors.Wrap(err, "cannot set desired composite resource")
	}

	newCondition := response.ConditionFalse
	if c.True {
		newCondition = response.ConditionTrue
	}
	cond := newCondition(rsp, ConditionDesktopReady, c.Reason)
	if c.Message != "" {
		cond.WithMessage(c.Message)
	}
	cond.TargetComposite()
	return nil
}

// fatal fails the pipeline. Crossplane then applies nothing and deletes
// nothing, so a running desktop survives a bad edit.
func fatal(rsp *fnv1.RunFunctionResponse, err error) (*fnv1.RunFunctionResponse, error) {
	response.Fatal(rsp, err)
	return rsp, nil
}
