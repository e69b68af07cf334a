package rules

import (
	"fmt"

	"github.com/memsnap/memsnap/analyzer/internal/config"
	"github.com/memsnap/memsnap/analyzer/internal/snapshot"
	"github.com/memsnap/memsnap/analyzer/internal/units"
	"github.com/memsnap/memsnap/report/schema"
)

// LimitRightsizing compares each container's kernel high-water mark with its request and limit.
var LimitRightsizing = &Rule{
	ID:       "limit-rightsizing",
	Severity: schema.Info,
	Needs:    []snapshot.Data{snapshot.DataCgroups},
	Doc: `A container's memory limit is far from what it has ever used
What: the kernel's high-water mark of a container cgroup — v2 memory.peak, v1
memory.max_usage_in_bytes, both since the cgroup was created (the container started) — against its
limit: peak at or above at_risk_ratio (95 %) of the limit is at risk; peak at or below waste_ratio
(30 %) of it with at least min_waste (256 MiB) never used is oversized. Each finding suggests a
request of peak × (1 + request_slack) and a limit of peak × (1 + limit_slack).
Why: a limit set by guess either kills the container at its first busy hour or reserves memory the
scheduler cannot give to others (when request = limit) — the peak is the one figure that says what
the container really needed. memory.peak exists since Linux 5.19
(torvalds/linux:Documentation/admin-guide/cgroup-v2.rst); max_usage_in_bytes on v1
(Documentation/admin-guide/cgroup-v1/memory.rst).
Evidence: the cgroup's memory.peak or memory.max_usage_in_bytes, its memory.max or
memory.limit_in_bytes, the pod spec's request.
Fix: set the request near the peak and the limit with margin above it; re-check after a full
business cycle, since the peak covers only the container's lifetime.
References: torvalds/linux:Documentation/admin-guide/cgroup-v2.rst, torvalds/linux:Documentation/admin-guide/cgroup-v1/memory.rst`,
	Run: runLimitRightsizing,
}

// Verdicts of Rightsize.
const (
	RightsizeAtRisk    = "at-risk"
	RightsizeOversized = "oversized"
	RightsizeFits      = "fits"
)

// Rightsize is the rule's judgement of one peak against one limit, with the
// request and limit it suggests (peak × (1 + slack), rounded up to a MiB).
// The cluster report calls it with the highest peak over all pods of a
// workload owner, so one owner gets one suggestion.
func Rightsize(c *config.Config, peak, limit int64) (verdict string, request, suggestedLimit int64) {
	cfg := c.Rules.LimitRightsizing
	request = roundMi(int64(float64(peak) * (1 + cfg.RequestSlack)))
	suggestedLimit = roundMi(int64(float64(peak) * (1 + cfg.LimitSlack)))
	switch {
	case float64(peak) >= cfg.AtRiskRatio*float64(limit):
		verdict = RightsizeAtRisk
	case float64(peak) <= cfg.WasteRatio*float64(limit) && limit-peak >= int64(cfg.MinWaste):
		verdict = RightsizeOversized
	default:
		verdict = RightsizeFits
	}
	return verdict, request, suggestedLimit
}

func runLimitRightsizing(p *Pass) {
	anyPeak := false
	for _, pod := range p.Snap.Pods {
		for _, c := range pod.Containers {
			n := c.Cgroup
			if c.Sandbox || n == nil || n.MaxUsage == nil {
				continue
			}
			anyPeak = true
			limit, ok := n.LimitBytes()
			if !ok || limit <= 0 {
				continue
			}
			peak := n.MaxUsage.N
			f := schema.Finding{Severity: schema.Info}
			c.Fill(&f)
			req := int64(-1)
			if c.Spec != nil && c.Spec.MemoryRequest != nil {
				req = *c.Spec.MemoryRequest
			}
			verdict, sugReq, sugLim := Rightsize(p.Config, peak, limit)
			switch verdict {
			case RightsizeAtRisk:
				f.Summary = fmt.Sprintf("%s has peaked at %s, %s of its %s limit: at risk of an OOM kill. Suggested: request %s, limit %s.",
					f.Subject, units.Bytes(peak), pct(peak, limit), units.Bytes(limit), units.Bytes(sugReq), units.Bytes(sugLim))
			case RightsizeOversized:
				f.Summary = fmt.Sprintf("%s has never used more than %s (%s of its %s limit): oversized by %s. Suggested: request %s, limit %s.",
					f.Subject, units.Bytes(peak), pct(peak, limit), units.Bytes(limit), units.Bytes(limit-peak), units.Bytes(sugReq), units.Bytes(sugLim))
			default:
				continue
			}
			f.Evidence = []schema.Evidence{cite(n.MaxUsage, "peak"), cite(n.Limit, "limit")}
			if req >= 0 {
				f.Evidence = append(f.Evidence, schema.Evidence{File: "kubelet/pods.json", Key: f.Subject + " resources.requests.memory", Value: num(req),
					Text: "requests.memory = " + units.Bytes(req)})
			}
			f.Remediation = fmt.Sprintf("Set resources.requests.memory ≈ %s and resources.limits.memory ≈ %s for this container (its owner's other replicas likely match); the peak covers only this container's lifetime.", units.Bytes(sugReq), units.Bytes(sugLim))
			f.References = []string{"torvalds/linux:Documentation/admin-guide/cgroup-v2.rst"}
			p.Report(f)
		}
	}
	if !anyPeak {
		p.Skipf("needs memory.peak (Linux ≥ 5.19) or memory.max_usage_in_bytes of container cgroups")
	}
}

// roundMi rounds up to a whole MiB.
func roundMi(n int64) int64 { return (n + (1 << 20) - 1) &^ ((1 << 20) - 1) }
