// Package podpath attributes a cgroup path (as the kernel prints it in an OOM
// report, or as it sits below a bundle's cgroup/ directory) to the kubelet's
// cgroup layout: kubepods root, QoS class, pod UID and container ID.
//
// The layout is the kubelet's (DOMAIN §3): QoS parents from
// kubernetes/kubernetes:pkg/kubelet/cm/qos_container_manager_linux.go, the pod
// leaf "pod"+UID from cm/helpers_linux.go GetPodCgroupNameSuffix, and the
// systemd driver's conversion (each component's "-" becomes "_", components are
// joined with "-" and get ".slice") from cm/cgroup_manager_linux.go
// ConvertCgroupNameToSystemd. Container leaves are the runtimes' own names,
// matched the way cAdvisor does (google/cadvisor:container/containerd/factory.go,
// crio/factory.go, docker/utils/docker.go: 64 lowercase hex characters).
package podpath

import "strings"

// Level is the deepest kubelet-managed cgroup a path names.
type Level int

const (
	LevelNone      Level = iota // not below a kubepods root, or nothing recognised
	LevelKubepods               // the node-allocatable cgroup itself (or an unrecognised child of it)
	LevelQoS                    // a burstable or besteffort QoS cgroup
	LevelPod                    // a pod cgroup, or CRI-O's conmon cgroup in one (Ref.Child)
	LevelContainer              // a container cgroup, or anything below one
)

func (l Level) String() string {
	switch l {
	case LevelKubepods:
		return "kubepods"
	case LevelQoS:
		return "qos"
	case LevelPod:
		return "pod"
	case LevelContainer:
		return "container"
	}
	return "none"
}

// QoS class names as the kubelet spells them in cgroup names.
const (
	QoSGuaranteed = "guaranteed"
	QoSBurstable  = "burstable"
	QoSBestEffort = "besteffort"
)

// Container runtime names, from the leaf's prefix.
const (
	RuntimeContainerd = "containerd"
	RuntimeCRIO       = "crio"
	RuntimeDocker     = "docker"
)

// Ref is what a cgroup path says about its place in the kubelet's layout.
// Empty strings mean "the path does not say".
type Ref struct {
	Path string // the path as given
	// KubepodsRoot is the prefix of Path up to and including the kubepods
	// component ("/kubepods", "/kubepods.slice", "/lxc.payload.x/kubepods.slice").
	KubepodsRoot string
	QoS          string // QoSGuaranteed | QoSBurstable | QoSBestEffort | ""
	PodUID       string // dashed UUID, or the 32-hex form of static pods
	ContainerID  string // 64 hex
	Runtime      string // RuntimeContainerd | RuntimeCRIO | RuntimeDocker | ""
	// Child names a child of the pod cgroup whose name is no known container
	// name: "conmon" for CRI-O's crio-conmon-<id>.scope (Level stays
	// LevelPod: conmon is no container), else the unrecognised components,
	// which are a container of the pod (LevelContainer, no ContainerID).
	Child string
	Level Level
}

// Parse attributes a cgroup path. It never fails: a path outside Kubernetes
// yields LevelNone.
func Parse(cgroupPath string) Ref {
	ref := Ref{Path: cgroupPath}
	comps := splitPath(cgroupPath)
	root := -1
	for i, c := range comps {
		if c == "kubepods" || c == "kubepods.slice" {
			root = i
			break
		}
	}
	start := 0
	if root >= 0 {
		ref.KubepodsRoot = strings.Join(comps[:root+1], "/")
		if strings.HasPrefix(cgroupPath, "/") {
			ref.KubepodsRoot = "/" + ref.KubepodsRoot
		}
		ref.Level = LevelKubepods
		start = root + 1
	}

	// The pod component may sit anywhere (a mangled QoS slice in between, or
	// no kubepods component at all as in the misconfigured-containerd colon
	// form), so look for it by its "pod<uid>" shape rather than by position.
	pod := -1
	for i := start; i < len(comps); i++ {
		head, _, _ := strings.Cut(comps[i], ":")
		if uid, qos, ok := podComponent(head); ok {
			pod = i
			ref.PodUID = uid
			ref.QoS = qos
			break
		}
	}

	if root >= 0 && start < len(comps) {
		next := comps[start]
		if q := qosComponent(next); q != "" {
			ref.QoS = q
			ref.Level = LevelQoS
			start++
		} else if pod == start && ref.QoS == "" {
			// A pod directly below the root is Guaranteed (qos_container_manager
			// puts Guaranteed pods in the root container).
			ref.QoS = QoSGuaranteed
		}
		if pod < 0 && start < len(comps) {
			ref.Child = strings.Join(comps[start:], "/")
		}
	}
	if pod < 0 {
		return ref
	}
	ref.Level = LevelPod

	// The colon form keeps runtime and id in the pod component itself:
	// kubepods-besteffort-pod<uid_>.slice:cri-containerd:<id>.
	if parts := strings.Split(comps[pod], ":"); len(parts) == 3 {
		if rt, ok := runtimeName(parts[1]); ok && isContainerID(parts[2]) {
			ref.Runtime, ref.ContainerID, ref.Level = rt, parts[2], LevelContainer
			return ref
		}
	}
	if pod+1 < len(comps) {
		leaf := comps[pod+1]
		switch id, rt, conmon := containerComponent(leaf); {
		case conmon:
			ref.Runtime, ref.Child = RuntimeCRIO, "conmon"
		case id != "":
			ref.ContainerID, ref.Runtime, ref.Level = id, rt, LevelContainer
		default:
			// A child of a pod cgroup is one of its containers (or its
			// sandbox) whatever the runtime called it: only the kubelet
			// creates pod cgroups, and it puts nothing else below them but
			// the runtime's containers. Names no convention matches (seed 003's
			// 58-hex-digit scopes, a runtime not listed above) keep the name in
			// Child and no ContainerID.
			ref.Child = strings.Join(comps[pod+1:], "/")
			ref.Level = LevelContainer
		}
	}
	return ref
}

// ScopeOf says whose limit a memcg path is: "container", "pod", "kubepods"
// (the kubepods root or a QoS cgroup), "other" (a memcg outside Kubernetes,
// e.g. /system.slice/x.service) and "" for the root or an empty path.
func ScopeOf(memcg string) string {
	if len(splitPath(memcg)) == 0 {
		return ""
	}
	switch Parse(memcg).Level {
	case LevelContainer:
		return "container"
	case LevelPod:
		return "pod"
	case LevelKubepods, LevelQoS:
		return "kubepods"
	}
	return "other"
}

func splitPath(p string) []string {
	var comps []string
	for c := range strings.SplitSeq(p, "/") {
		if c != "" && c != "." {
			comps = append(comps, unescapeSystemd(c))
		}
	}
	return comps
}

// unescapeSystemd undoes systemd's "\x2d" escaping of "-" (systemd-escape),
// which turns up when a slice was created by hand from a dashed name.
func unescapeSystemd(c string) string {
	if !strings.Contains(c, `\x2d`) {
		return c
	}
	return strings.ReplaceAll(c, `\x2d`, "-")
}

// qosComponent recognises the QoS cgroup of either driver.
func qosComponent(c string) string {
	switch c {
	case "burstable", "kubepods-burstable.slice":
		return QoSBurstable
	case "besteffort", "kubepods-besteffort.slice":
		return QoSBestEffort
	}
	return ""
}
