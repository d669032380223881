package desktop

import (
	"crypto/ed25519"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/clients/target"
	"github.com/provider-vdi/provider-vdi/internal/clients/target/targettest"
)

// testGate is the gate of every test's desktops; its key signs their links.
var testGate = func() Gate {
	g, err := NewGate("ghcr.io/provider-vdi/gate:test", ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)))
	if err != nil {
		panic(err)
	}
	return g
}()

// otherGate has another key.
var otherGate = func() Gate {
	g, err := NewGate("ghcr.io/provider-vdi/gate:test", ed25519.NewKeyFromSeed([]byte("another key of thirty-two bytes!")))
	if err != nil {
		panic(err)
	}
	return g
}()

// testNow is the clock of the tests that are not about time.
var testNow = time.Date(2026, 11, 26, 9, 5, 0, 0, time.UTC)

// actualUID is the UID of every Pod read back from the cluster.
const actualUID = "0b7e6a4c-pod"

// desktop returns the Desktop alice-desktop of namespace team-a, modified by
// mods.
func desktop(mods ...func(*v1alpha1.Desktop)) *v1alpha1.Desktop {
	return targettest.Managed(&v1alpha1.Desktop{Spec: v1alpha1.DesktopSpec{ForProvider: v1alpha1.DesktopParameters{
		Owner: targettest.Alice,
		Image: "ghcr.io/selkies/desktop:1",
		URL:   "https://s1-team-a-2.vdi.example/alice/",
		Resources: v1alpha1.ComputeResources{
			CPU:    ptr.To(resource.MustParse("2")),
			Memory: ptr.To(resource.MustParse("4Gi")),
		},
	}}}, "alice-desktop", mods...)
}

func withImage(image string) func(*v1alpha1.Desktop) {
	return func(d *v1alpha1.Desktop) { d.Spec.ForProvider.Image = image }
}

func withGPU(count int32) func(*v1alpha1.Desktop) {
	return func(d *v1alpha1.Desktop) {
		d.Spec.ForProvider.Resources.GPU = &v1alpha1.GPUResources{Count: count}
	}
}

func withGPUOf(name string, count int32) func(*v1alpha1.Desktop) {
	return func(d *v1alpha1.Desktop) {
		d.Spec.ForProvider.Resources.GPU = &v1alpha1.GPUResources{Count: count, ResourceName: name}
	}
}

func withCPU(q string) func(*v1alpha1.Desktop) {
	return func(d *v1alpha1.Desktop) { d.Spec.ForProvider.Resources.CPU = ptr.To(resource.MustParse(q)) }
}

func withMemory(q string) func(*v1alpha1.Desktop) {
	return func(d *v1alpha1.Desktop) { d.Spec.ForProvider.Resources.Memory = ptr.To(resource.MustParse(q)) }
}

func withShm(q string) func(*v1alpha1.Desktop) {
	return func(d *v1alpha1.Desktop) { d.Spec.ForProvider.ShmSize = ptr.To(resource.MustParse(q)) }
}

func withPort(p int32) func(*v1alpha1.Desktop) {
	return func(d *v1alpha1.Desktop) { d.Spec.ForProvider.Port = p }
}

func withHome(claim, mountPath string) func(*v1alpha1.Desktop) {
	return func(d *v1alpha1.Desktop) {
		d.Spec.ForProvider.Home = &v1alpha1.HomeVolume{ClaimName: claim, MountPath: mountPath}
	}
}

func withEnv(name, value string) func(*v1alpha1.Desktop) {
	return func(d *v1alpha1.Desktop) {
		d.Spec.ForProvider.Env = append(d.Spec.ForProvider.Env, v1alpha1.EnvVar{Name: name, Value: value})
	}
}

func withSession(s string) func(*v1alpha1.Desktop) {
	return func(d *v1alpha1.Desktop) { d.Spec.ForProvider.Session = s }
}

func withURL(u string) func(*v1alpha1.Desktop) {
	return func(d *v1alpha1.Desktop) { d.Spec.ForProvider.URL = u }
}

func withScheduling(nodeSelector map[string]string, tolerations []corev1.Toleration, runtimeClass string) func(*v1alpha1.Desktop) {
	return func(d *v1alpha1.Desktop) {
		d.Spec.ForProvider.NodeSelector = nodeSelector
		d.Spec.ForProvider.Tolerations = tolerations
		d.Spec.ForProvider.RuntimeClassName = &runtimeClass
	}
}

// wantPod is the desktop Pod the default desktop() should get in namespace
// desktops, written out by hand, modified by mods.
func wantPod(mods ...func(*corev1.Pod)) *corev1.Pod {
	password := &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: "alice-desktop-credentials"},
		Key:                  "password",
	}}
	om := targettest.Made("desktop", "alice-desktop", "alice-desktop")
	om.Labels["vdi.kasm.io/desktop"] = "alice-desktop"
	om.Annotations["kubectl.kubernetes.io/default-container"] = "desktop"
	p := &corev1.Pod{
		ObjectMeta: om,
		Spec: corev1.PodSpec{
			AutomountServiceAccountToken: ptr.To(false),
			EnableServiceLinks:           ptr.To(false),
			RestartPolicy:                corev1.RestartPolicyAlways,
			Hostname:                     "alice-desktop",
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot:   ptr.To(true),
				RunAsUser:      ptr.To[int64](1000),
				RunAsGroup:     ptr.To[int64](1000),
				FSGroup:        ptr.To[int64](1000),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Volumes: []corev1.Volume{{Name: "dshm", VolumeSource: corev1.VolumeSource{
				EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory},
			}}},
			Containers: []corev1.Container{{
				Name:  "desktop",
				Image: "ghcr.io/selkies/desktop:1",
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}},
				Resources: corev1.ResourceRequirements{
					Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("4Gi")},
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("4Gi")},
				},
				Env: []corev1.EnvVar{
					{Name: "NGINX_PORT", Value: "8080"},
					{Name: "SELKIES_PORT", Value: "8081"},
					{Name: "SELKIES_METRICS_HTTP_PORT", Value: "9081"},
					{Name: "SELKIES_ENABLE_BASIC_AUTH", Value: "true"},
					{Name: "SELKIES_BASIC_AUTH_USER", Value: "alice"},
					{Name: "SELKIES_BASIC_AUTH_PASSWORD", ValueFrom: password},
					{Name: "PASSWD", ValueFrom: password},
					{Name: "NVIDIA_VISIBLE_DEVICES", Value: "void"},
				},
				VolumeMounts: []corev1.VolumeMount{{Name: "dshm", MountPath: "/dev/shm"}},
				ReadinessProbe: &corev1.Probe{
					ProbeHandler:     corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString("http")}},
					PeriodSeconds:    5,
					FailureThreshold: 3,
				},
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: ptr.To(false),
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				},
			}, {
				Name:  "gate",
				Image: "ghcr.io/provider-vdi/gate:test",
				Ports: []corev1.ContainerPort{{Name: "gate", ContainerPort: 8090, Protocol: corev1.ProtocolTCP}},
				Env: []corev1.EnvVar{
					{Name: "VDI_GATE_LISTEN", Value: ":8090"},
					{Name: "VDI_GATE_UPSTREAM", Value: "http://127.0.0.1:8080"},
					{Name: "VDI_GATE_PUBLIC_KEY", Value: testGate.publicKey},
					{Name: "VDI_GATE_AUDIENCE", Value: "s1-team-a-2.vdi.example"},
					{Name: "VDI_GATE_SUBJECT", Value: "alice"},
					{Name: "VDI_GATE_POD_UID", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.uid"}}},
					{Name: "VDI_GATE_UPSTREAM_USER", Value: "alice"},
					{Name: "VDI_GATE_UPSTREAM_PASSWORD", ValueFrom: password},
				},
				Resources: corev1.ResourceRequirements{
					Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("200m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("200m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
				},
				ReadinessProbe: &corev1.Probe{
					ProbeHandler:     corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString("gate")}},
					PeriodSeconds:    5,
					FailureThreshold: 3,
				},
				SecurityContext: &corev1.SecurityContext{
					RunAsNonRoot:             ptr.To(true),
					RunAsUser:                ptr.To[int64](65532),
					RunAsGroup:               ptr.To[int64](65532),
					AllowPrivilegeEscalation: ptr.To(false),
					ReadOnlyRootFilesystem:   ptr.To(true),
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				},
			}},
		},
	}
	return targettest.Modified(p, mods...)
}

// homeMounted returns a modifier of a wanted Pod that mounts the claim at
// path as volume home.
func homeMounted(claim, path string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "home", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim},
		}})
		p.Spec.Containers[0].VolumeMounts = append(p.Spec.Containers[0].VolumeMounts, corev1.VolumeMount{Name: "home", MountPath: path})
	}
}

// servedOn modifies the Pod of desktop() to serve the desktop (nginx) on
// port, Selkies on selkies and its metrics on metrics, behind the gate.
func servedOn(port, selkies, metrics int) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.Containers[0].Ports[0].ContainerPort = int32(port)
		p.Spec.Containers[0].Env[0].Value = strconv.Itoa(port)
		p.Spec.Containers[0].Env[1].Value = strconv.Itoa(selkies)
		p.Spec.Containers[0].Env[2].Value = strconv.Itoa(metrics)
		p.Spec.Containers[1].Env[1].Value = "http://127.0.0.1:" + strconv.Itoa(port)
	}
}

func TestBuildPod(t *testing.T) {
	cases := map[string]struct {
		reason string
		cr     *v1alpha1.Desktop
		want   *corev1.Pod
	}{
		"Minimal": {
			reason: "A desktop with only an image should get a restricted Pod on port 8080 with no service account token, a memory /dev/shm, a readiness probe on its port, the Selkies variables with the password from its Secret, and the gate in front of it on port 8090, restricted on its own, bound to the URL's host, the user and the Pod's UID, supplying the same password upstream.",
			cr:     desktop(),
			want:   wantPod(),
		},
		"NamedByExternalName": {
			reason: "The Pod, its hostname, its desktop label and its Secret should be named by the external name.",
			cr:     desktop(targettest.ExternalName("alice-7f3c")),
			want: wantPod(func(p *corev1.Pod) {
				p.Name = "alice-7f3c"
				p.Labels[v1alpha1.LabelDesktop] = "alice-7f3c"
				p.Spec.Hostname = "alice-7f3c"
				for _, c := range p.Spec.Containers {
					for _, e := range c.Env {
						if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
							e.ValueFrom.SecretKeyRef.Name = "alice-7f3c-credentials"
						}
					}
				}
			}),
		},
		"Port": {
			reason: "A desktop's port should be the container port, nginx's port and the gate's upstream.",
			cr:     desktop(withPort(3000)),
			want:   wantPod(servedOn(3000, 8081, 9081)),
		},
		"PortOfSelkies": {
			reason: "A desktop served on Selkies' own port should move Selkies, and then its metrics, to the next free ports.",
			cr:     desktop(withPort(8081)),
			want:   wantPod(servedOn(8081, 8082, 9081)),
		},
		"PortOfMetrics": {
			reason: "A desktop served on the Selkies metrics port should move the metrics to the next free port.",
			cr:     desktop(withPort(9081)),
			want:   wantPod(servedOn(9081, 8081, 9082)),
		},
		"URLWithPort": {
			reason: "The gate's audience should be the URL's host with its port, as the Host header carries it.",
			cr:     desktop(withURL("http://Dev-Alice-3.vdi.localhost:8000/x/")),
			want: wantPod(func(p *corev1.Pod) {
				p.Spec.Containers[1].Env[3].Value = "dev-alice-3.vdi.localhost:8000"
			}),
		},
		"ShmSize": {
			reason: "ShmSize should limit the memory-backed /dev/shm.",
			cr:     desktop(withShm("2Gi")),
			want: wantPod(func(p *corev1.Pod) {
				p.Spec.Volumes[0].EmptyDir.SizeLimit = ptr.To(resource.MustParse("2Gi"))
			}),
		},
		"HomeDefaultMountPath": {
			reason: "A home claim without a mount path should be mounted at /home/ubuntu.",
			cr:     desktop(withHome("alice-home", "")),
			want:   wantPod(homeMounted("alice-home", "/home/ubuntu")),
		},
		"HomeMountPath": {
			reason: "A home claim should be mounted at its mount path.",
			cr:     desktop(withHome("alice-home", "/home/alice")),
			want:   wantPod(homeMounted("alice-home", "/home/alice")),
		},
		"Env": {
			reason: "Plain environment variables should follow the provider's own, in order, before the GPU-less desktop's NVIDIA_VISIBLE_DEVICES=void, so that they cannot override it.",
			cr:     desktop(withEnv("TZ", "Europe/Berlin"), withEnv("LANG", "de_DE.UTF-8")),
			want: wantPod(func(p *corev1.Pod) {
				env := p.Spec.Containers[0].Env
				p.Spec.Containers[0].Env = slices.Concat(env[:len(env)-1], []corev1.EnvVar{
					{Name: "TZ", Value: "Europe/Berlin"},
					{Name: "LANG", Value: "de_DE.UTF-8"},
				}, env[len(env)-1:])
			}),
		},
		"OtherVendorsGPU": {
			reason: "A desktop with another vendor's GPUs should keep NVIDIA_VISIBLE_DEVICES=void: no NVIDIA device plugin sets it, and an image's own value would hand it every NVIDIA GPU of the node.",
			cr:     desktop(withGPUOf("amd.com/gpu", 1)),
			want: wantPod(func(p *corev1.Pod) {
				p.Spec.Containers[0].Resources.Limits["amd.com/gpu"] = resource.MustParse("1")
			}),
		},
		"OtherNVIDIAResource": {
			reason: "A desktop asking for an nvidia.com/ resource that NVIDIA's GPU device plugin does not serve (the Network Operator's hostdev) should keep NVIDIA_VISIBLE_DEVICES=void.",
			cr:     desktop(withGPUOf("nvidia.com/hostdev", 1)),
			want: wantPod(func(p *corev1.Pod) {
				p.Spec.Containers[0].Resources.Limits["nvidia.com/hostdev"] = resource.MustParse("1")
			}),
		},
		"Scheduling": {
			reason: "Node selector, tolerations and runtime class should be passed to the Pod.",
			cr: desktop(withScheduling(
				map[string]string{"gpu": "l4"},
				[]corev1.Toleration{{Key: "nvidia.com/gpu", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
				"nvidia",
			)),
			want: wantPod(func(p *corev1.Pod) {
				p.Spec.NodeSelector = map[string]string{"gpu": "l4"}
				p.Spec.Tolerations = []corev1.Toleration{{Key: "nvidia.com/gpu", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}
				p.Spec.RuntimeClassName = ptr.To("nvidia")
			}),
		},
		"Resources": {
			reason: "CPU and memory should be requested and limited alike, and GPUs limited; a desktop with GPUs gets the device plugin's NVIDIA_VISIBLE_DEVICES, not void.",
			cr:     desktop(withCPU("4"), withMemory("8Gi"), withGPU(1)),
			want: wantPod(func(p *corev1.Pod) {
				env := p.Spec.Containers[0].Env
				p.Spec.Containers[0].Env = env[:len(env)-1]
				p.Spec.Containers[0].Resources = corev1.ResourceRequirements{
					Limits: corev1.ResourceList{
						corev1.ResourceCPU:    resource.MustParse("4"),
						corev1.ResourceMemory: resource.MustParse("8Gi"),
						"nvidia.com/gpu":      resource.MustParse("1"),
					},
					Requests: corev1.ResourceList{
						corev1.ResourceCPU:    resource.MustParse("4"),
						corev1.ResourceMemory: resource.MustParse("8Gi"),
					},
				}
			}),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := buildPod(tc.cr, "team-a", testGate)
			if diff := cmp.Diff(tc.want, got, targettest.IgnoreHash); diff != "" {
				t.Errorf("\n%s\nbuildPod(..., testGate): -want, +got:\n%s", tc.reason, diff)
			}
			if target.Hash(got) == "" {
				t.Errorf("\n%s\nbuildPod(..., testGate): want the Pod stamped with its spec hash, got none", tc.reason)
			}
		})
	}
}

func TestResources(t *testing.T) {
	cases := map[string]struct {
		reason string
		r      v1alpha1.ComputeResources
		want   corev1.ResourceRequirements
	}{
		"None": {
			reason: "A desktop without resources should request and limit nothing.",
			want:   corev1.ResourceRequirements{},
		},
		"CPUOnly": {
			reason: "CPU alone should be requested and limited alike.",
			r:      v1alpha1.ComputeResources{CPU: ptr.To(resource.MustParse("500m"))},
			want: corev1.ResourceRequirements{
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")},
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")},
			},
		},
		"MemoryOnly": {
			reason: "Memory alone should be requested and limited alike.",
			r:      v1alpha1.ComputeResources{Memory: ptr.To(resource.MustParse("4Gi"))},
			want: corev1.ResourceRequirements{
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("4Gi")},
				Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("4Gi")},
			},
		},
		"GPUDefaultResourceName": {
			reason: "GPUs without a resource name should be limited as nvidia.com/gpu, and not requested: the API server copies the limit.",
			r:      v1alpha1.ComputeResources{GPU: &v1alpha1.GPUResources{Count: 2}},
			want: corev1.ResourceRequirements{
				Limits: corev1.ResourceList{"nvidia.com/gpu": resource.MustParse("2")},
			},
		},
		"GPUResourceName": {
			reason: "GPUs should be limited under their resource name.",
			r:      v1alpha1.ComputeResources{GPU: &v1alpha1.GPUResources{Count: 1, ResourceName: "amd.com/gpu"}},
			want: corev1.ResourceRequirements{
				Limits: corev1.ResourceList{"amd.com/gpu": resource.MustParse("1")},
			},
		},
		"ZeroGPUs": {
			reason: "A GPU count of zero should add no GPU limit at all.",
			r:      v1alpha1.ComputeResources{GPU: &v1alpha1.GPUResources{Count: 0, ResourceName: "nvidia.com/gpu"}},
			want:   corev1.ResourceRequirements{},
		},
		"All": {
			reason: "CPU and memory should be requested and limited, GPUs only limited.",
			r: v1alpha1.ComputeResources{
				CPU:    ptr.To(resource.MustParse("8")),
				Memory: ptr.To(resource.MustParse("32Gi")),
				GPU:    &v1alpha1.GPUResources{Count: 1, ResourceName: "nvidia.com/mig-1g.10gb"},
			},
			want: corev1.ResourceRequirements{
				Limits: corev1.ResourceList{
					corev1.ResourceCPU:       resource.MustParse("8"),
					corev1.ResourceMemory:    resource.MustParse("32Gi"),
					"nvidia.com/mig-1g.10gb": resource.MustParse("1"),
				},
				Requests: corev1.ResourceList{
					corev1.ResourceCPU:    resource.MustParse("8"),
					corev1.ResourceMemory: resource.MustParse("32Gi"),
				},
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, resources(tc.r)); diff != "" {
				t.Errorf("\n%s\nresources(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestPodSpecHash(t *testing.T) {
	cases := map[string]struct {
		reason string
		a, b   *v1alpha1.Desktop
		gb     *Gate
		same   bool
	}{
		"SameSpec": {
			reason: "Two builds of the same desktop should hash the same.",
			a:      desktop(withCPU("4"), withGPU(1), withHome("alice-home", ""), withEnv("TZ", "UTC")),
			b:      desktop(withCPU("4"), withGPU(1), withHome("alice-home", ""), withEnv("TZ", "UTC")),
			same:   true,
		},
		"EquivalentQuantities": {
			reason: "Quantities that are equal, however written, should hash the same.",
			a:      desktop(withCPU("1")),
			b:      desktop(withCPU("1000m")),
			same:   true,
		},
		"URLPathChanged": {
			reason: "The URL's path is no part of the Pod, so changing it should not restart the desktop.",
			a:      desktop(),
			b:      desktop(withURL("https://s1-team-a-2.vdi.example/alice/new/")),
			same:   true,
		},
		"URLHostChanged": {
			reason: "The URL's host is the gate's audience: a new host should replace the desktop.",
			a:      desktop(),
			b:      desktop(withURL("https://other.example/alice/")),
		},
		"GateImageChanged": {
			reason: "A new gate image (a provider upgrade) should not restart running desktops.",
			a:      desktop(),
			b:      desktop(),
			gb:     &Gate{Image: "ghcr.io/provider-vdi/gate:next", links: testGate.links, publicKey: testGate.publicKey},
			same:   true,
		},
		"GateKeyChanged": {
			reason: "A new link signing key should replace running desktops, whose gates would refuse every new link.",
			a:      desktop(),
			b:      desktop(),
			gb:     &otherGate,
		},
		"ImageChanged": {
			reason: "A new image should change the hash.",
			a:      desktop(),
			b:      desktop(withImage("ghcr.io/selkies/desktop:2")),
		},
		"CPUChanged": {
			reason: "New CPU resources should change the hash.",
			a:      desktop(withCPU("4")),
			b:      desktop(withCPU("8")),
		},
		"MemoryChanged": {
			reason: "New memory resources should change the hash.",
			a:      desktop(withMemory("8Gi")),
			b:      desktop(withMemory("16Gi")),
		},
		"GPUChanged": {
			reason: "A new GPU count should change the hash.",
			a:      desktop(withGPU(1)),
			b:      desktop(withGPU(2)),
		},
		"GPUResourceNameChanged": {
			reason: "A new GPU resource name should change the hash.",
			a:      desktop(withGPUOf("nvidia.com/gpu", 1)),
			b:      desktop(withGPUOf("amd.com/gpu", 1)),
		},
		"EnvChanged": {
			reason: "A new environment variable should change the hash.",
			a:      desktop(),
			b:      desktop(withEnv("TZ", "UTC")),
		},
		"LabelChanged": {
			reason: "New labels should change the hash, since the Pod's labels are managed too.",
			a:      desktop(),
			b:      desktop(withSession("s2")),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			gb := testGate
			if tc.gb != nil {
				gb = *tc.gb
			}
			a, b := target.Hash(buildPod(tc.a, "team-a", testGate)), target.Hash(buildPod(tc.b, "team-a", gb))
			if a == "" || b == "" {
				t.Fatalf("\n%s\nbuildPod(..., testGate): want stamped Pods, got hashes %q and %q", tc.reason, a, b)
			}
			if diff := cmp.Diff(tc.same, a == b); diff != "" {
				t.Errorf("\n%s\nbuildPod(..., testGate) hashes %q and %q equal: -want, +got:\n%s", tc.reason, a, b, diff)
			}
		})
	}
}

// status returns a modifier that sets the Pod's phase and conditions.
func status(phase corev1.PodPhase, conds ...corev1.PodCondition) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.Phase = phase
		p.Status.Conditions = conds
	}
}

func ready(s corev1.ConditionStatus) corev1.PodCondition {
	return corev1.PodCondition{Type: corev1.PodReady, Status: s}
}

func unschedulable(msg string) corev1.PodCondition {
	return corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable, Message: msg}
}

func onNode(node, ip string, start time.Time) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.NodeName = node
		p.Status.PodIP = ip
		p.Status.StartTime = &metav1.Time{Time: start}
	}
}

func containerStatus(name string, restarts int32, waiting *corev1.ContainerStateWaiting) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{
			Name:         name,
			RestartCount: restarts,
			State:        corev1.ContainerState{Waiting: waiting},
		})
	}
}

func terminating() func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.DeletionTimestamp = &metav1.Time{Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		// The fake client keeps an object being deleted only while a
		// finalizer holds it.
		p.Finalizers = []string{"example.org/hold"}
	}
}

// actualPod returns the Pod buildPod makes of cr in namespace desktops, as if
// read back from the cluster, modified by mods.
func actualPod(cr *v1alpha1.Desktop, mods ...func(*corev1.Pod)) *corev1.Pod {
	p := buildPod(cr, "team-a", testGate)
	p.UID = actualUID
	return targettest.Modified(p, mods...)
}

func TestObservePod(t *testing.T) {
	start := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	hash := target.Hash(buildPod(desktop(), "team-a", testGate))
	oldHash := target.Hash(buildPod(desktop(withImage("ghcr.io/selkies/desktop:0")), "team-a", testGate))

	cases := map[string]struct {
		reason string
		pod    *corev1.Pod
		want   v1alpha1.DesktopObservation
	}{
		"RunningAndReady": {
			reason: "A running Pod that passes its readiness probe should be ready, and its node, IP, start time and restarts reported.",
			pod: actualPod(desktop(),
				status(corev1.PodRunning, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}, ready(corev1.ConditionTrue)),
				onNode("gpu-1", "10.0.0.7", start),
				containerStatus("desktop", 2, nil),
			),
			want: v1alpha1.DesktopObservation{
				Phase:                 corev1.PodRunning,
				Ready:                 true,
				PodIP:                 "10.0.0.7",
				NodeName:              "gpu-1",
				StartTime:             &metav1.Time{Time: start},
				RestartCount:          2,
				SpecHash:              hash,
				CredentialsSecretName: "alice-desktop-credentials",
			},
		},
		"RunningNotReady": {
			reason: "A running Pod that fails its readiness probe should not be ready, and no message made up.",
			pod:    actualPod(desktop(), status(corev1.PodRunning, ready(corev1.ConditionFalse))),
			want: v1alpha1.DesktopObservation{
				Phase:                 corev1.PodRunning,
				SpecHash:              hash,
				CredentialsSecretName: "alice-desktop-credentials",
			},
		},
		"ReadyButNotRunning": {
			reason: "A Pod whose Ready condition is stale, but that no longer runs, should not be ready.",
			pod:    actualPod(desktop(), status(corev1.PodSucceeded, ready(corev1.ConditionTrue))),
			want: v1alpha1.DesktopObservation{
				Phase:                 corev1.PodSucceeded,
				SpecHash:              hash,
				CredentialsSecretName: "alice-desktop-credentials",
			},
		},
		"Unschedulable": {
			reason: "A Pending Pod that cannot be scheduled should say why.",
			pod:    actualPod(desktop(), status(corev1.PodPending, unschedulable("0/3 nodes are available: 3 Insufficient nvidia.com/gpu."))),
			want: v1alpha1.DesktopObservation{
				Phase:                 corev1.PodPending,
				Message:               "Unschedulable: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu.",
				SpecHash:              hash,
				CredentialsSecretName: "alice-desktop-credentials",
			},
		},
		"ContainerWaiting": {
			reason: "A desktop container that waits should say why.",
			pod: actualPod(desktop(),
				status(corev1.PodPending, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}),
				containerStatus("desktop", 0, &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "Back-off pulling image"}),
			),
			want: v1alpha1.DesktopObservation{
				Phase:                 corev1.PodPending,
				Message:               "ImagePullBackOff: Back-off pulling image",
				SpecHash:              hash,
				CredentialsSecretName: "alice-desktop-credentials",
			},
		},
		"ContainerWaitingWithoutMessage": {
			reason: "A desktop container that waits for a reason without a message should say the reason alone.",
			pod: actualPod(desktop(),
				status(corev1.PodPending, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}),
				containerStatus("desktop", 0, &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}),
			),
			want: v1alpha1.DesktopObservation{
				Phase:                 corev1.PodPending,
				Message:               "ContainerCreating",
				SpecHash:              hash,
				CredentialsSecretName: "alice-desktop-credentials",
			},
		},
		"SchedulingBeforeWaiting": {
			reason: "Why the Pod is unschedulable should win over why its container waits.",
			pod: actualPod(desktop(),
				status(corev1.PodPending, unschedulable("0/1 nodes are available.")),
				containerStatus("desktop", 0, &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}),
			),
			want: v1alpha1.DesktopObservation{
				Phase:                 corev1.PodPending,
				Message:               "Unschedulable: 0/1 nodes are available.",
				SpecHash:              hash,
				CredentialsSecretName: "alice-desktop-credentials",
			},
		},
		"OtherContainerIgnored": {
			reason: "The status of a container other than the desktop's should neither explain nor count.",
			pod: actualPod(desktop(),
				status(corev1.PodRunning, ready(corev1.ConditionTrue)),
				containerStatus("sidecar", 5, &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}),
				containerStatus("desktop", 1, nil),
			),
			want: v1alpha1.DesktopObservation{
				Phase:                 corev1.PodRunning,
				Ready:                 true,
				RestartCount:          1,
				SpecHash:              hash,
				CredentialsSecretName: "alice-desktop-credentials",
			},
		},
		"Terminating": {
			reason: "A Pod being deleted should not be ready, whatever its conditions, and is pending restart.",
			pod:    actualPod(desktop(), status(corev1.PodRunning, ready(corev1.ConditionTrue)), terminating()),
			want: v1alpha1.DesktopObservation{
				Phase:                 corev1.PodRunning,
				Message:               "the desktop Pod is terminating",
				SpecHash:              hash,
				PendingRestart:        true,
				CredentialsSecretName: "alice-desktop-credentials",
			},
		},
		"SpecChanged": {
			reason: "A Pod made from another spec should be pending restart, and report the hash it was made from.",
			pod:    actualPod(desktop(withImage("ghcr.io/selkies/desktop:0")), status(corev1.PodRunning, ready(corev1.ConditionTrue))),
			want: v1alpha1.DesktopObservation{
				Phase:                 corev1.PodRunning,
				Ready:                 true,
				SpecHash:              oldHash,
				PendingRestart:        true,
				CredentialsSecretName: "alice-desktop-credentials",
			},
		},
		"Unstamped": {
			reason: "A Pod without a spec hash was not made by this provider's current code and should be pending restart.",
			pod: actualPod(desktop(), status(corev1.PodRunning, ready(corev1.ConditionTrue)), func(p *corev1.Pod) {
				delete(p.Annotations, v1alpha1.AnnotationSpecHash)
			}),
			want: v1alpha1.DesktopObservation{
				Phase:                 corev1.PodRunning,
				Ready:                 true,
				PendingRestart:        true,
				CredentialsSecretName: "alice-desktop-credentials",
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := observe(tc.pod, buildPod(desktop(), "team-a", testGate))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("\n%s\nobserve(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestCredentials(t *testing.T) {
	cases := map[string]struct {
		reason string
		cr     *v1alpha1.Desktop
		want   *corev1.Secret
	}{
		"Secret": {
			reason: "The credentials Secret should be named after the Pod, labelled like it, annotated with its Desktop, and hold no password: Create adds one only to a Secret it makes.",
			cr:     desktop(),
			want: &corev1.Secret{
				ObjectMeta: targettest.Made("desktop", "alice-desktop-credentials", "alice-desktop"),
				Type:       corev1.SecretTypeOpaque,
			},
		},
		"NamedByExternalName": {
			reason: "The credentials Secret should be named by the external name, like the Pod.",
			cr:     desktop(targettest.ExternalName("alice-7f3c")),
			want: &corev1.Secret{
				ObjectMeta: targettest.Made("desktop", "alice-7f3c-credentials", "alice-desktop"),
				Type:       corev1.SecretTypeOpaque,
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, buildSecret(tc.cr, "team-a")); diff != "" {
				t.Errorf("\n%s\nbuildSecret(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestReason(t *testing.T) {
	cases := map[string]struct {
		reason string
		r      string
		msg    string
		want   string
	}{
		"Both": {
			reason: "A reason and a message should be joined by a colon.",
			r:      "ImagePullBackOff",
			msg:    "Back-off pulling image",
			want:   "ImagePullBackOff: Back-off pulling image",
		},
		"ReasonOnly": {
			reason: "A reason without a message should stand alone, without a trailing colon.",
			r:      "ContainerCreating",
			want:   "ContainerCreating",
		},
		"MessageOnly": {
			reason: "A message without a reason should stand alone, without a leading colon.",
			msg:    "0/3 nodes are available.",
			want:   "0/3 nodes are available.",
		},
		"Neither": {
			reason: "Neither a reason nor a message should read as no message at all.",
			want:   "",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, reason(tc.r, tc.msg)); diff != "" {
				t.Errorf("\n%s\nreason(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
