package rules

import (
	"fmt"
	"sort"

	"github.com/memsnap/memsnap/analyzer/internal/kubeletconfig"
	"github.com/memsnap/memsnap/analyzer/internal/snapshot"
	"github.com/memsnap/memsnap/analyzer/internal/units"
	"github.com/memsnap/memsnap/report/schema"
)

// NodeOvercommit sums the node's pod limits and requests against allocatable.
var NodeOvercommit = &Rule{
	ID:       "node-overcommit",
	Severity: schema.Warning,
	Needs:    []snapshot.Data{snapshot.DataPods},
	Doc: `The node's pods may use more memory than it can give them
What: Σ memory limits and Σ memory requests of the node's running pods against its allocatable
memory (the Node object's status.allocatable, else capacity − kube-reserved − system-reserved −
evictionHard from the bundle, else MemTotal), with the burstable pods whose usage already exceeds
their request and the headroom left before kubelet's hard eviction threshold. Σ requests above
allocatable, or Σ limits at or above limits_ratio (1.5×) of it: warning; Σ limits above 1×: info.
Why: the scheduler places pods by requests only; limits may add up to far more than the node has
(kubernetes/website:content/en/docs/concepts/configuration/manage-resources-containers.md). When
burstable pods grow past their requests together the node runs out first: kubelet evicts, or the
kernel's global OOM killer fires if kubelet is too slow.
Evidence: kubelet/pods.json requests and limits, the cgroup or summary usage of each pod,
allocatable and its terms, node/meminfo and the root cgroup for memory.available.
Fix: raise requests of the pods that use more than they request to what they use (see
limit-rightsizing), lower limits that are never reached, or give the node more memory.
References: kubernetes/website:content/en/docs/concepts/configuration/manage-resources-containers.md, kubernetes/website:content/en/docs/tasks/administer-cluster/reserve-compute-resources.md`,
	Run: runNodeOvercommit,
}

// podUsage is the pod's working set: its cgroup's, else kubelet's summary.
func podUsage(pod *snapshot.Pod) (int64, schema.Evidence, bool) {
	if pod.Cgroup != nil && pod.Cgroup.WorkingSet != nil {
		return pod.Cgroup.WorkingSet.N, cite(pod.Cgroup.WorkingSet, "working set"), true
	}
	if ws := pod.ReportedWorkingSet(); ws != nil {
		return *ws, schema.Evidence{File: "kubelet/summary.json", Key: pod.Subject() + " memory.workingSetBytes", Value: num(*ws),
			Text: "workingSetBytes = " + units.Bytes(*ws)}, true
	}
	var sum int64
	found := false
	for _, c := range pod.Containers {
		if c.Cgroup != nil && c.Cgroup.WorkingSet != nil {
			sum += c.Cgroup.WorkingSet.N
			found = true
		}
	}
	return sum, schema.Evidence{Text: "Σ container working sets of " + pod.Subject() + " = " + units.Bytes(sum)}, found
}

// nodeAllocatable is what pods may use on the node, with where it came from.
func nodeAllocatable(s *snapshot.Snapshot) *snapshot.Figure {
	m := s.NodeMemory
	switch {
	case m.AllocatableReport != nil:
		return m.AllocatableReport
	case m.Allocatable != nil:
		return m.Allocatable
	case m.Capacity != nil:
		f := *m.Capacity
		f.Note = "MemTotal: no kubelet configuration or Node object in the bundle to subtract reservations from"
		return &f
	}
	return nil
}

func runNodeOvercommit(p *Pass) {
	s := p.Snap
	alloc := nodeAllocatable(s)
	if alloc == nil {
		p.Skipf("needs node/meminfo, the kubelet configuration or kube/node.json for allocatable memory")
		return
	}
	var sumLimits, sumRequests int64
	unlimited := 0
	type over struct {
		pod        *snapshot.Pod
		usage, req int64
		ev         schema.Evidence
	}
	var overs []over
	running := 0
	for _, pod := range s.Pods {
		sp := pod.Spec
		if sp == nil || sp.Phase != "Running" {
			continue
		}
		running++
		if sp.MemoryLimit != nil {
			sumLimits += *sp.MemoryLimit
		} else {
			unlimited++
		}
		req := int64(0)
		if sp.MemoryRequest != nil {
			req = *sp.MemoryRequest
			sumRequests += req
		}
		if sp.QoS == "Burstable" || sp.QoS == "BestEffort" {
			if u, ev, ok := podUsage(pod); ok && u > req {
				overs = append(overs, over{pod, u, req, ev})
			}
		}
	}
	if running == 0 {
		return
	}
	a := alloc.Bytes
	ratio := float64(sumLimits) / float64(max(a, 1))
	f := schema.Finding{Subject: "node:" + s.NodeName}
	switch {
	case sumRequests > a:
		f.Severity = schema.Warning
	case ratio >= p.Config.Rules.NodeOvercommit.LimitsRatio:
		f.Severity = schema.Warning
	case sumLimits > a:
		f.Severity = schema.Info
	default:
		return
	}
	f.Summary = fmt.Sprintf("The %d running pods on %s request %s and are limited to %s in all (%.1f× the %s allocatable)",
		running, s.NodeName, units.Bytes(sumRequests), units.Bytes(sumLimits), ratio, units.Bytes(a))
	if unlimited > 0 {
		f.Summary += fmt.Sprintf("; %d more have no limit at all", unlimited)
	}
	if sumRequests > a {
		f.Summary += fmt.Sprintf("; requests alone exceed allocatable by %s", units.Bytes(sumRequests-a))
	}
	f.Summary += "."
	if len(overs) > 0 {
		var excess int64
		for _, o := range overs {
			excess += o.usage - o.req
		}
		f.Summary += fmt.Sprintf(" %d burstable pod(s) already use %s more than they request.", len(overs), units.Bytes(excess))
	}
	f.Evidence = append(f.Evidence, citeFigure(alloc, "allocatable"))
	sort.Slice(overs, func(i, j int) bool { return overs[i].usage-overs[i].req > overs[j].usage-overs[j].req })
	for i, o := range overs {
		if i == 5 {
			break
		}
		ev := o.ev
		ev.Text = fmt.Sprintf("%s uses %s, requests %s", o.pod.Subject(), units.Bytes(o.usage), units.Bytes(o.req))
		f.Evidence = append(f.Evidence, ev)
	}
	if m := s.NodeMemory; m.Available != nil {
		thr := m.EvictionHard
		if thr == nil {
			def, _ := units.ParseQuantity(kubeletconfig.DefaultEvictionHardMemory)
			thr = &snapshot.Figure{Bytes: def, Note: "kubelet default"}
		}
		head := m.Available.Bytes - thr.Bytes
		f.Summary += fmt.Sprintf(" Headroom before hard eviction: %s (memory.available %s − threshold %s).", units.Bytes(head), units.Bytes(m.Available.Bytes), units.Bytes(thr.Bytes))
		f.Evidence = append(f.Evidence, citeFigure(m.Available, "memory.available"), citeFigure(thr, "evictionHard memory.available"))
	}
	f.Remediation = "Raise the requests of pods that use more than they request to what they use, lower limits they never reach (limit-rightsizing suggests values), or add memory to the node."
	f.References = []string{"kubernetes/website:content/en/docs/concepts/configuration/manage-resources-containers.md"}
	p.Report(f)
}
