package function

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"

	tv1alpha1 "github.com/provider-vdi/provider-vdi/apis/template/v1alpha1"
)

// FuzzRunFunction feeds RunFunction arbitrary sessions, templates and
// observed Desktops. It must never panic, never return an error, and return
// the same response for the same request. `go test` runs the seed corpus;
// `go test -fuzz=FuzzRunFunction ./internal/function` explores further.
func FuzzRunFunction(f *testing.F) {
	js := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			f.Fatal(err)
		}
		return string(b)
	}
	desktopStatus := `{"apiVersion":"vdi.m.kasm.io/v1alpha1","kind":"Desktop","metadata":{"name":"alice-gpu-desktop"},"status":{"atProvider":{"phase":"Running","nodeName":"n1","pendingRestart":true},"conditions":[{"type":"Ready","status":"True"}]}}`
	seeds := []struct{ xr, tpl, desktop string }{
		{js(session()), js(template()), ""},
		{js(session(withGPU(2), withCPU("8"))), js(template()), desktopStatus},
		{js(session(withGPU(4))), js(template()), ""},
		{js(session(withState(StateStopped))), js(template()), desktopStatus},
		{js(session(withTimeout("30m"))), js(template()), ""},
		{js(session(withTimeout("1d"))), js(template()), ""},
		{js(session(withPersistence(Persistence{Size: q("1Ti"), RetainOnDelete: true}))), js(template()), ""},
		{js(session(withName("a.b"), withUser("Bob"))), js(template()), ""},
		{js(session()), "", ""},
		{js(session()), `{"kind":"VDITemplate","metadata":{"name":"ubuntu-gpu"},"spec":{"image":1}}`, ""},
		{js(session()), js(template(func(t *tv1alpha1.VDITemplate) { t.Name = "other" })), ""},
		{`{"kind":"VDISession","spec":{"resources":{"cpu":"lots"}}}`, js(template()), ""},
		{`{}`, `{}`, `{}`},
	}
	for _, s := range seeds {
		f.Add(s.xr, s.tpl, s.desktop)
	}
	f.Fuzz(func(t *testing.T, xr, tpl, desktop string) {
		req := &fnv1.RunFunctionRequest{
			Input:    mustStruct(input()),
			Observed: &fnv1.State{Composite: &fnv1.Resource{Resource: jsonStruct(xr)}},
		}
		if tpl != "" {
			req.RequiredResources = map[string]*fnv1.Resources{requirementTemplate: {Items: []*fnv1.Resource{{Resource: jsonStruct(tpl)}}}}
		}
		if desktop != "" {
			req.Observed.Resources = map[string]*fnv1.Resource{string(ResourceDesktop): {Resource: jsonStruct(desktop)}}
		}
		f := New(WithClock(func() time.Time { return now }))
		first, err := f.RunFunction(context.Background(), proto.Clone(req).(*fnv1.RunFunctionRequest))
		if err != nil {
			t.Fatalf("RunFunction(...): unexpected error: %v", err)
		}
		second, _ := f.RunFunction(context.Background(), proto.Clone(req).(*fnv1.RunFunctionRequest))
		if !proto.Equal(first, second) {
			t.Errorf("RunFunction(...): the same request gave two responses:\n%v\n%v", first, second)
		}
	})
}

// jsonStruct is the Struct of a JSON object, or an empty one.
func jsonStruct(j string) *structpb.Struct {
	m := map[string]any{}
	_ = json.Unmarshal([]byte(j), &m)
	s, err := structpb.NewStruct(m)
	if err != nil {
		return &structpb.Struct{}
	}
	return s
}
