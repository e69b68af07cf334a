package series

import (
	"fmt"
	"io"

	"github.com/memsnap/memsnap/analyzer/internal/podpath"
)

// The kubelet's view, sampled by the collector's watch from /stats/summary
// (series/kubelet-summary.tsv.gz, docs/series.md): its working set is what
// eviction ranks pods by and what `kubectl top` shows, so tracks carry it
// next to the cgroup's own figures (fields: k8s.io/kubelet/pkg/apis/stats/
// v1alpha1 types.go MemoryStats).
const (
	KubeletWorkingSet Metric = "kubelet_working_set"
	KubeletUsage      Metric = "kubelet_usage"
	KubeletRSS        Metric = "kubelet_rss"
	KubeletAvailable  Metric = "kubelet_available" // node: the kubelet's memory.available
)

var summarySources = []source{
	{m: KubeletWorkingSet, cols: []string{"workingSetBytes"}},
	{m: KubeletUsage, cols: []string{"usageBytes"}},
	{m: KubeletRSS, cols: []string{"rssBytes"}},
	{m: KubeletAvailable, cols: []string{"availableBytes"}},
}

// Summary is what series/kubelet-summary.tsv.gz holds: the node's track,
// one track per pod (Container "") and per container, keyed by namespace,
// pod and container name, and how many samples the kubelet failed.
type Summary struct {
	Node   *Track
	Tracks []*Track
	podUID map[*Track]string
	byName map[Key]*Track // Namespace, Pod, Container only
	Failed int
}

// ReadSummary reads series/kubelet-summary.tsv.gz (gunzipped). Points are
// at the collector's sample time (ts_ms), so they line up with the cgroup
// series; a row with an error cell is a failed sample and has no numbers.
func ReadSummary(r io.Reader, file string, o Options) (*Summary, []string, error) {
	o = o.withDefaults()
	sum := &Summary{podUID: map[*Track]string{}, byName: map[Key]*Track{}}
	type id struct{ ns, pod, ctr string }
	by := map[id]*Track{}
	var srcs []boundSource
	col := map[string]int{}
	cell := func(cells [][]byte, name string) (string, error) {
		i, ok := col[name]
		if !ok || len(cells[i]) == 0 {
			return "", nil
		}
		return unquotePath(cells[i])
	}
	tooMany := false
	_, problems, err := table(r, file, func(cells [][]byte) error {
		ts, err := parseTS(cells[0])
		if err != nil {
			return err
		}
		if e, _ := cell(cells, "error"); e != "" {
			sum.Failed++
			return nil
		}
		var k id
		var node, uid string
		for _, f := range []struct {
			dst  *string
			name string
		}{{&node, "node"}, {&k.ns, "namespace"}, {&k.pod, "pod"}, {&k.ctr, "container"}, {&uid, "pod_uid"}} {
			if *f.dst, err = cell(cells, f.name); err != nil {
				return err
			}
		}
		var t *Track
		if k.pod == "" {
			if sum.Node == nil {
				sum.Node = newTrack(Key{Node: node}, file)
			}
			t = sum.Node
		} else if t = by[k]; t == nil {
			if len(by) >= o.MaxTracks {
				tooMany = true
				return nil
			}
			t = newTrack(Key{Namespace: k.ns, Pod: k.pod, Container: k.ctr}, file)
			by[k] = t
			sum.byName[t.Key] = t
			sum.Tracks = append(sum.Tracks, t)
			if u, ok := podpath.NormalizeUID(uid); ok && k.ctr == "" {
				sum.podUID[t] = u
			}
		}
		return fill(t, ts, cells, srcs)
	}, func(h []string) {
		col = colIndex(h)
		srcs = bind(summarySources, col)
	})
	if err != nil {
		return nil, problems, err
	}
	if tooMany {
		problems = append(problems, fmt.Sprintf("%s: more than %d pods and containers; the rest are skipped", file, o.MaxTracks))
	}
	var d dropped
	for _, t := range append([]*Track{sum.Node}, sum.Tracks...) {
		if t != nil {
			d.add(cleanTrack(t, o))
		}
	}
	if p := d.problem(file); p != "" {
		problems = append(problems, p)
	}
	if sum.Failed > 0 {
		problems = append(problems, fmt.Sprintf("%s: %d samples where the kubelet did not answer (their error cells say why)", file, sum.Failed))
	}
	sortTracks(sum.Tracks)
	return sum, problems, nil
}

// attachPods copies each pod's summary metrics onto the cgroup track of
// that pod (the pod cgroup names the UID: podpath).
func (sum *Summary) attachPods(cgroups []*Track) {
	byUID := map[string]*Track{}
	for t, uid := range sum.podUID {
		byUID[uid] = t
	}
	for _, t := range cgroups {
		if ref := podpath.Parse(t.Key.Cgroup); ref.Level == podpath.LevelPod {
			if st := byUID[ref.PodUID]; st != nil {
				copyMetrics(t, st)
			}
		}
	}
}

// Attach copies the summary's metrics of the pod or container t names
// (Key.Namespace, Pod, Container) onto t; the snapshot calls it once it has
// named the cgroup tracks. It reports whether there was one.
func (s *Set) Attach(t *Track) bool {
	if s == nil || s.Summary == nil || t.Key.Pod == "" {
		return false
	}
	st := s.Summary.byName[Key{Namespace: t.Key.Namespace, Pod: t.Key.Pod, Container: t.Key.Container}]
	if st == nil {
		return false
	}
	copyMetrics(t, st)
	return true
}

// copyMetrics adds src's metrics that dst lacks.
func copyMetrics(dst, src *Track) {
	for m, pts := range src.Metrics {
		if _, ok := dst.Metrics[m]; !ok {
			dst.Metrics[m] = pts
		}
	}
}
