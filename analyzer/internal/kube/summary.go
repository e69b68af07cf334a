package kube

import (
	"io"
	"time"

	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"

	"github.com/memsnap/memsnap/bundle"
)

// Summary is memsnap's view of kubelet/summary.json (/stats/summary,
// DOMAIN §2.3): memory only, every value a pointer because the kubelet
// omits what it does not know (availableBytes when there is no limit).
type Summary struct {
	NodeName string
	// Node is the root cgroup "/": node memory.available = MemTotal − its
	// working set (pkg/kubelet/server/stats/summary.go GetCgroupStats("/")).
	Node *Memory
	// SystemContainers by name: "kubelet", "runtime", "misc", "pods". "pods"
	// is the kubepods cgroup whose availableBytes drives
	// allocatableMemory.available (DOMAIN §2.4).
	SystemContainers map[string]*Memory
	Pods             []PodStats
}

// SystemContainerPods is the system container that stands for kubepods.
const SystemContainerPods = "pods"

// Kubepods returns the memory of the kubepods cgroup, nil when absent (the
// kubelet then cannot compute allocatableMemory.available).
func (s *Summary) Kubepods() *Memory { return s.SystemContainers[SystemContainerPods] }

// Memory is one cgroup's memory as the kubelet reported it (cAdvisor's
// numbers, DOMAIN §2.1/2.3). nil fields were absent.
type Memory struct {
	Time            time.Time
	UsageBytes      *uint64
	WorkingSetBytes *uint64
	RSSBytes        *uint64
	AvailableBytes  *uint64
	PageFaults      *uint64
	MajorPageFaults *uint64
}

// PodStats is one pod: its pod cgroup, its containers and its volumes.
type PodStats struct {
	Namespace, Name, UID string
	// Memory is the pod cgroup, which includes what dead containers left
	// charged to it (tmpfs, cache; DOMAIN §7, case D).
	Memory     *Memory
	Containers []ContainerStats
	Volumes    []VolumeStats
}

// ContainerStats is one container cgroup.
type ContainerStats struct {
	Name   string
	Memory *Memory
}

// VolumeStats is one pod volume. For a memory-medium emptyDir
// capacityBytes is the tmpfs size= and usedBytes what it holds (DOMAIN §7).
type VolumeStats struct {
	Name           string
	PVC            string // namespace/name when backed by a claim
	UsedBytes      *uint64
	CapacityBytes  *uint64
	AvailableBytes *uint64
}

// ParseSummary parses kubelet/summary.json.
func ParseSummary(r io.Reader) (*Summary, error) {
	var in statsv1alpha1.Summary
	if err := DecodeJSON(r, bundle.KubeletSummary, 0, &in); err != nil {
		return nil, err
	}
	out := &Summary{
		NodeName:         in.Node.NodeName,
		Node:             memoryView(in.Node.Memory),
		SystemContainers: map[string]*Memory{},
		Pods:             make([]PodStats, 0, len(in.Pods)),
	}
	for _, sc := range in.Node.SystemContainers {
		if _, dup := out.SystemContainers[sc.Name]; !dup {
			out.SystemContainers[sc.Name] = memoryView(sc.Memory)
		}
	}
	for _, p := range in.Pods {
		ps := PodStats{Namespace: p.PodRef.Namespace, Name: p.PodRef.Name, UID: p.PodRef.UID, Memory: memoryView(p.Memory)}
		for _, c := range p.Containers {
			ps.Containers = append(ps.Containers, ContainerStats{Name: c.Name, Memory: memoryView(c.Memory)})
		}
		for _, v := range p.VolumeStats {
			vs := VolumeStats{Name: v.Name, UsedBytes: v.UsedBytes, CapacityBytes: v.CapacityBytes, AvailableBytes: v.AvailableBytes}
			if v.PVCRef != nil {
				vs.PVC = v.PVCRef.Namespace + "/" + v.PVCRef.Name
			}
			ps.Volumes = append(ps.Volumes, vs)
		}
		out.Pods = append(out.Pods, ps)
	}
	return out, nil
}

func memoryView(m *statsv1alpha1.MemoryStats) *Memory {
	if m == nil {
		return nil
	}
	return &Memory{
		Time:            m.Time.Time,
		UsageBytes:      m.UsageBytes,
		WorkingSetBytes: m.WorkingSetBytes,
		RSSBytes:        m.RSSBytes,
		AvailableBytes:  m.AvailableBytes,
		PageFaults:      m.PageFaults,
		MajorPageFaults: m.MajorPageFaults,
	}
}
