package rules

import (
	"fmt"

	"github.com/memsnap/memsnap/analyzer/internal/agentlog"
	"github.com/memsnap/memsnap/analyzer/internal/kubeletconfig"

	"github.com/memsnap/memsnap/analyzer/internal/snapshot"
	"github.com/memsnap/memsnap/analyzer/internal/units"
	"github.com/memsnap/memsnap/report/schema"
)

// NodeMemoryPressure reports a node near or below its hard eviction threshold, and evictions.
var NodeMemoryPressure = &Rule{
	ID:       "node-memory-pressure",
	Severity: schema.Critical,
	NeedsAny: []snapshot.Data{snapshot.DataMeminfo, snapshot.DataKubeletLog, snapshot.DataPods},
	Doc: `The node is at or near its memory eviction threshold, or kubelet evicted pods
What: kubelet's memory.available signal (capacity − the root cgroup's working set, recomputed
from node/meminfo and the root memory.stat) below the hard eviction threshold (critical) or within
warn_factor (1.5×) of it (warning); and eviction messages in the kubelet log or Evicted pods.
Why: kubelet evicts pods when memory.available falls below evictionHard (default 100Mi); because
the working set counts active page cache, a node can evict although "free" memory looks fine.
Evidence: node/meminfo MemTotal, the root cgroup's usage and inactive_file, the threshold from
the kubelet configuration (or kubelet's default), kubelet/log.txt eviction lines, pods.json
status.reason Evicted.
Fix: lower pod memory requests/limits to what the node holds, reserve memory for the system
(system-reserved, kube-reserved), or add capacity; check kubepods-limit-drift when pods die below
allocatable.
References: kubernetes/website:content/en/docs/concepts/scheduling-eviction/node-pressure-eviction.md, kubernetes/kubernetes:pkg/kubelet/eviction/helpers.go`,
	Run: runNodeMemoryPressure,
}

func runNodeMemoryPressure(p *Pass) {
	s, m := p.Snap, p.Snap.NodeMemory
	f := schema.Finding{Subject: "node:" + s.NodeName}
	thrFig := m.EvictionHard
	if thrFig == nil {
		// No kubelet configuration in the bundle: kubelet's own default applies.
		def, _ := units.ParseQuantity(kubeletconfig.DefaultEvictionHardMemory)
		thrFig = &snapshot.Figure{Bytes: def, Note: "kubelet default evictionHard memory.available<" + kubeletconfig.DefaultEvictionHardMemory}
	}
	threshold := thrFig.Bytes
	if m.Available != nil {
		a := m.Available.Bytes
		switch {
		case a < threshold:
			f.Severity = schema.Critical
			f.Summary = fmt.Sprintf("Node %s has %s available by kubelet's measure (capacity − working set), below its hard eviction threshold of %s: kubelet is evicting pods.", s.NodeName, units.Bytes(a), units.Bytes(threshold))
		case float64(a) < p.Config.Rules.NodeMemoryPressure.WarnFactor*float64(threshold):
			f.Severity = schema.Warning
			f.Summary = fmt.Sprintf("Node %s has %s available by kubelet's measure, within %.1f× of its hard eviction threshold of %s.", s.NodeName, units.Bytes(a), p.Config.Rules.NodeMemoryPressure.WarnFactor, units.Bytes(threshold))
		}
		if f.Severity != "" {
			f.Evidence = append(f.Evidence, citeFigure(m.Capacity, "MemTotal"), citeFigure(m.RootWorkingSet, "root working set"),
				citeFigure(m.Available, "memory.available"), citeFigure(thrFig, "evictionHard memory.available"))
		}
	}
	evictions := 0
	if l := s.KubeletLog; l != nil {
		for _, e := range l.Evictions {
			if e.Kind == agentlog.EvictionReclaim || (e.Resource != "" && e.Resource != "memory") {
				continue
			}
			evictions++
			if evictions <= 5 {
				f.Evidence = append(f.Evidence, citeLine("kubelet/log.txt", e.Line, e.Message))
			}
		}
	}
	if s.PodList != nil {
		for _, pod := range s.PodList.Pods {
			if pod.Reason == "Evicted" {
				evictions++
				f.Evidence = append(f.Evidence, schema.Evidence{File: "kubelet/pods.json", Key: pod.Namespace + "/" + pod.Name,
					Text: "status.reason Evicted: " + clip(pod.Message, 300)})
			}
		}
	}
	// Evicted pods were killed: that is critical whatever memory looks like now.
	if evictions > 0 {
		if f.Severity == "" {
			f.Summary = fmt.Sprintf("Kubelet on node %s evicted pods for lack of memory.", s.NodeName)
		} else {
			f.Summary += fmt.Sprintf(" The bundle shows %d eviction(s).", evictions)
		}
		f.Severity = schema.Critical
	}
	if f.Severity == "" {
		return
	}
	f.Remediation = "Bring the pods' memory use below what the node holds: right-size requests and limits, reserve memory for the system (system-reserved/kube-reserved), or add capacity. Page cache in the working set counts here too (see working-set-page-cache)."
	f.References = []string{"kubernetes/website:content/en/docs/concepts/scheduling-eviction/node-pressure-eviction.md"}
	p.Report(f)
}
