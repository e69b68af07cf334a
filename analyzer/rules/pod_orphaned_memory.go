package rules

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/memsnap/memsnap/analyzer/internal/cgroup"
	"github.com/memsnap/memsnap/analyzer/internal/snapshot"
	"github.com/memsnap/memsnap/analyzer/internal/units"
	"github.com/memsnap/memsnap/bundle"
	"github.com/memsnap/memsnap/report/schema"
)

// PodOrphanedMemory finds memory charged to a pod that none of its live containers holds.
var PodOrphanedMemory = &Rule{
	ID:       "pod-orphaned-memory",
	Severity: schema.Critical,
	NeedsAny: []snapshot.Data{snapshot.DataCgroups, snapshot.DataSummary},
	Doc: `A pod holds memory that none of its live containers does
What: a pod cgroup whose hierarchical usage exceeds the sum of its live child cgroups' usage
(containers and the pause sandbox) by at least min_bytes (64 MiB) and min_ratio (10 %) of the pod
limit. The gap is charge left by dead containers: memory-backed emptyDir (tmpfs) files written by
a container that was since restarted, or its page cache.
Why: the kernel charges pages, not tasks. When a container's cgroup is removed its remaining
charges move to the parent — the pod (cgroup-v1 memory.rst §4.3; v2 "Memory Ownership"). On
current kernels the pod's local counters stay 0, so only pod total − Σ live children shows it. The
new container then OOMs against the pod limit with far less memory of its own than the limit
(kubernetes/kubernetes#128339), and the pod's working set is far above its containers'.
Without the cgroup tree (kubectl output only) the kubelet summary's pod workingSetBytes is compared
with the sum of its containers' (the pod cgroup includes the pause container and what dead
containers left; the summary lists only live containers): the same thresholds, one severity lower
(info; warning when the pod status shows an OOMKilled container), because the summary cannot say
what holds the gap — tmpfs, page cache or the sandbox — and its working set leaves inactive file
cache out.
Evidence: the pod's and each child's usage file and memory.stat total_shmem / shmem; the
kubelet summary's pod vs container workingSetBytes, usageBytes and memory-backed volumes' usedBytes.
Fix: give memory-backed emptyDir volumes a sizeLimit and clean them on start, or move the data to
disk; raise the pod limit to cover what the volume legitimately holds.
References: torvalds/linux:Documentation/admin-guide/cgroup-v1/memory.rst, kubernetes/kubernetes#128339, kubernetes/website#36453`,
	Run: runPodOrphanedMemory,
}

func runPodOrphanedMemory(p *Pass) {
	cfg := p.Config.Rules.PodOrphanedMemory
	for _, pod := range p.Snap.Pods {
		n := pod.Cgroup
		if n == nil && p.Snap.Cgroups == nil {
			podOrphanedFromSummary(p, pod)
			continue
		}
		if n == nil || n.Usage == nil {
			continue
		}
		var live, liveShmem int64
		complete := true
		for _, child := range n.Children {
			if child.Usage == nil {
				complete = false
				continue
			}
			live += child.Usage.N
			liveShmem += val(child.Shmem)
		}
		if !complete {
			continue // a child without a usage file: the difference would be a guess
		}
		orphan := n.Usage.N - live
		base := n.Usage.N
		if n.Limit != nil && !n.Unlimited {
			base = n.Limit.N
		}
		if orphan < int64(cfg.MinBytes) || float64(orphan) < cfg.MinRatio*float64(base) {
			continue
		}
		f := schema.Finding{Severity: schema.Warning}
		pod.Fill(&f)
		orphanShmem := val(n.Shmem) - liveShmem
		f.Summary = fmt.Sprintf("Pod %s is charged %s, but its %d live cgroups hold only %s: %s (%s of the pod's %s) is left by containers that no longer exist.",
			f.Subject, units.Bytes(n.Usage.N), len(n.Children), units.Bytes(live), units.Bytes(orphan), pct(orphan, base), limitWord(n))
		if n.Shmem != nil && orphanShmem > orphan/2 {
			f.Summary += fmt.Sprintf(" %s of it is shared memory (tmpfs), which is never reclaimed without swap.", units.Bytes(orphanShmem))
		}
		f.Evidence = []schema.Evidence{cite(n.Usage, "pod usage")}
		for _, child := range n.Children {
			f.Evidence = append(f.Evidence, cite(child.Usage, "child usage"))
		}
		f.Evidence = append(f.Evidence, schema.Evidence{File: n.Usage.File, Key: "orphaned", Value: num(orphan),
			Text: fmt.Sprintf("pod total − Σ live children = %s − %s = %s", strconv.FormatInt(n.Usage.N, 10), strconv.FormatInt(live, 10), strconv.FormatInt(orphan, 10))})
		if n.Shmem != nil {
			f.Evidence = append(f.Evidence, cite(n.Shmem, "pod shmem"))
		}
		if n.Limit != nil && !n.Unlimited {
			f.Evidence = append(f.Evidence, cite(n.Limit, "pod limit"))
		}
		if rep := pod.ReportedWorkingSet(); rep != nil {
			var sum int64
			for _, c := range pod.Containers {
				if ws := c.ReportedWorkingSet(); ws != nil {
					sum += *ws
				}
			}
			f.Evidence = append(f.Evidence, schema.Evidence{File: "kubelet/summary.json", Key: "pods[].memory.workingSetBytes", Value: num(*rep),
				Text: fmt.Sprintf("kubelet: pod working set %s vs Σ containers %s", units.Bytes(*rep), units.Bytes(sum))})
		}
		for _, c := range pod.Containers {
			if c.Spec != nil && c.Spec.RestartCount > 0 {
				f.Evidence = append(f.Evidence, schema.Evidence{File: fileOr(pod.Spec.File, "kubelet/pods.json"), Key: "restartCount",
					Text: fmt.Sprintf("container %s restarted %d time(s), last termination %s", c.Name, c.Spec.RestartCount, orDash(c.Spec.LastTerminationReason))})
			}
		}
		for _, e := range p.Snap.OOMEvents {
			if e.Pod == pod && e.Scope == "pod" {
				f.Severity = schema.Critical
				f.Summary += " The pod limit has already OOM-killed a container."
				break
			}
		}
		f.Remediation = "Memory written to a memory-backed emptyDir (tmpfs) survives container restarts and stays charged to the pod: set emptyDir.sizeLimit, delete the files on start, or use a disk-backed volume; raise the pod limit by what the volume must hold."
		f.References = []string{"kubernetes/kubernetes#128339", "torvalds/linux:Documentation/admin-guide/cgroup-v1/memory.rst"}
		p.Report(f)
	}
}

func limitWord(n *cgroup.Node) string {
	if n.Limit != nil && !n.Unlimited {
		return units.Bytes(n.Limit.N) + " limit"
	}
	return "usage (no pod limit)"
}

// podOrphanedFromSummary is the rule on the kubelet summary alone. The
// summary's pod memory is the pod cgroup's (kubernetes/kubernetes:
// pkg/kubelet/stats/cadvisor_stats_provider.go takes it from the pod
// cgroup's cAdvisor info), which holds the pause container and every
// charge a dead container left (cgroup-v1 memory.rst §4.3: charges move
// to the parent when a cgroup is removed), while its containers[] are the
// live containers only. Pod working set − Σ containers' is therefore the
// sandbox plus what dead containers left that is not inactive file cache.
func podOrphanedFromSummary(p *Pass, pod *snapshot.Pod) {
	cfg := p.Config.Rules.PodOrphanedMemory
	st := pod.Stats
	if st == nil || st.Memory == nil || st.Memory.WorkingSetBytes == nil || len(st.Containers) == 0 {
		return
	}
	podWS := int64(*st.Memory.WorkingSetBytes)
	var live int64
	for _, c := range st.Containers {
		if c.Memory == nil || c.Memory.WorkingSetBytes == nil {
			return // a container without a working set: the difference would be a guess
		}
		live += int64(*c.Memory.WorkingSetBytes)
	}
	orphan := podWS - live
	base, baseWhat := podWS, "working set (no pod limit stated)"
	var limit *snapshot.Figure
	if r := pod.Reported; r != nil && r.Limit != nil {
		limit, base, baseWhat = r.Limit, r.Limit.Bytes, units.Bytes(r.Limit.Bytes)+" limit"
	}
	if orphan < int64(cfg.MinBytes) || float64(orphan) < cfg.MinRatio*float64(base) {
		return
	}
	f := schema.Finding{Severity: schema.Info}
	pod.Fill(&f)
	key := fmt.Sprintf("pods[%s/%s].", pod.Namespace, pod.Name)
	f.Summary = fmt.Sprintf("The kubelet says pod %s has a working set of %s, but its %d live container(s) only %s: %s (%s of the pod's %s) is held by the pod cgroup itself — most likely left by containers that no longer exist (tmpfs or page cache), or the sandbox. The summary alone cannot say which (the pod cgroup's memory.stat would), hence %s.",
		f.Subject, units.Bytes(podWS), len(st.Containers), units.Bytes(live), units.Bytes(orphan), pct(orphan, base), baseWhat, "info")
	f.Evidence = []schema.Evidence{{File: bundle.KubeletSummary, Key: key + "memory.workingSetBytes", Value: num(podWS),
		Text: fmt.Sprintf("pod working set = %d (%s)", podWS, units.Bytes(podWS))}}
	for _, c := range st.Containers {
		ws := int64(*c.Memory.WorkingSetBytes)
		f.Evidence = append(f.Evidence, schema.Evidence{File: bundle.KubeletSummary, Key: key + "containers[" + c.Name + "].memory.workingSetBytes", Value: num(ws),
			Text: fmt.Sprintf("container %s working set = %d (%s)", c.Name, ws, units.Bytes(ws))})
	}
	f.Evidence = append(f.Evidence, schema.Evidence{File: bundle.KubeletSummary, Key: "orphaned", Value: num(orphan),
		Text: fmt.Sprintf("pod working set − Σ live containers = %d − %d = %d", podWS, live, orphan)})
	if limit != nil {
		f.Evidence = append(f.Evidence, citeFigure(limit, "pod limit"))
	}
	if pod.Spec != nil {
		for _, sv := range pod.Spec.Volumes {
			if !sv.EmptyDir || sv.Medium != "Memory" {
				continue
			}
			for _, vs := range st.Volumes {
				if vs.Name == sv.Name && vs.UsedBytes != nil {
					used := int64(*vs.UsedBytes)
					f.Evidence = append(f.Evidence, schema.Evidence{File: bundle.KubeletSummary, Key: key + "volume[" + sv.Name + "].usedBytes", Value: num(used),
						Text: fmt.Sprintf("memory-backed emptyDir %s holds %s (tmpfs: shared memory charged to the pod)", sv.Name, units.Bytes(used))})
					if used > orphan/2 {
						f.Summary += fmt.Sprintf(" The memory-backed volume %s holds %s, which would account for most of it.", sv.Name, units.Bytes(used))
					}
				}
			}
		}
	}
	for _, c := range pod.Containers {
		if c.Spec != nil && c.Spec.LastTerminationReason == "OOMKilled" {
			f.Severity = schema.Warning
			f.Summary = strings.Replace(f.Summary, "hence info.", "hence warning, not critical: the pod status shows container "+c.Name+" OOMKilled, but not whether the pod limit fired.", 1)
			f.Evidence = append(f.Evidence, schema.Evidence{File: podListFile(p), Key: "lastState.terminated.reason",
				Text: fmt.Sprintf("container %s restarted %d time(s), last termination OOMKilled", c.Name, c.Spec.RestartCount)})
			break
		}
	}
	f.Remediation = "If the pod has a memory-backed emptyDir, its files survive container restarts and stay charged to the pod: set emptyDir.sizeLimit, delete the files on start, or use a disk-backed volume. To confirm, send the pod cgroup's memory.stat (kubectl memsnap collect, or memsnap-collect on the node)."
	f.References = []string{"kubernetes/kubernetes#128339", "torvalds/linux:Documentation/admin-guide/cgroup-v1/memory.rst"}
	p.Report(f)
}
