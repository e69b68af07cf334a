package rules

import (
	"fmt"
	"time"

	"github.com/memsnap/memsnap/analyzer/internal/series"
	"github.com/memsnap/memsnap/analyzer/internal/snapshot"
	"github.com/memsnap/memsnap/analyzer/internal/units"
	"github.com/memsnap/memsnap/report/schema"
)

// NodeTowardEviction finds a node whose memory.available falls toward the
// hard eviction threshold.
var NodeTowardEviction = &Rule{
	ID:       "node-toward-eviction",
	Severity: schema.Critical,
	Needs:    []snapshot.Data{snapshot.DataSeries},
	Doc: `Node memory.available falls toward the eviction threshold
What: the node's memory.available as kubelet computes it (MemTotal − the root cgroup's working
set) falls steadily over the window — Theil–Sen slope, rank correlation of at least min_rank (0.8)
with time, a fall of at least min_rise (64 MiB) — and the fitted line reaches the hard eviction
threshold (kubelet's evictionHard memory.available, 100Mi by default) within warning_within (24 h);
critical within critical_within (1 h). Without a root working set the node's MemAvailable stands
in, and the text says so.
Why: when memory.available crosses the threshold kubelet evicts pods, lowest priority and largest
use over request first; the fall is visible long before, and the time left is what an on-call
engineer needs.
Evidence: the series file, the first and last sample and slope of memory.available, the threshold.
Fix: find what grows on the node (memory-growth, page-cache-growth findings); move workloads,
raise requests so the scheduler stops overpacking, or raise kube-reserved/system-reserved.
References: https://kubernetes.io/docs/concepts/scheduling-eviction/node-pressure-eviction/`,
	Run: runNodeTowardEviction,
}

// defaultEvictionHard is kubelet's built-in memory.available<100Mi (on
// Linux; kubernetes.io/docs/concepts/scheduling-eviction/node-pressure-eviction/#hard-eviction-thresholds).
const defaultEvictionHard = 100 << 20

func runNodeTowardEviction(p *Pass) {
	cfg := p.Config.Rules.NodeTowardEviction
	threshold, thrFile, thrNote := float64(defaultEvictionHard), "", "kubelet default memory.available<100Mi"
	if e := p.Snap.NodeMemory.EvictionHard; e != nil {
		threshold, thrFile, thrNote = float64(e.Bytes), e.File, "evictionHard memory.available"
	}
	for _, n := range p.Snap.Series.Nodes {
		av := n.Get(series.Available)
		if len(av) < max(cfg.MinSamples, 5) {
			continue
		}
		neg := make([]series.Point, len(av))
		for i, pt := range av {
			neg[i] = series.Point{T: pt.T, V: -pt.V}
		}
		tr, ok := series.Fit(neg)
		if !ok || !tr.Steady(cfg.MinRank, float64(cfg.MinRise)) {
			continue
		}
		at, ok := tr.Reaches(-threshold)
		if !ok {
			continue
		}
		left := time.Duration(at-tr.Last.T) * time.Millisecond
		if left > time.Duration(cfg.WarningWithin) {
			continue
		}
		name := nodeTrackName(p, n)
		f := schema.Finding{Severity: severityWithin(left, cfg.CriticalWithin, cfg.WarningWithin), Subject: "node:" + name}
		measure := "memory.available"
		if len(n.Get(series.WorkingSet)) == 0 {
			measure = "MemAvailable (no root working set in the series)"
		}
		f.Summary = fmt.Sprintf("The node's %s falls ~%s/min (%s → %s over %s); kubelet will start evicting %s, when it crosses %s.",
			measure, units.Bytes(int64(tr.PerMinute())), units.Bytes(int64(-tr.First.V)), units.Bytes(int64(-tr.Last.V)),
			span(tr.Last.T-tr.First.T), untilText(at, tr.Last.T), units.Bytes(int64(threshold)))
		up := series.Trend{First: series.Point{T: tr.First.T, V: -tr.First.V}, Last: series.Point{T: tr.Last.T, V: -tr.Last.V},
			Slope: -tr.Slope, N: tr.N, Spearman: -tr.Spearman, Noise: tr.Noise}
		f.Evidence = append(citeTrend(n.File, series.Available, up), schema.Evidence{File: thrFile, Key: "eviction threshold",
			Value: jsonNum(threshold), Text: fmt.Sprintf("%s = %s; crossed at %s by the fitted line", thrNote, units.Bytes(int64(threshold)), stamp(at))})
		f.Remediation = "Find what grows on the node (see memory-growth and page-cache-growth), move workloads off it, and set requests that match real use so the scheduler stops overpacking."
		p.Report(f)
	}
}
