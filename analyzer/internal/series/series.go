// Package series is memsnap's time axis (issue #15): one model of memory
// over time per node, pod, container and cgroup, read from the collector's
// watch samples (series/*.tsv.gz, docs/series.md) and from the customer's
// Prometheus range-query exports (series/prometheus/*.json), plus the robust
// trend the growth rules share (trend.go).
package series

import (
	"math"
	"sort"
)

// Metric names one quantity over time, in bytes unless said otherwise.
type Metric string

const (
	Usage        Metric = "usage"       // memory.current / memory.usage_in_bytes / container_memory_usage_bytes
	WorkingSet   Metric = "working_set" // usage − inactive_file (cAdvisor's definition)
	Anon         Metric = "anon"        // v2 anon / v1 total_rss / container_memory_rss
	File         Metric = "file"        // v2 file / v1 total_cache / container_memory_cache
	ActiveFile   Metric = "active_file"
	InactiveFile Metric = "inactive_file"
	Shmem        Metric = "shmem"
	Kernel       Metric = "kernel"
	Limit        Metric = "limit"     // absent points = unlimited
	Peak         Metric = "peak"      // memory.peak / max_usage_in_bytes
	OOMKill      Metric = "oom_kill"  // counter
	OOM          Metric = "oom"       // counter: the limit was hit (v2)
	HighEvents   Metric = "high"      // counter: memory.events high
	Refault      Metric = "refault"   // counter: workingset refaults (pages)
	PSISome      Metric = "psi_some"  // counter: microseconds stalled (some)
	PSIFull      Metric = "psi_full"  // counter: microseconds stalled (full)
	Restarts     Metric = "restarts"  // counter: kube_pod_container_status_restarts_total
	MemTotal     Metric = "mem_total" // node
	MemAvailable Metric = "mem_available"
	MemFree      Metric = "mem_free"
	// Available is kubelet's memory.available: MemTotal − the root cgroup's
	// working set (DOMAIN §2.4), the figure eviction compares.
	Available Metric = "available"
)

// Point is one sample: T in Unix milliseconds.
type Point struct {
	T int64
	V float64
}

// Key says whose track it is. Empty fields mean "the source does not say".
type Key struct {
	Node      string // Prometheus node/instance label; "" for the bundle's own node
	Namespace string
	Pod       string
	Container string
	Cgroup    string // path relative to the memory mount, "/"-rooted; "/" = root
}

// Track is one subject's metrics over time.
type Track struct {
	Key     Key
	File    string // bundle file the points came from
	Metrics map[Metric][]Point
}

func newTrack(k Key, file string) *Track {
	return &Track{Key: k, File: file, Metrics: map[Metric][]Point{}}
}

// Get returns the points of m, sorted by time.
func (t *Track) Get(m Metric) []Point {
	if t == nil {
		return nil
	}
	return t.Metrics[m]
}

// Last returns the last point of m.
func (t *Track) Last(m Metric) (Point, bool) {
	p := t.Get(m)
	if len(p) == 0 {
		return Point{}, false
	}
	return p[len(p)-1], true
}

// Span returns the first and last time over all metrics.
func (t *Track) Span() (first, last int64) {
	first, last = math.MaxInt64, math.MinInt64
	for _, pts := range t.Metrics {
		if len(pts) > 0 {
			first = min(first, pts[0].T)
			last = max(last, pts[len(pts)-1].T)
		}
	}
	return first, last
}

// Event is a cgroup appearing or vanishing between two samples.
type Event struct {
	T      int64
	Kind   string // "appeared" | "vanished"
	Cgroup string
	File   string
}

// Set is every series of one bundle.
type Set struct {
	Nodes  []*Track // the node's own track (Key.Node ""), or one per node of a Prometheus export
	Tracks []*Track // cgroups and containers, sorted by Key
	Events []Event  // sorted by time
	// Summary is the kubelet's view per interval (series/kubelet-summary),
	// nil without one. Its pod and container tracks are not in Tracks (they
	// describe the same subjects as the cgroup tracks): Attach copies them
	// onto those; the node's are on the node track.
	Summary  *Summary
	Files    []string // series files read
	EveryMS  int64    // the collector's interval; 0 = unknown (Prometheus: its step)
	Problems []string // what was unreadable or dropped, naming the file
}

// Empty reports whether the set has no points at all.
func (s *Set) Empty() bool {
	return s == nil || len(s.Nodes) == 0 && len(s.Tracks) == 0
}

// Node returns the track of the bundle's node (the only node track, or the
// one named name).
func (s *Set) Node(name string) *Track {
	if s == nil {
		return nil
	}
	if len(s.Nodes) == 1 {
		return s.Nodes[0]
	}
	for _, n := range s.Nodes {
		if n.Key.Node == name {
			return n
		}
	}
	return nil
}

func sortTracks(ts []*Track) {
	sort.Slice(ts, func(i, j int) bool { return keyLess(ts[i].Key, ts[j].Key) })
}

func keyLess(a, b Key) bool {
	if a.Node != b.Node {
		return a.Node < b.Node
	}
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	if a.Pod != b.Pod {
		return a.Pod < b.Pod
	}
	if a.Container != b.Container {
		return a.Container < b.Container
	}
	return a.Cgroup < b.Cgroup
}
