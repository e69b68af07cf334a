package analysis

import (
	"fmt"
	"sort"
	"strings"

	"github.com/memsnap/memsnap/analyzer/internal/config"
	"github.com/memsnap/memsnap/analyzer/internal/units"
	"github.com/memsnap/memsnap/analyzer/rules"
	"github.com/memsnap/memsnap/report"
	"github.com/memsnap/memsnap/report/schema"
)

// groupRightsizing turns each limit-rightsizing group of a workload owner
// into one verdict: per flagged container, the highest peak over all the
// owner's pods on every node (not only the pods with a finding: replicas
// share one template, so the suggestion must cover the busiest of them)
// against its limit, and one suggested request and limit (rules.Rightsize,
// the rule's own thresholds). The per-pod findings stay in Findings.
func groupRightsizing(doc *schema.Document, cfg *config.Config) {
	for gi := range doc.FindingGroups {
		g := &doc.FindingGroups[gi]
		if g.Rule != rules.LimitRightsizing.ID || g.Owner == "" {
			continue
		}
		flagged := map[string]bool{}
		for _, fi := range g.Findings {
			if fi < len(doc.Findings) && doc.Findings[fi].Container != "" {
				flagged[doc.Findings[fi].Container] = true
			}
		}
		names := make([]string, 0, len(flagged))
		for c := range flagged {
			names = append(names, c)
		}
		sort.Strings(names)
		var says, fixes []string
		for _, c := range names {
			r, ok := ownerPeak(doc, g, c)
			if !ok {
				continue
			}
			r.Verdict, r.SuggestedRequestBytes, r.SuggestedLimitBytes = rules.Rightsize(cfg, r.PeakBytes, *r.LimitBytes)
			g.Rightsizing = append(g.Rightsizing, r)
			limit := *r.LimitBytes
			where := fmt.Sprintf("%s peaked at %s (pod %s on %s), %s of its %s limit", c, units.Bytes(r.PeakBytes), r.PeakPod, r.PeakNode,
				units.Percent(r.PeakBytes, limit), units.Bytes(limit))
			suggest := fmt.Sprintf("request %s, limit %s", units.Bytes(r.SuggestedRequestBytes), units.Bytes(r.SuggestedLimitBytes))
			switch r.Verdict {
			case rules.RightsizeAtRisk:
				says = append(says, where+": at risk of an OOM kill. Suggested for every replica: "+suggest+".")
			case rules.RightsizeOversized:
				says = append(says, where+fmt.Sprintf(": oversized by %s. Suggested for every replica: %s.", units.Bytes(limit-r.PeakBytes), suggest))
			default:
				says = append(says, where+": within range for the workload as a whole (only some replicas' own peaks were flagged); keep the limit.")
				continue
			}
			fixes = append(fixes, fmt.Sprintf("resources.requests.memory ≈ %s and resources.limits.memory ≈ %s for container %s",
				units.Bytes(r.SuggestedRequestBytes), units.Bytes(r.SuggestedLimitBytes), c))
		}
		if len(says) == 0 {
			continue
		}
		pods, nodes := ownerSpan(doc, g)
		g.Summary = fmt.Sprintf("Over its %d pod(s) on %d node(s), %s", pods, nodes, strings.Join(says, " "))
		if len(fixes) > 0 {
			g.Remediation = fmt.Sprintf("In the %s template set %s; the peaks cover only the running containers' lifetimes, so re-check after a busy period.",
				g.OwnerKind, strings.Join(fixes, "; "))
		}
	}
}

// ownerPeak is container c's highest peak over every pod of g's owner,
// against the largest limit among them; false when none has a peak or
// none a limit.
func ownerPeak(doc *schema.Document, g *schema.FindingGroup, c string) (schema.Rightsizing, bool) {
	r := schema.Rightsizing{Container: c}
	seen := false
	for _, w := range doc.Workloads {
		if w.Container != c || w.PeakBytes == nil || !sameOwner(w, g) {
			continue
		}
		r.Pods++
		if !seen || *w.PeakBytes > r.PeakBytes {
			seen = true
			r.PeakBytes = *w.PeakBytes
			r.PeakPod, r.PeakNode, r.PeakCgroup = w.Namespace+"/"+w.Pod, w.Node, w.Cgroup
		}
		if !w.Unlimited && w.LimitBytes != nil && *w.LimitBytes > 0 {
			if r.LimitBytes != nil && *r.LimitBytes != *w.LimitBytes {
				r.LimitsDiffer = true
			}
			if r.LimitBytes == nil || *w.LimitBytes > *r.LimitBytes {
				r.LimitBytes = w.LimitBytes
			}
		}
		if w.RequestBytes != nil && (r.RequestBytes == nil || *w.RequestBytes > *r.RequestBytes) {
			r.RequestBytes = w.RequestBytes
		}
	}
	return r, seen && r.LimitBytes != nil
}

func sameOwner(w schema.Workload, g *schema.FindingGroup) bool {
	ns, kind, name := report.OwnerKey(w.Namespace, w.OwnerKind, w.Owner, w.Pod)
	return ns == g.Namespace && kind == g.OwnerKind && name == g.Owner
}

// ownerSpan counts the pods of g's owner and the nodes they run on.
func ownerSpan(doc *schema.Document, g *schema.FindingGroup) (pods, nodes int) {
	seen := map[string]bool{}
	for _, w := range doc.Workloads {
		if w.Container == "" && sameOwner(w, g) {
			pods++
			if !seen[w.Node] {
				seen[w.Node] = true
				nodes++
			}
		}
	}
	return pods, nodes
}
