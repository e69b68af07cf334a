package rules

import (
	"fmt"
	"sort"
	"strings"

	"github.com/memsnap/memsnap/analyzer/internal/cgroup"
	"github.com/memsnap/memsnap/analyzer/internal/snapshot"
	"github.com/memsnap/memsnap/bundle"
	"github.com/memsnap/memsnap/report/schema"
)

// DyingMemcgs finds removed memory cgroups kept alive by their remaining charges.
var DyingMemcgs = &Rule{
	ID:       "dying-memcgs",
	Severity: schema.Warning,
	Needs:    []snapshot.Data{snapshot.DataCgroups},
	Doc: `Removed memory cgroups are kept alive by the memory still charged to them
What: dying cgroups — removed (rmdir) but not yet freed — at least min_dying (500) of them and at
least dying_ratio (1×) the live ones: v2 cgroup.stat nr_dying_descendants against nr_descendants of
the highest cgroup in the bundle; v1 /proc/cgroups num_cgroups of the memory controller (which
counts dying ones too) against the cgroups the bundle holds.
Why: a memory cgroup is freed only when nothing is charged to it any more; page cache and kernel
objects (dentries, inodes, slab) a container left behind keep its memcg alive after the container
is gone, each costing kernel memory of its own and slowing reclaim and memcg iteration
(torvalds/linux:Documentation/admin-guide/cgroup-v2.rst, "nr_dying_descendants"; mm/memcontrol.c
css offlining). Short-lived pods and jobs that read files pile them up, and the memory shows in no
live container.
Evidence: cgroup/<path>/cgroup.stat nr_dying_descendants and nr_descendants, node/cgroups memory
num_cgroups, the bundle's live cgroup count.
Fix: the charges go once reclaimed: memory pressure reclaims them slowly; writing to
memory.reclaim (v2, Linux ≥ 5.19) of the parent or dropping caches frees them. Avoid creating and
removing cgroups at a high rate (many short jobs); kernels ≥ 5.16 reparent slab objects, and
≥ 6.x reparent more of the page cache.
References: torvalds/linux:Documentation/admin-guide/cgroup-v2.rst, torvalds/linux:mm/memcontrol.c`,
	Run: runDyingMemcgs,
}

func runDyingMemcgs(p *Pass) {
	s, cfg := p.Snap, p.Config.Rules.DyingMemcgs
	tree := s.Cgroups
	top := highestWith(tree, func(n *cgroup.Node) bool { return n.NrDyingDescendants != nil })
	switch {
	case top != nil:
		dying := top.NrDyingDescendants.N
		live := int64(len(descendants(top)))
		liveEv := schema.Evidence{Text: fmt.Sprintf("%d live descendant cgroups in the bundle below %s", live, top.Path)}
		if top.NrDescendants != nil {
			live = top.NrDescendants.N
			liveEv = cite(top.NrDescendants, "nr_descendants")
			liveEv.Text = fmt.Sprintf("nr_descendants = %d", live)
		}
		if dying < cfg.MinDying || float64(dying) < cfg.DyingRatio*float64(live) {
			return
		}
		f := schema.Finding{Severity: schema.Warning, Subject: "node:" + s.NodeName, Cgroup: top.Path}
		f.Summary = fmt.Sprintf("%d removed memory cgroups below %s on %s are still alive (%d live ones): memory charged to them — page cache, kernel objects — shows in no running container.", dying, top.Path, s.NodeName, live)
		dyingEv := cite(top.NrDyingDescendants, "nr_dying_descendants")
		dyingEv.Text = fmt.Sprintf("nr_dying_descendants = %d", dying)
		f.Evidence = []schema.Evidence{dyingEv, liveEv}
		// Where they pile up: the children with the most.
		kids := append([]*cgroup.Node(nil), top.Children...)
		sort.SliceStable(kids, func(i, j int) bool { return val(kids[i].NrDyingDescendants) > val(kids[j].NrDyingDescendants) })
		var where []string
		for i, k := range kids {
			if i == 3 || val(k.NrDyingDescendants) == 0 {
				break
			}
			where = append(where, fmt.Sprintf("%s (%d)", k.Path, k.NrDyingDescendants.N))
			ev := cite(k.NrDyingDescendants, "nr_dying_descendants")
			ev.Text = fmt.Sprintf("nr_dying_descendants = %d", k.NrDyingDescendants.N)
			f.Evidence = append(f.Evidence, ev)
		}
		if len(where) > 0 {
			f.Summary += " Most are below " + strings.Join(where, ", ") + "."
		}
		reportDying(p, f)
	case s.ProcCgroups != nil && tree != nil && tree.Version == 1:
		total, ok := s.ProcCgroups["memory"]
		if !ok {
			return
		}
		live := int64(len(tree.Nodes))
		dying := total - live
		if dying < cfg.MinDying || float64(dying) < cfg.DyingRatio*float64(live) {
			return
		}
		f := schema.Finding{Severity: schema.Warning, Subject: "node:" + s.NodeName}
		f.Summary = fmt.Sprintf("The memory controller counts %d cgroups on %s but only %d are live in the hierarchy: about %d removed cgroups are kept alive by memory still charged to them.", total, s.NodeName, live, dying)
		f.Evidence = []schema.Evidence{{File: bundle.NodeCgroups, Key: "memory num_cgroups", Value: num(total), Text: fmt.Sprintf("memory num_cgroups = %d", total)},
			{File: bundle.CgroupDir, Text: fmt.Sprintf("%d memory cgroups in the bundle's hierarchy", live)}}
		if s.Manifest != nil {
			for _, src := range s.Manifest.Sources {
				if src.Name == bundle.SourceCgroup && src.Truncated {
					f.Summary += " (The bundle's cgroup walk was cut short, so the live count is low and the estimate high.)"
				}
			}
		}
		reportDying(p, f)
	case tree == nil || (tree.Version == 1 && s.ProcCgroups == nil):
		p.Skipf("needs cgroup.stat (v2) or node/cgroups (/proc/cgroups, v1)")
	}
}

func reportDying(p *Pass, f schema.Finding) {
	f.Remediation = "Reclaim the leftovers: on v2 write an amount to the parent's memory.reclaim (Linux ≥ 5.19), or let memory pressure do it; reduce cgroup churn (many short-lived pods or jobs that read many files); newer kernels reparent more of the charges."
	f.References = []string{"torvalds/linux:Documentation/admin-guide/cgroup-v2.rst"}
	p.Report(f)
}

// highestWith is the shallowest cgroup for which ok holds (the root first).
func highestWith(t *cgroup.Tree, ok func(*cgroup.Node) bool) *cgroup.Node {
	if t == nil {
		return nil
	}
	for _, n := range t.Sorted() {
		if ok(n) {
			return n
		}
	}
	return nil
}

func descendants(n *cgroup.Node) []*cgroup.Node {
	var out []*cgroup.Node
	for _, c := range n.Children {
		out = append(out, c)
		out = append(out, descendants(c)...)
	}
	return out
}
