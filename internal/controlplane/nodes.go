package controlplane

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

// A Node is a fake node that kwok runs.
type Node struct {
	Name   string
	Labels map[string]string
	Taints []corev1.Taint
	// Capacity of the node, extended resources such as nvidia.com/gpu
	// included.
	Capacity corev1.ResourceList
}

// kwokAnnotation marks the nodes kwok manages.
const kwokAnnotation = "kwok.x-k8s.io/node"

// GPUNode returns a fake GPU node with gpus nvidia.com/gpu, labelled as the
// NVIDIA GPU operator labels nodes and tainted so that only Pods that
// tolerate nvidia.com/gpu land on it.
func GPUNode(name string, gpus int64) Node {
	return Node{
		Name: name,
		Labels: map[string]string{
			"nvidia.com/gpu.present": "true",
			"nvidia.com/gpu.product": "NVIDIA-L4",
		},
		Taints: []corev1.Taint{{Key: "nvidia.com/gpu", Value: "present", Effect: corev1.TaintEffectNoSchedule}},
		Capacity: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("64"),
			corev1.ResourceMemory: resource.MustParse("256Gi"),
			corev1.ResourcePods:   resource.MustParse("110"),
			"nvidia.com/gpu":      *resource.NewQuantity(gpus, resource.DecimalSI),
		},
	}
}

// SystemNode returns an untainted fake node for everything else, such as
// Crossplane's package runtime Pods.
func SystemNode(name string) Node {
	return Node{
		Name:   name,
		Labels: map[string]string{"node-role.kubernetes.io/system": ""},
		Capacity: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("16"),
			corev1.ResourceMemory: resource.MustParse("64Gi"),
			corev1.ResourcePods:   resource.MustParse("110"),
		},
	}
}

func (cp *ControlPlane) startNodes(ctx context.Context) error {
	o := cp.opts
	ports, err := freePorts(2)
	if err != nil {
		return err
	}
	progress(o.Progress, "controlplane: starting kube-scheduler\n")
	if err := cp.run("kube-scheduler",
		"--kubeconfig="+cp.Kubeconfig,
		"--authentication-kubeconfig="+cp.Kubeconfig,
		"--authorization-kubeconfig="+cp.Kubeconfig,
		"--leader-elect=false",
		"--bind-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(ports[0]),
	); err != nil {
		return err
	}
	if len(o.Nodes) == 0 {
		return nil
	}
	stages, err := filepath.Glob(filepath.Join(o.Stages, "*.yaml"))
	if err != nil || len(stages) == 0 {
		return errors.Errorf("no kwok stages in %q: run `make tools`", o.Stages)
	}
	args := []string{
		"--kubeconfig=" + cp.Kubeconfig,
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector=" + kwokAnnotation + "=fake",
		"--node-lease-duration-seconds=40",
		"--cidr=10.244.0.0/16",
		"--node-ip=127.0.0.1",
		"--server-address=127.0.0.1:" + strconv.Itoa(ports[1]),
	}
	for _, s := range stages {
		args = append(args, "--config="+s)
	}
	progress(o.Progress, "controlplane: starting kwok with %d fake nodes\n", len(o.Nodes))
	if err := cp.run("kwok", args...); err != nil {
		return err
	}

	cs, err := kubernetes.NewForConfig(cp.Config)
	if err != nil {
		return errors.Wrap(err, "cannot create clientset")
	}
	for _, n := range o.Nodes {
		node := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{
				Name:        n.Name,
				Labels:      map[string]string{"type": "kwok", corev1.LabelHostname: n.Name},
				Annotations: map[string]string{kwokAnnotation: "fake", "node.alpha.kubernetes.io/ttl": "0"},
			},
			Spec:   corev1.NodeSpec{Taints: n.Taints},
			Status: corev1.NodeStatus{Capacity: n.Capacity, Allocatable: n.Capacity},
		}
		for k, v := range n.Labels {
			node.Labels[k] = v
		}
		if _, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
			return errors.Wrapf(err, "cannot create node %q", n.Name)
		}
	}
	progress(o.Progress, "controlplane: waiting for the fake nodes to be Ready and schedulable\n")
	return wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		for _, n := range o.Nodes {
			node, err := cs.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
			if err != nil {
				return false, nil //nolint:nilerr // Not there yet.
			}
			if !schedulable(node) {
				return false, nil
			}
		}
		return true, nil
	})
}

// schedulable reports whether node is Ready and free of the taints that
// admission and the node lifecycle controller put on new and unready nodes.
func schedulable(node *corev1.Node) bool {
	ready := false
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
			ready = true
		}
	}
	for _, t := range node.Spec.Taints {
		if t.Key == corev1.TaintNodeNotReady || t.Key == corev1.TaintNodeUnreachable {
			return false
		}
	}
	return ready
}

// Pressure returns an error naming each pressure condition node reports,
// with the kubelet's message, or nil if it reports none. The kubelet
// taints such a node so that no new Pod is scheduled on it, while it
// stays Ready.
func Pressure(node *corev1.Node) error {
	var under []string
	for _, c := range node.Status.Conditions {
		switch c.Type {
		case corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure:
			if c.Status == corev1.ConditionTrue {
				under = append(under, fmt.Sprintf("%s (%s)", c.Type, c.Message))
			}
		}
	}
	if len(under) == 0 {
		return nil
	}
	return errors.Errorf("node %s is under %s", node.Name, strings.Join(under, ", "))
}
