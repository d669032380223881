package function

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	tv1alpha1 "github.com/provider-vdi/provider-vdi/apis/template/v1alpha1"
	mv1alpha1 "github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/function/input/v1beta1"
)

// Limits the names of composed resources impose on a session.
const (
	// maxSessionName keeps the longest composed name, <session>-service, a
	// DNS label of at most 63 characters: it names a Service and a Pod's
	// host name in the target cluster.
	maxSessionName = validation.DNS1123LabelMaxLength - len("-service")

	// Defaults of a template that sets none; the VDITemplate CRD applies
	// the same ones.
	defaultTimeout  = "8h"
	defaultMaxTime  = "24h"
	defaultHomeSize = "10Gi"
)

// A plan is a session resolved against its template and the platform's
// input: every value compose needs, already validated.
type plan struct {
	session  *Session
	template *tv1alpha1.VDITemplate
	input    *v1beta1.Input

	resources        mv1alpha1.ComputeResources
	persistent       bool
	volumeSize       resource.Quantity
	storageClassName *string
	timeout          time.Duration
	host             string
}

// validate resolves the session's overrides against its template and
// returns every way in which the session breaks the template's limits. Each
// error names the field and the limit.
func validate(s *Session, t *tv1alpha1.VDITemplate, in *v1beta1.Input) (*plan, field.ErrorList) {
	p := &plan{session: s, template: t, input: in}
	errs := validateNames(s, in)
	errs = append(errs, validateNamespace(s, t)...)

	var e field.ErrorList
	p.resources, e = resolveResources(s, t)
	errs = append(errs, e...)
	p.persistent, p.volumeSize, p.storageClassName, e = resolvePersistence(s, t, in)
	errs = append(errs, e...)
	p.timeout, e = resolveTimeout(s, t)
	errs = append(errs, e...)

	p.host = host(s, in)
	return p, errs
}

func validateNames(s *Session, in *v1beta1.Input) field.ErrorList {
	var errs field.ErrorList
	name := field.NewPath("metadata", "name")
	for _, msg := range validation.IsDNS1035Label(s.Name) {
		errs = append(errs, field.Invalid(name, s.Name, msg))
	}
	if len(s.Name) > maxSessionName {
		errs = append(errs, field.TooLong(name, s.Name, maxSessionName))
	}
	user := field.NewPath("spec", "user")
	for _, msg := range validation.IsDNS1123Label(s.Spec.User) {
		errs = append(errs, field.Invalid(user, s.Spec.User, msg))
	}
	if l := hostLabel(s); len(l) > validation.DNS1123LabelMaxLength {
		errs = append(errs, field.Invalid(name, s.Name,
			fmt.Sprintf("the desktop's host label %q (<name>-<namespace>-<length of name>) must be no more than %d characters", l, validation.DNS1123LabelMaxLength)))
	}
	if in.Ingress.Domain == "" {
		errs = append(errs, field.Required(field.NewPath("input", "ingress", "domain"), "the function's input must name the domain desktops are served under"))
	}
	return errs
}

func validateNamespace(s *Session, t *tv1alpha1.VDITemplate) field.ErrorList {
	allowed := t.Spec.AllowedNamespaces
	if len(allowed) == 0 || slices.Contains(allowed, s.Namespace) {
		return nil
	}
	return field.ErrorList{field.Forbidden(field.NewPath("metadata", "namespace"),
		fmt.Sprintf("namespace %q may not use VDITemplate %q (allowedNamespaces: %s)", s.Namespace, t.Name, strings.Join(allowed, ", ")))}
}

// resolveResources applies the session's overrides to the template's
// resources. A resource the template does not cap cannot be raised above
// its default.
func resolveResources(s *Session, t *tv1alpha1.VDITemplate) (mv1alpha1.ComputeResources, field.ErrorList) {
	def := t.Spec.Resources
	out := mv1alpha1.ComputeResources{CPU: def.CPU, Memory: def.Memory, GPU: def.GPU}
	// A desktop without CPU and memory limits could take its whole node;
	// the provider refuses one, so say so here, on the session.
	var errs field.ErrorList
	path := field.NewPath("spec", "resources")
	if def.CPU == nil && (s.Spec.Resources == nil || s.Spec.Resources.CPU == nil) {
		errs = append(errs, field.Required(path.Child("cpu"), fmt.Sprintf("VDITemplate %q sets no resources.cpu; a desktop needs a CPU limit", t.Name)))
	}
	if def.Memory == nil && (s.Spec.Resources == nil || s.Spec.Resources.Memory == nil) {
		errs = append(errs, field.Required(path.Child("memory"), fmt.Sprintf("VDITemplate %q sets no resources.memory; a desktop needs a memory limit", t.Name)))
	}
	o := s.Spec.Resources
	if o == nil {
		return out, errs
	}
	caps := t.Spec.MaxResources
	if caps == nil {
		caps = &tv1alpha1.ResourceCaps{}
	}
	if o.CPU != nil {
		errs = append(errs, withinCap(path.Child("cpu"), t.Name, *o.CPU, "maxResources.cpu", caps.CPU, "resources.cpu", def.CPU)...)
		out.CPU = o.CPU
	}
	if o.Memory != nil {
		errs = append(errs, withinCap(path.Child("memory"), t.Name, *o.Memory, "maxResources.memory", caps.Memory, "resources.memory", def.Memory)...)
		out.Memory = o.Memory
	}
	if o.GPU != nil {
		errs = append(errs, gpuWithinCap(path.Child("gpu"), t, *o.GPU)...)
		out.GPU = gpu(def.GPU, *o.GPU)
	}
	return out, errs
}

// withinCap checks an override against the cap, or against the default when
// the template sets no cap.
func withinCap(path *field.Path, tpl string, v resource.Quantity, capName string, limit *resource.Quantity, defName string, def *resource.Quantity) field.ErrorList {
	if v.Sign() <= 0 {
		// Kubernetes reads a limit of 0 as no limit at all.
		return field.ErrorList{field.Invalid(path, v.String(), "must be more than 0")}
	}
	if limit == nil && def == nil {
		return field.ErrorList{field.Forbidden(path, fmt.Sprintf("VDITemplate %q sets neither %s nor %s, so it allows no override", tpl, capName, defName))}
	}
	if limit == nil {
		limit, capName = def, defName
	}
	if v.Cmp(*limit) > 0 {
		return field.ErrorList{field.Invalid(path, v.String(), fmt.Sprintf("must not exceed %s, the %s of VDITemplate %q", limit.String(), capName, tpl))}
	}
	return nil
}

func gpuWithinCap(path *field.Path, t *tv1alpha1.VDITemplate, n int32) field.ErrorList {
	var limit int32
	capName := "resources.gpu.count"
	if g := t.Spec.Resources.GPU; g != nil {
		limit = g.Count
	}
	if c := t.Spec.MaxResources; c != nil && c.GPU != nil {
		limit, capName = *c.GPU, "maxResources.gpu"
	}
	if n < 0 {
		return field.ErrorList{field.Invalid(path, n, "must not be negative")}
	}
	if n > limit {
		return field.ErrorList{field.Invalid(path, n, fmt.Sprintf("must not exceed %d, the %s of VDITemplate %q", limit, capName, t.Name))}
	}
	return nil
}

// gpu is the template's GPU resources with the session's count; none at all
// when the count is zero.
func gpu(def *mv1alpha1.GPUResources, n int32) *mv1alpha1.GPUResources {
	if n == 0 {
		return nil
	}
	out := &mv1alpha1.GPUResources{Count: n}
	if def != nil {
		out.ResourceName = def.ResourceName
	}
	return out
}

// resolvePersistence decides whether the session has a home volume, and its
// size and storage class: the session's, else the template's, else the
// platform's.
func resolvePersistence(s *Session, t *tv1alpha1.VDITemplate, in *v1beta1.Input) (bool, resource.Quantity, *string, field.ErrorList) {
	tp := t.Spec.Persistence
	if tp == nil {
		tp = &tv1alpha1.PersistenceDefaults{}
	}
	sp := s.Spec.Persistence
	if sp == nil {
		sp = &Persistence{}
	}

	enabled := tp.Enabled
	if sp.Enabled != nil {
		enabled = *sp.Enabled
	}

	size, capName, limit := resource.MustParse(defaultHomeSize), "persistence.size", resource.MustParse(defaultHomeSize)
	if tp.Size != nil {
		size, limit = *tp.Size, *tp.Size
	}
	if tp.MaxSize != nil {
		capName, limit = "persistence.maxSize", *tp.MaxSize
	}
	var errs field.ErrorList
	if sp.Size != nil {
		if sp.Size.Cmp(limit) > 0 {
			errs = append(errs, field.Invalid(field.NewPath("spec", "persistence", "size"), sp.Size.String(),
				fmt.Sprintf("must not exceed %s, the %s of VDITemplate %q", limit.String(), capName, t.Name)))
		}
		size = *sp.Size
	}

	class := sp.StorageClassName
	if class == nil {
		class = tp.StorageClassName
	}
	if class == nil && in.Storage != nil {
		class = in.Storage.StorageClassName
	}
	return enabled, size, class, errs
}

// resolveTimeout returns the session's timeout, or the template's default,
// and checks it against the template's maxTimeout.
func resolveTimeout(s *Session, t *tv1alpha1.VDITemplate) (time.Duration, field.ErrorList) {
	def, limit := cmp.Or(t.Spec.DefaultTimeout, defaultTimeout), cmp.Or(t.Spec.MaxTimeout, defaultMaxTime)
	maxTimeout, err := time.ParseDuration(limit)
	if err != nil {
		return 0, field.ErrorList{field.Invalid(field.NewPath("template", "spec", "maxTimeout"), limit, fmt.Sprintf("VDITemplate %q: %v", t.Name, err))}
	}
	path, v := field.NewPath("spec", "timeout"), s.Spec.Timeout
	if v == "" {
		path, v = field.NewPath("template", "spec", "defaultTimeout"), def
	}
	d, err := time.ParseDuration(v)
	switch {
	case err != nil:
		return 0, field.ErrorList{field.Invalid(path, v, "must be a duration such as 8h or 90m")}
	case d <= 0:
		return 0, field.ErrorList{field.Invalid(path, v, "must be positive")}
	case d > maxTimeout:
		return 0, field.ErrorList{field.Invalid(path, v, fmt.Sprintf("must not exceed %s, the maxTimeout of VDITemplate %q", limit, t.Name))}
	}
	return d, nil
}
