package controlplane

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestPressure(t *testing.T) {
	node := func(cs ...corev1.NodeCondition) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "real-0"}, Status: corev1.NodeStatus{Conditions: cs}}
	}
	ready := corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Message: "kubelet is posting ready status"}
	disk := corev1.NodeCondition{Type: corev1.NodeDiskPressure, Status: corev1.ConditionTrue, Message: "kubelet has disk pressure"}
	noMemory := corev1.NodeCondition{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, Message: "kubelet has sufficient memory available"}
	pids := corev1.NodeCondition{Type: corev1.NodePIDPressure, Status: corev1.ConditionTrue, Message: "kubelet has insufficient PIDs"}

	cases := map[string]struct {
		reason string
		node   *corev1.Node
		want   string
	}{
		"None": {
			reason: "A Ready node with every pressure condition False takes pods.",
			node:   node(ready, noMemory),
		},
		"NotReported": {
			reason: "A node that reports no conditions yet is not under pressure.",
			node:   node(),
		},
		"Disk": {
			reason: "DiskPressure is named with the kubelet's message, though the node stays Ready.",
			node:   node(ready, disk, noMemory),
			want:   "node real-0 is under DiskPressure (kubelet has disk pressure)",
		},
		"Several": {
			reason: "Every pressure condition that is True is named.",
			node:   node(disk, pids),
			want:   "node real-0 is under DiskPressure (kubelet has disk pressure), PIDPressure (kubelet has insufficient PIDs)",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := ""
			if err := Pressure(tc.node); err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nPressure(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
