package lab

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	kubeletconfig "k8s.io/kubelet/config/v1beta1"
	stats "k8s.io/kubelet/pkg/apis/stats/v1alpha1"

	"github.com/memsnap/memsnap/lab/internal/labfs"
)

// kubelet is the lab's stand-in for the kubelet API on 127.0.0.1: /pods
// and /configz describe the lab's pods and config; /stats/summary is
// computed at request time from the kernel's cgroup files and statfs of
// the lab's tmpfs volumes, the way the kubelet derives it through
// cAdvisor (DOMAIN §2.1, §2.3, §7). Other endpoints answer 404, as a
// kubelet with them disabled does.
type kubelet struct {
	h        labfs.Hierarchy
	nodeName string
	config   *kubeletconfig.KubeletConfiguration
	started  time.Time

	mu   sync.Mutex
	pods []*Pod
	srv  *httptest.Server
}

func newKubelet(h labfs.Hierarchy, nodeName string, cfg *kubeletconfig.KubeletConfiguration) *kubelet {
	k := &kubelet{h: h, nodeName: nodeName, config: cfg, started: time.Now()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /pods", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, k.podList()) })
	mux.HandleFunc("GET /configz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"kubeletconfig": k.config})
	})
	mux.HandleFunc("GET /stats/summary", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, k.summary()) })
	k.srv = httptest.NewServer(mux) // listens on 127.0.0.1 only
	return k
}

func (k *kubelet) URL() string { return k.srv.URL }
func (k *kubelet) Close()      { k.srv.Close() }

func (k *kubelet) setPods(pods ...*Pod) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.pods = pods
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// podList is what GET /pods returns: a v1 PodList.
func (k *kubelet) podList() *corev1.PodList {
	k.mu.Lock()
	defer k.mu.Unlock()
	list := &corev1.PodList{TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"}}
	for _, p := range k.pods {
		pod := corev1.Pod{
			TypeMeta:   metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"},
			ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace, UID: types.UID(p.UID)},
			Spec:       corev1.PodSpec{NodeName: k.nodeName},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, QOSClass: corev1.PodQOSBurstable,
				StartTime: &metav1.Time{Time: k.started}},
		}
		if p.QoS == "besteffort" {
			pod.Status.QOSClass = corev1.PodQOSBestEffort
		}
		for _, v := range p.Volumes {
			pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: v.Name,
				VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}})
		}
		for _, c := range p.Containers {
			spec := corev1.Container{Name: c.Name, Image: "memsnap.invalid/lab-workload:dev"}
			if c.LimitBytes >= 0 {
				q := resource.NewQuantity(c.LimitBytes, resource.BinarySI)
				spec.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: *q}
			}
			for _, v := range p.Volumes {
				spec.VolumeMounts = append(spec.VolumeMounts, corev1.VolumeMount{Name: v.Name, MountPath: "/" + v.Name})
			}
			pod.Spec.Containers = append(pod.Spec.Containers, spec)
			st := corev1.ContainerStatus{Name: c.Name, ContainerID: "containerd://" + c.ID, Ready: true,
				RestartCount: int32(c.RestartCount), Image: spec.Image,
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Time{Time: k.started}}}}
			if c.LastOOMKill {
				st.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "OOMKilled"}
			}
			pod.Status.ContainerStatuses = append(pod.Status.ContainerStatuses, st)
		}
		list.Items = append(list.Items, pod)
	}
	return list
}

// summary is GET /stats/summary from the kernel's numbers now.
func (k *kubelet) summary() *stats.Summary {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := metav1.Now()
	s := &stats.Summary{Node: stats.NodeStats{NodeName: k.nodeName, StartTime: metav1.Time{Time: k.started}}}
	if total, ok := memTotal(); ok {
		if m := k.memory("/", now, total); m != nil {
			s.Node.Memory = m
		}
	}
	for _, p := range k.pods {
		ps := stats.PodStats{
			PodRef:    stats.PodReference{Name: p.Name, Namespace: p.Namespace, UID: p.UID},
			StartTime: metav1.Time{Time: k.started},
			Memory:    k.memory(p.Cgroup, now, p.LimitBytes),
		}
		for _, c := range p.Containers {
			ps.Containers = append(ps.Containers, stats.ContainerStats{Name: c.Name,
				StartTime: metav1.Time{Time: k.started}, Memory: k.memory(c.Cgroup, now, c.LimitBytes)})
		}
		for _, v := range p.Volumes {
			if fs := volumeStats(v.HostPath, now); fs != nil {
				ps.VolumeStats = append(ps.VolumeStats, stats.VolumeStats{Name: v.Name, FsStats: *fs})
			}
		}
		s.Pods = append(s.Pods, ps)
	}
	return s
}

// memory is cAdvisor's setMemoryStats for one cgroup: working set =
// usage − inactive_file; available = limit − working set, omitted when
// unlimited (kubernetes/kubernetes:pkg/kubelet/stats/helper.go).
func (k *kubelet) memory(cg string, now metav1.Time, limit int64) *stats.MemoryStats {
	f := k.h.Files()
	usage, err := k.h.ReadInt(cg, f.Usage)
	if err != nil && cg == "/" && k.h.Version == 2 {
		return nil // v2 root has no memory.current; the kubelet emulates it from meminfo
	}
	if err != nil {
		return nil
	}
	st, err := k.h.Stat(cg)
	if err != nil {
		return nil
	}
	ws := max(usage-st[f.InactiveFile], 0)
	m := &stats.MemoryStats{Time: now, UsageBytes: u64(usage), WorkingSetBytes: u64(ws), RSSBytes: u64(st[f.Anon])}
	if limit >= 0 {
		m.AvailableBytes = u64(max(limit-ws, 0))
	}
	return m
}

func u64(n int64) *uint64 { v := uint64(max(n, 0)); return &v }

// volumeStats is the kubelet's metrics_du view of a volume: capacity and
// available from statfs; used from du, which on a tmpfs equals the
// blocks statfs counts as used.
func volumeStats(dir string, now metav1.Time) *stats.FsStats {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return nil
	}
	bs := uint64(st.Bsize)
	return &stats.FsStats{Time: now, CapacityBytes: ptr(st.Blocks * bs), AvailableBytes: ptr(st.Bavail * bs),
		UsedBytes: ptr((st.Blocks - st.Bfree) * bs), Inodes: ptr(st.Files), InodesFree: ptr(st.Ffree),
		InodesUsed: ptr(st.Files - st.Ffree)}
}

func ptr[T any](v T) *T { return &v }

// memTotal is /proc/meminfo MemTotal in bytes: the node's memory capacity
// (google/cadvisor@v0.49.0:machine/machine.go).
func memTotal() (int64, bool) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	return meminfoTotal(b)
}

// meminfoTotal reads MemTotal (in kB) from /proc/meminfo text.
func meminfoTotal(b []byte) (int64, bool) {
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024, err == nil && kb > 0
		}
	}
	return 0, false
}

// hostRootVolume maps a pod volume to its place below a host root.
func hostRootVolume(hostRoot, uid, name string) (hostPath, nodePath string) {
	nodePath = filepath.Join("/var/lib/kubelet/pods", uid, "volumes", "kubernetes.io~empty-dir", name)
	return filepath.Join(hostRoot, nodePath), nodePath
}
