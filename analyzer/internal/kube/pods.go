package kube

import (
	"io"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/memsnap/memsnap/bundle"
)

// PodList is memsnap's view of kubelet/pods.json (the kubelet's /pods, a
// core/v1 PodList of the pods bound to this node).
type PodList struct {
	Pods []Pod

	byContainerID map[string]containerRef
}

// Pod is one pod with the memory facts rules need.
type Pod struct {
	Namespace, Name, UID, NodeName string
	// QoS is status.qosClass, else computed from requests and limits as the
	// kubelet does (see qos.go).
	QoS string
	// MemoryLimit is the pod cgroup's limit: nil when any container lacks a
	// memory limit, i.e. the pod cgroup is unlimited.
	MemoryLimit   *int64
	MemoryRequest *int64 // nil when no container requests memory
	Containers    []Container
	Volumes       []Volume
	// Phase, Reason and Message are status fields; an evicted pod has
	// reason "Evicted" and the kubelet's message (DOMAIN §2.4).
	Phase, Reason, Message string
	// Priority is spec.priority (resolved from the PriorityClass at
	// admission); nil when pods.json does not carry it.
	Priority *int32
	// OwnerKind and Owner name the workload that runs the pod (Deployment,
	// StatefulSet, DaemonSet, Job, …), from the controller ownerReference;
	// empty for a pod without one. See owner.go.
	OwnerKind, Owner string
	// File is where the pod was read (kubelet/pods.json, a loose file);
	// after a merge, the first file that had it.
	File string
}

// Container is a container (or init container) with its last known state.
type Container struct {
	Name string
	// ID is the runtime's container ID without its "containerd://" style
	// prefix: 64 hex for containerd, CRI-O and docker, as in cgroup names.
	ID      string
	Runtime string // "containerd", "cri-o", "docker", ...

	MemoryLimit, MemoryRequest *int64

	RestartCount int32
	// LastTerminationReason, LastExitCode and LastFinishedAt describe the
	// most recent termination: the current state when it is terminated,
	// else lastState (an OOMKilled container that restarted).
	LastTerminationReason string
	// LastContainerID is the terminated instance's ID: after a restart the
	// kernel's OOM report names this one, not ID (its cgroup is gone).
	LastContainerID string
	LastExitCode    *int32
	LastFinishedAt  time.Time
	State           string // "running", "waiting", "terminated" or ""
	StateReason     string // e.g. "CrashLoopBackOff"
	Ready           bool
	Init            bool
}

// Volume is a pod volume; only emptyDir details are kept.
type Volume struct {
	Name      string
	EmptyDir  bool
	Medium    string // "Memory" for a tmpfs emptyDir (DOMAIN §7)
	SizeLimit *int64
}

type containerRef struct{ pod, container int }

// ParsePods parses kubelet/pods.json.
func ParsePods(r io.Reader) (*PodList, error) {
	var in corev1.PodList
	if err := DecodeJSON(r, bundle.KubeletPods, 0, &in); err != nil {
		return nil, err
	}
	out := &PodList{Pods: make([]Pod, 0, len(in.Items)), byContainerID: map[string]containerRef{}}
	for i := range in.Items {
		out.Pods = append(out.Pods, podView(&in.Items[i]))
		out.Pods[i].File = bundle.KubeletPods
	}
	for pi := range out.Pods {
		for ci, c := range out.Pods[pi].Containers {
			if _, dup := out.byContainerID[c.ID]; c.ID != "" && !dup {
				out.byContainerID[c.ID] = containerRef{pi, ci}
			}
		}
	}
	return out, nil
}

// UIDIndex maps each pod UID (as pods.json spells it) to its pod.
func (l *PodList) UIDIndex() map[string]*Pod {
	m := make(map[string]*Pod, len(l.Pods))
	for i := range l.Pods {
		if _, dup := m[l.Pods[i].UID]; !dup {
			m[l.Pods[i].UID] = &l.Pods[i]
		}
	}
	return m
}

// PodByUID finds a pod by UID in any spelling a cgroup path uses: dashed,
// or with "_" for "-" as the systemd driver writes it (DOMAIN §3).
func (l *PodList) PodByUID(uid string) (*Pod, bool) {
	uid = strings.ToLower(strings.ReplaceAll(uid, "_", "-"))
	for i := range l.Pods {
		if strings.ToLower(l.Pods[i].UID) == uid {
			return &l.Pods[i], true
		}
	}
	return nil, false
}

// ContainerByID finds a container by its 64-hex runtime ID (as cgroup
// names carry it), with or without a runtime prefix.
func (l *PodList) ContainerByID(id string) (*Pod, *Container, bool) {
	_, id = splitContainerID(id)
	ref, ok := l.byContainerID[strings.ToLower(id)]
	if !ok {
		return nil, nil, false
	}
	p := &l.Pods[ref.pod]
	return p, &p.Containers[ref.container], true
}

// splitContainerID splits "containerd://<id>" into runtime and ID.
func splitContainerID(s string) (runtime, id string) {
	if rt, rest, ok := strings.Cut(s, "://"); ok {
		return rt, strings.ToLower(rest)
	}
	return "", strings.ToLower(s)
}

func podView(in *corev1.Pod) Pod {
	p := Pod{
		Namespace: in.Namespace,
		Name:      in.Name,
		UID:       string(in.UID),
		NodeName:  in.Spec.NodeName,
		QoS:       string(in.Status.QOSClass),
		Phase:     string(in.Status.Phase),
		Reason:    in.Status.Reason,
		Message:   in.Status.Message,
		Priority:  in.Spec.Priority,
	}
	if p.QoS == "" {
		p.QoS = computeQoS(in)
	}
	p.OwnerKind, p.Owner = podOwner(in)
	p.MemoryLimit, p.MemoryRequest = podMemory(in)

	statuses := map[string]*corev1.ContainerStatus{}
	for i := range in.Status.InitContainerStatuses {
		statuses["init/"+in.Status.InitContainerStatuses[i].Name] = &in.Status.InitContainerStatuses[i]
	}
	for i := range in.Status.ContainerStatuses {
		statuses[in.Status.ContainerStatuses[i].Name] = &in.Status.ContainerStatuses[i]
	}
	for i := range in.Spec.InitContainers {
		c := &in.Spec.InitContainers[i]
		p.Containers = append(p.Containers, containerView(c, statuses["init/"+c.Name], true))
	}
	for i := range in.Spec.Containers {
		c := &in.Spec.Containers[i]
		p.Containers = append(p.Containers, containerView(c, statuses[c.Name], false))
	}
	for _, v := range in.Spec.Volumes {
		vol := Volume{Name: v.Name}
		if ed := v.EmptyDir; ed != nil {
			vol.EmptyDir = true
			vol.Medium = string(ed.Medium)
			if ed.SizeLimit != nil {
				vol.SizeLimit = ptr(ed.SizeLimit.Value())
			}
		}
		p.Volumes = append(p.Volumes, vol)
	}
	return p
}

func containerView(c *corev1.Container, st *corev1.ContainerStatus, init bool) Container {
	out := Container{Name: c.Name, Init: init}
	if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
		out.MemoryLimit = ptr(q.Value())
	}
	if q, ok := c.Resources.Requests[corev1.ResourceMemory]; ok {
		out.MemoryRequest = ptr(q.Value())
	}
	if st == nil {
		return out
	}
	out.Runtime, out.ID = splitContainerID(st.ContainerID)
	out.RestartCount = st.RestartCount
	out.Ready = st.Ready
	switch s := st.State; {
	case s.Running != nil:
		out.State = "running"
	case s.Waiting != nil:
		out.State, out.StateReason = "waiting", s.Waiting.Reason
	case s.Terminated != nil:
		out.State, out.StateReason = "terminated", s.Terminated.Reason
	}
	last := st.State.Terminated
	if last == nil {
		last = st.LastTerminationState.Terminated
	}
	if last != nil {
		out.LastTerminationReason = last.Reason
		out.LastExitCode = ptr(last.ExitCode)
		out.LastFinishedAt = last.FinishedAt.Time
		_, out.LastContainerID = splitContainerID(last.ContainerID)
	}
	return out
}

func ptr[T any](v T) *T { return &v }
