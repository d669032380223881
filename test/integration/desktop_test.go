//go:build integration

package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
)

func desktop(ns, name, image string) *v1alpha1.Desktop {
	return &v1alpha1.Desktop{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.DesktopSpec{
			ManagedResourceSpec: xpv2.ManagedResourceSpec{
				WriteConnectionSecretToReference: &xpv2.LocalSecretReference{Name: name + "-connection"},
			},
			ForProvider: v1alpha1.DesktopParameters{
				Owner: v1alpha1.Owner{Session: name, User: "alice"},
				Image: image,
				Port:  8080,
				Resources: v1alpha1.ComputeResources{
					CPU:    ptr.To(resource.MustParse("2")),
					Memory: ptr.To(resource.MustParse("4Gi")),
					GPU:    &v1alpha1.GPUResources{Count: 1, ResourceName: "nvidia.com/gpu"},
				},
				ShmSize: ptr.To(resource.MustParse("2Gi")),
				URL:     "https://" + name + ".vdi.example.org/",
			},
		},
	}
}

func getPod(ctx context.Context, ns, name string) (*corev1.Pod, error) {
	p := &corev1.Pod{}
	err := kube.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, p)
	return p, err
}

// markReady does what the kubelet would: the Pod runs and passes its
// readiness probe.
func markReady(t *testing.T, ns, name string) {
	t.Helper()
	ctx := context.Background()
	p, err := getPod(ctx, ns, name)
	if err != nil {
		t.Fatalf("cannot get Pod: %v", err)
	}
	now := metav1.Now()
	p.Status.Phase = corev1.PodRunning
	p.Status.PodIP = "10.244.0.7"
	p.Status.StartTime = &now
	p.Status.Conditions = []corev1.PodCondition{
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
	}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "desktop", Ready: true, Image: p.Spec.Containers[0].Image, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}}}
	if err := kube.Status().Update(ctx, p); err != nil {
		t.Fatalf("cannot mark Pod ready: %v", err)
	}
}

func connectionPassword(ctx context.Context, ns, name string) (string, error) {
	s := &corev1.Secret{}
	if err := kube.Get(ctx, types.NamespacedName{Namespace: ns, Name: name + "-connection"}, s); err != nil {
		return "", err
	}
	return string(s.Data["password"]), nil
}

func TestDesktop(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t, "desktop-restricted")
	d := desktop(ns, "alice-dev", "ghcr.io/selkies-project/nvidia-egl-desktop:24.04")
	if err := kube.Create(ctx, d); err != nil {
		t.Fatalf("cannot create Desktop: %v", err)
	}

	// The Pod is admitted in a namespace that enforces the restricted Pod
	// Security profile, with what the spec asks for.
	var pod *corev1.Pod
	eventually(t, "desktop Pod is created", func(ctx context.Context) (bool, string, error) {
		p, err := getPod(ctx, ns, "alice-dev")
		pod = p
		return err == nil, fmt.Sprint(err), nil
	})
	c := pod.Spec.Containers[0]
	if got := c.Resources.Limits["nvidia.com/gpu"]; got.Value() != 1 {
		t.Errorf("GPU limit: want 1, got %s", got.String())
	}
	if pod.Spec.AutomountServiceAccountToken == nil || *pod.Spec.AutomountServiceAccountToken {
		t.Errorf("automountServiceAccountToken: want false")
	}
	if pod.Labels[v1alpha1.LabelSession] != "alice-dev" || pod.Labels[v1alpha1.LabelUser] != "alice" || pod.Labels[v1alpha1.LabelManagedBy] != "provider-vdi" {
		t.Errorf("labels: got %v", pod.Labels)
	}

	// The password reaches the connection Secret, and nowhere in the
	// Desktop's status.
	var password string
	eventually(t, "connection secret is published", func(ctx context.Context) (bool, string, error) {
		pw, err := connectionPassword(ctx, ns, "alice-dev")
		password = pw
		return err == nil && pw != "", fmt.Sprint(err), nil
	})
	got := &v1alpha1.Desktop{}
	if err := kube.Get(ctx, client.ObjectKeyFromObject(d), got); err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprintf("%+v", got.Status); password != "" && strings.Contains(s, password) {
		t.Errorf("the password appears in the Desktop's status: %s", s)
	}

	// Readiness comes from the Pod watch: the provider polls only every 10m.
	markReady(t, ns, "alice-dev")
	eventually(t, "Desktop is Ready", func(ctx context.Context) (bool, string, error) {
		got := &v1alpha1.Desktop{}
		if err := kube.Get(ctx, client.ObjectKeyFromObject(d), got); err != nil {
			return false, "", err
		}
		r := got.GetCondition(xpv2.TypeReady)
		return r.Status == corev1.ConditionTrue && got.Status.AtProvider.Ready, fmt.Sprintf("%s %s: %s", r.Status, r.Reason, r.Message), nil
	})

	// A Pod deleted out of band comes back.
	uid := pod.UID
	if err := kube.Delete(ctx, pod); err != nil {
		t.Fatal(err)
	}
	eventually(t, "deleted Pod comes back", func(ctx context.Context) (bool, string, error) {
		p, err := getPod(ctx, ns, "alice-dev")
		if err != nil {
			return false, err.Error(), nil
		}
		return p.UID != uid, "same Pod", nil
	})

	// The password survives reconciles and a killed provider.
	prov.kill()
	if err := prov.start(); err != nil {
		t.Fatal(err)
	}
	// An image change recreates the Pod; its reconcile also republishes the
	// connection details.
	if err := kube.Get(ctx, client.ObjectKeyFromObject(d), got); err != nil {
		t.Fatal(err)
	}
	got.Spec.ForProvider.Image = "ghcr.io/selkies-project/nvidia-egl-desktop:24.04-next"
	if err := kube.Update(ctx, got); err != nil {
		t.Fatal(err)
	}
	eventually(t, "image change recreates the Pod", func(ctx context.Context) (bool, string, error) {
		p, err := getPod(ctx, ns, "alice-dev")
		if err != nil {
			return false, err.Error(), nil
		}
		return p.Spec.Containers[0].Image == got.Spec.ForProvider.Image, "image " + p.Spec.Containers[0].Image, nil
	})
	markReady(t, ns, "alice-dev")
	eventually(t, "Desktop is Ready again without a pending restart", func(ctx context.Context) (bool, string, error) {
		cur := &v1alpha1.Desktop{}
		if err := kube.Get(ctx, client.ObjectKeyFromObject(d), cur); err != nil {
			return false, "", err
		}
		return cur.GetCondition(xpv2.TypeReady).Status == corev1.ConditionTrue && !cur.Status.AtProvider.PendingRestart,
			fmt.Sprintf("ready=%s pendingRestart=%v", cur.GetCondition(xpv2.TypeReady).Status, cur.Status.AtProvider.PendingRestart), nil
	})
	if pw, err := connectionPassword(ctx, ns, "alice-dev"); err != nil || pw != password {
		t.Errorf("password changed across reconciles and a provider restart (err %v)", err)
	}

	// Deleting the Desktop removes the Pod and its Secret.
	if err := kube.Delete(ctx, d); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Pod and Secret are deleted", func(ctx context.Context) (bool, string, error) {
		_, perr := getPod(ctx, ns, "alice-dev")
		serr := kube.Get(ctx, types.NamespacedName{Namespace: ns, Name: "alice-dev-credentials"}, &corev1.Secret{})
		return kerrors.IsNotFound(perr) && kerrors.IsNotFound(serr), fmt.Sprintf("pod: %v, secret: %v", perr, serr), nil
	})
	if !prov.running() {
		t.Errorf("the provider exited")
	}

}
