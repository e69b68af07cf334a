package rules

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/memsnap/memsnap/analyzer/internal/agentlog"
	"github.com/memsnap/memsnap/analyzer/internal/kubeletconfig"
	"github.com/memsnap/memsnap/analyzer/internal/snapshot"
	"github.com/memsnap/memsnap/analyzer/internal/units"
	"github.com/memsnap/memsnap/report/schema"
)

// EvictionOrder explains which pods kubelet evicts first under memory pressure.
var EvictionOrder = &Rule{
	ID:       "eviction-order",
	Severity: schema.Warning,
	Needs:    []snapshot.Data{snapshot.DataPods},
	Doc: `Which pods kubelet evicts first under memory pressure, and why
What: when the node is near or below its hard eviction threshold, or pods were evicted for memory,
the running pods in kubelet's eviction order: pods whose usage exceeds their memory request first,
then lower priority first, then the larger usage above request first. Each Evicted pod is checked
against that order using the usage and request kubelet wrote in its eviction message: evicted while
within its request although other pods of no higher priority exceeded theirs is a warning (the
others may have grown after); otherwise an info saying why it was chosen.
Why: "why was my pod evicted and not theirs" — kubelet ranks by requests, not by limits or by who
grew fastest (kubernetes/kubernetes:pkg/kubelet/eviction/helpers.go rankMemoryPressure:
exceedMemoryRequests, priority, memory). A pod running within its request is evicted only after
every pod above its own.
Evidence: kubelet/pods.json status.reason Evicted and status.message, spec.priority, requests, each
pod's working set, node memory.available against evictionHard, kubelet log eviction lines.
Fix: give pods that must survive requests that cover their usage (Guaranteed QoS) and a higher
priority class; right-size the others' requests.
References: kubernetes/website:content/en/docs/concepts/scheduling-eviction/node-pressure-eviction.md, kubernetes/kubernetes:pkg/kubelet/eviction/helpers.go`,
	Run: runEvictionOrder,
}

type ranked struct {
	pod        *snapshot.Pod
	usage, req int64
	prio       int32
	ev         schema.Evidence
}

func (r ranked) exceeds() bool { return r.usage > r.req }

// kubeletRank sorts as rankMemoryPressure does.
func kubeletRank(rs []ranked) {
	sort.SliceStable(rs, func(i, j int) bool {
		a, b := rs[i], rs[j]
		if a.exceeds() != b.exceeds() {
			return a.exceeds()
		}
		if a.prio != b.prio {
			return a.prio < b.prio
		}
		return a.usage-a.req > b.usage-b.req
	})
}

// evictedMsg reads kubelet's eviction message: "Container worker was using
// 5Gi, request is 1Gi, has larger consumption of memory."
// (pkg/kubelet/eviction/helpers.go evictionMessage).
var evictedMsg = regexp.MustCompile(`Container (\S+) was using (\S+), request is (\S+?),`)

func runEvictionOrder(p *Pass) {
	s := p.Snap
	var rs []ranked
	for _, pod := range s.Pods {
		sp := pod.Spec
		if sp == nil || sp.Phase != "Running" {
			continue
		}
		u, ev, ok := podUsage(pod)
		if !ok {
			continue
		}
		r := ranked{pod: pod, usage: u, ev: ev}
		if sp.MemoryRequest != nil {
			r.req = *sp.MemoryRequest
		}
		if sp.Priority != nil {
			r.prio = *sp.Priority
		}
		rs = append(rs, r)
	}
	kubeletRank(rs)

	pressure := ""
	m := s.NodeMemory
	thr := m.EvictionHard
	if thr == nil {
		def, _ := units.ParseQuantity(kubeletconfig.DefaultEvictionHardMemory)
		thr = &snapshot.Figure{Bytes: def, Note: "kubelet default"}
	}
	if m.Available != nil && float64(m.Available.Bytes) < p.Config.Rules.NodeMemoryPressure.WarnFactor*float64(thr.Bytes) {
		pressure = fmt.Sprintf("memory.available is %s against a hard threshold of %s", units.Bytes(m.Available.Bytes), units.Bytes(thr.Bytes))
	}
	var evicted []*snapshot.Pod
	for _, pod := range s.Pods {
		if pod.Spec != nil && pod.Spec.Reason == "Evicted" && strings.Contains(pod.Spec.Message, "memory") {
			evicted = append(evicted, pod)
		}
	}
	logEvictions := 0
	if l := s.KubeletLog; l != nil {
		for _, e := range l.Evictions {
			if e.Kind != agentlog.EvictionReclaim && (e.Resource == "" || e.Resource == "memory") {
				logEvictions++
			}
		}
	}
	if pressure == "" && len(evicted) == 0 && logEvictions == 0 {
		return
	}
	top := p.Config.Rules.EvictionOrder.TopPods
	if len(rs) > 0 {
		f := schema.Finding{Severity: schema.Info, Subject: "node:" + s.NodeName}
		var names []string
		for i, r := range rs {
			if i == top {
				break
			}
			why := "within its request"
			if r.exceeds() {
				why = fmt.Sprintf("%s over its request", units.Bytes(r.usage-r.req))
			}
			names = append(names, fmt.Sprintf("%d. %s (%s, priority %d)", i+1, r.pod.Subject(), why, r.prio))
			ev := r.ev
			ev.Text = fmt.Sprintf("%s uses %s, requests %s, priority %d", r.pod.Subject(), units.Bytes(r.usage), units.Bytes(r.req), r.prio)
			f.Evidence = append(f.Evidence, ev)
		}
		reason := pressure
		if reason == "" {
			reason = "pods were evicted for memory"
		}
		f.Summary = fmt.Sprintf("Kubelet's next memory evictions on %s (%s), in its order: %s.", s.NodeName, reason, strings.Join(names, "; "))
		f.Remediation = "Pods that must not be evicted need requests covering their usage and a higher priority class; pods above their requests go first."
		f.References = []string{"kubernetes/kubernetes:pkg/kubelet/eviction/helpers.go"}
		p.Report(f)
	}
	for _, pod := range evicted {
		sp := pod.Spec
		f := schema.Finding{Severity: schema.Info}
		pod.Fill(&f)
		f.Evidence = []schema.Evidence{{File: "kubelet/pods.json", Key: pod.Subject() + " status.message", Text: clip(sp.Message, 300)}}
		prio := int32(0)
		if sp.Priority != nil {
			prio = *sp.Priority
		}
		mm := evictedMsg.FindStringSubmatch(sp.Message)
		if mm == nil {
			f.Summary = fmt.Sprintf("%s was evicted for memory; its eviction message names no usage and request to check kubelet's order against.", f.Subject)
			p.Report(f)
			continue
		}
		used, err1 := units.ParseQuantity(mm[2])
		req, err2 := units.ParseQuantity(mm[3])
		if err1 != nil || err2 != nil {
			f.Summary = fmt.Sprintf("%s was evicted for memory; its message's usage %q / request %q are not quantities.", f.Subject, mm[2], mm[3])
			p.Report(f)
			continue
		}
		if used > req {
			f.Summary = fmt.Sprintf("%s was evicted first because container %s used %s, %s above its request of %s — kubelet evicts pods above their requests before any pod within them.",
				f.Subject, mm[1], units.Bytes(used), units.Bytes(used-req), units.Bytes(req))
			f.Remediation = "Raise this pod's memory request to what it uses (or lower its use); a pod within its request is evicted only after all pods above theirs."
		} else {
			var worse []string
			for _, r := range rs {
				if r.exceeds() && r.prio <= prio {
					worse = append(worse, r.pod.Subject())
					f.Evidence = append(f.Evidence, r.ev)
				}
			}
			if len(worse) > 0 {
				f.Severity = schema.Warning
				f.Summary = fmt.Sprintf("%s was evicted while within its request (using %s of %s), yet %s now exceed their requests at no higher priority: by kubelet's order they should have gone first — they may have grown after the eviction, or kubelet ranked on stale stats.",
					f.Subject, units.Bytes(used), units.Bytes(req), strings.Join(worse, ", "))
				f.Remediation = "Compare the eviction time with the other pods' growth (kubelet log, metrics); right-size the requests of the pods above theirs."
			} else {
				f.Summary = fmt.Sprintf("%s was evicted while within its request (using %s of %s): every running pod was within its request too, so kubelet went by priority (%d) and usage.",
					f.Subject, units.Bytes(used), units.Bytes(req), prio)
				f.Remediation = "The node is short of memory for what pods request: reduce requests' sum or add memory; give this pod a higher priority class if it must stay."
			}
		}
		f.References = []string{"kubernetes/kubernetes:pkg/kubelet/eviction/helpers.go"}
		p.Report(f)
	}
}
