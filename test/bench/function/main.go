//go:build bench

// Command function is the composition function of `make bench-e2e`'s peers:
// it composes the same Pod, PersistentVolumeClaim, Service and IngressRoute
// that provider-vdi makes for a session, either as raw objects (Crossplane
// with no provider) or wrapped in provider-kubernetes `Object`s. The objects
// come in the step's input, captured from a session provider-vdi made; every
// occurrence of the input's placeholder is replaced by the composite's name.
// It is test-only: nothing ships it.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"google.golang.org/protobuf/encoding/protojson"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	function "github.com/crossplane/function-sdk-go"
	"github.com/crossplane/function-sdk-go/logging"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/request"
	"github.com/crossplane/function-sdk-go/resource"
	"github.com/crossplane/function-sdk-go/resource/composed"
	"github.com/crossplane/function-sdk-go/response"

	"github.com/provider-vdi/provider-vdi/test/bench/manifest"
)

// Modes of composition.
const (
	// ModeRaw composes the objects themselves.
	ModeRaw = "raw"
	// ModeObject composes a provider-kubernetes Object per object.
	ModeObject = "object"
)

// Input of the function's step.
type Input struct {
	// Mode is ModeRaw or ModeObject.
	Mode string `json:"mode"`
	// Placeholder is replaced by the composite's name in every object.
	Placeholder string `json:"placeholder"`
	// ProviderConfig is the provider-kubernetes ClusterProviderConfig that
	// Objects use.
	ProviderConfig string `json:"providerConfig,omitempty"`
	// Objects are the manifests to compose, by composed resource name.
	Objects map[string]map[string]any `json:"objects"`
}

type fn struct {
	fnv1.UnimplementedFunctionRunnerServiceServer
	log logging.Logger
}

// RunFunction composes the objects of the input for the composite, marks
// each ready as its observed state says, and sets the composite's
// status.phase to Running once all are. An error is fatal to the step.
func (f *fn) RunFunction(_ context.Context, req *fnv1.RunFunctionRequest) (*fnv1.RunFunctionResponse, error) {
	rsp := response.To(req, response.DefaultTTL)
	if err := f.compose(req, rsp); err != nil {
		response.Fatal(rsp, err)
	}
	return rsp, nil
}

// compose sets the desired state of req's composite and its composed
// resources in rsp.
func (f *fn) compose(req *fnv1.RunFunctionRequest, rsp *fnv1.RunFunctionResponse) error {
	in := &Input{}
	b, err := protojson.Marshal(req.GetInput())
	if err == nil {
		err = json.Unmarshal(b, in)
	}
	if err != nil {
		return errors.Wrap(err, "cannot read input")
	}
	xr, err := request.GetObservedCompositeResource(req)
	if err != nil {
		return errors.Wrap(err, "cannot get composite")
	}
	observed, err := request.GetObservedComposedResources(req)
	if err != nil {
		return errors.Wrap(err, "cannot get observed resources")
	}
	desired, err := request.GetDesiredComposedResources(req)
	if err != nil {
		return errors.Wrap(err, "cannot get desired resources")
	}
	name, ns := xr.Resource.GetName(), xr.Resource.GetNamespace()
	all := true
	for rn, tmpl := range in.Objects {
		obj, err := manifest.Instance(tmpl, in.Placeholder, name, ns)
		if err != nil {
			return err
		}
		if in.Mode == ModeObject {
			obj = object(obj, in.ProviderConfig)
		}
		d := &resource.DesiredComposed{Resource: composed.New(), Ready: resource.ReadyFalse}
		d.Resource.Object = obj.Object
		if ready(observed[resource.Name(rn)], in.Mode) {
			d.Ready = resource.ReadyTrue
		} else {
			all = false
		}
		desired[resource.Name(rn)] = d
	}
	if err := response.SetDesiredComposedResources(rsp, desired); err != nil {
		return errors.Wrap(err, "cannot set desired resources")
	}
	phase := "Pending"
	if all {
		phase = "Running"
	}
	dxr, err := request.GetDesiredCompositeResource(req)
	if err != nil {
		return errors.Wrap(err, "cannot get desired composite")
	}
	if err := dxr.Resource.SetValue("status.phase", phase); err != nil {
		return errors.Wrap(err, "cannot set phase")
	}
	if err := response.SetDesiredCompositeResource(rsp, dxr); err != nil {
		return errors.Wrap(err, "cannot set desired composite")
	}
	f.log.Debug("Composed", "namespace", ns, "name", name, "mode", in.Mode, "phase", phase)
	return nil
}

// object wraps obj in a namespaced provider-kubernetes Object that watches
// it; a Pod's Object is ready when the Pod is (DeriveFromObject), the
// others once created.
func object(obj *unstructured.Unstructured, providerConfig string) *unstructured.Unstructured {
	o := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kubernetes.m.crossplane.io/v1alpha1",
		"kind":       "Object",
		"spec": map[string]any{
			"forProvider":       map[string]any{"manifest": obj.Object},
			"providerConfigRef": map[string]any{"kind": "ClusterProviderConfig", "name": providerConfig},
			"watch":             true,
		},
	}}
	if obj.GetKind() == "Pod" {
		_ = unstructured.SetNestedField(o.Object, "DeriveFromObject", "spec", "readiness", "policy")
	}
	return o
}

// ready reports whether an observed composed resource is ready: a raw Pod
// once Running with condition Ready, other raw objects once they exist, an
// Object once its Ready condition is True.
func ready(o resource.ObservedComposed, mode string) bool {
	if o.Resource == nil {
		return false
	}
	u := &unstructured.Unstructured{Object: o.Resource.Object}
	if mode == ModeObject || u.GetKind() == "Pod" {
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, c := range conds {
			if m, _ := c.(map[string]any); m["type"] == "Ready" {
				return m["status"] == "True"
			}
		}
		return false
	}
	return true
}

func main() {
	address := flag.String("address", "127.0.0.1:9443", "Address at which to listen for gRPC connections.")
	certs := flag.String("tls-certs-dir", "", "Directory of tls.crt, tls.key and ca.crt.")
	debug := flag.Bool("debug", false, "Log debug messages.")
	// function-sdk-go serves metrics on :8080, every interface, unless told
	// otherwise; the benchmark reads none of them.
	metrics := flag.String("metrics-address", "", "Address at which to serve Prometheus metrics; none when empty.")
	flag.Parse()
	log, err := function.NewLogger(*debug)
	if err == nil {
		err = function.Serve(&fn{log: log}, function.Listen("tcp", *address), function.MTLSCertificates(*certs), function.WithMetricsServer(*metrics))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "function-bench:", err)
		os.Exit(1)
	}
}
