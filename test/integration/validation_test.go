//go:build integration

package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/test/poll"
)

func template(name string, spec map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	u.SetAPIVersion("vdi.kasm.io/v1alpha1")
	u.SetKind("VDITemplate")
	u.SetName(name)
	return u
}

func TestVDITemplateValidation(t *testing.T) {
	cases := map[string]struct {
		reason string
		spec   map[string]any
		want   string // part of the API server's message; "" means admitted
	}{
		"Valid": {
			reason: "A complete GPU template is admitted.",
			spec: map[string]any{
				"image":          "ghcr.io/selkies-project/nvidia-egl-desktop:24.04",
				"resources":      map[string]any{"cpu": "2", "memory": "4Gi", "gpu": map[string]any{"count": int64(1)}},
				"maxResources":   map[string]any{"cpu": "8", "memory": "16Gi", "gpu": int64(2)},
				"defaultTimeout": "8h", "maxTimeout": "24h",
			},
		},
		"BadQuantity": {
			reason: "A memory that is not a quantity is refused.",
			spec:   map[string]any{"image": "x", "resources": map[string]any{"memory": "four gigs"}},
			want:   "spec.resources.memory",
		},
		"NegativeGPU": {
			reason: "A negative GPU count is refused.",
			spec:   map[string]any{"image": "x", "resources": map[string]any{"gpu": map[string]any{"count": int64(-1)}}},
			want:   "spec.resources.gpu.count: Invalid value: -1: spec.resources.gpu.count in body should be greater than or equal to 0",
		},
		"NoImage": {
			reason: "A template without an image is refused.",
			spec:   map[string]any{"resources": map[string]any{"cpu": "1"}},
			want:   "spec.image: Required value",
		},
		"CapBelowDefault": {
			reason: "A cap below its default is refused.",
			spec:   map[string]any{"image": "x", "resources": map[string]any{"cpu": "4"}, "maxResources": map[string]any{"cpu": "2"}},
			want:   "maxResources.cpu must not be below resources.cpu",
		},
		"TimeoutDoesNotParse": {
			reason: "A timeout that is not a duration is refused.",
			spec:   map[string]any{"image": "x", "defaultTimeout": "eight hours"},
			want:   "spec.defaultTimeout",
		},
		"GatePort": {
			reason: "A template whose desktop would listen on the gate's port is refused: the gate stands there.",
			spec:   map[string]any{"image": "x", "port": int64(v1alpha1.GatePort)},
			want:   "port 8090 is the gate's",
		},
		"DriverCapabilities": {
			reason: "NVIDIA_DRIVER_CAPABILITIES, which GPU desktops need for graphics and video, is admitted.",
			spec:   map[string]any{"image": "x", "env": []any{map[string]any{"name": "NVIDIA_DRIVER_CAPABILITIES", "value": "all"}}},
		},
		"VisibleDevices": {
			reason: "NVIDIA_VISIBLE_DEVICES, which would hand a desktop every GPU of its node, is refused.",
			spec:   map[string]any{"image": "x", "env": []any{map[string]any{"name": "NVIDIA_VISIBLE_DEVICES", "value": "all"}}},
			want:   "of the NVIDIA_ variables only NVIDIA_DRIVER_CAPABILITIES",
		},
		"GPUAsCPU": {
			reason: "GPUs counted as cpu, which no GPU quota counts, are refused.",
			spec:   map[string]any{"image": "x", "resources": map[string]any{"gpu": map[string]any{"count": int64(1), "resourceName": "cpu"}}},
			want:   "spec.resources.gpu.resourceName",
		},
		"GPUUnderKubernetesIO": {
			reason: "GPUs counted as a resource of Kubernetes' own domain are refused.",
			spec:   map[string]any{"image": "x", "resources": map[string]any{"gpu": map[string]any{"count": int64(1), "resourceName": "node.kubernetes.io/gpu"}}},
			want:   "must be an extended resource, outside kubernetes.io",
		},
		"OtherVendorsGPU": {
			reason: "Another vendor's GPU resource is admitted.",
			spec:   map[string]any{"image": "x", "resources": map[string]any{"gpu": map[string]any{"count": int64(1), "resourceName": "amd.com/gpu"}}},
		},
		"MaxTimeoutBelowDefault": {
			reason: "A maximum timeout below the default is refused.",
			spec:   map[string]any{"image": "x", "defaultTimeout": "8h", "maxTimeout": "1h"},
			want:   "maxTimeout must not be below defaultTimeout",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := kube.Create(context.Background(), template(strings.ToLower(name), tc.spec))
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("\n%s\nwant admitted, got: %v", tc.reason, err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("\n%s\nwant refused with %q, got: %v", tc.reason, tc.want, err)
			}
		})
	}
}

func TestProviderConfigErrors(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t, "pc-errors")
	if err := kube.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "broken"},
		Data:       map[string][]byte{"kubeconfig": []byte("this: is: not a kubeconfig")},
	}); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		reason string
		secret string
		want   string
	}{
		"MissingSecret": {
			reason: "A kubeconfig Secret that does not exist gives a clear Synced=False condition.",
			secret: "missing",
			want:   `cannot read kubeconfig from key "kubeconfig" of Secret pc-errors/missing`,
		},
		"BrokenKubeconfig": {
			reason: "A kubeconfig that does not parse gives a clear Synced=False condition.",
			secret: "broken",
			want:   `cannot use kubeconfig from key "kubeconfig" of Secret pc-errors/broken`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			pcName := strings.ToLower(name)
			pc := &v1alpha1.ProviderConfig{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: pcName},
				Spec: v1alpha1.ProviderConfigSpec{Credentials: v1alpha1.ProviderCredentials{
					Source:    xpv2.CredentialsSourceSecret,
					SecretRef: &xpv2.SecretKeySelector{SecretReference: xpv2.SecretReference{Name: tc.secret, Namespace: ns}, Key: "kubeconfig"},
				}},
			}
			if err := kube.Create(ctx, pc); err != nil {
				t.Fatal(err)
			}
			svc := &v1alpha1.DesktopService{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: pcName},
				Spec: v1alpha1.DesktopServiceSpec{
					ManagedResourceSpec: xpv2.ManagedResourceSpec{ProviderConfigReference: &xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: pcName}},
					ForProvider:         v1alpha1.DesktopServiceParameters{Owner: v1alpha1.Owner{Session: "s", User: "u"}, DesktopName: "d"},
				},
			}
			if err := kube.Create(ctx, svc); err != nil {
				t.Fatal(err)
			}
			poll.Until(t, "Synced=False names the problem", timeout, poll.SyncedFalse(kube, svc, tc.want))
			if !prov.running() {
				t.Fatalf("\n%s\nthe provider exited", tc.reason)
			}
		})
	}
}

// TestProviderConfigKubeconfig reaches a "remote" cluster through a
// namespaced ProviderConfig whose Secret holds a kubeconfig (of the same API
// server, under another namespace), and puts objects in its target
// namespace.
func TestProviderConfigKubeconfig(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t, "tenant")
	remote := namespace(t, "gpu-cluster")
	tenantConfig(t, ns, "gpu", remote, verifiedKubeconfig(t))
	svc := &v1alpha1.DesktopService{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bob-dev"},
		Spec: v1alpha1.DesktopServiceSpec{
			ManagedResourceSpec: xpv2.ManagedResourceSpec{ProviderConfigReference: &xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: "gpu"}},
			ForProvider:         v1alpha1.DesktopServiceParameters{Owner: v1alpha1.Owner{Session: "bob-dev", User: "bob"}, DesktopName: "bob-dev"},
		},
	}
	if err := kube.Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "DesktopService through a kubeconfig is Ready", timeout, func(ctx context.Context) (bool, string, error) { return ready(ctx, svc) })
	// The target namespace is not the managed resource's own, and may be
	// shared with other namespaces' managed resources: the Service's name
	// carries the source namespace (target.QualifiedName).
	if err := kube.Get(ctx, types.NamespacedName{Namespace: remote, Name: "bob-dev-" + ns + "-7"}, &corev1.Service{}); err != nil {
		t.Errorf("Service is not in the target namespace %q under its qualified name: %v", remote, err)
	}
	pc := &v1alpha1.ProviderConfig{}
	poll.Until(t, "ProviderConfig counts its user", timeout, func(ctx context.Context) (bool, string, error) {
		err := kube.Get(ctx, types.NamespacedName{Namespace: ns, Name: "gpu"}, pc)
		return err == nil && pc.Status.Users == 1, fmt.Sprintf("users %d, %v", pc.Status.Users, err), nil
	})
}
