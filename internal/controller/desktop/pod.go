package desktop

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/clients/target"
)

// Names and keys inside the desktop Pod and its Secret.
const (
	containerName = "desktop"
	portName      = "http"
	shmVolume     = "dshm"
	homeVolume    = "home"
	passwordKey   = "password"

	// annotationDefaultContainer names the container kubectl picks when
	// none is given.
	annotationDefaultContainer = "kubectl.kubernetes.io/default-container"

	// uid and gid of the desktop user in the Selkies-GStreamer images.
	desktopUID = 1000
)

// secretName is the name of the Secret holding the password of desktop pod.
func secretName(pod string) string { return pod + "-credentials" }

// buildSecret returns the desktop's credentials Secret, without its
// password.
func buildSecret(cr *v1alpha1.Desktop, ns string) *corev1.Secret {
	s := &corev1.Secret{
		ObjectMeta: target.ObjectMeta(cr, ns, target.ComponentDesktop, cr.Spec.ForProvider.Owner),
		Type:       corev1.SecretTypeOpaque,
	}
	s.Name = secretName(s.Name)
	return s
}

// buildPod returns the desired desktop Pod of cr in namespace ns, with gate
// g in front of the desktop, stamped with the hash of its spec. The Pod
// passes the Pod Security "restricted" profile: it runs as a non-root user
// without privilege escalation or capabilities, under the runtime's default
// seccomp profile, and mounts only emptyDir and PersistentVolumeClaim
// volumes.
func buildPod(cr *v1alpha1.Desktop, ns string, g Gate) *corev1.Pod {
	p := cr.Spec.ForProvider
	om := target.ObjectMeta(cr, ns, target.ComponentDesktop, p.Owner)
	om.Labels[v1alpha1.LabelDesktop] = om.Name
	// kubectl exec, logs and attach mean the desktop, not the gate.
	om.Annotations[annotationDefaultContainer] = containerName
	secret := secretName(om.Name)
	port := desktopPort(p)

	fromSecret := &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: secret},
		Key:                  passwordKey,
	}}
	env := selkiesEnv(p.User, port, fromSecret)
	for _, e := range p.Env {
		env = append(env, corev1.EnvVar{Name: e.Name, Value: e.Value})
	}
	if name, n := gpu(p.Resources); n == 0 || !nvidiaGPU(name) {
		// An image may itself say NVIDIA_VISIBLE_DEVICES=all (CUDA's base
		// images do), and where the NVIDIA runtime is a node's default it
		// hands such a container every GPU of the node, though it asked for
		// none. void: no GPU. A desktop that asks for NVIDIA GPUs gets the
		// NVIDIA device plugin's value instead (CheckEnvName keeps env from
		// setting it); one that asks for any other resource gets its devices
		// from that resource's plugin, and none through this variable.
		env = append(env, corev1.EnvVar{Name: "NVIDIA_VISIBLE_DEVICES", Value: "void"})
	}

	shm := corev1.Volume{Name: shmVolume, VolumeSource: corev1.VolumeSource{
		EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory, SizeLimit: p.ShmSize},
	}}
	volumes := []corev1.Volume{shm}
	mounts := []corev1.VolumeMount{{Name: shmVolume, MountPath: "/dev/shm"}}
	if p.Home != nil {
		mountPath := p.Home.MountPath
		if mountPath == "" {
			mountPath = "/home/ubuntu"
		}
		volumes = append(volumes, corev1.Volume{Name: homeVolume, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: target.QualifiedName(cr.GetNamespace(), ns, p.Home.ClaimName)},
		}})
		mounts = append(mounts, corev1.VolumeMount{Name: homeVolume, MountPath: mountPath})
	}

	pod := &corev1.Pod{
		ObjectMeta: om,
		Spec: corev1.PodSpec{
			AutomountServiceAccountToken: ptr.To(false),
			EnableServiceLinks:           ptr.To(false),
			RestartPolicy:                corev1.RestartPolicyAlways,
			NodeSelector:                 p.NodeSelector,
			Tolerations:                  p.Tolerations,
			RuntimeClassName:             p.RuntimeClassName,
			Hostname:                     om.Name,
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot:   ptr.To(true),
				RunAsUser:      ptr.To[int64](desktopUID),
				RunAsGroup:     ptr.To[int64](desktopUID),
				FSGroup:        ptr.To[int64](desktopUID),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Volumes: volumes,
			Containers: []corev1.Container{{
				Name:         containerName,
				Image:        p.Image,
				Ports:        []corev1.ContainerPort{{Name: portName, ContainerPort: port, Protocol: corev1.ProtocolTCP}},
				Env:          env,
				Resources:    resources(p.Resources),
				VolumeMounts: mounts,
				ReadinessProbe: &corev1.Probe{
					ProbeHandler:     corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString(portName)}},
					PeriodSeconds:    5,
					FailureThreshold: 3,
				},
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: ptr.To(false),
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				},
			}, g.container(cr, port, fromSecret)},
		},
	}
	// The gate's image is left out of the hash: a provider upgrade that
	// brings a new gate does not restart running desktops; their next Pod
	// gets it. The gate's public key is in it: a new key replaces them,
	// since their gates would refuse every new link.
	hashed := pod.Spec.DeepCopy()
	for i := range hashed.Containers {
		if hashed.Containers[i].Name == gateContainerName {
			hashed.Containers[i].Image = ""
		}
	}
	target.Stamp(pod, struct {
		Labels map[string]string `json:"labels"`
		Spec   *corev1.PodSpec   `json:"spec"`
	}{pod.Labels, hashed})
	return pod
}

// Ports inside the desktop Pod that the Selkies-GStreamer images use
// besides the desktop's own, which their nginx serves: Selkies itself and
// its metrics, both on loopback behind nginx. Each moves to the next free
// port should the desktop's port or the gate's be there.
const (
	selkiesPort        int32 = 8081
	selkiesMetricsPort int32 = 9081
)

// selkiesEnv is the environment of a Selkies-GStreamer desktop of user,
// served on port, whose password is from password, as the images'
// selkies-gstreamer-entrypoint.sh reads it (docs/design.md cites the
// sources): nginx listens on NGINX_PORT with basic authentication
// (SELKIES_ENABLE_BASIC_AUTH, SELKIES_BASIC_AUTH_USER and
// SELKIES_BASIC_AUTH_PASSWORD make its htpasswd) and proxies to Selkies on
// SELKIES_PORT and to its metrics on SELKIES_METRICS_HTTP_PORT; PASSWD is
// the desktop user's own password in the image (entrypoint.sh) and the
// fallback of the basic-auth password.
func selkiesEnv(user string, port int32, password *corev1.EnvVarSource) []corev1.EnvVar {
	sp := freePort(selkiesPort, port, v1alpha1.GatePort)
	mp := freePort(selkiesMetricsPort, port, v1alpha1.GatePort, sp)
	return []corev1.EnvVar{
		{Name: "NGINX_PORT", Value: strconv.Itoa(int(port))},
		{Name: "SELKIES_PORT", Value: strconv.Itoa(int(sp))},
		{Name: "SELKIES_METRICS_HTTP_PORT", Value: strconv.Itoa(int(mp))},
		{Name: "SELKIES_ENABLE_BASIC_AUTH", Value: "true"},
		{Name: "SELKIES_BASIC_AUTH_USER", Value: user},
		{Name: "SELKIES_BASIC_AUTH_PASSWORD", ValueFrom: password},
		{Name: "PASSWD", ValueFrom: password},
	}
}

// freePort returns the first port from want on that none of taken is.
func freePort(want int32, taken ...int32) int32 {
	for slices.Contains(taken, want) {
		want++
	}
	return want
}

// withActiveDeadline has the kubelet stop pod at deadline, counted from now,
// as a backstop should the provider not be there to remove it. The field is
// set when the Pod is made and is not part of its spec hash: a deadline that
// only moves earlier is the provider's to enforce, not a reason to replace a
// running desktop.
func withActiveDeadline(pod *corev1.Pod, deadline *metav1.Time, now time.Time) {
	if deadline == nil {
		return
	}
	s := math.Ceil(deadline.Sub(now).Seconds())
	pod.Spec.ActiveDeadlineSeconds = ptr.To(int64(max(s, 1)))
}

// desktopPort is the port the desktop serves on.
func desktopPort(p v1alpha1.DesktopParameters) int32 {
	if p.Port == 0 {
		return v1alpha1.DefaultDesktopPort
	}
	return p.Port
}

// resources requests and limits the same CPU and memory, so that a desktop
// with both gets Guaranteed QoS and is the last to be evicted, and limits the
// GPU count of its resource name.
func resources(r v1alpha1.ComputeResources) corev1.ResourceRequirements {
	rr := corev1.ResourceRequirements{}
	set := func(name corev1.ResourceName, q resource.Quantity, request bool) {
		if rr.Limits == nil {
			rr.Limits = corev1.ResourceList{}
		}
		rr.Limits[name] = q
		if request {
			if rr.Requests == nil {
				rr.Requests = corev1.ResourceList{}
			}
			rr.Requests[name] = q
		}
	}
	if r.CPU != nil {
		set(corev1.ResourceCPU, *r.CPU, true)
	}
	if r.Memory != nil {
		set(corev1.ResourceMemory, *r.Memory, true)
	}
	if name, n := gpu(r); n > 0 {
		// Extended resources are limits only; the API server copies the
		// limit into the request.
		set(name, *resource.NewQuantity(int64(n), resource.DecimalSI), false)
	}
	return rr
}

// nvidiaGPU reports whether name is a resource of NVIDIA's GPU device
// plugin, which sets NVIDIA_VISIBLE_DEVICES to the devices it allocates:
// whole GPUs, shared ones, or MIG slices. Other nvidia.com/ resources, such
// as the Network Operator's nvidia.com/hostdev, come from plugins that do
// not set it.
func nvidiaGPU(name corev1.ResourceName) bool {
	return name == "nvidia.com/gpu" || name == "nvidia.com/gpu.shared" || strings.HasPrefix(string(name), "nvidia.com/mig-")
}

// gpu returns the extended resource of r's GPUs, nvidia.com/gpu unless r
// names another, and how many r asks for.
func gpu(r v1alpha1.ComputeResources) (corev1.ResourceName, int32) {
	if r.GPU == nil {
		return "", 0
	}
	return corev1.ResourceName(cmp.Or(r.GPU.ResourceName, "nvidia.com/gpu")), r.GPU.Count
}

// observe reports what pod shows of the desktop, and whether the desktop
// serves: the Pod runs and its container passes the readiness probe.
func observe(pod, desired *corev1.Pod) v1alpha1.DesktopObservation {
	o := v1alpha1.DesktopObservation{
		Phase:                 pod.Status.Phase,
		PodIP:                 pod.Status.PodIP,
		NodeName:              pod.Spec.NodeName,
		StartTime:             pod.Status.StartTime,
		SpecHash:              target.Hash(pod),
		PendingRestart:        !target.UpToDate(pod, desired),
		CredentialsSecretName: secretName(pod.Name),
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			o.Ready = c.Status == corev1.ConditionTrue && pod.Status.Phase == corev1.PodRunning
		}
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			o.Message = reason(c.Reason, c.Message)
		}
	}
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.Name != containerName {
			continue
		}
		o.RestartCount = cs.RestartCount
		if w := cs.State.Waiting; w != nil && o.Message == "" {
			o.Message = reason(w.Reason, w.Message)
		}
	}
	if pod.DeletionTimestamp != nil {
		o.Ready = false
		o.Message = "the desktop Pod is terminating"
	}
	return o
}

// reason joins a Kubernetes reason and message, either of which may be empty.
func reason(r, msg string) string {
	switch {
	case r == "":
		return msg
	case msg == "":
		return r
	}
	return fmt.Sprintf("%s: %s", r, msg)
}
