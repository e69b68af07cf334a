package rules

import (
	"fmt"

	"github.com/memsnap/memsnap/analyzer/internal/snapshot"
	"github.com/memsnap/memsnap/analyzer/internal/units"
	"github.com/memsnap/memsnap/report/schema"
)

// NoMemoryLimit finds containers without a memory limit on a node under pressure.
var NoMemoryLimit = &Rule{
	ID:       "no-memory-limit",
	Severity: schema.Warning,
	Needs:    []snapshot.Data{snapshot.DataCgroups, snapshot.DataMeminfo},
	Doc: `Containers without a memory limit run on a node under memory pressure
What: when the node is under pressure (memory.available below node_available_ratio, 15 %, of
capacity, or the kernel log shows a global OOM) the containers whose cgroups have no memory limit,
largest working set first.
Why: an unlimited container can take memory the rest of the node needs; the node-level OOM killer
or kubelet eviction then picks victims by oom_score_adj and usage, often not the culprit.
Evidence: the container cgroups' unlimited memory.limit_in_bytes / memory.max and their working
sets; the node's memory.available.
Fix: give every container a memory limit (a LimitRange sets defaults per namespace).
References: kubernetes/website:content/en/docs/concepts/configuration/manage-resources-containers.md`,
	Run: runNoMemoryLimit,
}

func runNoMemoryLimit(p *Pass) {
	s, m := p.Snap, p.Snap.NodeMemory
	pressure := ""
	if m.Available != nil && m.Capacity != nil && float64(m.Available.Bytes) < p.Config.Rules.NoMemoryLimit.NodeAvailableRatio*float64(m.Capacity.Bytes) {
		pressure = fmt.Sprintf("memory.available is %s of %s", units.Bytes(m.Available.Bytes), units.Bytes(m.Capacity.Bytes))
	}
	for _, e := range s.OOMEvents {
		if e.Scope == "node" && pressure == "" {
			pressure = "the kernel log shows a global OOM kill"
		}
	}
	if pressure == "" {
		return
	}
	for _, pod := range s.Pods {
		for _, c := range pod.Containers {
			n := c.Cgroup
			if c.Sandbox || n == nil || !n.Unlimited || n.WorkingSet == nil {
				continue
			}
			if pod.Cgroup != nil && !pod.Cgroup.Unlimited {
				continue // the pod cgroup bounds it
			}
			f := schema.Finding{Severity: schema.Warning}
			c.Fill(&f)
			f.Summary = fmt.Sprintf("%s has no memory limit and a working set of %s while the node is under pressure (%s).", f.Subject, units.Bytes(n.WorkingSet.N), pressure)
			f.Evidence = []schema.Evidence{cite(n.Limit, "limit (unlimited)"), cite(n.WorkingSet, "working set"), citeFigure(m.Available, "memory.available")}
			f.Remediation = "Set a memory limit on this container (or a namespace LimitRange default) so it cannot take the memory the node needs."
			f.References = []string{"kubernetes/website:content/en/docs/concepts/configuration/manage-resources-containers.md"}
			p.Report(f)
		}
	}
}
