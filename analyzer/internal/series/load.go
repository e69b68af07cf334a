package series

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/memsnap/memsnap/bundle"
)

// maxSeriesBytes bounds one decompressed series file: ten minutes at 15 s
// of a 1,000-pod node is ~50 MB; a gzip bomb stops here.
const maxSeriesBytes = 2 << 30

// sniffBytes is how much of a file LooksLikeRangeQuery sees.
const sniffBytes = 4096

// Load reads every series of a bundle: the collector's watch samples and
// Prometheus exports under series/prometheus/. A bundle without any
// returns an empty set. Unreadable files are named in Problems; the rest
// is still read.
func Load(v bundle.View, o Options) *Set {
	o = o.withDefaults()
	s := &Set{}
	open := func(name string, gz bool) (io.ReadCloser, bool) {
		if _, ok := v.Size(name); !ok {
			return nil, false
		}
		rc, err := v.Open(name)
		if err != nil {
			s.Problems = append(s.Problems, fmt.Sprintf("%s: %v", name, err))
			return nil, false
		}
		if !gz {
			return rc, true
		}
		br := bufio.NewReader(rc)
		if magic, _ := br.Peek(2); len(magic) < 2 || magic[0] != 0x1f || magic[1] != 0x8b {
			// Gunzipped by the customer, or a hand-written fixture: plain TSV.
			return struct {
				io.Reader
				io.Closer
			}{io.LimitReader(br, maxSeriesBytes), rc}, true
		}
		zr, err := gzip.NewReader(br)
		if err != nil {
			rc.Close()
			s.Problems = append(s.Problems, fmt.Sprintf("%s: not gzip: %v", name, err))
			return nil, false
		}
		return struct {
			io.Reader
			io.Closer
		}{io.LimitReader(zr, maxSeriesBytes), rc}, true
	}
	var cgroups []*Track
	if rc, ok := open(bundle.SeriesNode, true); ok {
		t, probs, err := ReadNode(rc, bundle.SeriesNode, o)
		rc.Close()
		s.Problems = append(s.Problems, probs...)
		if err != nil {
			s.Problems = append(s.Problems, err.Error())
		} else if len(t.Metrics) > 0 {
			s.Nodes = append(s.Nodes, t)
			s.Files = append(s.Files, bundle.SeriesNode)
		}
	}
	if rc, ok := open(bundle.SeriesCgroups, true); ok {
		ts, probs, err := ReadCgroups(rc, bundle.SeriesCgroups, o)
		rc.Close()
		s.Problems = append(s.Problems, probs...)
		if err != nil {
			s.Problems = append(s.Problems, err.Error())
		} else {
			cgroups = ts
			s.Files = append(s.Files, bundle.SeriesCgroups)
		}
	}
	if rc, ok := open(bundle.SeriesEvents, true); ok {
		ev, probs, err := ReadEvents(rc, bundle.SeriesEvents, o)
		rc.Close()
		s.Problems = append(s.Problems, probs...)
		if err != nil {
			s.Problems = append(s.Problems, err.Error())
		} else {
			s.Events = ev
			s.Files = append(s.Files, bundle.SeriesEvents)
		}
	}
	if rc, ok := open(bundle.SeriesKubeletSummary, true); ok {
		sum, probs, err := ReadSummary(rc, bundle.SeriesKubeletSummary, o)
		rc.Close()
		s.Problems = append(s.Problems, probs...)
		if err != nil {
			s.Problems = append(s.Problems, err.Error())
		} else {
			s.Summary = sum
			s.Files = append(s.Files, bundle.SeriesKubeletSummary)
		}
	}
	for _, name := range v.List(bundle.SeriesPrometheusDir) {
		if !sniff(v, name) {
			s.Problems = append(s.Problems, fmt.Sprintf("%s: not a Prometheus query answer (skipped)", name))
			continue
		}
		rc, ok := open(name, false)
		if !ok {
			continue
		}
		nodes, tracks, probs, err := ReadRange(rc, name, o)
		rc.Close()
		s.Problems = append(s.Problems, probs...)
		if err != nil {
			s.Problems = append(s.Problems, err.Error())
			continue
		}
		s.Files = append(s.Files, name)
		s.Nodes = append(s.Nodes, nodes...)
		s.Tracks = append(s.Tracks, tracks...)
	}
	s.Tracks = mergeTracks(s.Tracks)
	s.Nodes = mergeNodes(s.Nodes)
	if len(cgroups) > 0 {
		var root *Track
		for _, t := range cgroups {
			if t.Key.Cgroup == "/" {
				root = t
			}
		}
		if n := s.Node(""); n != nil {
			deriveAvailable(n, root)
		}
		s.Tracks = append(s.Tracks, cgroups...)
	} else if n := s.Node(""); n != nil {
		deriveAvailable(n, nil)
	}
	if sum := s.Summary; sum != nil {
		sum.attachPods(cgroups)
		if sum.Node != nil {
			if n := s.Node(""); n != nil {
				copyMetrics(n, sum.Node)
			} else {
				s.Nodes = append(s.Nodes, sum.Node)
			}
		}
	}
	sortTracks(s.Tracks)
	sort.SliceStable(s.Events, func(i, j int) bool { return s.Events[i].T < s.Events[j].T })
	return s
}

func sniff(v bundle.View, name string) bool {
	rc, err := v.Open(name)
	if err != nil {
		return false
	}
	defer rc.Close()
	b := make([]byte, sniffBytes)
	n, _ := io.ReadFull(rc, b)
	return LooksLikeRangeQuery(b[:n])
}

// mergeTracks joins tracks of the same subject from several exports (one
// file per family is the usual way to export).
func mergeTracks(ts []*Track) []*Track {
	type id struct{ ns, pod, ctr, cg string }
	by := map[id]*Track{}
	var out []*Track
	for _, t := range ts {
		k := id{t.Key.Namespace, t.Key.Pod, t.Key.Container, ""}
		if t.Key.Pod == "" {
			k.cg = t.Key.Cgroup
		}
		if have := by[k]; have != nil {
			absorb(have, t)
			continue
		}
		by[k] = t
		out = append(out, t)
	}
	return out
}

// mergeNodes joins node tracks whose metrics do not overlap: a one-node
// export labels node-exporter's series with its instance and cAdvisor's
// root cgroup with the node name, yet both describe the same node. Tracks
// measuring the same metric are different nodes and stay apart.
func mergeNodes(ns []*Track) []*Track {
	if len(ns) < 2 {
		return ns
	}
	seen := map[Metric]bool{}
	for _, n := range ns {
		for m := range n.Metrics {
			if seen[m] {
				return ns
			}
		}
		for m := range n.Metrics {
			seen[m] = true
		}
	}
	first := ns[0]
	for _, n := range ns[1:] {
		absorb(first, n)
	}
	return []*Track{first}
}

func absorb(dst, src *Track) {
	for m, pts := range src.Metrics {
		if len(pts) > len(dst.Metrics[m]) {
			dst.Metrics[m] = pts
		}
	}
	if dst.Key.Cgroup == "" {
		dst.Key.Cgroup = src.Key.Cgroup
	}
	if dst.Key.Node == "" || strings.Contains(dst.Key.Node, ":") && src.Key.Node != "" && !strings.Contains(src.Key.Node, ":") {
		dst.Key.Node = src.Key.Node // a node name beats a scrape address
	}
	if dst.File != src.File {
		dst.File = dst.File + ", " + path.Base(src.File)
	}
}

// deriveAvailable computes kubelet's memory.available = MemTotal − root
// working set at each sample (DOMAIN §2.4; kubernetes.io/docs/concepts/
// scheduling-eviction/node-pressure-eviction). The root working set is the
// root cgroup's (v1, or cAdvisor's id="/"); on v2 the root has no
// memory.current and runc derives its usage from meminfo (MemTotal −
// MemFree, opencontainers/runc:libcontainer/cgroups/fs2/memory.go
// rootStatsFromMeminfo), less Inactive(file). Without either, the node's
// MemAvailable stands in and the track says so in Key.Cgroup = "".
func deriveAvailable(n, root *Track) {
	total := n.Metrics[MemTotal]
	if len(total) == 0 || len(n.Metrics[Available]) > 0 {
		return
	}
	ws := n.Metrics[WorkingSet]
	if len(ws) == 0 && root != nil {
		ws = root.Metrics[WorkingSet]
		if len(root.Metrics[Usage]) > 0 {
			n.Metrics[Usage] = root.Metrics[Usage]
		}
	}
	if len(ws) == 0 {
		free, inactive := n.Metrics[MemFree], n.Metrics[InactiveFile]
		if len(free) > 0 && len(inactive) > 0 {
			fm, im := byTime(free), byTime(inactive)
			for _, t := range total {
				f, ok1 := fm[t.T]
				i, ok2 := im[t.T]
				if ok1 && ok2 {
					ws = append(ws, Point{t.T, max(0, t.V-f-i)})
				}
			}
		}
	}
	if len(ws) == 0 {
		n.Metrics[Available] = n.Metrics[MemAvailable]
		return
	}
	n.Metrics[WorkingSet] = ws
	// MemTotal does not change while a node runs: the last value serves
	// every sample, so a working set sampled at other instants (another
	// export's step) still yields points.
	mt := total[len(total)-1].V
	av := make([]Point, len(ws))
	for i, p := range ws {
		av[i] = Point{p.T, mt - p.V}
	}
	n.Metrics[Available] = av
}

func byTime(pts []Point) map[int64]float64 {
	m := make(map[int64]float64, len(pts))
	for _, p := range pts {
		m[p.T] = p.V
	}
	return m
}
