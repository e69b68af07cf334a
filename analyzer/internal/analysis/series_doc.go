package analysis

import (
	"math"
	"sort"

	"github.com/memsnap/memsnap/analyzer/internal/podpath"
	"github.com/memsnap/memsnap/analyzer/internal/series"
	"github.com/memsnap/memsnap/analyzer/internal/snapshot"
	"github.com/memsnap/memsnap/report/schema"
)

// The report's time axis: the node's lines, every container's growth for
// the table, points only for the fastest-growing few (charts stay readable
// and the HTML within budget at 250 pods).
const (
	seriesChartContainers = 8
	seriesMaxPoints       = 240
)

func seriesEntry(s *snapshot.Snapshot) *schema.Series {
	set := s.Series
	if set.Empty() {
		return nil
	}
	out := &schema.Series{Files: set.Files, EveryMS: set.EveryMS, Containers: []schema.SeriesContainer{}}
	if s.Manifest != nil && s.Manifest.Watch != nil {
		out.SnapshotAt = s.Manifest.Watch.Ended
	}
	if n := set.Node(""); n != nil {
		sn := &schema.SeriesNode{File: n.File, Used: thin(n.Get(series.Usage)), WorkingSet: thin(n.Get(series.WorkingSet)), Available: thin(n.Get(series.Available))}
		threshold := int64(100 << 20) // kubelet's default memory.available<100Mi
		if e := s.NodeMemory.EvictionHard; e != nil {
			threshold = e.Bytes
		}
		sn.EvictionThresholdBytes = &threshold
		out.Node = sn
	}
	for _, t := range s.SeriesContainerTracks() {
		c := schema.SeriesContainer{Subject: s.SeriesSubject(t), Namespace: t.Key.Namespace, Pod: t.Key.Pod,
			Container: t.Key.Container, Cgroup: t.Key.Cgroup, File: t.File}
		c.FirstMS, c.LastMS = t.Span()
		for _, m := range []series.Metric{series.WorkingSet, series.Usage, series.Anon} {
			if tr, ok := series.Fit(t.Get(m)); ok {
				g := math.Round(tr.PerMinute())
				c.GrowthBytesPerMin = &g
				break
			}
		}
		if l, ok := t.Last(series.Limit); ok {
			c.LimitBytes = ptrInt(int64(l.V))
		} else if sc := s.SeriesContainers[t]; sc != nil && sc.Cgroup != nil && sc.Cgroup.Limit != nil && !sc.Cgroup.Unlimited {
			c.LimitBytes = ptrInt(sc.Cgroup.Limit.N)
		}
		last := func(m series.Metric) *int64 {
			if p, ok := t.Last(m); ok {
				return ptrInt(int64(p.V))
			}
			return nil
		}
		c.LastWorkingSetBytes, c.LastAnonBytes, c.LastFileBytes = last(series.WorkingSet), last(series.Anon), last(series.File)
		out.Containers = append(out.Containers, c)
		if r := counterSteps(t.Get(series.OOMKill)); len(r) > 0 {
			for _, ms := range r {
				out.Events = append(out.Events, schema.SeriesEvent{MS: ms, Kind: "oom_kill", Subject: c.Subject, Cgroup: c.Cgroup})
			}
		}
	}
	growth := func(c schema.SeriesContainer) float64 {
		if c.GrowthBytesPerMin == nil {
			return math.Inf(-1)
		}
		return *c.GrowthBytesPerMin
	}
	sort.SliceStable(out.Containers, func(i, j int) bool {
		a, b := growth(out.Containers[i]), growth(out.Containers[j])
		if a != b {
			return a > b
		}
		return out.Containers[i].Subject < out.Containers[j].Subject
	})
	byCgroup := map[string]*series.Track{}
	for _, t := range set.Tracks {
		byCgroup[t.Key.Cgroup] = t
	}
	for i := range out.Containers {
		if i == seriesChartContainers {
			break
		}
		c := &out.Containers[i]
		t := findTrack(s, c)
		if t == nil {
			continue
		}
		c.Usage, c.WorkingSet, c.Anon, c.FileCache = thin(t.Get(series.Usage)), thin(t.Get(series.WorkingSet)), thin(t.Get(series.Anon)), thin(t.Get(series.File))
	}
	// A restart: a container cgroup of a pod appeared after one vanished.
	vanished := map[string]int{}
	for _, ev := range set.Events {
		ref := podpath.Parse(ev.Cgroup)
		if ref.Level != podpath.LevelContainer || ref.PodUID == "" {
			continue
		}
		if ev.Kind == "vanished" {
			vanished[ref.PodUID]++
			continue
		}
		if vanished[ref.PodUID] > 0 {
			vanished[ref.PodUID]--
			subject := "cgroup:" + ev.Cgroup
			if t := byCgroup[ev.Cgroup]; t != nil {
				subject = s.SeriesSubject(t)
			}
			out.Events = append(out.Events, schema.SeriesEvent{MS: ev.T, Kind: "restart", Subject: subject, Cgroup: ev.Cgroup})
		}
	}
	sort.SliceStable(out.Events, func(i, j int) bool {
		a, b := out.Events[i], out.Events[j]
		if a.MS != b.MS {
			return a.MS < b.MS
		}
		return a.Subject < b.Subject
	})
	return out
}

func findTrack(s *snapshot.Snapshot, c *schema.SeriesContainer) *series.Track {
	for _, t := range s.Series.Tracks {
		if t.Key.Cgroup == c.Cgroup && t.Key.Namespace == c.Namespace && t.Key.Pod == c.Pod && t.Key.Container == c.Container {
			return t
		}
	}
	return nil
}

// counterSteps returns the sample times at which a counter rose.
func counterSteps(pts []series.Point) []int64 {
	var out []int64
	for i := 1; i < len(pts); i++ {
		if pts[i].V > pts[i-1].V {
			out = append(out, pts[i].T)
		}
	}
	return out
}

// thin keeps at most seriesMaxPoints points, evenly, first and last included.
func thin(pts []series.Point) [][2]int64 {
	if len(pts) == 0 {
		return nil
	}
	k := (len(pts) + seriesMaxPoints - 1) / seriesMaxPoints
	out := make([][2]int64, 0, len(pts)/k+2)
	for i := 0; i < len(pts); i += k {
		out = append(out, [2]int64{pts[i].T, int64(pts[i].V)})
	}
	if l := pts[len(pts)-1]; out[len(out)-1][0] != l.T {
		out = append(out, [2]int64{l.T, int64(l.V)})
	}
	return out
}

func ptrInt(v int64) *int64 { return &v }
