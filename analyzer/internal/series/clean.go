package series

import (
	"fmt"
	"math"
	"sort"
)

// Options bound what a reader keeps: series come from customers and their
// monitoring, so a file may hold a million samples, timestamps out of order,
// NaN and ±Inf, or a sample a century away.
type Options struct {
	// NowMS is the analysis clock (the manifest's created time, or --now) in
	// Unix ms; points later than NowMS + FutureSlack are dropped. 0 = only
	// the per-series outlier bound applies.
	NowMS int64
	// MaxPoints bounds the points kept per metric of one track; beyond it
	// the series is thinned evenly (every k-th point), never cut at one end.
	MaxPoints int
	// MaxTracks bounds the tracks of one file.
	MaxTracks int
}

const (
	defaultMaxPoints = 100_000
	defaultMaxTracks = 50_000
	// FutureSlack allows for clock skew between the node and the analyst.
	futureSlackMS = 24 * 3600 * 1000
	// outlierMS: a point more than a year from the series' median time is
	// not part of the same watch or range query (a clock jump, a bad export).
	outlierMS = 366 * 24 * 3600 * 1000
)

func (o Options) withDefaults() Options {
	if o.MaxPoints <= 0 {
		o.MaxPoints = defaultMaxPoints
	}
	if o.MaxTracks <= 0 {
		o.MaxTracks = defaultMaxTracks
	}
	return o
}

// dropped counts what clean removed, for one problem line per file.
type dropped struct {
	nonFinite, outOfOrder, duplicate, outlier, thinned int
}

func (d *dropped) add(o dropped) {
	d.nonFinite += o.nonFinite
	d.outOfOrder += o.outOfOrder
	d.duplicate += o.duplicate
	d.outlier += o.outlier
	d.thinned += o.thinned
}

func (d dropped) problem(file string) string {
	if d == (dropped{}) {
		return ""
	}
	return fmt.Sprintf("%s: dropped %d NaN/Inf values, %d duplicate timestamps and %d points far outside the series' time range; reordered %d out-of-order points; thinned %d points to stay within the per-series bound",
		file, d.nonFinite, d.duplicate, d.outlier, d.outOfOrder, d.thinned)
}

// clean returns pts sorted by time, one point per timestamp (the last
// given wins, as Prometheus does for a re-sent sample), finite values only,
// no outliers in time, at most o.MaxPoints points.
func clean(pts []Point, o Options) ([]Point, dropped) {
	var d dropped
	out := pts[:0]
	for _, p := range pts {
		if math.IsNaN(p.V) || math.IsInf(p.V, 0) {
			d.nonFinite++
			continue
		}
		if p.T <= 0 || o.NowMS > 0 && p.T > o.NowMS+futureSlackMS {
			d.outlier++
			continue
		}
		out = append(out, p)
	}
	for i := 1; i < len(out); i++ {
		if out[i].T < out[i-1].T {
			d.outOfOrder++
		}
	}
	if d.outOfOrder > 0 {
		sort.SliceStable(out, func(i, j int) bool { return out[i].T < out[j].T })
	}
	w := 0
	for i := range out {
		if w > 0 && out[w-1].T == out[i].T {
			out[w-1] = out[i]
			d.duplicate++
			continue
		}
		out[w] = out[i]
		w++
	}
	out = out[:w]
	if len(out) > 2 {
		med := out[len(out)/2].T
		w = 0
		for _, p := range out {
			if p.T > med+outlierMS || p.T < med-outlierMS {
				d.outlier++
				continue
			}
			out[w] = p
			w++
		}
		out = out[:w]
	}
	if len(out) > o.MaxPoints {
		k := (len(out) + o.MaxPoints - 1) / o.MaxPoints
		w = 0
		for i := 0; i < len(out); i += k {
			out[w] = out[i]
			w++
		}
		if out[w-1] != out[len(out)-1] { // keep the last sample: rules cite it
			out[w-1] = out[len(out)-1]
		}
		d.thinned += len(out) - w
		out = out[:w]
	}
	return out, d
}

// cleanTrack cleans every metric of t.
func cleanTrack(t *Track, o Options) dropped {
	var d dropped
	for m, pts := range t.Metrics {
		c, dd := clean(pts, o)
		d.add(dd)
		if len(c) == 0 {
			delete(t.Metrics, m)
			continue
		}
		t.Metrics[m] = c
	}
	return d
}
