package rules

import (
	"fmt"
	"strconv"

	"github.com/memsnap/memsnap/analyzer/internal/snapshot"
	"github.com/memsnap/memsnap/analyzer/internal/units"
	"github.com/memsnap/memsnap/report/schema"
)

// OOMKill reports every process the kernel's OOM killer killed.
var OOMKill = &Rule{
	ID:       "oom-kill",
	Severity: schema.Critical,
	NeedsAny: []snapshot.Data{snapshot.DataKernelLog, snapshot.DataCgroups, snapshot.DataPods, snapshot.DataCadvisorMetrics},
	Doc: `A process was killed by the kernel's OOM killer
What: a kernel OOM kill in logs/kernel.log, or a cgroup oom_kill counter (v1 memory.oom_control,
v2 memory.events) above the kills the log shows (the log rotated). Each kill is attributed to its
namespace/pod/container from the cgroup paths the kernel printed (every QoS class, both cgroup
drivers, containerd/CRI-O/docker naming, static pods, nested roots), and the rule says which limit
fired — the container's, the pod's, kubepods' (node allocatable or a QoS slice) or the node's — and
what filled the cgroup: anon (heap), shmem/tmpfs, file cache, or kernel memory.
Why: "OOMKilled" alone does not say whether the application leaked, a tmpfs volume filled the pod,
or the node-level kubepods limit is too low; each needs a different fix.
Without the kernel log and the cgroup tree the kill is still known, with less: from the pod status
(lastState.terminated.reason OOMKilled), from events (OOMKilling, SystemOOM), and from cAdvisor's
container_oom_events_total above 0 — counted on the cgroup whose limit fired, so a container's
series says container scope and the pod-level series pod scope; what filled it stays unknown.
Evidence: the kernel's own kill line and memory: usage/limit/failcnt line, the report's memory
stats, the pod's last termination reason and restart count from kubelet/pods.json; else the pod
status, the events and the container_oom_events_total series.
Fix: container scope + anon → raise the limit or fix the leak (heap profile); shmem → size or
limit memory-backed emptyDir volumes; pod scope → a dead container's charges remain at the pod
(see pod-orphaned-memory); kubepods scope → the kubepods cgroup limit is below what the scheduler
assumes (see kubepods-limit-drift); node scope → the node itself ran out: reserve memory for the
system and set limits.
References: torvalds/linux:mm/oom_kill.c, torvalds/linux:mm/memcontrol.c (mem_cgroup_print_oom_meminfo),
google/cadvisor:utils/oomparser/oomparser.go, kubernetes/kubernetes#128339`,
	Run: runOOMKill,
}

func runOOMKill(p *Pass) {
	for _, e := range p.Snap.OOMEvents {
		f := schema.Finding{Severity: schema.Critical}
		switch {
		case e.Container != nil:
			e.Container.Fill(&f)
		case e.Pod != nil:
			e.Pod.Fill(&f)
		default:
			f.Subject = "node:" + p.Snap.NodeName
			if e.Raw.TaskMemcg != "" && e.Raw.TaskMemcg != "/" {
				f.Subject, f.Cgroup = "cgroup:"+e.Raw.TaskMemcg, e.Raw.TaskMemcg
			}
			f.PodUID = e.Task.PodUID
		}
		r := e.Raw
		what := fmt.Sprintf("%s (pid %d)", orDash(r.Process), r.PID)
		if e.FromCounter {
			what = "a process"
		}
		f.Title = fmt.Sprintf("OOM kill at %s scope, filled by %s", e.Scope, e.FilledBy)
		f.Summary = fmt.Sprintf("The kernel killed %s in %s because the %s memory limit was reached; %s.",
			what, f.Subject, scopeWords(e.Scope), filledWords(e.FilledBy))
		if e.FromCounter {
			c := e.CounterCgroup
			f.Summary = fmt.Sprintf("The cgroup of %s counts %d OOM kill(s) that the kernel log no longer shows (it rotated or was not collected); %s.",
				f.Subject, c.OOMKill.N, filledWords(e.FilledBy))
			f.Evidence = append(f.Evidence, cite(c.OOMKill, "oom_kill"))
		} else {
			f.Evidence = append(f.Evidence, citeLine("logs/kernel.log", r.Line,
				fmt.Sprintf("killed %s; constraint=%s oom_memcg=%s task_memcg=%s", what, orDash(r.Constraint), orDash(r.OOMMemcg), orDash(r.TaskMemcg))))
			if r.Usage != nil && r.Limit != nil {
				ev := citeLine("logs/kernel.log", r.Line, fmt.Sprintf("%s: usage %s, limit %s, failcnt %s (%s of %s)",
					r.LimitCounter, strconv.FormatInt(*r.Usage, 10), strconv.FormatInt(*r.Limit, 10), ptrStr(r.Failcnt),
					units.Bytes(*r.Usage), units.Bytes(*r.Limit)))
				ev.Key, ev.Value = "memcg_usage_bytes", num(*r.Usage)
				f.Evidence = append(f.Evidence, ev)
			}
			if r.AnonRSS != nil {
				f.Evidence = append(f.Evidence, schema.Evidence{File: "logs/kernel.log", Key: "anon_rss_bytes", Value: num(*r.AnonRSS),
					Text: fmt.Sprintf("victim anon-rss %s, file-rss %s, shmem-rss %s", units.Bytes(*r.AnonRSS), bytesOrDash(r.FileRSS), bytesOrDash(r.ShmemRSS))})
			}
		}
		if e.FilledBy != "unknown" {
			f.Evidence = append(f.Evidence, schema.Evidence{File: fileOr(e.FilledFrom, "logs/kernel.log"), Key: "filled_by",
				Text: fmt.Sprintf("largest share of the cgroup whose limit fired: %s (from %s)", e.FilledBy, e.FilledFrom)})
		}
		if c := e.Container; c != nil && c.Spec != nil && (c.Spec.RestartCount > 0 || c.Spec.LastTerminationReason != "") {
			f.Evidence = append(f.Evidence, schema.Evidence{File: podListFile(p), Key: "lastState.terminated.reason",
				Text: fmt.Sprintf("container %s: last termination %s, restartCount %d", c.Name, orDash(c.Spec.LastTerminationReason), c.Spec.RestartCount)})
		}
		f.Remediation = oomRemedy(e)
		f.References = []string{"torvalds/linux:mm/oom_kill.c"}
		switch e.Scope {
		case "kubepods":
			f.References = append(f.References, "kubernetes/kubernetes#88197")
		case "pod":
			f.References = append(f.References, "kubernetes/kubernetes#128339")
		}
		p.Report(f)
	}
	// Pasted cgroup files hold no counter of a killed container's cgroup
	// (gone with it on v1), so the pod status still speaks.
	if !p.Snap.Has(snapshot.DataKernelLog) && (!p.Snap.Has(snapshot.DataCgroups) || p.Snap.CgroupsPasted) {
		oomFromAPI(p)
	}
}

// podListFile is the file the pods came from: kubelet/pods.json in a
// bundle, the customer's own file (pod.yaml) among loose files.
func podListFile(p *Pass) string {
	if f := p.Snap.PodListFile; f != "" {
		return f
	}
	return "kubelet/pods.json"
}

// oomFromAPI: without a kernel log or cgroup tree (kubectl-only evidence), an
// OOM kill is still known from the pod status (lastState.terminated.reason
// OOMKilled, set by the kubelet from the runtime's exit reason) and from
// events: node-problem-detector's OOMKilling, the kubelet's SystemOOM
// (kubernetes/kubernetes:pkg/kubelet/oom/oom_watcher_linux.go). Which limit
// fired and what filled it cannot be said from these.
func oomFromAPI(p *Pass) {
	file := podListFile(p)
	for _, pod := range p.Snap.Pods {
		for _, c := range pod.Containers {
			if c.Spec == nil || c.Spec.LastTerminationReason != "OOMKilled" {
				continue
			}
			f := schema.Finding{Severity: schema.Critical}
			c.Fill(&f)
			f.Title = "OOM kill (from the pod status; limit and filler unknown)"
			f.Summary = fmt.Sprintf("Container %s was OOM-killed (restartCount %d). The pod status says so, but not which limit fired "+
				"nor what filled the cgroup: the node's kernel log would (kubectl debug node/%s -it --image=busybox -- dmesg -T).",
				f.Subject, c.Spec.RestartCount, p.Snap.NodeName)
			f.Evidence = append(f.Evidence, schema.Evidence{File: file, Key: "lastState.terminated.reason",
				Text: fmt.Sprintf("container %s: last termination OOMKilled, restartCount %d, limit %s", c.Name, c.Spec.RestartCount, bytesOrDash(c.Spec.MemoryLimit))})
			if n := counterOf(c.Reported); n > 0 {
				f.Evidence = append(f.Evidence, citeCounter(c.Reported.OOMEvents))
			}
			f.Remediation = "Compare the container's limit with what it uses (kubectl top pod, the working set); collect the kernel log for the scope and filler."
			f.References = []string{"kubernetes/kubernetes:pkg/kubelet/kuberuntime/kuberuntime_container.go"}
			p.Report(f)
		}
	}
	oomFromCadvisorCounter(p)
	for _, e := range p.Snap.Events {
		if e.Reason != "OOMKilling" && e.Reason != "SystemOOM" {
			continue
		}
		f := schema.Finding{Severity: schema.Critical, Subject: "node:" + p.Snap.NodeName}
		f.Title = "OOM kill reported by an event (" + e.Reason + ")"
		f.Summary = fmt.Sprintf("Event %s from %s: %s", e.Reason, orDash(e.Source), e.Message)
		f.Evidence = append(f.Evidence, schema.Evidence{File: e.File, Key: "line " + strconv.Itoa(e.Line), Text: e.Message})
		f.Remediation = "A node-level (system) OOM: reserve memory for the system (kube-reserved/system-reserved) and set limits; the kernel log names the victim's cgroup."
		f.References = []string{"kubernetes/node-problem-detector", "kubernetes/kubernetes:pkg/kubelet/oom/oom_watcher_linux.go"}
		p.Report(f)
	}
}

func scopeWords(scope string) string {
	switch scope {
	case "container":
		return "container's"
	case "pod":
		return "pod's (all its containers together, including charges left by earlier containers)"
	case "kubepods":
		return "node-allocatable (kubepods) cgroup's"
	case "node":
		return "node's"
	}
	return "non-Kubernetes cgroup's"
}

func filledWords(by string) string {
	switch by {
	case "anon":
		return "anonymous memory (the processes' heap and stacks) filled it"
	case "shmem":
		return "shared memory / tmpfs (e.g. a memory-backed emptyDir) filled it"
	case "file":
		return "page cache that could not be reclaimed fast enough filled it"
	case "kernel":
		return "kernel memory (slab, stacks, page tables, sockets) filled it"
	}
	return "the bundle does not say what filled it"
}

func oomRemedy(e *snapshot.OOMEvent) string {
	switch e.Scope {
	case "kubepods":
		return "The kubepods cgroup limit fired, not the pod's: compare it with node allocatable (kubepods-limit-drift) and restart the kubelet or fix systemd's kubepods.slice limit so pods get the memory the scheduler promised."
	case "pod":
		if e.FilledBy == "shmem" {
			return "Memory-backed emptyDir data outlives a container restart and stays charged to the pod: set emptyDir.sizeLimit, clean the volume on start, or raise the pod limit to cover the tmpfs."
		}
		return "The sum of the pod's containers (and charges left by dead ones) reached the pod limit: raise the limits or find what the pod keeps in memory."
	case "node":
		return "The whole node ran out of memory: set memory limits on pods, reserve memory for the system (system-reserved/kube-reserved) and check eviction thresholds."
	}
	switch e.FilledBy {
	case "anon":
		return "The application's own memory reached the limit: raise the container memory limit or find the growth with a heap profile."
	case "shmem":
		return "Shared memory or tmpfs filled the container: limit the memory-backed volume (emptyDir.sizeLimit) or raise the limit."
	case "kernel":
		return "Kernel memory charged to the container filled it: look for socket buffers, many files or threads."
	}
	return "Raise the memory limit or reduce the workload's memory use."
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func fileOr(s, alt string) string {
	if s == "" || s == "kernel report" {
		return alt
	}
	return s
}

func ptrStr(p *int64) string {
	if p == nil {
		return "-"
	}
	return strconv.FormatInt(*p, 10)
}

func bytesOrDash(p *int64) string {
	if p == nil {
		return "-"
	}
	return units.Bytes(*p)
}

// oomFromCadvisorCounter reports the kills only cAdvisor's
// container_oom_events_total states. cAdvisor reads the kernel log
// (utils/oomparser) and adds one to the counter of the cgroup named as the
// one whose limit fired — "killed as a result of limit of" / oom_memcg —
// not the victim's (google/cadvisor:manager/manager.go watchForNewOoms). A
// container's series above 0 is therefore a kill at its own limit, the pod
// cgroup's series a kill at the pod limit. The counter lives as long as the
// cgroup and the kubelet: a restarted container has a new cgroup at 0, so
// a count on a running container means a process was killed but the
// container kept running (the victim was not its main process), or the
// scrape came between the kill and the restart.
func oomFromCadvisorCounter(p *Pass) {
	for _, pod := range p.Snap.Pods {
		if n := counterOf(pod.Reported); n > 0 {
			f := schema.Finding{Severity: schema.Critical}
			pod.Fill(&f)
			f.Title = "OOM kill at pod scope (from cAdvisor's counter; filler unknown)"
			f.Summary = fmt.Sprintf("cAdvisor counts %d OOM kill(s) at the limit of pod %s (container_oom_events_total of the pod cgroup): the sum of its containers, with what dead containers left charged to it, reached the pod limit. Which process died and what filled the pod is not in the metrics: the node's kernel log would say (kubectl debug node/%s -it --image=busybox -- dmesg -T).",
				n, f.Subject, p.Snap.NodeName)
			f.Evidence = []schema.Evidence{citeCounter(pod.Reported.OOMEvents)}
			f.Remediation = "A pod-level OOM often means a memory-backed emptyDir or a dead container's charges fill the pod: check pod-orphaned-memory and tmpfs-memory, set emptyDir.sizeLimit, or raise the pod's limits."
			f.References = []string{"google/cadvisor:manager/manager.go", "kubernetes/kubernetes#128339"}
			p.Report(f)
		}
		for _, c := range pod.Containers {
			n := counterOf(c.Reported)
			if n == 0 || c.Sandbox || (c.Spec != nil && c.Spec.LastTerminationReason == "OOMKilled") {
				continue // the pod-status finding above already cites the counter
			}
			f := schema.Finding{Severity: schema.Critical}
			c.Fill(&f)
			f.Title = "OOM kill at container scope (from cAdvisor's counter; filler unknown)"
			f.Summary = fmt.Sprintf("cAdvisor counts %d OOM kill(s) at the memory limit of %s (container_oom_events_total) in the container's current cgroup: a process in it was killed while the container kept running (or before its restart was scraped). Which process and what filled the cgroup is not in the metrics: the node's kernel log would say (kubectl debug node/%s -it --image=busybox -- dmesg -T).",
				n, f.Subject, p.Snap.NodeName)
			f.Evidence = []schema.Evidence{citeCounter(c.Reported.OOMEvents)}
			if r := c.Reported; r != nil {
				if r.Limit != nil {
					f.Evidence = append(f.Evidence, citeFigure(r.Limit, "container limit"))
				}
				if r.WorkingSet != nil {
					f.Evidence = append(f.Evidence, citeFigure(r.WorkingSet, "working set"))
				}
			}
			f.Remediation = "A child process (a worker, a shell command) hit the container's limit: raise the limit or bound the worker's memory; the kernel log names the victim and what filled the cgroup."
			f.References = []string{"google/cadvisor:manager/manager.go", "torvalds/linux:mm/oom_kill.c"}
			p.Report(f)
		}
	}
}

func counterOf(r *snapshot.Reported) int64 {
	if r == nil || r.OOMEvents == nil {
		return 0
	}
	return r.OOMEvents.Bytes
}

func citeCounter(f *snapshot.Figure) schema.Evidence {
	return schema.Evidence{File: f.File, Key: f.Key, Value: num(f.Bytes),
		Text: fmt.Sprintf("container_oom_events_total = %d (OOM kills at this cgroup's limit since cAdvisor started watching it)", f.Bytes)}
}
