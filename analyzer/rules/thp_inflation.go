package rules

import (
	"fmt"

	"github.com/memsnap/memsnap/analyzer/internal/snapshot"
	"github.com/memsnap/memsnap/analyzer/internal/units"
	"github.com/memsnap/memsnap/bundle"
	"github.com/memsnap/memsnap/report/schema"
)

// THPInflation finds containers whose anon memory is mostly transparent huge pages.
var THPInflation = &Rule{
	ID:       "thp-inflation",
	Severity: schema.Warning,
	Needs:    []snapshot.Data{snapshot.DataCgroups},
	Doc: `Transparent huge pages inflate a container's anonymous memory
What: a container cgroup whose anon memory is at least thp_ratio (50 %) transparent huge pages
(v2 memory.stat anon_thp, v1 total_rss_huge) and at least min_bytes (256 MiB) of them, with the
node's THP mode and defrag policy (node/transparent_hugepage/enabled, defrag).
Why: a huge page is charged whole (2 MiB on x86-64) the first time any byte of its range is
touched; a heap that touches memory sparsely — allocators returning memory with MADV_DONTNEED in
small pieces, many thread arenas — is charged for far more than it uses, and khugepaged collapses
small pages into huge ones in the background (torvalds/linux:Documentation/admin-guide/mm/transhuge.rst).
With enabled=always every anonymous mapping qualifies; with madvise only regions the program
asked for (MADV_HUGEPAGE: the JVM's -XX:+UseTransparentHugePages, jemalloc's thp option).
Evidence: the cgroup's memory.stat anon_thp / total_rss_huge and anon / total_rss, the THP mode.
Fix: set THP to madvise (or never) on the node, or turn it off in the application
(prctl PR_SET_THP_DISABLE, the allocator's option); Linux ≥ 6.13 can split underused huge pages
(thp_shrinker), and max_ptes_none controls how eagerly khugepaged fills holes.
References: torvalds/linux:Documentation/admin-guide/mm/transhuge.rst, torvalds/linux:Documentation/admin-guide/cgroup-v2.rst`,
	Run: runTHPInflation,
}

func runTHPInflation(p *Pass) {
	s, cfg := p.Snap, p.Config.Rules.THPInflation
	if s.THPEnabled == "never" {
		return // no anonymous THP at all (a bundle saying so is proof enough)
	}
	for _, pod := range s.Pods {
		for _, c := range pod.Containers {
			n := c.Cgroup
			if n == nil || n.Anon == nil || n.Anon.N == 0 {
				continue
			}
			thp := n.Hierarchical("anon_thp")
			if thp == nil {
				thp = n.Hierarchical("rss_huge")
			}
			if thp == nil || thp.N < int64(cfg.MinBytes) || float64(thp.N) < cfg.THPRatio*float64(n.Anon.N) {
				continue
			}
			f := schema.Finding{Severity: schema.Warning}
			c.Fill(&f)
			mode := "THP mode unknown (no node/transparent_hugepage/enabled in the bundle)"
			if s.THPEnabled != "" {
				mode = "THP enabled=" + s.THPEnabled
				if s.THPDefrag != "" {
					mode += ", defrag=" + s.THPDefrag
				}
			}
			f.Summary = fmt.Sprintf("%s of %s's %s anonymous memory is transparent huge pages (%s; %s): sparse use of huge pages is charged whole.",
				units.Bytes(thp.N), f.Subject, units.Bytes(n.Anon.N), pct(thp.N, n.Anon.N), mode)
			f.Evidence = []schema.Evidence{cite(thp, "anon_thp"), cite(n.Anon, "anon")}
			if s.THPEnabled != "" {
				f.Evidence = append(f.Evidence, schema.Evidence{File: bundle.NodeTHPEnabled, Text: "enabled = [" + s.THPEnabled + "]"})
			}
			switch s.THPEnabled {
			case "always":
				f.Remediation = "Set /sys/kernel/mm/transparent_hugepage/enabled to madvise on the node (kernel command line transparent_hugepage=madvise), or disable THP in this application (prctl PR_SET_THP_DISABLE, its allocator's option)."
			default:
				f.Remediation = "The application asks for huge pages (MADV_HUGEPAGE: JVM -XX:+UseTransparentHugePages, jemalloc thp:always, …): turn that off or size the limit for whole huge pages."
			}
			f.References = []string{"torvalds/linux:Documentation/admin-guide/mm/transhuge.rst"}
			p.Report(f)
		}
	}
}
