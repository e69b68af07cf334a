package rules

import (
	"fmt"
	"strings"

	"github.com/memsnap/memsnap/analyzer/internal/config"
	"github.com/memsnap/memsnap/analyzer/internal/kernfail"
	"github.com/memsnap/memsnap/analyzer/internal/snapshot"
	"github.com/memsnap/memsnap/analyzer/internal/units"
	"github.com/memsnap/memsnap/bundle"
	"github.com/memsnap/memsnap/report/schema"
)

// FragmentationOOM finds higher-order allocations that failed while memory was free but fragmented.
var FragmentationOOM = &Rule{
	ID:       "fragmentation-oom",
	Severity: schema.Critical,
	Needs:    []snapshot.Data{snapshot.DataKernelLog},
	Doc: `A higher-order allocation failed although memory was free: fragmentation
What: a "page allocation failure: order:N" warning (warning) or a global OOM kill invoked for an
allocation of order N (critical), N ≥ 1, where the zone free lists — the report's own free-area
dump ("Node 0 Normal: 28673*4kB …"), else node/buddyinfo at collection time — show at least
min_free (64 MiB) free of which at most high_order_ratio (5 %) is in blocks of order N or larger.
Why: the buddy allocator serves an order-N request only from a free block of 2^N contiguous pages;
plenty of free 4 KiB pages do not help when no larger block is left and compaction fails
(torvalds/linux:mm/page_alloc.c __alloc_pages_slowpath, warn_alloc; mm/compaction.c). Forks
(kernel stacks are order 2 on x86-64 with 16 KiB stacks), network buffers, and kernels creating
per-memcg slab caches (3.10, order 6 in kmem_cache_create_memcg) ask for such blocks; the OOM
killer may then kill a process although free memory is reported.
Evidence: logs/kernel.log failure line and the free-area lines of its zones, or node/buddyinfo.
Fix: compact memory (echo 1 > /proc/sys/vm/compact_memory) as a stop-gap; raise
vm.min_free_kbytes so the kernel keeps larger blocks, reduce page-cache churn, enable THP defrag
or kcompactd proactiveness (vm.compaction_proactiveness, Linux ≥ 5.9); on 3.10 kernels avoid
per-memcg kmem caches (cgroup.memory=nokmem, see kmem-accounting-leak).
References: torvalds/linux:mm/page_alloc.c, torvalds/linux:Documentation/admin-guide/sysctl/vm.rst, torvalds/linux:mm/vmstat.c`,
	Run: runFragmentationOOM,
}

func runFragmentationOOM(p *Pass) {
	s, cfg := p.Snap, p.Config.Rules.FragmentationOOM
	kf := s.KernelFailures
	if kf == nil {
		return
	}
	// OOM reports of a memcg at its limit are about the limit, not the free lists.
	memcg := map[int]bool{}
	for _, e := range s.OOMEvents {
		if !e.FromCounter && !e.Raw.Global {
			memcg[e.Raw.StartLine] = true
		}
	}
	type key struct {
		process string
		order   int
		oom     bool
	}
	seen := map[key]*schema.Finding{}
	counts := map[key]int{}
	var order []key
	for _, a := range kf.Allocs {
		if a.Order < 1 || (a.OOM && memcg[a.Line]) {
			continue
		}
		zones, src := a.Free, "the report's free-area dump"
		if len(zones) == 0 && len(s.Buddyinfo) > 0 {
			zones, src = s.Buddyinfo, "node/buddyinfo at collection time"
		}
		z, ok := fragmentedZone(zones, a.Order, cfg.MinFree, cfg.HighOrderRatio)
		if !ok {
			continue
		}
		k := key{a.Process, a.Order, a.OOM}
		counts[k]++
		if seen[k] != nil {
			continue
		}
		f := &schema.Finding{Severity: schema.Warning, Subject: "node:" + s.NodeName}
		what := "page allocation failure"
		if a.OOM {
			f.Severity = schema.Critical
			what = "OOM kill"
		}
		free, high := z.FreeKB()<<10, z.FreeAtOrKB(a.Order)<<10
		f.Summary = fmt.Sprintf("An order-%d allocation by %s on %s failed (%s) while zone %s had %s free, only %s of it in blocks of order %d or more (%s): memory was fragmented, not exhausted.",
			a.Order, a.Process, s.NodeName, what, z.Zone, units.Bytes(free), units.Bytes(high), a.Order, src)
		f.Evidence = []schema.Evidence{citeLine(bundle.KernelLog, a.Line, a.Text)}
		if z.Line > 0 && src != "node/buddyinfo at collection time" {
			f.Evidence = append(f.Evidence, schema.Evidence{File: bundle.KernelLog, Key: fmt.Sprintf("line %d", z.Line), Text: fmt.Sprintf("Node %d %s free lists by order: %s", z.Node, z.Zone, countsText(z.Counts))})
		} else {
			f.Evidence = append(f.Evidence, schema.Evidence{File: bundle.NodeBuddyinfo, Key: fmt.Sprintf("line %d", z.Line), Text: fmt.Sprintf("Node %d %s free lists by order: %s", z.Node, z.Zone, countsText(z.Counts))})
		}
		f.Remediation = "Stop-gap: echo 1 > /proc/sys/vm/compact_memory. Lasting: raise vm.min_free_kbytes, set vm.compaction_proactiveness (Linux ≥ 5.9), reduce page-cache churn; on 3.10 kernels boot with cgroup.memory=nokmem so that memcgs do not create their own slab caches."
		f.References = []string{"torvalds/linux:mm/page_alloc.c", "torvalds/linux:Documentation/admin-guide/sysctl/vm.rst"}
		seen[k] = f
		order = append(order, k)
	}
	for _, k := range order {
		f := seen[k]
		if n := counts[k]; n > 1 {
			f.Summary += fmt.Sprintf(" The log holds %d such failures.", n)
		}
		p.Report(*f)
	}
}

// fragmentedZone is the zone with the most free memory when that zone is
// fragmented for order.
func fragmentedZone(zones []kernfail.FreeArea, order int, minFree config.Bytes, ratio float64) (kernfail.FreeArea, bool) {
	var best kernfail.FreeArea
	found := false
	for _, z := range zones {
		if !found || z.FreeKB() > best.FreeKB() {
			best, found = z, true
		}
	}
	if !found {
		return best, false
	}
	free := best.FreeKB() << 10
	return best, free >= int64(minFree) && float64(best.FreeAtOrKB(order)<<10) <= ratio*float64(free)
}

func countsText(c []int64) string {
	var parts []string
	for i, n := range c {
		parts = append(parts, fmt.Sprintf("%d:%d", i, n))
	}
	return strings.Join(parts, " ")
}
