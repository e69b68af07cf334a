package kube

import (
	"io"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/memsnap/memsnap/bundle"
)

// Node is memsnap's view of kube/node.json (the Node object).
type Node struct {
	Name string
	// CapacityMemory is MemTotal as cAdvisor read it; AllocatableMemory is
	// capacity − kube-reserved − system-reserved − hard eviction threshold
	// (− hugepages), DOMAIN §5. nil when the object lacks them.
	CapacityMemory, AllocatableMemory *int64
	// Hugepages maps "hugepages-2Mi" etc. to the capacity in bytes.
	Hugepages      map[string]int64
	Conditions     []NodeCondition
	KubeletVersion string
	KernelVersion  string
	OSImage        string
	Runtime        string // status.nodeInfo.containerRuntimeVersion
}

// NodeCondition is one status condition (MemoryPressure, Ready, ...).
type NodeCondition struct {
	Type, Status, Reason, Message string
	LastTransition                time.Time
}

// Condition returns the condition of the given type.
func (n *Node) Condition(typ string) (NodeCondition, bool) {
	for _, c := range n.Conditions {
		if c.Type == typ {
			return c, true
		}
	}
	return NodeCondition{}, false
}

// ParseNode parses kube/node.json.
func ParseNode(r io.Reader) (*Node, error) { return ParseNodeFrom(r, bundle.KubeNode) }

// ParseNodeFrom parses a Node object read from path.
func ParseNodeFrom(r io.Reader, path string) (*Node, error) {
	var in corev1.Node
	if err := DecodeJSON(r, path, 0, &in); err != nil {
		return nil, err
	}
	return nodeView(&in), nil
}

// nodeView is memsnap's view of a decoded Node object.
func nodeView(in *corev1.Node) *Node {
	out := &Node{
		Name:           in.Name,
		KubeletVersion: in.Status.NodeInfo.KubeletVersion,
		KernelVersion:  in.Status.NodeInfo.KernelVersion,
		OSImage:        in.Status.NodeInfo.OSImage,
		Runtime:        in.Status.NodeInfo.ContainerRuntimeVersion,
		Hugepages:      map[string]int64{},
	}
	if q, ok := in.Status.Capacity[corev1.ResourceMemory]; ok {
		out.CapacityMemory = ptr(q.Value())
	}
	if q, ok := in.Status.Allocatable[corev1.ResourceMemory]; ok {
		out.AllocatableMemory = ptr(q.Value())
	}
	for name, q := range in.Status.Capacity {
		if strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix) {
			out.Hugepages[string(name)] = q.Value()
		}
	}
	for _, c := range in.Status.Conditions {
		out.Conditions = append(out.Conditions, NodeCondition{
			Type: string(c.Type), Status: string(c.Status), Reason: c.Reason, Message: c.Message,
			LastTransition: c.LastTransitionTime.Time,
		})
	}
	sort.SliceStable(out.Conditions, func(i, j int) bool { return out.Conditions[i].Type < out.Conditions[j].Type })
	return out
}
