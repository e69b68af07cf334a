package rules

import (
	"fmt"
	"slices"
	"strings"

	"github.com/memsnap/memsnap/analyzer/internal/kubeletconfig"
	"github.com/memsnap/memsnap/analyzer/internal/snapshot"
	"github.com/memsnap/memsnap/analyzer/internal/units"
	"github.com/memsnap/memsnap/report/schema"
)

// SystemOOMBeforeEviction finds global OOM kills on a node whose kubelet should have evicted first.
var SystemOOMBeforeEviction = &Rule{
	ID:       "system-oom-before-eviction",
	Severity: schema.Critical,
	Needs:    []snapshot.Data{snapshot.DataKernelLog},
	Doc: `The kernel's global OOM killer fired before kubelet evicted
What: OOM kills with a global constraint (not a memcg limit) in the kernel log, and the kubelet
settings that should have prevented them: evictionHard memory.available below min_eviction_hard
(500 MiB), kube-reserved + system-reserved below the reservation the node's size calls for (GKE's
published scale: 25 % of the first 4 GiB, 20 % of the next 4, 10 % of the next 8, 6 % of the next
112, 2 % above), or enforceNodeAllocatable without "pods" (kubepods then has no limit below the
node's memory). Names the setting and a value.
Why: kubelet's eviction is a poll (every 10 s by default) against memory.available; when the
threshold is small and reservations do not keep system daemons' memory out of pods' reach, memory
runs out between two polls and the kernel picks a victim node-wide — often not a pod at all
(kubernetes/website:content/en/docs/concepts/scheduling-eviction/node-pressure-eviction.md "Node
out of memory behavior"). Seed 002's customer lowered reserved memory to 100m.
Evidence: logs/kernel.log kill lines (constraint CONSTRAINT_NONE, no oom_memcg), the kubelet
configuration's evictionHard, kubeReserved, systemReserved and enforceNodeAllocatable with the file
each came from, node/meminfo MemTotal.
Fix: raise evictionHard memory.available and kube-reserved/system-reserved to the suggested values
and keep "pods" in enforceNodeAllocatable, so that pods are evicted or memcg-killed before the
node runs dry.
References: kubernetes/website:content/en/docs/tasks/administer-cluster/reserve-compute-resources.md, kubernetes/website:content/en/docs/concepts/scheduling-eviction/node-pressure-eviction.md, cloud.google.com/kubernetes-engine/docs/concepts/plan-node-sizes`,
	Run: runSystemOOMBeforeEviction,
}

// suggestedReserve is GKE's memory reservation for a node of capacity bytes
// (cloud.google.com/kubernetes-engine/docs/concepts/plan-node-sizes,
// "Memory and CPU reservations"), a published, widely copied scale.
func suggestedReserve(capacity int64) int64 {
	const gi = int64(1) << 30
	steps := []struct {
		size  int64
		share float64
	}{{4 * gi, 0.25}, {4 * gi, 0.20}, {8 * gi, 0.10}, {112 * gi, 0.06}}
	var r float64
	left := capacity
	for _, s := range steps {
		n := min(left, s.size)
		r += float64(n) * s.share
		left -= n
	}
	r += float64(max(left, 0)) * 0.02
	return roundMi(int64(r))
}

func runSystemOOMBeforeEviction(p *Pass) {
	s := p.Snap
	var kills []*snapshot.OOMEvent
	for _, e := range s.OOMEvents {
		if !e.FromCounter && e.Raw.Global {
			kills = append(kills, e)
		}
	}
	if len(kills) == 0 {
		return
	}
	f := schema.Finding{Severity: schema.Critical, Subject: "node:" + s.NodeName}
	var victims []string
	for i, e := range kills {
		if i < 5 {
			f.Evidence = append(f.Evidence, citeLine("logs/kernel.log", e.Raw.Line, fmt.Sprintf("global OOM kill of %s (pid %d), constraint %s", e.Raw.Process, e.Raw.PID, keyOr(e.Raw.Constraint, "none printed"))))
			victims = append(victims, fmt.Sprintf("%s (%d)", e.Raw.Process, e.Raw.PID))
		}
	}
	f.Summary = fmt.Sprintf("The kernel's global OOM killer killed %d process(es) on %s (%s) — kubelet's eviction should have acted first.", len(kills), s.NodeName, strings.Join(victims, ", "))
	cfg, m := s.KubeletConfig, s.NodeMemory
	var causes, fixes []string
	if cfg == nil || m.Capacity == nil {
		f.Summary += " The bundle has no kubelet configuration or meminfo to say why."
		f.Remediation = "Collect the kubelet configuration (configz or config.yaml) and check evictionHard memory.available, kubeReserved and systemReserved against the node's size."
		p.Report(f)
		return
	}
	capacity := m.Capacity.Bytes
	minEv := int64(p.Config.Rules.SystemOOMBeforeEviction.MinEvictionHard)
	thr := m.EvictionHard
	if thr == nil {
		def, _ := units.ParseQuantity(kubeletconfig.DefaultEvictionHardMemory)
		thr = &snapshot.Figure{Bytes: def, Note: "kubelet default"}
	}
	f.Evidence = append(f.Evidence, citeFigure(m.Capacity, "MemTotal"), citeFigure(thr, "evictionHard memory.available"))
	if thr.Bytes < minEv {
		causes = append(causes, fmt.Sprintf("evictionHard memory.available is only %s", units.Bytes(thr.Bytes)))
		fixes = append(fixes, fmt.Sprintf("evictionHard: memory.available: %dMi", minEv>>20))
	}
	reserved := int64(0)
	if m.KubeReserved != nil {
		reserved += m.KubeReserved.Bytes
		f.Evidence = append(f.Evidence, citeFigure(m.KubeReserved, "kubeReserved memory"))
	}
	if m.SystemReserved != nil {
		reserved += m.SystemReserved.Bytes
		f.Evidence = append(f.Evidence, citeFigure(m.SystemReserved, "systemReserved memory"))
	}
	want := suggestedReserve(capacity)
	if reserved < want {
		causes = append(causes, fmt.Sprintf("kube-reserved + system-reserved memory is %s where a %s node calls for about %s", units.Bytes(reserved), units.Bytes(capacity), units.Bytes(want)))
		fixes = append(fixes, fmt.Sprintf("kubeReserved: memory: %dMi (or split it with systemReserved)", want>>20))
	}
	if !slices.Contains(cfg.EnforceNodeAllocatable, "pods") {
		causes = append(causes, "enforceNodeAllocatable does not contain pods, so kubepods has no limit below the node's memory")
		fixes = append(fixes, `enforceNodeAllocatable: ["pods"]`)
	}
	if len(causes) == 0 {
		f.Summary += " The kubelet settings look adequate: look for memory outside kubelet's view (system daemons, huge pages, kernel memory) or a burst faster than kubelet's poll."
		f.Remediation = "Check what outside kubepods grew (system.slice, kernel slab) and whether the kill came within seconds of a pod's burst; evictionSoft with a grace period gives kubelet an earlier signal."
	} else {
		f.Summary += " Likely why: " + strings.Join(causes, "; ") + "."
		f.Remediation = "Set in the kubelet configuration: " + strings.Join(fixes, "; ") + "."
	}
	f.References = []string{"kubernetes/website:content/en/docs/tasks/administer-cluster/reserve-compute-resources.md", "cloud.google.com/kubernetes-engine/docs/concepts/plan-node-sizes"}
	p.Report(f)
}
