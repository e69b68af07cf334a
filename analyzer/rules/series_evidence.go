package rules

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/memsnap/memsnap/analyzer/internal/config"
	"github.com/memsnap/memsnap/analyzer/internal/series"
	"github.com/memsnap/memsnap/analyzer/internal/units"
	"github.com/memsnap/memsnap/report/schema"
)

// Helpers the time-axis rules share (issue #15): which tracks are
// containers, their limit, and evidence that cites the series file, the
// first and last sample and the slope.

func containerTracks(p *Pass) []*series.Track { return p.Snap.SeriesContainerTracks() }

// trackLimit is the limit that applies to a container track at its last
// sample: the series' own, else the snapshot's container cgroup, else the
// pod's. 0 = none known.
func trackLimit(p *Pass, t *series.Track) (float64, string) {
	if l, ok := t.Last(series.Limit); ok && l.V > 0 {
		return l.V, t.File
	}
	if c := p.Snap.SeriesContainers[t]; c != nil {
		if n := c.Cgroup; n != nil && n.Limit != nil && !n.Unlimited {
			return float64(n.Limit.N), n.Limit.File
		}
		if n := c.Pod.Cgroup; n != nil && n.Limit != nil && !n.Unlimited {
			return float64(n.Limit.N), n.Limit.File
		}
	}
	if pod := p.Snap.SeriesPod(t); pod != nil && pod.Cgroup != nil && pod.Cgroup.Limit != nil && !pod.Cgroup.Unlimited {
		return float64(pod.Cgroup.Limit.N), pod.Cgroup.Limit.File
	}
	return 0, ""
}

// fillTrack sets the finding's subject for a track.
func fillTrack(p *Pass, t *series.Track, f *schema.Finding) {
	if c := p.Snap.SeriesContainers[t]; c != nil {
		c.Fill(f)
	} else {
		k := t.Key
		f.Namespace, f.Pod, f.Container = k.Namespace, k.Pod, k.Container
		f.Subject = p.Snap.SeriesSubject(t)
	}
	if t.Key.Cgroup != "" {
		f.Cgroup = t.Key.Cgroup // a restarted container's old cgroup, not the live one
	}
}

// fit fits one metric with the configured gate's sample minimum.
func fit(t *series.Track, m series.Metric, g config.Trend) (series.Trend, bool) {
	pts := t.Get(m)
	if len(pts) < max(g.MinSamples, 5) {
		return series.Trend{}, false
	}
	return series.Fit(pts)
}

func stamp(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04:05Z")
}

func hhmm(ms int64) string { return time.UnixMilli(ms).UTC().Format("15:04Z") }

// citeTrend cites a fitted series: first and last sample and the slope.
func citeTrend(file string, m series.Metric, tr series.Trend) []schema.Evidence {
	v := func(x float64) string { return strconv.FormatInt(int64(math.Round(x)), 10) }
	return []schema.Evidence{
		{File: file, Key: string(m) + " first sample", Value: jsonNum(tr.First.V),
			Text: fmt.Sprintf("%s at %s = %s (%s)", m, stamp(tr.First.T), v(tr.First.V), units.Bytes(int64(tr.First.V)))},
		{File: file, Key: string(m) + " last sample", Value: jsonNum(tr.Last.V),
			Text: fmt.Sprintf("%s at %s = %s (%s)", m, stamp(tr.Last.T), v(tr.Last.V), units.Bytes(int64(tr.Last.V)))},
		{File: file, Key: string(m) + " slope",
			Text: fmt.Sprintf("Theil–Sen slope %s/min over %s (%d points fitted, rank correlation %.2f, scatter ±%s)",
				signedBytes(tr.PerMinute()), span(tr.Last.T-tr.First.T), tr.N, tr.Spearman, units.Bytes(int64(tr.Noise)))},
	}
}

func jsonNum(x float64) json.Number {
	return json.Number(strconv.FormatInt(int64(math.Round(x)), 10))
}

func signedBytes(x float64) string {
	if x < 0 {
		return "−" + units.Bytes(int64(-x))
	}
	return "+" + units.Bytes(int64(x))
}

// span renders a duration the way an engineer says it: 45 s, 12 min, 6.0 h, 3.0 d.
func span(ms int64) string {
	d := time.Duration(ms) * time.Millisecond
	switch {
	case d < 2*time.Minute:
		return fmt.Sprintf("%.0f s", d.Seconds())
	case d < 2*time.Hour:
		return fmt.Sprintf("%.0f min", d.Minutes())
	case d < 48*time.Hour:
		return fmt.Sprintf("%.1f h", d.Hours())
	}
	return fmt.Sprintf("%.1f d", d.Hours()/24)
}

// untilText is "at 14:32Z (in ~18 min)" or "now" for a crossing time.
func untilText(at, from int64) string {
	if at <= from {
		return "already"
	}
	return fmt.Sprintf("at %s (in ~%s)", hhmm(at), span(at-from))
}

// severityWithin grades a time to the limit.
func severityWithin(left time.Duration, critical, warning config.Duration) string {
	switch {
	case left <= time.Duration(critical):
		return schema.Critical
	case left <= time.Duration(warning):
		return schema.Warning
	}
	return schema.Info
}

func seriesFiles(t *series.Track) string { return strings.TrimSpace(t.File) }

// nodeTrackName names a node track: its node label, unless that is only a
// scrape address (node-exporter's instance="10.0.0.2:9100"), else the
// bundle's node.
func nodeTrackName(p *Pass, t *series.Track) string {
	if n := t.Key.Node; n != "" && !strings.Contains(n, ":") {
		return n
	}
	return p.Snap.NodeName
}
