package rules

import (
	"fmt"

	"github.com/memsnap/memsnap/analyzer/internal/snapshot"
	"github.com/memsnap/memsnap/analyzer/internal/units"
	"github.com/memsnap/memsnap/report/schema"
)

// KernelMemoryHigh finds containers whose memory is mostly kernel memory.
var KernelMemoryHigh = &Rule{
	ID:       "kernel-memory-high",
	Severity: schema.Warning,
	Needs:    []snapshot.Data{snapshot.DataCgroups},
	Doc: `Kernel memory is a large share of a container's usage
What: a container or pod cgroup whose kernel memory (v2 memory.stat kernel, or the sum of
kernel_stack, pagetables, percpu, sock, vmalloc and slab; v1 memory.kmem.usage_in_bytes) is at least
kernel_ratio (40 %) of its usage and at least min_bytes (128 MiB).
Why: kernel memory — dentries and inodes from scanning many files, socket buffers, page tables of
many processes — is charged to the cgroup and counts in the working set, yet no heap profile
shows it; reclaimable slab is counted too (google/cadvisor#3081).
Evidence: the cgroup's memory.stat kernel/slab keys or memory.kmem.usage_in_bytes, and usage.
Fix: find what creates the kernel objects (file scans, connections, threads); raise the limit to
include them.
References: torvalds/linux:Documentation/admin-guide/cgroup-v2.rst, google/cadvisor#3081`,
	Run: runKernelMemoryHigh,
}

func runKernelMemoryHigh(p *Pass) {
	cfg := p.Config.Rules.KernelMemoryHigh
	for _, pod := range p.Snap.Pods {
		for _, c := range pod.Containers {
			n := c.Cgroup
			if n == nil || n.Kernel == nil || n.Usage == nil || n.Usage.N == 0 {
				continue
			}
			k, u := n.Kernel.N, n.Usage.N
			if k < int64(cfg.MinBytes) || float64(k) < cfg.KernelRatio*float64(u) {
				continue
			}
			f := schema.Finding{Severity: schema.Warning}
			c.Fill(&f)
			f.Summary = fmt.Sprintf("%s of %s's %s usage is kernel memory (%s).", units.Bytes(k), f.Subject, units.Bytes(u), pct(k, u))
			f.Evidence = []schema.Evidence{cite(n.Kernel, "kernel"), cite(n.Usage, "usage")}
			if v := n.StatValue("slab"); v != nil {
				f.Evidence = append(f.Evidence, cite(v, "slab"))
			}
			if v := n.StatValue("sock"); v != nil {
				f.Evidence = append(f.Evidence, cite(v, "sock"))
			}
			f.Remediation = "Look for what creates kernel objects in this container (many files scanned, many sockets or threads) and size the limit to include kernel memory."
			f.References = []string{"google/cadvisor#3081"}
			p.Report(f)
		}
	}
}
