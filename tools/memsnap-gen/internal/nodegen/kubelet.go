package nodegen

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
)

// podsJSON is kubelet's /pods answer: a PodList whose container statuses
// carry the containerd IDs that name the cgroups, so the analyzer can join
// pods.json, the summary and the cgroup tree.
func (n *node) podsJSON() ([]byte, error) {
	list := corev1.PodList{TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"}}
	for _, p := range n.pods {
		item := corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{
				Name: p.Name, Namespace: p.Namespace, UID: types.UID(p.UID),
				CreationTimestamp: metav1.NewTime(p.Created),
				Labels:            map[string]string{"app": strings.SplitN(p.Name, "-", 2)[0]},
			},
			Spec: corev1.PodSpec{NodeName: n.name, RestartPolicy: corev1.RestartPolicyAlways},
			Status: corev1.PodStatus{
				Phase: corev1.PodRunning, QOSClass: qosClass(p.QoS),
				StartTime: &metav1.Time{Time: p.Created},
			},
		}
		// Pods are named as a Deployment's are, <deployment>-<hash>-<suffix>:
		// their controller is the ReplicaSet <deployment>-<hash> and they
		// carry its pod-template-hash, so several generated nodes share
		// workloads (the cluster report groups findings by them).
		if cut := strings.LastIndexByte(p.Name, '-'); cut > 0 {
			rs := p.Name[:cut]
			if h := strings.LastIndexByte(rs, '-'); h > 0 {
				yes := true
				item.Labels["pod-template-hash"] = rs[h+1:]
				item.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs,
					UID: types.UID("rs-" + rs), Controller: &yes, BlockOwnerDeletion: &yes}}
			}
		}
		for _, c := range p.Containers {
			res := corev1.ResourceRequirements{}
			if c.Limit > 0 {
				res.Limits = corev1.ResourceList{corev1.ResourceMemory: *resource.NewQuantity(c.Limit, resource.BinarySI), corev1.ResourceCPU: resource.MustParse("500m")}
				res.Requests = corev1.ResourceList{corev1.ResourceMemory: *resource.NewQuantity(c.Request, resource.BinarySI), corev1.ResourceCPU: resource.MustParse("250m")}
				if p.QoS == "guaranteed" {
					res.Requests[corev1.ResourceCPU] = resource.MustParse("500m")
				}
			}
			item.Spec.Containers = append(item.Spec.Containers, corev1.Container{Name: c.Name, Image: c.Image, Resources: res})
			st := corev1.ContainerStatus{
				Name: c.Name, Image: c.Image, ContainerID: "containerd://" + c.ID, Ready: true, Started: ptr(true),
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(p.Created.Add(5 * time.Second))}},
			}
			if c.OOMKilled {
				// The OOM-killed container was restarted once: its old
				// instance's record names the reason.
				st.RestartCount = 1
				st.LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
					ExitCode: 137, Reason: "OOMKilled", ContainerID: "containerd://" + n.hex(32),
					StartedAt: metav1.NewTime(p.Created), FinishedAt: metav1.NewTime(n.oomTime(c)),
				}}
			}
			item.Status.ContainerStatuses = append(item.Status.ContainerStatuses, st)
		}
		list.Items = append(list.Items, item)
	}
	return json.Marshal(list)
}

func ptr[T any](v T) *T { return &v }

func qosClass(q string) corev1.PodQOSClass {
	switch q {
	case "guaranteed":
		return corev1.PodQOSGuaranteed
	case "besteffort":
		return corev1.PodQOSBestEffort
	}
	return corev1.PodQOSBurstable
}

func (n *node) memoryStats(c *cgroup, limit int64) *statsv1alpha1.MemoryStats {
	u := c.tree
	ws := u.total() - u.inactiveFile
	st := &statsv1alpha1.MemoryStats{
		Time:            metav1.NewTime(n.created),
		UsageBytes:      ptr(uint64(u.total())),
		WorkingSetBytes: ptr(uint64(ws)),
		RSSBytes:        ptr(uint64(u.anon)),
		PageFaults:      ptr(uint64(u.total()/2048 + 5000)),
		MajorPageFaults: ptr(uint64(u.total() >> 24)),
	}
	if limit > 0 {
		st.AvailableBytes = ptr(uint64(max(0, limit-ws)))
	}
	return st
}

// summaryJSON is kubelet's /stats/summary: node, system containers and
// one entry per pod with its containers, numbers taken from the same tree.
func (n *node) summaryJSON() ([]byte, error) {
	root := n.byPath[""]
	s := statsv1alpha1.Summary{Node: statsv1alpha1.NodeStats{
		NodeName:  n.name,
		StartTime: metav1.NewTime(n.boot),
		Memory:    n.memoryStats(root, n.memTotal),
	}}
	for _, sys := range []struct{ name, path string }{{"kubelet", "system.slice/kubelet.service"}, {"runtime", "system.slice/containerd.service"}, {"pods", n.kubepods.path}} {
		s.Node.SystemContainers = append(s.Node.SystemContainers, statsv1alpha1.ContainerStats{
			Name: sys.name, StartTime: metav1.NewTime(n.boot), Memory: n.memoryStats(n.byPath[sys.path], n.byPath[sys.path].limit),
		})
	}
	for _, p := range n.pods {
		ps := statsv1alpha1.PodStats{
			PodRef:    statsv1alpha1.PodReference{Name: p.Name, Namespace: p.Namespace, UID: p.UID},
			StartTime: metav1.NewTime(p.Created),
			Memory:    n.memoryStats(p.Cgroup, p.Cgroup.limit),
		}
		for _, c := range p.Containers {
			ps.Containers = append(ps.Containers, statsv1alpha1.ContainerStats{
				Name: c.Name, StartTime: metav1.NewTime(p.Created.Add(5 * time.Second)), Memory: n.memoryStats(c.Cgroup, c.Limit),
			})
		}
		s.Pods = append(s.Pods, ps)
	}
	return json.Marshal(s)
}

func (n *node) configzJSON() []byte {
	return []byte(fmt.Sprintf(`{"kubeletconfig":{"cgroupDriver":%q,"cgroupsPerQOS":true,"maxPods":%d,`+
		`"enforceNodeAllocatable":["pods"],"systemReserved":{"memory":"1Gi"},"kubeReserved":{"memory":"1Gi"},`+
		`"evictionHard":{"memory.available":"100Mi","nodefs.available":"10%%","imagefs.available":"15%%"},"memoryManagerPolicy":"None"}}`,
		n.opt.Driver, max(110, n.opt.Pods+20)))
}

func (n *node) kubeletFlags() string {
	return "/usr/bin/kubelet\n--kubeconfig=/etc/kubernetes/kubelet.conf\n--config=/var/lib/kubelet/config.yaml\n" +
		"--container-runtime-endpoint=unix:///run/containerd/containerd.sock\n--hostname-override=" + n.name + "\n"
}

// podsIndex is logs/pods-index.tsv: namespace, pod, uid, container, restart.
func (n *node) podsIndex() string {
	var b strings.Builder
	for _, p := range n.pods {
		for _, c := range p.Containers {
			fmt.Fprintf(&b, "%s\t%s\t%s\t%s\t0\n", p.Namespace, p.Name, p.UID, c.Name)
			if c.OOMKilled {
				fmt.Fprintf(&b, "%s\t%s\t%s\t%s\t1\n", p.Namespace, p.Name, p.UID, c.Name)
			}
		}
	}
	return b.String()
}
