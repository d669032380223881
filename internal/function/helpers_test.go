package function

import (
	"time"

	"google.golang.org/protobuf/types/known/structpb"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	fnresource "github.com/crossplane/function-sdk-go/resource"
	"github.com/crossplane/function-sdk-go/resource/composed"

	tv1alpha1 "github.com/provider-vdi/provider-vdi/apis/template/v1alpha1"
	mv1alpha1 "github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/function/input/v1beta1"
)

// Fixed times of the tests: sessions are created at created and decided at
// now, one hour later.
var (
	created = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	now     = created.Add(time.Hour)
)

func q(s string) *resource.Quantity { v := resource.MustParse(s); return &v }

// session returns a running GPU session "alice-gpu" in namespace "team-a".
func session(mods ...func(*Session)) *Session {
	s := &Session{
		TypeMeta:   metav1.TypeMeta{APIVersion: SessionAPIVersion, Kind: SessionKind},
		ObjectMeta: metav1.ObjectMeta{Name: "alice-gpu", Namespace: "team-a", CreationTimestamp: metav1.NewTime(created)},
		Spec:       SessionSpec{User: "alice", Template: "ubuntu-gpu", State: StateRunning},
	}
	for _, m := range mods {
		m(s)
	}
	return s
}

func withGPU(n int32) func(*Session) {
	return func(s *Session) {
		if s.Spec.Resources == nil {
			s.Spec.Resources = &ResourceOverrides{}
		}
		s.Spec.Resources.GPU = ptr.To(n)
	}
}

func withCPU(v string) func(*Session) {
	return func(s *Session) {
		if s.Spec.Resources == nil {
			s.Spec.Resources = &ResourceOverrides{}
		}
		s.Spec.Resources.CPU = q(v)
	}
}

func withMemory(v string) func(*Session) {
	return func(s *Session) {
		if s.Spec.Resources == nil {
			s.Spec.Resources = &ResourceOverrides{}
		}
		s.Spec.Resources.Memory = q(v)
	}
}

func withPersistence(p Persistence) func(*Session) {
	return func(s *Session) { s.Spec.Persistence = &p }
}

func withTimeout(t string) func(*Session) { return func(s *Session) { s.Spec.Timeout = t } }
func withState(st string) func(*Session)  { return func(s *Session) { s.Spec.State = st } }
func withUser(u string) func(*Session)    { return func(s *Session) { s.Spec.User = u } }
func withName(n string) func(*Session)    { return func(s *Session) { s.Name = n } }
func withNamespace(n string) func(*Session) {
	return func(s *Session) { s.Namespace = n }
}

// template returns the GPU Ubuntu template "ubuntu-gpu".
func template(mods ...func(*tv1alpha1.VDITemplate)) *tv1alpha1.VDITemplate {
	t := &tv1alpha1.VDITemplate{
		TypeMeta:   metav1.TypeMeta{APIVersion: tv1alpha1.SchemeGroupVersion.String(), Kind: tv1alpha1.VDITemplateKind},
		ObjectMeta: metav1.ObjectMeta{Name: "ubuntu-gpu"},
		Spec: tv1alpha1.VDITemplateSpec{
			Image: "ghcr.io/selkies-project/nvidia-egl-desktop:24.04",
			Port:  8080,
			Resources: mv1alpha1.ComputeResources{
				CPU: q("4"), Memory: q("16Gi"),
				GPU: &mv1alpha1.GPUResources{Count: 1, ResourceName: "nvidia.com/gpu"},
			},
			MaxResources:     &tv1alpha1.ResourceCaps{CPU: q("8"), Memory: q("32Gi"), GPU: ptr.To[int32](2)},
			Env:              []mv1alpha1.EnvVar{{Name: "TZ", Value: "UTC"}},
			NodeSelector:     map[string]string{"nvidia.com/gpu.present": "true"},
			Tolerations:      []corev1.Toleration{{Key: "nvidia.com/gpu", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
			RuntimeClassName: ptr.To("nvidia"),
			ShmSize:          q("2Gi"),
			HomeMountPath:    "/home/ubuntu",
			Persistence:      &tv1alpha1.PersistenceDefaults{Enabled: true, Size: q("20Gi"), MaxSize: q("100Gi")},
			DefaultTimeout:   "8h",
			MaxTimeout:       "24h",
		},
	}
	for _, m := range mods {
		m(t)
	}
	return t
}

func input() *v1beta1.Input {
	return &v1beta1.Input{
		TypeMeta: metav1.TypeMeta{APIVersion: "vdi.fn.kasm.io/v1beta1", Kind: "Input"},
		Ingress: v1beta1.Ingress{
			Domain:      "vdi.example.com",
			EntryPoints: []string{"websecure"},
			TLS:         &v1beta1.TLS{SecretName: "vdi-wildcard-tls"},
			Namespace:   "traefik",
		},
		Storage:           &v1beta1.Storage{StorageClassName: ptr.To("fast-ssd")},
		ProviderConfigRef: &v1beta1.ProviderConfigReference{Kind: "ClusterProviderConfig", Name: "gpu-cluster"},
	}
}

func mustStruct(o runtime.Object) *structpb.Struct { return fnresource.MustStructObject(o) }

// sessionStruct is the observed VDISession as Crossplane sends it.
func sessionStruct(s *Session) *structpb.Struct {
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(s)
	if err != nil {
		panic(err)
	}
	st, err := structpb.NewStruct(u)
	if err != nil {
		panic(err)
	}
	return st
}

// observedMR returns an observed managed resource with the Ready condition
// and atProvider given.
func observedMR(o runtime.Object, ready bool, atProvider map[string]any) *fnv1.Resource {
	cd, err := composed.From(o)
	if err != nil {
		panic(err)
	}
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	cd.Object["status"] = map[string]any{
		"atProvider": atProvider,
		"conditions": []any{map[string]any{"type": "Ready", "status": string(st), "reason": "Available", "lastTransitionTime": "2026-05-01T09:01:00Z"}},
	}
	return &fnv1.Resource{Resource: mustStruct(cd)}
}

// request of a session's function run.
type reqOpt func(*fnv1.RunFunctionRequest)

func runRequest(s *Session, opts ...reqOpt) *fnv1.RunFunctionRequest {
	r := &fnv1.RunFunctionRequest{
		Meta:     &fnv1.RequestMeta{Tag: "t"},
		Input:    mustStruct(input()),
		Observed: &fnv1.State{Composite: &fnv1.Resource{Resource: sessionStruct(s)}},
		Desired:  &fnv1.State{},
	}
	for _, o := range opts {
		o(r)
	}
	return r
}

func withTemplate(t *tv1alpha1.VDITemplate) reqOpt {
	return func(r *fnv1.RunFunctionRequest) {
		r.RequiredResources = map[string]*fnv1.Resources{requirementTemplate: {Items: []*fnv1.Resource{{Resource: mustStruct(t)}}}}
	}
}

func withoutTemplate() reqOpt {
	return func(r *fnv1.RunFunctionRequest) {
		r.RequiredResources = map[string]*fnv1.Resources{requirementTemplate: {}}
	}
}

func withObserved(name fnresource.Name, res *fnv1.Resource) reqOpt {
	return func(r *fnv1.RunFunctionRequest) {
		if r.Observed.Resources == nil {
			r.Observed.Resources = map[string]*fnv1.Resource{}
		}
		r.Observed.Resources[string(name)] = res
	}
}

func withDesired(name fnresource.Name, res *fnv1.Resource) reqOpt {
	return func(r *fnv1.RunFunctionRequest) {
		if r.Desired.Resources == nil {
			r.Desired.Resources = map[string]*fnv1.Resource{}
		}
		r.Desired.Resources[string(name)] = res
	}
}

func withInput(in *structpb.Struct) reqOpt { return func(r *fnv1.RunFunctionRequest) { r.Input = in } }

// observedAll is a GPU session whose four resources all run.
func observedAll(s *Session) []reqOpt {
	p, errs := validate(s, template(), input())
	if len(errs) > 0 {
		panic(errs.ToAggregate())
	}
	return []reqOpt{
		withObserved(ResourceDesktop, observedMR(desktop(p, created.Add(8*time.Hour)), true, map[string]any{"phase": "Running", "ready": true, "nodeName": "gpu-node-1", "podIP": "10.0.0.7"})),
		withObserved(ResourceHome, observedMR(home(p, false), true, map[string]any{"phase": "Bound", "capacity": "20Gi"})),
		withObserved(ResourceService, observedMR(service(p), true, map[string]any{"clusterIP": "10.96.0.10"})),
		withObserved(ResourceRoute, observedMR(route(p), true, map[string]any{"url": "https://alice-gpu-team-a-9.vdi.example.com/"})),
	}
}
