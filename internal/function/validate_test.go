package function

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/utils/ptr"

	tv1alpha1 "github.com/provider-vdi/provider-vdi/apis/template/v1alpha1"
	mv1alpha1 "github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/function/input/v1beta1"
)

func TestValidateErrors(t *testing.T) {
	cases := map[string]struct {
		reason   string
		session  *Session
		template *tv1alpha1.VDITemplate
		input    *v1beta1.Input
		want     []string
	}{
		"Valid": {
			reason:   "A session within every limit should be valid.",
			session:  session(withGPU(2), withCPU("8"), withMemory("32Gi"), withTimeout("24h"), withPersistence(Persistence{Size: q("100Gi")})),
			template: template(),
		},
		"CPUAboveCap": {
			reason:   "CPU above maxResources.cpu should name the field and the cap.",
			session:  session(withCPU("16")),
			template: template(),
			want:     []string{`spec.resources.cpu: Invalid value: "16": must not exceed 8, the maxResources.cpu of VDITemplate "ubuntu-gpu"`},
		},
		"MemoryAboveDefaultWithoutCap": {
			reason:  "Without a cap, memory should not be raised above the template's default.",
			session: session(withMemory("17Gi")),
			template: template(func(t *tv1alpha1.VDITemplate) {
				t.Spec.MaxResources.Memory = nil
			}),
			want: []string{`spec.resources.memory: Invalid value: "17Gi": must not exceed 16Gi, the resources.memory of VDITemplate "ubuntu-gpu"`},
		},
		"CPUWithoutDefaultOrCap": {
			reason:  "A template with neither default nor cap allows no override.",
			session: session(withCPU("1")),
			template: template(func(t *tv1alpha1.VDITemplate) {
				t.Spec.MaxResources, t.Spec.Resources.CPU = nil, nil
			}),
			want: []string{`spec.resources.cpu: Forbidden: VDITemplate "ubuntu-gpu" sets neither maxResources.cpu nor resources.cpu, so it allows no override`},
		},
		"ZeroCPUAndMemory": {
			reason:   "CPU or memory of 0, which Kubernetes reads as no limit at all, should be refused.",
			session:  session(withCPU("0"), withMemory("0")),
			template: template(),
			want: []string{
				`spec.resources.cpu: Invalid value: "0": must be more than 0`,
				`spec.resources.memory: Invalid value: "0": must be more than 0`,
			},
		},
		"TemplateWithoutLimits": {
			reason:  "A template that sets no CPU or memory, with a session that sets none either, should be refused: the desktop would have no limits.",
			session: session(),
			template: template(func(t *tv1alpha1.VDITemplate) {
				t.Spec.Resources.CPU, t.Spec.Resources.Memory = nil, nil
			}),
			want: []string{
				`spec.resources.cpu: Required value: VDITemplate "ubuntu-gpu" sets no resources.cpu; a desktop needs a CPU limit`,
				`spec.resources.memory: Required value: VDITemplate "ubuntu-gpu" sets no resources.memory; a desktop needs a memory limit`,
			},
		},
		"GPUOnCPUTemplate": {
			reason:  "A GPU asked of a template without GPUs should name the limit of zero.",
			session: session(withGPU(1)),
			template: template(func(t *tv1alpha1.VDITemplate) {
				t.Spec.MaxResources, t.Spec.Resources.GPU = nil, nil
			}),
			want: []string{`spec.resources.gpu: Invalid value: 1: must not exceed 0, the resources.gpu.count of VDITemplate "ubuntu-gpu"`},
		},
		"NegativeGPU": {
			reason:   "A negative GPU count should be invalid.",
			session:  session(withGPU(-1)),
			template: template(),
			want:     []string{`spec.resources.gpu: Invalid value: -1: must not be negative`},
		},
		"SizeAboveMax": {
			reason:   "A home volume above persistence.maxSize should name the field and the cap.",
			session:  session(withPersistence(Persistence{Size: q("200Gi")})),
			template: template(),
			want:     []string{`spec.persistence.size: Invalid value: "200Gi": must not exceed 100Gi, the persistence.maxSize of VDITemplate "ubuntu-gpu"`},
		},
		"TimeoutAboveMax": {
			reason:   "A timeout above maxTimeout should name the field and the limit.",
			session:  session(withTimeout("25h")),
			template: template(),
			want:     []string{`spec.timeout: Invalid value: "25h": must not exceed 24h, the maxTimeout of VDITemplate "ubuntu-gpu"`},
		},
		"TimeoutUnparseable": {
			reason:   "A timeout that is no duration should be invalid.",
			session:  session(withTimeout("1d")),
			template: template(),
			want:     []string{`spec.timeout: Invalid value: "1d": must be a duration such as 8h or 90m`},
		},
		"TimeoutNotPositive": {
			reason:   "A zero timeout should be invalid.",
			session:  session(withTimeout("0s")),
			template: template(),
			want:     []string{`spec.timeout: Invalid value: "0s": must be positive`},
		},
		"TemplateMaxTimeoutBroken": {
			reason:   "A template whose maxTimeout is no duration should be reported against the template.",
			session:  session(),
			template: template(func(t *tv1alpha1.VDITemplate) { t.Spec.MaxTimeout = "forever" }),
			want:     []string{`template.spec.maxTimeout: Invalid value: "forever": VDITemplate "ubuntu-gpu": time: invalid duration "forever"`},
		},
		"NamespaceNotAllowed": {
			reason:   "A namespace outside allowedNamespaces should be forbidden.",
			session:  session(withNamespace("team-z")),
			template: template(func(t *tv1alpha1.VDITemplate) { t.Spec.AllowedNamespaces = []string{"team-a"} }),
			want:     []string{`metadata.namespace: Forbidden: namespace "team-z" may not use VDITemplate "ubuntu-gpu" (allowedNamespaces: team-a)`},
		},
		"UserNotALabel": {
			reason:   "A user name that is no DNS label should be invalid.",
			session:  session(withUser("Alice_Smith")),
			template: template(),
			want:     []string{`spec.user: Invalid value: "Alice_Smith": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`},
		},
		"NameTooLong": {
			reason:   "A session name too long for its composed names should name the limit.",
			session:  session(withName(strings.Repeat("a", 56))),
			template: template(),
			want: []string{
				`metadata.name: Too long: may not be more than 55 bytes`,
				`metadata.name: Invalid value: "` + strings.Repeat("a", 56) + `": the desktop's host label "` + strings.Repeat("a", 56) + `-team-a-56" (<name>-<namespace>-<length of name>) must be no more than 63 characters`,
			},
		},
		"HostLabelTooLong": {
			reason:   "A session whose host label <name>-<namespace> is longer than a DNS label should name the limit.",
			session:  session(withName(strings.Repeat("a", 50)), withNamespace("a-long-team-name")),
			template: template(),
			want:     []string{`metadata.name: Invalid value: "` + strings.Repeat("a", 50) + `": the desktop's host label "` + strings.Repeat("a", 50) + `-a-long-team-name-50" (<name>-<namespace>-<length of name>) must be no more than 63 characters`},
		},
		"NameWithDot": {
			reason:   "A session name with a dot cannot name a Service.",
			session:  session(withName("alice.gpu")),
			template: template(),
			want:     []string{`metadata.name: Invalid value: "alice.gpu": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`},
		},
		"NoDomain": {
			reason:   "Input without a domain should be reported.",
			session:  session(),
			template: template(),
			input:    &v1beta1.Input{},
			want:     []string{`input.ingress.domain: Required value: the function's input must name the domain desktops are served under`},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			in := tc.input
			if in == nil {
				in = input()
			}
			_, errs := validate(tc.session, tc.template, in)
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("\n%s\nvalidate(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestValidatePlan(t *testing.T) {
	cases := map[string]struct {
		reason   string
		session  *Session
		template *tv1alpha1.VDITemplate
		want     plan
	}{
		"TemplateDefaults": {
			reason:   "A session without overrides should get the template's defaults and the platform's class.",
			session:  session(),
			template: template(func(t *tv1alpha1.VDITemplate) { t.Spec.Persistence.StorageClassName = nil }),
			want: plan{
				resources:  mv1alpha1.ComputeResources{CPU: q("4"), Memory: q("16Gi"), GPU: &mv1alpha1.GPUResources{Count: 1, ResourceName: "nvidia.com/gpu"}},
				persistent: true, volumeSize: *q("20Gi"), storageClassName: ptr.To("fast-ssd"),
				timeout: 8 * time.Hour, host: "alice-gpu-team-a-9.vdi.example.com",
			},
		},
		"Overrides": {
			reason:   "The session's overrides should win over the template's and the platform's.",
			session:  session(withGPU(2), withCPU("6"), withTimeout("90m"), withPersistence(Persistence{Enabled: ptr.To(false), Size: q("50Gi"), StorageClassName: ptr.To("local")})),
			template: template(func(t *tv1alpha1.VDITemplate) { t.Spec.Persistence.StorageClassName = ptr.To("standard") }),
			want: plan{
				resources:  mv1alpha1.ComputeResources{CPU: q("6"), Memory: q("16Gi"), GPU: &mv1alpha1.GPUResources{Count: 2, ResourceName: "nvidia.com/gpu"}},
				persistent: false, volumeSize: *q("50Gi"), storageClassName: ptr.To("local"),
				timeout: 90 * time.Minute, host: "alice-gpu-team-a-9.vdi.example.com",
			},
		},
		"NoGPU": {
			reason:   "Asking for zero GPUs should drop the GPU resources.",
			session:  session(withGPU(0)),
			template: template(func(t *tv1alpha1.VDITemplate) { t.Spec.Persistence = nil }),
			want: plan{
				resources:  mv1alpha1.ComputeResources{CPU: q("4"), Memory: q("16Gi")},
				volumeSize: *q("10Gi"), storageClassName: ptr.To("fast-ssd"),
				timeout: 8 * time.Hour, host: "alice-gpu-team-a-9.vdi.example.com",
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p, errs := validate(tc.session, tc.template, input())
			if len(errs) > 0 {
				t.Fatalf("\n%s\nvalidate(...): unexpected errors: %v", tc.reason, errs)
			}
			// The plan's inputs are the case's own; what it resolves is compared.
			if diff := cmp.Diff(tc.want, *p, cmp.AllowUnexported(plan{}), cmpopts.IgnoreFields(plan{}, "session", "template", "input")); diff != "" {
				t.Errorf("\n%s\nvalidate(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
