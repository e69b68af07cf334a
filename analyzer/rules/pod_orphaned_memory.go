package rules

import (
	"fmt"
	"strconv"

	"github.com/memsnap/memsnap/analyzer/internal/cgroup"
	"github.com/memsnap/memsnap/analyzer/internal/snapshot"
	"github.com/memsnap/memsnap/analyzer/internal/units"
	"github.com/memsnap/memsnap/report/schema"
)

// PodOrphanedMemory finds memory charged to a pod that none of its live containers holds.
var PodOrphanedMemory = &Rule{
	ID:       "pod-orphaned-memory",
	Severity: schema.Critical,
	Needs:    []snapshot.Data{snapshot.DataCgroups},
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
Evidence: the pod's and each child's usage file and memory.stat total_shmem / shmem; the
kubelet summary's pod vs container workingSetBytes.
Fix: give memory-backed emptyDir volumes a sizeLimit and clean them on start, or move the data to
disk; raise the pod limit to cover what the volume legitimately holds.
References: torvalds/linux:Documentation/admin-guide/cgroup-v1/memory.rst, kubernetes/kubernetes#128339, kubernetes/website#36453`,
	Run: runPodOrphanedMemory,
}

func runPodOrphanedMemory(p *Pass) {
	cfg := p.Config.Rules.PodOrphanedMemory
	for _, pod := range p.Snap.Pods {
		n := pod.Cgroup
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
