package desktop

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
)

// Bounds are the most one desktop may have, whoever asks for it. Templates
// cap what sessions ask for, but anyone allowed to create Desktops directly
// bypasses templates: these bounds are the provider's own, set by the
// platform with the provider's flags.
type Bounds struct {
	// CPU, Memory and GPUs are the most a desktop may limit itself to.
	CPU, Memory resource.Quantity
	GPUs        int32

	// Lifetime is the longest a desktop may run, counted from its Desktop's
	// creation, whatever its deadline says and whether it has one: the
	// function gives every Desktop it composes a deadline, but one made
	// directly may have none. Zero sets no limit.
	Lifetime time.Duration
}

// DefaultBounds are the provider's flags' defaults.
var DefaultBounds = Bounds{CPU: resource.MustParse("64"), Memory: resource.MustParse("512Gi"), GPUs: 8, Lifetime: 30 * 24 * time.Hour}

// deadline returns when the desktop of cr must stop: its own deadline or,
// when that is later or missing, its Desktop's creation plus the bounds'
// Lifetime. It is nil when neither applies. A Desktop not yet stored (no
// creation time) has only its own.
func (b Bounds) deadline(cr *v1alpha1.Desktop) *metav1.Time {
	d := cr.Spec.ForProvider.Deadline
	created := cr.GetCreationTimestamp()
	if b.Lifetime <= 0 || created.IsZero() {
		return d
	}
	most := metav1.NewTime(created.Add(b.Lifetime))
	if d == nil || most.Before(d) {
		return &most
	}
	return d
}

// describeDeadline says what deadline cr's desktop has, which must be one:
// its own, or the provider's lifetime limit.
func (b Bounds) describeDeadline(cr *v1alpha1.Desktop) string {
	d := b.deadline(cr)
	at := d.UTC().Format(time.RFC3339)
	if own := cr.Spec.ForProvider.Deadline; own == nil || !own.Equal(d) {
		return fmt.Sprintf("deadline of %s, %s after its creation, the longest this provider lets a desktop run (--max-desktop-lifetime)", at, b.Lifetime)
	}
	return "deadline of " + at
}

// check refuses a desktop without CPU and memory limits, since a Pod
// without them may take a whole node, or with more than the bounds.
func (b Bounds) check(r v1alpha1.ComputeResources) error {
	var errs []error
	quantity := func(name string, q *resource.Quantity, most resource.Quantity) {
		switch {
		case q == nil:
			errs = append(errs, fmt.Errorf("forProvider.resources.%s is required: a desktop without a %s limit could take its whole node", name, name))
		case q.Sign() <= 0:
			errs = append(errs, fmt.Errorf("forProvider.resources.%s must be more than 0, not %s", name, q.String()))
		case q.Cmp(most) > 0:
			errs = append(errs, fmt.Errorf("forProvider.resources.%s %s is more than %s, the most this provider allows a desktop (--max-desktop-%s)", name, q.String(), most.String(), name))
		}
	}
	quantity("cpu", r.CPU, b.CPU)
	quantity("memory", r.Memory, b.Memory)
	if r.GPU != nil && r.GPU.Count > b.GPUs {
		errs = append(errs, fmt.Errorf("forProvider.resources.gpu.count %d is more than %d, the most this provider allows a desktop (--max-desktop-gpus)", r.GPU.Count, b.GPUs))
	}
	if r.GPU != nil {
		if err := v1alpha1.CheckGPUResourceName(r.GPU.ResourceName); err != nil {
			errs = append(errs, errors.Wrap(err, "forProvider"))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errors.Wrap(errors.Join(errs...), "desktop out of bounds")
}

// checkEnv refuses a Desktop that sets an environment variable a desktop
// may not (v1alpha1.CheckEnvName): one that makes the NVIDIA container
// runtime hand it devices.
func checkEnv(cr *v1alpha1.Desktop) error {
	var errs []error
	for _, e := range cr.Spec.ForProvider.Env {
		if err := v1alpha1.CheckEnvName(e.Name); err != nil {
			errs = append(errs, errors.Wrap(err, "forProvider.env"))
		}
	}
	return errors.Join(errs...)
}
