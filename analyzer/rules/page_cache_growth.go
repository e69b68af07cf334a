package rules

import (
	"fmt"
	"time"

	"github.com/memsnap/memsnap/analyzer/internal/series"
	"github.com/memsnap/memsnap/analyzer/internal/snapshot"
	"github.com/memsnap/memsnap/analyzer/internal/units"
	"github.com/memsnap/memsnap/report/schema"
)

// PageCacheGrowth finds a working set driven up by page cache over time.
var PageCacheGrowth = &Rule{
	ID:       "page-cache-growth",
	Severity: schema.Warning,
	Needs:    []snapshot.Data{snapshot.DataSeries},
	Doc: `Page cache grows toward the limit while anon memory stays flat
What: a container whose file pages (page cache) rise steadily — the same Theil–Sen slope and
rank gate as memory-growth — while its anon memory moves by at most anon_flat_ratio (0.2) of that
rise: the working set climbs with cache, not with the heap. It says when the fitted working set
reaches working_set_ratio (80 %) of the limit — where working-set alerts and kubelet's eviction
ranking look — and when it reaches the limit itself. Warning when the first happens within
warning_within (24 h) or already has, else info.
Why: cAdvisor's working set is usage minus inactive_file, so active page cache counts; a log file
written and re-read for hours makes an idle Go service look like it uses 80 % of its limit
(seed 000, kubernetes/kubernetes#43916). The kernel can reclaim most of it, but alerts, evictions
and kubectl top cannot tell.
Evidence: the series file, the first and last file and anon samples, the slopes, the limit.
Fix: rotate or truncate files the container writes and re-reads (smaller log rotation size), write
logs to stdout, or alert on anon/RSS rather than working set.
References: kubernetes/kubernetes#43916, https://kubernetes.io/docs/concepts/scheduling-eviction/node-pressure-eviction/#active-file-memory-is-not-considered-as-available-memory`,
	Run: runPageCacheGrowth,
}

func runPageCacheGrowth(p *Pass) {
	cfg := p.Config.Rules.PageCacheGrowth
	for _, t := range containerTracks(p) {
		ft, ok := fit(t, series.File, cfg.Trend)
		if !ok || !ft.Steady(cfg.MinRank, float64(cfg.MinRise)) {
			continue
		}
		at, ok := fit(t, series.Anon, cfg.Trend)
		if !ok || !at.Flat(cfg.AnonFlatRatio*ft.Rise()) {
			continue
		}
		f := schema.Finding{Severity: schema.Info}
		fillTrack(p, t, &f)
		f.Evidence = append(citeTrend(t.File, series.File, ft), citeTrend(t.File, series.Anon, at)[1])
		text := fmt.Sprintf("%s's page cache grows ~%s/min (%s → %s over %s) while anon stays near %s",
			f.Subject, units.Bytes(int64(ft.PerMinute())), units.Bytes(int64(ft.First.V)), units.Bytes(int64(ft.Last.V)),
			span(ft.Last.T-ft.First.T), units.Bytes(int64(at.Last.V)))
		limit, limitFile := trackLimit(p, t)
		wt, wok := fit(t, series.WorkingSet, cfg.Trend)
		if limit > 0 && wok {
			alert := cfg.WorkingSetRatio * limit
			atAlert, ok1 := wt.Reaches(alert)
			atLimit, ok2 := wt.Reaches(limit)
			if ok1 && ok2 {
				if time.Duration(atAlert-wt.Last.T)*time.Millisecond <= time.Duration(cfg.WarningWithin) {
					f.Severity = schema.Warning
				}
				reach := fmt.Sprintf("reaches %.0f %% %s and", 100*cfg.WorkingSetRatio, untilText(atAlert, wt.Last.T))
				if atAlert <= wt.Last.T {
					reach = fmt.Sprintf("is already above %.0f %% and reaches", 100*cfg.WorkingSetRatio)
				}
				text += fmt.Sprintf(": the working set (%s, %.0f %% of the %s limit) %s the limit %s",
					units.Bytes(int64(wt.Last.V)), 100*wt.Last.V/limit, units.Bytes(int64(limit)), reach, untilText(atLimit, wt.Last.T))
				f.Evidence = append(f.Evidence, citeTrend(t.File, series.WorkingSet, wt)[2],
					schema.Evidence{File: limitFile, Key: "limit", Value: jsonNum(limit),
						Text: fmt.Sprintf("limit = %s; working set predicted to reach it at %s", units.Bytes(int64(limit)), stamp(atLimit))})
			}
		}
		f.Summary = text + ". The growth is page cache: reclaimable, but counted in the working set that alerts and evictions use."
		f.Remediation = "Rotate or truncate files the container writes and re-reads (a smaller log rotation size), log to stdout, or alert on anon/RSS instead of working set."
		f.References = []string{"kubernetes/kubernetes#43916"}
		p.Report(f)
	}
}
