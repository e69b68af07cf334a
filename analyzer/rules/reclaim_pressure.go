package rules

import (
	"fmt"
	"strings"

	"github.com/memsnap/memsnap/analyzer/internal/series"
	"github.com/memsnap/memsnap/analyzer/internal/snapshot"
	"github.com/memsnap/memsnap/report/schema"
)

// ReclaimPressure finds cgroups and nodes thrashing on reclaim over time.
var ReclaimPressure = &Rule{
	ID:       "reclaim-pressure",
	Severity: schema.Warning,
	Needs:    []snapshot.Data{snapshot.DataSeries},
	Doc: `Reclaim pressure over the window: refaults, memory stalls, memory.high events
What: a container or the node where at least two of these hold over the watch: workingset
refaults at refaults_per_second (100 pages/s) or more — pages evicted and read straight back; PSI
memory "some" stall time at stall_share (5 %) of the wall time or more; memory.high events rising
(cgroup v2). A container's own PSI and memory.high exist on cgroup v2 only.
Why: a workload squeezed against its limit or memory.high does not die, it slows down: the kernel
evicts the page cache it needs and throttles its allocations. Latency grows long before an OOM kill.
Evidence: the series file, each signal's rise and rate over the window.
Fix: give the workload more memory (limit or memory.high), shrink its working set of files, or move
it away from a node that is short of memory.
References: torvalds/linux:Documentation/accounting/psi.rst, torvalds/linux:Documentation/admin-guide/cgroup-v2.rst`,
	Run: runReclaimPressure,
}

func runReclaimPressure(p *Pass) {
	cfg := p.Config.Rules.ReclaimPressure
	check := func(t *series.Track, fill func(*schema.Finding)) {
		var signals []string
		var ev []schema.Evidence
		if pts := t.Get(series.Refault); len(pts) >= 2 {
			secs := float64(pts[len(pts)-1].T-pts[0].T) / 1000
			if rate := counterRise(pts) / secs; secs > 0 && rate >= cfg.RefaultsPerSecond {
				signals = append(signals, fmt.Sprintf("%.0f refaults/s", rate))
				ev = append(ev, schema.Evidence{File: t.File, Key: "refault", Text: fmt.Sprintf("workingset refaults rose by %.0f pages between %s and %s (%.0f/s)", counterRise(pts), stamp(pts[0].T), stamp(pts[len(pts)-1].T), rate)})
			}
		}
		if pts := t.Get(series.PSISome); len(pts) >= 2 {
			wall := float64(pts[len(pts)-1].T-pts[0].T) * 1000 // ms → µs
			if share := counterRise(pts) / wall; wall > 0 && share >= cfg.StallShare {
				signals = append(signals, fmt.Sprintf("stalled on memory %.0f %% of the time", 100*share))
				ev = append(ev, schema.Evidence{File: t.File, Key: "psi some total", Text: fmt.Sprintf("PSI some stall time rose by %.1f s over %s (%.0f %%)", counterRise(pts)/1e6, span(pts[len(pts)-1].T-pts[0].T), 100*share)})
			}
		}
		if pts := t.Get(series.HighEvents); len(pts) >= 2 {
			if rise := counterRise(pts); rise > 0 {
				signals = append(signals, fmt.Sprintf("%.0f memory.high events", rise))
				ev = append(ev, schema.Evidence{File: t.File, Key: "memory.events high", Text: fmt.Sprintf("memory.high events rose by %.0f between %s and %s", rise, stamp(pts[0].T), stamp(pts[len(pts)-1].T))})
			}
		}
		if len(signals) < 2 {
			return
		}
		f := schema.Finding{Severity: schema.Warning}
		fill(&f)
		f.Summary = fmt.Sprintf("%s is under reclaim pressure during the window: %s.", f.Subject, strings.Join(signals, ", "))
		f.Evidence = ev
		f.Remediation = "Give the workload more memory (limit or memory.high), shrink the files it keeps re-reading, or move it off a node that is short of memory."
		p.Report(f)
	}
	for _, n := range p.Snap.Series.Nodes {
		name := nodeTrackName(p, n)
		check(n, func(f *schema.Finding) { f.Subject = "node:" + name })
	}
	for _, t := range containerTracks(p) {
		check(t, func(f *schema.Finding) { fillTrack(p, t, f) })
	}
}
