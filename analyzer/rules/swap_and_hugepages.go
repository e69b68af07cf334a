package rules

import (
	"fmt"
	"strings"

	"github.com/memsnap/memsnap/analyzer/internal/snapshot"
	"github.com/memsnap/memsnap/analyzer/internal/units"
	"github.com/memsnap/memsnap/bundle"
	"github.com/memsnap/memsnap/report/schema"
)

// SwapAndHugepages explains swap in use and static huge pages against allocatable.
var SwapAndHugepages = &Rule{
	ID:       "swap-and-hugepages",
	Severity: schema.Warning,
	Needs:    []snapshot.Data{snapshot.DataMeminfo},
	Doc: `Swap in use, or static huge pages reserved, change what pods can use
What: static huge pages (node/meminfo HugePages_Total × Hugepagesize) — info, or a warning at
hugepages_warn_ratio (25 %) of MemTotal or more — and swap in use on the node (SwapTotal −
SwapFree) with kubelet's memorySwap.swapBehavior and failSwapOn, naming the pod containers with at
least min_swap (64 MiB) swapped out (v2 memory.swap.current, v1 total_swap) — a warning.
Why: pre-allocated huge pages are taken out of the node's memory capacity and so out of
allocatable; only pods requesting hugepages-<size> can use them
(kubernetes/website:content/en/docs/tasks/manage-hugepages/scheduling-hugepages.md,
torvalds/linux:Documentation/admin-guide/mm/hugetlbpage.rst). Swap (NodeSwap, LimitedSwap for
Burstable pods) lets a container exceed its memory in RAM at the cost of latency, and kubelet's
memory.available signal does not count swap
(kubernetes/website:content/en/docs/concepts/cluster-administration/swap-memory-management.md).
Evidence: node/meminfo HugePages_Total, Hugepagesize, SwapTotal, SwapFree; the kubelet
configuration's memorySwap.swapBehavior and failSwapOn; each cgroup's memory.swap.current or
total_swap, and memory.swap.max.
Fix: size static huge pages to what pods request (hugepages-2Mi / hugepages-1Gi resources); with
swap, give latency-sensitive pods Guaranteed QoS (never swapped under LimitedSwap) or set
memory.swap.max through swapBehavior NoSwap.
References: kubernetes/website:content/en/docs/tasks/manage-hugepages/scheduling-hugepages.md, kubernetes/website:content/en/docs/concepts/cluster-administration/swap-memory-management.md`,
	Run: runSwapAndHugepages,
}

func runSwapAndHugepages(p *Pass) {
	s, cfg := p.Snap, p.Config.Rules.SwapAndHugepages
	mi := s.Meminfo
	node := "node:" + s.NodeName
	total := int64(0)
	if mi.MemTotal != nil {
		total = *mi.MemTotal
	}
	if mi.HugePagesTotal != nil && mi.Hugepagesize != nil && *mi.HugePagesTotal > 0 {
		huge := *mi.HugePagesTotal * *mi.Hugepagesize
		f := schema.Finding{Severity: schema.Info, Subject: node}
		if total > 0 && float64(huge) >= cfg.HugepagesWarnRatio*float64(total) {
			f.Severity = schema.Warning
		}
		f.Summary = fmt.Sprintf("%s of %s's %s is reserved as static huge pages (%d × %s): it is out of allocatable memory, and only pods requesting hugepages-%s can use it.",
			units.Bytes(huge), s.NodeName, units.Bytes(total), *mi.HugePagesTotal, units.Bytes(*mi.Hugepagesize), hugeName(*mi.Hugepagesize))
		f.Evidence = []schema.Evidence{
			{File: bundle.NodeMeminfo, Key: "HugePages_Total", Value: num(*mi.HugePagesTotal), Text: fmt.Sprintf("HugePages_Total = %d", *mi.HugePagesTotal)},
			{File: bundle.NodeMeminfo, Key: "Hugepagesize", Value: num(*mi.Hugepagesize), Text: "Hugepagesize = " + units.Bytes(*mi.Hugepagesize)},
		}
		if a := nodeAllocatable(s); a != nil && a.File != bundle.NodeMeminfo {
			f.Evidence = append(f.Evidence, citeFigure(a, "allocatable"))
		}
		f.Remediation = "Reserve only the huge pages pods request (vm.nr_hugepages / hugepages= on the kernel command line) — the rest is memory no ordinary pod can use."
		f.References = []string{"kubernetes/website:content/en/docs/tasks/manage-hugepages/scheduling-hugepages.md"}
		p.Report(f)
	}
	if mi.SwapTotal == nil || mi.SwapFree == nil || *mi.SwapTotal == 0 {
		return
	}
	used := *mi.SwapTotal - *mi.SwapFree
	behavior, failSwapOn := "not set (NoSwap)", ""
	if c := s.KubeletConfig; c != nil {
		if c.SwapBehavior != "" {
			behavior = c.SwapBehavior
		}
		if c.FailSwapOn != nil {
			failSwapOn = fmt.Sprintf(", failSwapOn %v", *c.FailSwapOn)
		}
	} else {
		behavior = "unknown (no kubelet configuration in the bundle)"
	}
	var swapped []string
	var ev []schema.Evidence
	for _, pod := range s.Pods {
		for _, c := range pod.Containers {
			if c.Cgroup == nil || c.Cgroup.Swap == nil || c.Cgroup.Swap.N < int64(cfg.MinSwap) {
				continue
			}
			swapped = append(swapped, fmt.Sprintf("%s (%s)", c.Subject(), units.Bytes(c.Cgroup.Swap.N)))
			if len(ev) < 5 {
				ev = append(ev, cite(c.Cgroup.Swap, "swap"))
			}
		}
	}
	if used <= 0 && len(swapped) == 0 {
		return
	}
	f := schema.Finding{Severity: schema.Info, Subject: node}
	f.Summary = fmt.Sprintf("%s of swap is in use on %s (SwapTotal %s; kubelet memorySwap.swapBehavior %s%s): swapped memory is not in memory.available, so eviction sees less pressure than the node has.",
		units.Bytes(used), s.NodeName, units.Bytes(*mi.SwapTotal), behavior, failSwapOn)
	if len(swapped) > 0 {
		f.Severity = schema.Warning
		f.Summary += " Pod containers with swapped-out memory: " + strings.Join(swapped, ", ") + "."
	}
	f.Evidence = append([]schema.Evidence{
		{File: bundle.NodeMeminfo, Key: "SwapTotal", Value: num(*mi.SwapTotal), Text: "SwapTotal = " + units.Bytes(*mi.SwapTotal)},
		{File: bundle.NodeMeminfo, Key: "SwapFree", Value: num(*mi.SwapFree), Text: "SwapFree = " + units.Bytes(*mi.SwapFree)},
	}, ev...)
	f.Remediation = "Keep latency-sensitive pods Guaranteed (LimitedSwap never swaps them) or use swapBehavior NoSwap; size limits so that containers do not live in swap."
	f.References = []string{"kubernetes/website:content/en/docs/concepts/cluster-administration/swap-memory-management.md"}
	p.Report(f)
}

// hugeName is the Kubernetes resource suffix for a huge page size: 2Mi, 1Gi.
func hugeName(size int64) string {
	switch {
	case size >= 1<<30 && size%(1<<30) == 0:
		return fmt.Sprintf("%dGi", size>>30)
	case size >= 1<<20 && size%(1<<20) == 0:
		return fmt.Sprintf("%dMi", size>>20)
	}
	return fmt.Sprintf("%dKi", size>>10)
}
