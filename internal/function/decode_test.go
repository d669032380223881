package function

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/structpb"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	fnresource "github.com/crossplane/function-sdk-go/resource"

	tv1alpha1 "github.com/provider-vdi/provider-vdi/apis/template/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/function/input/v1beta1"
)

// TestFromStruct holds fromStruct equal to the apimachinery converter on
// the objects the function reads.
func TestFromStruct(t *testing.T) {
	cmpQuantity := cmp.Comparer(func(a, b resource.Quantity) bool { return a.Cmp(b) == 0 })
	cases := map[string]struct {
		reason string
		in     *structpb.Struct
		into   func() any
	}{
		"Template": {
			reason: "A full GPU template should decode as the converter decodes it.",
			in:     mustStruct(template()),
			into:   func() any { return &tv1alpha1.VDITemplate{} },
		},
		"Input": {
			reason: "The function's input should decode as the converter decodes it.",
			in:     mustStruct(input()),
			into:   func() any { return &v1beta1.Input{} },
		},
		"Session": {
			reason: "A session with overrides should decode as the converter decodes it.",
			in:     sessionStruct(session(withGPU(2), withCPU("3500m"), withPersistence(Persistence{Enabled: ptr.To(true), Size: q("50Gi"), RetainOnDelete: true}))),
			into:   func() any { return &Session{} },
		},
		"IntegerQuantity": {
			reason: "A quantity written as a number should decode.",
			in:     fnresource.MustStructJSON(`{"spec":{"resources":{"cpu":4,"memory":"8Gi"}}}`),
			into:   func() any { return &Session{} },
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			want, got := tc.into(), tc.into()
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(tc.in.AsMap(), want); err != nil {
				t.Fatal(err)
			}
			if err := fromStruct(tc.in, got, true); err != nil {
				t.Fatalf("\n%s\nfromStruct(...): unexpected error: %v", tc.reason, err)
			}
			if diff := cmp.Diff(want, got, cmpQuantity); diff != "" {
				t.Errorf("\n%s\nfromStruct(...): -want (converter), +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestFromStructErrors(t *testing.T) {
	cases := map[string]struct {
		reason string
		in     string
		strict bool
		want   string
	}{
		"UnknownNested": {
			reason: "Strict decoding should name an unknown nested field with its path.",
			in:     `{"ingress":{"domain":"x","tls":{"secret":"y"}}}`,
			strict: true,
			want:   `ingress.tls: unknown field "secret"`,
		},
		"WrongType": {
			reason: "A value of the wrong type should be named with its path.",
			in:     `{"ingress":{"entryPoints":["web",3]}}`,
			want:   `ingress.entryPoints.1: must be a string`,
		},
		"NumberForString": {
			reason: "A number where a string belongs should be named with its path.",
			in:     `{"ingress":{"domain":"x"},"providerConfigRef":{"kind":1.5}}`,
			want:   `providerConfigRef.kind: must be a string`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := fromStruct(fnresource.MustStructJSON(tc.in), &v1beta1.Input{}, tc.strict)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("\n%s\nfromStruct(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
	t.Run("FractionalGPU", func(t *testing.T) {
		err := fromStruct(fnresource.MustStructJSON(`{"spec":{"resources":{"gpu":1.5}}}`), &Session{}, false)
		if diff := cmp.Diff("spec.resources.gpu: must be an integer", errString(err)); diff != "" {
			t.Errorf("fromStruct(...): -want, +got:\n%s", diff)
		}
	})
	t.Run("BadQuantity", func(t *testing.T) {
		err := fromStruct(fnresource.MustStructJSON(`{"spec":{"resources":{"cpu":"lots"}}}`), &Session{}, false)
		if diff := cmp.Diff("spec.resources.cpu: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'", errString(err)); diff != "" {
			t.Errorf("fromStruct(...): -want, +got:\n%s", diff)
		}
	})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
