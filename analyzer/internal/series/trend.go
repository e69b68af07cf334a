package series

import (
	"math"
	"sort"
)

// Trend is a robust straight-line fit of one metric over time: the
// Theil–Sen slope (the median of all pairwise slopes, which ignores up to
// ~29 % outliers where least squares follows every spike), the median
// intercept, and what the growth rules gate on.
type Trend struct {
	Slope     float64 // units per millisecond
	Intercept float64 // fitted value at First.T
	First     Point
	Last      Point
	N         int // points fitted (after bucketing)
	// Spearman is the rank correlation of value with time: 1 = every
	// sample above the one before. A garbage-collected sawtooth scores
	// near 0 however high its teeth.
	Spearman float64
	// Noise is the robust spread of the residuals (1.4826 × MAD).
	Noise float64
}

// maxFitPoints bounds the O(n²) pairwise slopes: longer series are first
// reduced to this many bucket medians, which also smooths a sawtooth whose
// period is shorter than a bucket.
const maxFitPoints = 128

// Fit fits pts (sorted by time). It needs at least 5 points over a
// non-zero span.
func Fit(pts []Point) (Trend, bool) {
	if len(pts) < 5 || pts[len(pts)-1].T <= pts[0].T {
		return Trend{}, false
	}
	b := buckets(pts, maxFitPoints)
	n := len(b)
	slopes := make([]float64, 0, n*(n-1)/2)
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			if dt := float64(b[j].T - b[i].T); dt > 0 {
				slopes = append(slopes, (b[j].V-b[i].V)/dt)
			}
		}
	}
	if len(slopes) == 0 {
		return Trend{}, false
	}
	t := Trend{Slope: median(slopes), First: pts[0], Last: pts[len(pts)-1], N: n}
	icpt := make([]float64, n)
	for i, p := range b {
		icpt[i] = p.V - t.Slope*float64(p.T-t.First.T)
	}
	t.Intercept = median(icpt)
	res := make([]float64, n)
	for i, p := range b {
		res[i] = math.Abs(p.V - t.At(p.T))
	}
	t.Noise = 1.4826 * median(res)
	t.Spearman = spearman(b)
	return t, true
}

// At is the fitted value at ms.
func (t Trend) At(ms int64) float64 {
	return t.Intercept + t.Slope*float64(ms-t.First.T)
}

// PerMinute is the slope in units per minute.
func (t Trend) PerMinute() float64 { return t.Slope * 60_000 }

// Rise is the fitted growth over the fitted span.
func (t Trend) Rise() float64 { return t.Slope * float64(t.Last.T-t.First.T) }

// Steady is the growth gate: the values rise with time nearly
// monotonically (Spearman ≥ minRank), the rise stands well clear of the
// scatter around the line (≥ 3 × noise) and is at least minRise.
func (t Trend) Steady(minRank, minRise float64) bool {
	return t.Slope > 0 && t.Spearman >= minRank && t.Rise() >= minRise && t.Rise() >= 3*t.Noise
}

// Flat says the metric did not move by more than tolerance over the span.
func (t Trend) Flat(tolerance float64) bool {
	return math.Abs(t.Rise()) <= tolerance
}

// Reaches returns when the fitted line reaches level, counted from the last
// sample's fitted value: the Unix ms of the crossing. ok is false when the
// line does not rise or has already passed it.
func (t Trend) Reaches(level float64) (int64, bool) {
	if t.Slope <= 0 {
		return 0, false
	}
	now := t.At(t.Last.T)
	if now >= level {
		return t.Last.T, true
	}
	dt := (level - now) / t.Slope
	if dt > 100*365*24*3600*1000 { // beyond a century is "never" for a rule
		return 0, false
	}
	return t.Last.T + int64(dt), true
}

// buckets reduces pts to at most k points: each the median time and median
// value of an equal-count run of samples.
func buckets(pts []Point, k int) []Point {
	if len(pts) <= k {
		return pts
	}
	out := make([]Point, 0, k)
	vals := make([]float64, 0, len(pts)/k+1)
	for i := 0; i < k; i++ {
		lo, hi := i*len(pts)/k, (i+1)*len(pts)/k
		if hi <= lo {
			continue
		}
		vals = vals[:0]
		for _, p := range pts[lo:hi] {
			vals = append(vals, p.V)
		}
		out = append(out, Point{T: pts[(lo+hi-1)/2].T, V: median(vals)})
	}
	return out
}

func median(v []float64) float64 {
	sort.Float64s(v)
	n := len(v)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// spearman is the rank correlation of V with T (T is already in order, so
// its ranks are 0..n-1); ties share their mean rank.
func spearman(pts []Point) float64 {
	n := len(pts)
	if n < 3 {
		return 0
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return pts[idx[a]].V < pts[idx[b]].V })
	rank := make([]float64, n)
	for i := 0; i < n; {
		j := i
		for j+1 < n && pts[idx[j+1]].V == pts[idx[i]].V {
			j++
		}
		r := float64(i+j) / 2
		for k := i; k <= j; k++ {
			rank[idx[k]] = r
		}
		i = j + 1
	}
	mean := float64(n-1) / 2
	var num, dx, dy float64
	for i := 0; i < n; i++ {
		x, y := float64(i)-mean, rank[i]-mean
		num += x * y
		dx += x * x
		dy += y * y
	}
	if dx == 0 || dy == 0 {
		return 0
	}
	return num / math.Sqrt(dx*dy)
}
