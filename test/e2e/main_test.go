//go:build e2e

// Package e2e runs provider-vdi the way users do, on a local control plane
// (internal/localenv, the same code path as `make run`): sessions are
// VDISessions created in user namespaces, composed by Crossplane core through
// function-vdi into provider-vdi's managed resources. Run it with `make e2e`.
package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/controlplane"
	"github.com/provider-vdi/provider-vdi/internal/localenv"
)

// timeout is how long a test waits for what the provider, the function and
// Crossplane do.
const timeout = 3 * time.Minute

var (
	env  *localenv.Env
	kube client.Client
	dir  string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	wd, _ := os.Getwd()
	root := filepath.Join(wd, "..", "..")
	var err error
	if dir, err = os.MkdirTemp("", "vdi-e2e-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	tools := toolsDir()
	start := time.Now()
	env, err = localenv.Up(context.Background(), localenv.Options{
		Root: root, Tools: tools, Dir: dir,
		GPUNodes: 12, Volumes: 40, RealNode: true, Progress: os.Stderr,
	})
	if env != nil {
		defer env.Stop()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "cannot bring up the local environment: %v\nlogs are in %s\n", err, dir)
		return 1
	}
	fmt.Fprintf(os.Stderr, "e2e: environment up in %s\n", time.Since(start).Round(time.Second))
	kube = env.Kube
	code := m.Run()
	// The real node's mounts and volumes live in dir: stop it first.
	env.Stop()
	controlplane.CleanFolder(dir, code != 0, os.Stderr)
	return code
}

// toolsDir is the cache `make tools` fills.
func toolsDir() string {
	if d := os.Getenv("TOOLS_DIR"); d != "" {
		return d
	}
	wd, _ := os.Getwd()
	return filepath.Join(wd, "..", "..", ".cache", "tools")
}

// userNamespace creates a namespace that enforces the restricted Pod
// Security profile, as a platform would for its users.
func userNamespace(t *testing.T, name string) string {
	t.Helper()
	if err := localenv.CreateUserNamespace(context.Background(), kube, name); err != nil {
		t.Fatal(err)
	}
	return name
}

// session returns a VDISession of user from template, with spec merged in.
func session(ns, name, user, template string, spec map[string]any) *unstructured.Unstructured {
	s := localenv.Session()
	s.SetNamespace(ns)
	s.SetName(name)
	full := map[string]any{"user": user, "template": template}
	for k, v := range spec {
		full[k] = v
	}
	s.Object["spec"] = full
	return s
}

func create(t *testing.T, o client.Object) {
	t.Helper()
	if err := kube.Create(context.Background(), o); err != nil {
		t.Fatalf("cannot create %s %s/%s: %v", o.GetObjectKind().GroupVersionKind().Kind, o.GetNamespace(), o.GetName(), err)
	}
}

// current returns o as the cluster holds it, failing t if it cannot be read.
func current[T client.Object](t *testing.T, o T) T {
	t.Helper()
	if err := kube.Get(context.Background(), client.ObjectKeyFromObject(o), o); err != nil {
		t.Fatalf("cannot read %T %s/%s: %v", o, o.GetNamespace(), o.GetName(), err)
	}
	return o
}

// started creates session s and waits until it is Running.
func started(t *testing.T, s *unstructured.Unstructured) *unstructured.Unstructured {
	t.Helper()
	create(t, s)
	return waitPhase(t, s.GetNamespace(), s.GetName(), "Running")
}

// waitPhase waits for a session's phase and returns the session.
func waitPhase(t *testing.T, ns, name, phase string) *unstructured.Unstructured {
	t.Helper()
	start := time.Now()
	s, err := localenv.WaitForPhase(context.Background(), kube, testWriter{t}, ns, name, phase, timeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("session %s/%s is %s after %s", ns, name, phase, time.Since(start).Round(10*time.Millisecond))
	return s
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// exists reports whether an object of the session's namespace exists.
func exists(ctx context.Context, o client.Object) bool {
	err := kube.Get(ctx, client.ObjectKeyFromObject(o), o)
	return err == nil || !kerrors.IsNotFound(err)
}

func pod(ns, name string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
}

func claim(ns, name string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
}

func service(ns, name string) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
}

func route(ns, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("traefik.io/v1alpha1")
	u.SetKind("IngressRoute")
	u.SetNamespace(ns)
	u.SetName(name)
	return u
}

// managedPods lists the desktop Pods of a namespace.
func managedPods(ctx context.Context, ns string) ([]corev1.Pod, error) {
	l := &corev1.PodList{}
	err := kube.List(ctx, l, client.InNamespace(ns), client.MatchingLabels{v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue})
	return l.Items, err
}

// copyTemplate creates VDITemplate name with the spec of the example
// template from, so that a test may delete it without breaking others.
func copyTemplate(t *testing.T, from, name string) *unstructured.Unstructured {
	t.Helper()
	tmpl := &unstructured.Unstructured{}
	tmpl.SetAPIVersion("vdi.kasm.io/v1alpha1")
	tmpl.SetKind("VDITemplate")
	if err := kube.Get(context.Background(), client.ObjectKey{Name: from}, tmpl); err != nil {
		t.Fatal(err)
	}
	mine := &unstructured.Unstructured{Object: map[string]any{"spec": tmpl.Object["spec"]}}
	mine.SetAPIVersion("vdi.kasm.io/v1alpha1")
	mine.SetKind("VDITemplate")
	mine.SetName(name)
	create(t, mine)
	return mine
}
