//go:build integration

package controlplane

import (
	"cmp"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// TestGPUPodRuns shows the fake cluster schedules a Pod by its GPU limit onto
// a GPU node, and kwok runs it to Ready.
func TestGPUPodRuns(t *testing.T) {
	// make exports TOOLS_DIR; go test run by hand uses the checkout's cache.
	tools, _ := filepath.Abs(cmp.Or(os.Getenv("TOOLS_DIR"), "../../.cache/tools"))
	cp, err := Start(context.Background(), Options{
		Bin: filepath.Join(tools, "bin"), Dir: t.TempDir(), Stages: filepath.Join(tools, "kwok"),
		Nodes:    []Node{GPUNode("gpu-0", 2), SystemNode("system-0")},
		Progress: os.Stderr,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Stop()
	cs := kubernetes.NewForConfigOrDie(cp.Config)
	ctx := context.Background()
	if _, err := cs.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil {
		t.Log(err) // kube-controller-manager may have made it already.
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "gpu", Namespace: "default"},
		Spec: corev1.PodSpec{
			Tolerations: []corev1.Toleration{{Key: "nvidia.com/gpu", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
			Containers: []corev1.Container{{
				Name: "c", Image: "desktop",
				Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{"nvidia.com/gpu": resource.MustParse("1")}},
			}},
		},
	}
	if _, err := cs.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var got *corev1.Pod
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		got, err = cs.CoreV1().Pods("default").Get(ctx, "gpu", metav1.GetOptions{})
		return err == nil && got.Status.Phase == corev1.PodRunning, nil
	})
	if err != nil {
		t.Fatalf("GPU Pod did not run: phase %s, conditions %v", got.Status.Phase, got.Status.Conditions)
	}
	if got.Spec.NodeName != "gpu-0" {
		t.Errorf("GPU Pod runs on %q, want gpu-0", got.Spec.NodeName)
	}
}
