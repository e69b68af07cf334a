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
	NeedsAny: []snapshot.Data{snapshot.DataCgroups, snapshot.DataPods, snapshot.DataCadvisorMetrics},
	// With the cgroup tree the rule decides from the node's own meminfo.
	NeedsWith: func(s *snapshot.Snapshot) []snapshot.Data {
		if s.Has(snapshot.DataCgroups) {
			return []snapshot.Data{snapshot.DataMeminfo}
		}
		return nil
	},
	Doc: `Containers without a memory limit run on a node under memory pressure
What: when the node is under pressure (memory.available below node_available_ratio, 15 %, of
capacity, or the kernel log shows a global OOM) the containers whose cgroups have no memory limit,
largest working set first.
Why: an unlimited container can take memory the rest of the node needs; the node-level OOM killer
or kubelet eviction then picks victims by oom_score_adj and usage, often not the culprit.
Without the cgroup tree (kubectl output only) a container without a limit is read from the pod spec
(no resources.limits.memory) or cAdvisor (container_spec_memory_limit_bytes 0), its working set
from the summary or cAdvisor, and the pressure from the summary (memory.available = capacity −
node working set, or availableBytes), the Node's MemoryPressure condition or a global OOM in the
kernel log: a warning when the working set is known, info when only the spec is (it cannot rank
the containers by what they take).
Evidence: the container cgroups' unlimited memory.limit_in_bytes / memory.max and their working
sets; the node's memory.available; else the pod spec, the summary and cAdvisor's series.
Fix: give every container a memory limit (a LimitRange sets defaults per namespace).
References: kubernetes/website:content/en/docs/concepts/configuration/manage-resources-containers.md`,
	Run: runNoMemoryLimit,
}

func runNoMemoryLimit(p *Pass) {
	s, m := p.Snap, p.Snap.NodeMemory
	if s.Cgroups == nil {
		noMemoryLimitReported(p)
		return
	}
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

// noMemoryLimitReported is the rule without a cgroup tree. The pod spec says
// which containers have no memory limit (the kubelet then leaves the
// container cgroup, and the pod cgroup, unlimited:
// kubernetes/kubernetes:pkg/kubelet/cm/helpers_linux.go
// ResourceConfigForPod); cAdvisor says the same with
// container_spec_memory_limit_bytes 0. The pressure is the kubelet's own
// memory.available (capacity − the root cgroup's working set,
// pkg/kubelet/eviction/helpers.go makeSignalObservations), from the
// summary; or the Node's MemoryPressure condition; or a global OOM kill.
func noMemoryLimitReported(p *Pass) {
	s, m := p.Snap, p.Snap.NodeMemory
	var pressure string
	var pressureEv []schema.Evidence
	ratio := p.Config.Rules.NoMemoryLimit.NodeAvailableRatio
	switch {
	case m.Available != nil && m.Capacity != nil && float64(m.Available.Bytes) < ratio*float64(m.Capacity.Bytes):
		pressure = fmt.Sprintf("memory.available is %s of %s", units.Bytes(m.Available.Bytes), units.Bytes(m.Capacity.Bytes))
		pressureEv = []schema.Evidence{citeFigure(m.Available, "memory.available"), citeFigure(m.Capacity, "capacity")}
	case m.AvailableReported != nil && m.Capacity != nil && float64(m.AvailableReported.Bytes) < ratio*float64(m.Capacity.Bytes):
		pressure = fmt.Sprintf("the kubelet reports %s available of %s", units.Bytes(m.AvailableReported.Bytes), units.Bytes(m.Capacity.Bytes))
		pressureEv = []schema.Evidence{citeFigure(m.AvailableReported, "availableBytes"), citeFigure(m.Capacity, "capacity")}
	}
	if pressure == "" && s.KubeNode != nil {
		for _, c := range s.KubeNode.Conditions {
			if c.Type == "MemoryPressure" && c.Status == "True" {
				pressure = "the Node reports MemoryPressure"
				pressureEv = []schema.Evidence{{File: s.KubeNodeFile, Key: "status.conditions[MemoryPressure]", Text: "MemoryPressure True: " + c.Message}}
			}
		}
	}
	if pressure == "" {
		for _, e := range s.OOMEvents {
			if e.Scope == "node" {
				pressure = "the kernel log shows a global OOM kill"
				pressureEv = []schema.Evidence{citeLine("logs/kernel.log", e.Raw.Line, "global OOM kill of "+orDash(e.Raw.Process))}
				break
			}
		}
	}
	if pressure == "" {
		if m.Available == nil && m.AvailableReported == nil && s.KubeNode == nil && !s.Has(snapshot.DataKernelLog) {
			p.Skipf("needs the node's memory.available: %s, %s, the Node object or %s", snapshot.DataMeminfo, snapshot.DataSummary, snapshot.DataKernelLog)
		}
		return
	}
	for _, pod := range s.Pods {
		if sp := pod.Spec; sp != nil && sp.MemoryLimit != nil {
			continue // every container has a limit: the pod cgroup bounds them
		}
		for _, c := range pod.Containers {
			if c.Sandbox {
				continue
			}
			var limitEv schema.Evidence
			switch {
			case c.Spec != nil && c.Spec.MemoryLimit == nil && !c.Spec.Init:
				limitEv = schema.Evidence{File: podListFile(p), Key: "spec.containers[" + c.Name + "].resources.limits.memory", Text: "no memory limit in the pod spec"}
			case c.Spec == nil && c.Reported != nil && c.Reported.Unlimited:
				limitEv = schema.Evidence{File: p.Snap.CadvisorFile(), Key: fmt.Sprintf("container_spec_memory_limit_bytes{namespace=%q,pod=%q,container=%q}", pod.Namespace, pod.Name, c.Name),
					Text: "container_spec_memory_limit_bytes = 0: no limit"}
			default:
				continue
			}
			f := schema.Finding{Severity: schema.Warning}
			c.Fill(&f)
			f.Evidence = []schema.Evidence{limitEv}
			if r := c.Reported; r != nil && r.WorkingSet != nil {
				f.Summary = fmt.Sprintf("%s has no memory limit and a working set of %s while the node is under pressure (%s). Read from the %s, not the node's cgroups.",
					f.Subject, units.Bytes(r.WorkingSet.Bytes), pressure, sourceWords(limitEv.File == podListFile(p), r.WorkingSet))
				f.Evidence = append(f.Evidence, citeFigure(r.WorkingSet, "working set"))
			} else {
				f.Severity = schema.Info
				f.Summary = fmt.Sprintf("%s has no memory limit while the node is under pressure (%s). Its working set is not in the input (the kubelet summary would give it), so it cannot be ranked against the others; hence info.",
					f.Subject, pressure)
			}
			f.Evidence = append(f.Evidence, pressureEv...)
			f.Remediation = "Set a memory limit on this container (or a namespace LimitRange default) so it cannot take the memory the node needs."
			f.References = []string{"kubernetes/website:content/en/docs/concepts/configuration/manage-resources-containers.md"}
			p.Report(f)
		}
	}
}

func sourceWords(fromSpec bool, ws *snapshot.Figure) string {
	w := "cAdvisor's metrics"
	if fromSpec {
		w = "pod spec"
	}
	return w + " and " + statedBy(ws)
}
