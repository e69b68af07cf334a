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

// WorkingSetPageCache finds working sets inflated by active page cache.
var WorkingSetPageCache = &Rule{
	ID:       "working-set-page-cache",
	Severity: schema.Warning,
	NeedsAny: []snapshot.Data{snapshot.DataCgroups, snapshot.DataSummary, snapshot.DataCadvisorMetrics},
	Doc: `Working set is high because of page cache, not application memory
What: a container whose working set (usage − inactive_file, exactly as cAdvisor computes
container_memory_working_set_bytes and kubectl top shows it) is at or above working_set_ratio
(default 80 %) of the limit that applies — the container's, else the pod's, else node allocatable —
while its non-reclaimable memory (anon + shmem + kernel) is below that threshold and active file
cache makes up the difference. The largest files its processes hold open are named.
Why: active_file pages are page cache the kernel can still reclaim before an OOM kill, but they
count in the working set, so alerts fire, kubectl top shows 900Mi for a 52 MiB process, and
kubelet may evict (kubernetes/kubernetes#43916, open since 2017).
Without the cgroup tree (a ticket with kubectl output only) the rule reads what the kubelet and
cAdvisor state: with cAdvisor's container_memory_total_active_file_bytes it decides as above
(warning, the open files unnamed); with only the working set and rss (the summary's
workingSetBytes and rssBytes, or container_memory_working_set_bytes and container_memory_rss) it
can only say that working set − rss is file-backed memory — page cache, or tmpfs/shared memory,
which those numbers do not tell apart — and reports info when that part is at least half the
working set.
Evidence: memory.stat total_active_file / active_file, total_rss / anon, total_inactive_file and
the usage and limit files of the container cgroup; proc/<pid>/fds.tsv for the open files; else
kubelet/summary.json workingSetBytes, rssBytes, availableBytes and the container_memory_* series.
Fix: rotate or truncate the large files the container writes and re-reads (e.g. a log rotated at
1G → rotate at 200–300M), write logs to stdout, or alert on anon (container_memory_rss) rather than
on the working set; raise the limit only if the cache is really needed.
References: kubernetes/kubernetes#43916, google/cadvisor#2582, google/cadvisor@v0.49.0:container/libcontainer/handler.go`,
	Run: runWorkingSetPageCache,
}

func runWorkingSetPageCache(p *Pass) {
	ratio := p.Config.Rules.WorkingSetPageCache.WorkingSetRatio
	for _, pod := range p.Snap.Pods {
		for _, c := range pod.Containers {
			n := c.Cgroup
			if !c.Sandbox && n == nil && p.Snap.Cgroups == nil {
				workingSetPageCacheReported(p, c, ratio)
				continue
			}
			if c.Sandbox || n == nil || n.WorkingSet == nil || n.ActiveFile == nil {
				continue
			}
			limit, limitWhat := applicableLimit(p.Snap, c)
			if limit == nil {
				continue
			}
			threshold := int64(ratio * float64(limit.Bytes))
			ws := n.WorkingSet.N
			nonReclaim := val(n.Anon) + val(n.Shmem) + val(n.Kernel)
			if ws < threshold || nonReclaim >= threshold || n.ActiveFile.N < threshold-nonReclaim {
				continue
			}
			f := schema.Finding{Severity: schema.Warning}
			c.Fill(&f)
			f.Summary = fmt.Sprintf("%s's working set is %s, %s of its %s (%s), but only %s of it is anonymous, shared or kernel memory: %s of active page cache makes up the rest.",
				f.Subject, units.Bytes(ws), pct(ws, limit.Bytes), limitWhat, units.Bytes(limit.Bytes),
				units.Bytes(nonReclaim), units.Bytes(n.ActiveFile.N))
			f.Evidence = []schema.Evidence{
				cite(n.Usage, "usage"),
				cite(n.InactiveFile, "inactive_file"),
				{File: n.WorkingSet.File, Key: "working_set", Value: num(ws),
					Text: fmt.Sprintf("working set = usage − %s = %s − %s = %s (%s)", keyOr(keyOf(n.InactiveFile), "inactive_file"),
						strconv.FormatInt(val(n.Usage), 10), strconv.FormatInt(val(n.InactiveFile), 10), strconv.FormatInt(ws, 10), units.Bytes(ws))},
				cite(n.ActiveFile, "active_file"),
				cite(n.Anon, "anon"),
				citeFigure(limit, limitWhat),
			}
			if n.Shmem != nil {
				f.Evidence = append(f.Evidence, cite(n.Shmem, "shmem"))
			}
			if rep := c.ReportedWorkingSet(); rep != nil {
				f.Evidence = append(f.Evidence, schema.Evidence{File: "kubelet/summary.json", Key: "workingSetBytes",
					Value: num(*rep), Text: fmt.Sprintf("kubelet reports workingSetBytes %d (%s)", *rep, units.Bytes(*rep))})
			}
			var names []string
			for _, fd := range p.Snap.ContainerFds(c) {
				if len(names) == p.Config.Rules.WorkingSetPageCache.TopFiles {
					break
				}
				if fd.Size == 0 {
					// An empty file holds no page cache. Go 1.25+ programs
					// keep their cgroup's cpu.cfs_* files open (GOMAXPROCS
					// follows the CPU limit): seen on a real kubelet (e2e).
					continue
				}
				names = append(names, fmt.Sprintf("%s (%s)", fd.Path, units.Bytes(fd.Size)))
				f.Evidence = append(f.Evidence, schema.Evidence{File: fd.File, Key: "line " + strconv.Itoa(fd.Line), Value: num(fd.Size),
					Text: fmt.Sprintf("open file %s, %s", fd.Path, units.Bytes(fd.Size))})
			}
			f.Remediation = "This memory is reclaimable page cache, not a leak: the kernel drops it before an OOM kill, but it inflates container_memory_working_set_bytes and kubectl top and can trigger alerts and evictions. Rotate or truncate the files the container writes and re-reads, or alert on anonymous memory (container_memory_rss) instead."
			if len(names) > 0 {
				f.Summary += " Largest open files: " + strings.Join(names, ", ") + "."
				f.Remediation = "Rotate or truncate " + names[0] + " sooner (e.g. a log rotated at 1G → rotate at 200–300M) or log to stdout; " + f.Remediation
			}
			f.References = []string{"kubernetes/kubernetes#43916", "google/cadvisor@v0.49.0:container/libcontainer/handler.go"}
			p.Report(f)
		}
	}
}

func keyOf(v *cgroup.Value) string {
	if v == nil {
		return ""
	}
	return v.Key
}

// applicableLimit is the container's limit, else its pod's, else node allocatable.
func applicableLimit(s *snapshot.Snapshot, c *snapshot.Container) (*snapshot.Figure, string) {
	if n := c.Cgroup; n != nil && n.Limit != nil && !n.Unlimited {
		return &snapshot.Figure{Bytes: n.Limit.N, File: n.Limit.File, Key: n.Limit.Key}, "container limit"
	}
	if n := c.Pod.Cgroup; n != nil && n.Limit != nil && !n.Unlimited {
		return &snapshot.Figure{Bytes: n.Limit.N, File: n.Limit.File, Key: n.Limit.Key}, "pod limit"
	}
	if a := s.NodeMemory.Allocatable; a != nil {
		return a, "node allocatable"
	}
	return nil, ""
}

// workingSetPageCacheReported is the rule on the numbers the kubelet and
// cAdvisor state, for a node whose cgroup tree is not in the input. Both
// compute the working set as usage − total_inactive_file, floored at 0
// (google/cadvisor@v0.49.0:container/libcontainer/handler.go
// setMemoryStats; the summary's workingSetBytes is that number,
// kubernetes/kubernetes:pkg/kubelet/stats/helper.go). cAdvisor's rss is
// total_rss (v1) or anon (v2): anonymous memory only, without shmem, which
// the kernel counts in cache/file (memory.rst §5.2; cgroup-v2.rst "file").
// So working set − rss is active page cache plus shmem/tmpfs plus kernel
// memory; only active_file (container_memory_total_active_file_bytes)
// isolates the page cache: shmem folios are swap-backed and so sit on the
// anon LRU lists, never in active_file (include/linux/mm_inline.h
// folio_is_file_lru), so working set − active_file is what is not
// reclaimable cache.
func workingSetPageCacheReported(p *Pass, c *snapshot.Container, ratio float64) {
	r := c.Reported
	if r == nil || r.WorkingSet == nil {
		return
	}
	limit, limitWhat := reportedLimit(p, c)
	if limit == nil || limit.Bytes <= 0 {
		return
	}
	threshold := int64(ratio * float64(limit.Bytes))
	ws := r.WorkingSet.Bytes
	if ws < threshold {
		return
	}
	f := schema.Finding{}
	c.Fill(&f)
	stated := "stated by " + statedBy(r.WorkingSet) + ", not read from the container's cgroup"
	switch {
	case r.ActiveFile != nil:
		nonReclaim := ws - r.ActiveFile.Bytes
		if nonReclaim < 0 {
			nonReclaim = 0
		}
		if nonReclaim >= threshold || r.ActiveFile.Bytes < threshold-nonReclaim {
			return
		}
		f.Severity = schema.Warning
		f.Summary = fmt.Sprintf("%s's working set is %s, %s of its %s (%s), but %s of it is active page cache (cAdvisor's total_active_file): only %s is anonymous, shared or kernel memory. These are cAdvisor's numbers (%s); the files that fill the cache are not known without the node (proc/<pid>/fds).",
			f.Subject, units.Bytes(ws), pct(ws, limit.Bytes), limitWhat, units.Bytes(limit.Bytes),
			units.Bytes(r.ActiveFile.Bytes), units.Bytes(nonReclaim), stated)
	case r.RSS != nil:
		// A lower bound on what is not cache is all rss gives, so the
		// weaker path asks more: the file-backed part must be most of the
		// working set, not only enough to cross the threshold.
		rss := r.RSS.Bytes
		if rss >= threshold || ws-rss < ws/2 {
			return
		}
		f.Severity = schema.Info
		f.Summary = fmt.Sprintf("%s's working set is %s, %s of its %s (%s), but only %s of it is anonymous memory (rss): the other %s is file-backed — most likely active page cache, but tmpfs/shared memory and kernel memory count there too, and these numbers do not tell them apart (%s). The container's memory.stat (active_file, shmem) or cAdvisor's container_memory_total_active_file_bytes would decide; hence info, not warning.",
			f.Subject, units.Bytes(ws), pct(ws, limit.Bytes), limitWhat, units.Bytes(limit.Bytes),
			units.Bytes(rss), units.Bytes(ws-rss), stated)
	default:
		return
	}
	f.Evidence = []schema.Evidence{citeFigure(r.WorkingSet, "working set")}
	if r.Usage != nil {
		f.Evidence = append(f.Evidence, citeFigure(r.Usage, "usage"))
		if r.InactiveFile == nil && r.Usage.Bytes >= ws {
			f.Evidence = append(f.Evidence, schema.Evidence{File: r.WorkingSet.File, Key: "inactive_file", Value: num(r.Usage.Bytes - ws),
				Text: fmt.Sprintf("inactive_file = usage − working set = %d − %d = %d (%s)", r.Usage.Bytes, ws, r.Usage.Bytes-ws, units.Bytes(r.Usage.Bytes-ws))})
		}
	}
	for _, x := range []struct {
		v    *snapshot.Figure
		what string
	}{{r.RSS, "rss (anonymous)"}, {r.Cache, "cache (page cache + shmem)"}, {r.ActiveFile, "active_file"}, {r.InactiveFile, "inactive_file"}, {r.MappedFile, "mapped_file"}} {
		if x.v != nil {
			f.Evidence = append(f.Evidence, citeFigure(x.v, x.what))
		}
	}
	f.Evidence = append(f.Evidence, citeFigure(limit, limitWhat))
	f.Remediation = "This looks like reclaimable page cache, not a leak: it inflates container_memory_working_set_bytes and kubectl top and can trigger alerts and evictions. Look for large files the container writes and re-reads (logs rotated late); rotate or truncate them sooner, or alert on container_memory_rss. To confirm, send the container's memory.stat (kubectl exec … cat /sys/fs/cgroup/memory.stat or /sys/fs/cgroup/memory/memory.stat)."
	f.References = []string{"kubernetes/kubernetes#43916", "google/cadvisor@v0.49.0:container/libcontainer/handler.go"}
	p.Report(f)
}

// reportedLimit is, without a cgroup tree, the limit that applies to c as
// the evidence states it: the container's (cAdvisor's
// container_spec_memory_limit_bytes, the summary's working set +
// availableBytes, the pod spec), else the pod's, else node allocatable.
func reportedLimit(p *Pass, c *snapshot.Container) (*snapshot.Figure, string) {
	if r := c.Reported; r != nil && r.Limit != nil {
		return r.Limit, "container limit"
	}
	if c.Spec != nil && c.Spec.MemoryLimit != nil {
		return &snapshot.Figure{Bytes: *c.Spec.MemoryLimit, File: podListFile(p), Key: "spec.containers[" + c.Name + "].resources.limits.memory"}, "container limit"
	}
	if r := c.Pod.Reported; r != nil && r.Limit != nil {
		return r.Limit, "pod limit"
	}
	if sp := c.Pod.Spec; sp != nil && sp.MemoryLimit != nil {
		return &snapshot.Figure{Bytes: *sp.MemoryLimit, File: podListFile(p), Key: "spec.containers[*].resources.limits.memory (sum)"}, "pod limit"
	}
	if a := p.Snap.NodeMemory.Allocatable; a != nil {
		return a, "node allocatable"
	}
	if a := p.Snap.NodeMemory.AllocatableReport; a != nil {
		return a, "node allocatable"
	}
	return nil, ""
}

// statedBy names who stated a figure: the kubelet's summary or cAdvisor.
func statedBy(f *snapshot.Figure) string {
	if f.File == bundle.KubeletSummary {
		return "the kubelet summary"
	}
	return "cAdvisor's metrics"
}
