package rules

import (
	"fmt"
	"time"

	"github.com/memsnap/memsnap/analyzer/internal/series"
	"github.com/memsnap/memsnap/analyzer/internal/snapshot"
	"github.com/memsnap/memsnap/analyzer/internal/units"
	"github.com/memsnap/memsnap/report/schema"
)

// MemoryGrowth finds containers whose anonymous memory rises steadily.
var MemoryGrowth = &Rule{
	ID:       "memory-growth",
	Severity: schema.Critical,
	Needs:    []snapshot.Data{snapshot.DataSeries},
	Doc: `Memory grows steadily and will reach the limit
What: a container whose anon memory (or, when the series has no anon, its working set) rises
steadily over the watch or the Prometheus range: a Theil–Sen slope (the median of all pairwise
slopes, so spikes do not steer it), a rank correlation with time of at least min_rank (0.8) and a
fitted rise of at least min_rise (16 MiB) and three times the scatter around the line. A
garbage-collected sawtooth rises and falls and scores near 0, so it is not called a leak. The
time to the limit is when the fitted line reaches the limit less the container's shmem and kernel
memory (the part the kernel cannot reclaim either); critical within critical_within (1 h),
warning within warning_within (24 h), info beyond or without a limit.
Why: anonymous memory is not reclaimed under a limit without swap: a container that keeps
allocating is OOM-killed when it reaches its limit, and a single snapshot cannot tell a leak from a
large steady heap.
Evidence: the series file, the first and last sample and the fitted slope per minute, the limit.
Fix: take heap profiles a few minutes apart (memsnap-collect --pprof) and compare what grows; raise
the limit only if the growth is bounded (a cache filling up to its configured size).
References: https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/, https://en.wikipedia.org/wiki/Theil%E2%80%93Sen_estimator`,
	Run: runMemoryGrowth,
}

func runMemoryGrowth(p *Pass) {
	cfg := p.Config.Rules.MemoryGrowth
	for _, t := range containerTracks(p) {
		metric := series.Anon
		tr, ok := fit(t, metric, cfg.Trend)
		if !ok {
			metric = series.WorkingSet
			if tr, ok = fit(t, metric, cfg.Trend); !ok {
				continue
			}
			// Working set rising with page cache is page-cache-growth's case.
			if ft, ok := fit(t, series.File, cfg.Trend); ok && ft.Rise() >= 0.5*tr.Rise() {
				continue
			}
		}
		if !tr.Steady(cfg.MinRank, float64(cfg.MinRise)) {
			continue
		}
		f := schema.Finding{Severity: schema.Info}
		fillTrack(p, t, &f)
		f.Evidence = citeTrend(t.File, metric, tr)
		grows := fmt.Sprintf("%s grows ~%s/min (%s → %s over %s)", metric, units.Bytes(int64(tr.PerMinute())),
			units.Bytes(int64(tr.First.V)), units.Bytes(int64(tr.Last.V)), span(tr.Last.T-tr.First.T))
		limit, limitFile := trackLimit(p, t)
		if limit <= 0 {
			f.Summary = fmt.Sprintf("%s's %s; it has no memory limit, so it grows until the node runs short.", f.Subject, grows)
		} else {
			level := limit
			if metric == series.Anon {
				for _, m := range []series.Metric{series.Shmem, series.Kernel} {
					if v, ok := t.Last(m); ok {
						level -= v.V
					}
				}
			}
			at, ok := tr.Reaches(level)
			if !ok {
				continue
			}
			f.Severity = severityWithin(time.Duration(at-tr.Last.T)*time.Millisecond, cfg.CriticalWithin, cfg.WarningWithin)
			f.Summary = fmt.Sprintf("%s's %s; it reaches its %s limit %s and will then be OOM-killed.",
				f.Subject, grows, units.Bytes(int64(limit)), untilText(at, tr.Last.T))
			f.Evidence = append(f.Evidence, schema.Evidence{File: limitFile, Key: "limit", Value: jsonNum(limit),
				Text: fmt.Sprintf("limit = %s; predicted to be reached at %s", units.Bytes(int64(limit)), stamp(at))})
		}
		f.Remediation = "Compare heap profiles taken minutes apart to find what grows; if the growth is bounded by design (a cache), size the limit for its maximum."
		p.Report(f)
	}
}
