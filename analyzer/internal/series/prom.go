package series

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/memsnap/memsnap/bundle/loose"
	"io"
	"math"
	"path"
	"strconv"
	"strings"
)

// Prometheus range-query exports (docs/series.md gives the queries): the
// JSON /api/v1/query_range answers ({"status":"success","data":{"resultType":
// "matrix","result":[…]}}, as curl saves it), its data object alone, or the
// bare matrix array `promtool query range -o json` prints. Each result is
// {"metric":{labels},"values":[[<unix seconds>,"<value>"],…]}; an instant
// vector's "value" is read as one point.
// (prometheus/prometheus:docs/querying/api.md, "Range queries".)

// promMetrics maps the families memsnap reads to its metrics; node_memory_*
// families are node-level and come from node-exporter.
var promMetrics = map[string]Metric{
	"container_memory_working_set_bytes":         WorkingSet,
	"container_memory_rss":                       Anon,
	"container_memory_cache":                     File,
	"container_memory_usage_bytes":               Usage,
	"container_memory_max_usage_bytes":           Peak,
	"container_memory_swap":                      "swap",
	"container_spec_memory_limit_bytes":          Limit,
	"kube_pod_container_resource_limits":         Limit,
	"container_oom_events_total":                 OOMKill,
	"kube_pod_container_status_restarts_total":   Restarts,
	"node_memory_MemTotal_bytes":                 MemTotal,
	"node_memory_MemAvailable_bytes":             MemAvailable,
	"node_memory_MemFree_bytes":                  MemFree,
	"node_memory_Active_file_bytes":              ActiveFile,
	"node_memory_Inactive_file_bytes":            InactiveFile,
	"node_memory_AnonPages_bytes":                Anon,
	"node_memory_Shmem_bytes":                    Shmem,
	"node_vmstat_workingset_refault_file":        Refault,
	"node_pressure_memory_stalled_seconds_total": PSIFull,
	"node_pressure_memory_waiting_seconds_total": PSISome,
}

// LooksLikeRangeQuery reports whether prefix (the first bytes of a file)
// is a Prometheus query answer or matrix export. The sniff lives with the
// loose-file classifier (bundle/loose), which routes such files to
// series/prometheus/.
func LooksLikeRangeQuery(prefix []byte) bool { return loose.LooksLikeRangeQuery(prefix) }

type promAnswer struct {
	Status    string          `json:"status"`
	Error     string          `json:"error"`
	ErrorType string          `json:"errorType"`
	Data      *promData       `json:"data"`
	Result    json.RawMessage `json:"result"` // the data object given alone
	Type      string          `json:"resultType"`
}

type promData struct {
	Type   string          `json:"resultType"`
	Result json.RawMessage `json:"result"`
}

type promSeries struct {
	Metric map[string]string `json:"metric"`
	Values []promSample      `json:"values"`
	Value  *promSample       `json:"value"`
}

// promSample is [<unix seconds, float>, "<value>"].
type promSample struct {
	T int64
	V float64
}

func (s *promSample) UnmarshalJSON(b []byte) error {
	var pair [2]json.RawMessage
	if err := json.Unmarshal(b, &pair); err != nil {
		return errors.New("a sample must be [time, \"value\"]")
	}
	ts, err := strconv.ParseFloat(strings.Trim(string(pair[0]), `"`), 64)
	if err != nil || math.IsNaN(ts) || math.IsInf(ts, 0) || ts < 0 || ts > 1e13 {
		return fmt.Errorf("bad sample time %s", truncate(pair[0]))
	}
	var vs string
	if err := json.Unmarshal(pair[1], &vs); err != nil {
		// Some exporters write the value as a bare number.
		vs = string(pair[1])
	}
	v, err := strconv.ParseFloat(vs, 64) // "NaN", "+Inf" parse; clean drops them
	if err != nil {
		return fmt.Errorf("bad sample value %s", truncate(pair[1]))
	}
	s.T, s.V = int64(math.Round(ts*1000)), v
	return nil
}

// maxRangeBytes bounds one export: a week at 15 s of 1,000 series is ~1 GB,
// more than any rule needs; the bundle reader's own per-file cap applies too.
const maxRangeBytes = 512 << 20

// ReadRange reads one Prometheus export. Node-level families become node
// tracks (one per node/instance label); container families become tracks
// keyed by namespace/pod/container (cAdvisor's labels; the pre-1.16
// pod_name/container_name too), with the cgroup from the id label. A
// result without __name__ (a query that applied a function) takes its
// metric from the file name: series/prometheus/<family>.json.
func ReadRange(r io.Reader, file string, o Options) (nodes, tracks []*Track, problems []string, err error) {
	o = o.withDefaults()
	dec := json.NewDecoder(io.LimitReader(r, maxRangeBytes))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return nil, nil, nil, fmt.Errorf("%s: invalid JSON: %v", file, err)
	}
	body := bytes.TrimLeft(raw, " \t\r\n")
	var result json.RawMessage
	if len(body) > 0 && body[0] == '[' {
		result = body
	} else {
		var a promAnswer
		if err := json.Unmarshal(body, &a); err != nil {
			return nil, nil, nil, fmt.Errorf("%s: not a Prometheus query answer: %v", file, err)
		}
		if a.Status == "error" {
			return nil, nil, nil, fmt.Errorf("%s: the query failed: %s %s", file, a.ErrorType, a.Error)
		}
		switch {
		case a.Data != nil && a.Data.Result != nil:
			result = a.Data.Result
			a.Type = a.Data.Type
		case a.Result != nil:
			result = a.Result
		default:
			return nil, nil, nil, fmt.Errorf("%s: no data.result: not a Prometheus query answer", file)
		}
		if a.Type != "" && a.Type != "matrix" && a.Type != "vector" {
			return nil, nil, nil, fmt.Errorf("%s: resultType %q: export a range query (matrix)", file, a.Type)
		}
	}
	var list []promSeries
	if err := json.Unmarshal(result, &list); err != nil {
		return nil, nil, nil, fmt.Errorf("%s: result: %v", file, err)
	}
	fallback := strings.TrimSuffix(path.Base(file), path.Ext(file))
	byKey := map[Key]*Track{}
	nodeByKey := map[Key]*Track{}
	unknown := map[string]bool{}
	var d dropped
	tooMany := false
	for _, s := range list {
		name := s.Metric["__name__"]
		if name == "" {
			name = fallback
		}
		m, ok := promMetrics[name]
		if !ok {
			unknown[name] = true
			continue
		}
		if name == "kube_pod_container_resource_limits" && s.Metric["resource"] != "" && s.Metric["resource"] != "memory" {
			continue
		}
		pts := make([]Point, 0, len(s.Values)+1)
		for _, v := range s.Values {
			pts = append(pts, Point{v.T, v.V})
		}
		if s.Value != nil {
			pts = append(pts, Point{s.Value.T, s.Value.V})
		}
		if m == Limit {
			// cAdvisor reports "no limit" as 0 (container_spec_memory_limit_bytes).
			w := 0
			for _, p := range pts {
				if p.V > 0 && p.V < v1Unlimited {
					pts[w] = p
					w++
				}
			}
			pts = pts[:w]
		}
		if m == PSIFull || m == PSISome {
			for i := range pts {
				pts[i].V *= 1e6 // seconds → microseconds, as memory.pressure counts
			}
		}
		k := labelsKey(s.Metric)
		// Tracks join on what every family carries: kube-state-metrics'
		// limits have no id label and another instance than cAdvisor's.
		id, target, isNode := Key{Namespace: k.Namespace, Pod: k.Pod, Container: k.Container}, byKey, false
		switch {
		case strings.HasPrefix(name, "node_") || k.Pod == "" && k.Cgroup == "/":
			// node-exporter, or cAdvisor's root cgroup (id="/"): the node's
			// own figures, from which kubelet derives memory.available.
			id, target, isNode = Key{Node: k.Node}, nodeByKey, true
		case k.Pod == "":
			id = Key{Cgroup: k.Cgroup}
		}
		t := target[id]
		if t == nil {
			if len(byKey)+len(nodeByKey) >= o.MaxTracks {
				tooMany = true
				continue
			}
			t = newTrack(id, file)
			target[id] = t
		}
		if t.Key.Cgroup == "" && !isNode {
			t.Key.Cgroup = k.Cgroup
		}
		if t.Key.Node == "" {
			t.Key.Node = k.Node
		}
		t.Metrics[m] = append(t.Metrics[m], pts...)
	}
	for n := range unknown {
		if len(problems) < 5 {
			problems = append(problems, fmt.Sprintf("%s: series %q is not one memsnap reads (skipped)", file, n))
		}
	}
	if tooMany {
		problems = append(problems, fmt.Sprintf("%s: more than %d series; the rest are skipped", file, o.MaxTracks))
	}
	for _, t := range byKey {
		d.add(cleanTrack(t, o))
		if len(t.Metrics) > 0 {
			tracks = append(tracks, t)
		}
	}
	for _, t := range nodeByKey {
		d.add(cleanTrack(t, o))
		if len(t.Metrics) > 0 {
			nodes = append(nodes, t)
		}
	}
	if p := d.problem(file); p != "" {
		problems = append(problems, p)
	}
	sortTracks(tracks)
	sortTracks(nodes)
	return nodes, tracks, problems, nil
}

func labelsKey(l map[string]string) Key {
	first := func(names ...string) string {
		for _, n := range names {
			if v := l[n]; v != "" {
				return v
			}
		}
		return ""
	}
	k := Key{
		Node:      first("node", "kubernetes_io_hostname", "instance"),
		Namespace: first("namespace", "exported_namespace"),
		Pod:       first("pod", "pod_name", "exported_pod"),
		Container: first("container", "container_name", "exported_container"),
		Cgroup:    l["id"],
	}
	return k
}
