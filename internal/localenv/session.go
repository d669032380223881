package localenv

import (
	"context"
	"fmt"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

// CreateUserNamespace creates namespace name for a user's sessions,
// enforcing the restricted Pod Security profile, as a platform would (and
// as examples/run/session.yaml's namespace does).
func CreateUserNamespace(ctx context.Context, kube client.Client, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}}}
	return errors.Wrapf(kube.Create(ctx, ns), "cannot create namespace %q", name)
}

// Session returns an empty VDISession to read into.
func Session() *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("vdi.kasm.io/v1alpha1")
	u.SetKind("VDISession")
	return u
}

// Phase returns the phase and message of a VDISession.
func Phase(s *unstructured.Unstructured) (string, string) {
	phase, _, _ := unstructured.NestedString(s.Object, "status", "phase")
	msg, _, _ := unstructured.NestedString(s.Object, "status", "message")
	return phase, msg
}

// WaitForPhase waits until VDISession ns/name reaches phase, printing a
// progress line every ten seconds to w, and returns it.
func WaitForPhase(ctx context.Context, kube client.Client, w io.Writer, ns, name, phase string, timeout time.Duration) (*unstructured.Unstructured, error) {
	s := Session()
	start, last := time.Now(), time.Now()
	var got, msg string
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		if err := kube.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, s); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		got, msg = Phase(s)
		if time.Since(last) > 10*time.Second {
			_, _ = fmt.Fprintf(w, "session %s/%s is %q after %s: %s\n", ns, name, got, time.Since(start).Round(time.Second), msg)
			last = time.Now()
		}
		return got == phase, nil
	})
	if err != nil {
		return s, errors.Wrapf(err, "session %s/%s did not reach %s within %s: phase %q, %s", ns, name, phase, timeout, got, msg)
	}
	return s, nil
}
