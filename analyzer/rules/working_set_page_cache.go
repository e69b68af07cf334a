package rules

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/memsnap/memsnap/analyzer/internal/cgroup"
	"github.com/memsnap/memsnap/analyzer/internal/snapshot"
	"github.com/memsnap/memsnap/analyzer/internal/units"
	"github.com/memsnap/memsnap/report/schema"
)

// WorkingSetPageCache finds working sets inflated by active page cache.
var WorkingSetPageCache = &Rule{
	ID:       "working-set-page-cache",
	Severity: schema.Warning,
	Needs:    []snapshot.Data{snapshot.DataCgroups},
	Doc: `Working set is high because of page cache, not application memory
What: a container whose working set (usage − inactive_file, exactly as cAdvisor computes
container_memory_working_set_bytes and kubectl top shows it) is at or above working_set_ratio
(default 80 %) of the limit that applies — the container's, else the pod's, else node allocatable —
while its non-reclaimable memory (anon + shmem + kernel) is below that threshold and active file
cache makes up the difference. The largest files its processes hold open are named.
Why: active_file pages are page cache the kernel can still reclaim before an OOM kill, but they
count in the working set, so alerts fire, kubectl top shows 900Mi for a 52 MiB process, and
kubelet may evict (kubernetes/kubernetes#43916, open since 2017).
Evidence: memory.stat total_active_file / active_file, total_rss / anon, total_inactive_file and
the usage and limit files of the container cgroup; proc/<pid>/fds.tsv for the open files.
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
