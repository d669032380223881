package controlplane

import (
	"bytes"
	"context"
	"io"
	"os"
	"time"

	extv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

// ReadObjects reads every object of the multi-document YAML files.
func ReadObjects(files ...string) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, errors.Wrapf(err, "cannot read %s", f)
		}
		d := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
		for {
			u := &unstructured.Unstructured{}
			if err := d.Decode(&u.Object); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return nil, errors.Wrapf(err, "cannot decode %s", f)
			}
			if len(u.Object) == 0 {
				continue
			}
			objs = append(objs, u)
		}
	}
	return objs, nil
}

// Apply creates each object of the files, or updates it if it exists, and
// waits until every CustomResourceDefinition among them is established.
func Apply(ctx context.Context, c client.Client, files ...string) error {
	objs, err := ReadObjects(files...)
	if err != nil {
		return err
	}
	var crds []string
	for _, u := range objs {
		err := c.Create(ctx, u.DeepCopy())
		if kerrors.IsAlreadyExists(err) {
			cur := &unstructured.Unstructured{}
			cur.SetGroupVersionKind(u.GroupVersionKind())
			if err := c.Get(ctx, client.ObjectKeyFromObject(u), cur); err != nil {
				return errors.Wrapf(err, "cannot get %s %q", u.GetKind(), u.GetName())
			}
			u.SetResourceVersion(cur.GetResourceVersion())
			err = c.Update(ctx, u)
		}
		if err != nil {
			return errors.Wrapf(err, "cannot apply %s %q", u.GetKind(), u.GetName())
		}
		if u.GetKind() == "CustomResourceDefinition" {
			crds = append(crds, u.GetName())
		}
	}
	return WaitForCRDs(ctx, c, crds...)
}

// WaitForCRDs waits until the named CRDs are established.
func WaitForCRDs(ctx context.Context, c client.Client, names ...string) error {
	for _, name := range names {
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			crd := &extv1.CustomResourceDefinition{}
			if err := c.Get(ctx, client.ObjectKey{Name: name}, crd); err != nil {
				return false, client.IgnoreNotFound(err)
			}
			for _, cond := range crd.Status.Conditions {
				if cond.Type == extv1.Established && cond.Status == extv1.ConditionTrue {
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			return errors.Wrapf(err, "CustomResourceDefinition %q was not established", name)
		}
	}
	return nil
}

// Scheme knows the kinds Apply and WaitForCRDs read.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	_ = extv1.AddToScheme(s)
	return s
}
