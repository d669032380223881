package function

import (
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"

	"github.com/provider-vdi/provider-vdi/internal/function/input/v1beta1"
)

// inputFrom decodes the step's input strictly: an unknown field is an error.
// It does not use request.GetInput, whose JSON decoder words the same error
// differently from call to call (protojson varies its output on purpose),
// and a function's output must be a function of its input. The
// converter's strict mode names every unknown field, sorted.
func inputFrom(req *fnv1.RunFunctionRequest) (*v1beta1.Input, error) {
	in := &v1beta1.Input{}
	if req.GetInput() == nil {
		return nil, errors.New("cannot get function input: the pipeline step has no input")
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(req.GetInput().AsMap(), in, true); err != nil {
		return nil, errors.Wrap(err, "cannot decode function input")
	}
	return in, nil
}
