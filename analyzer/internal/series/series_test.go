package series

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/memsnap/memsnap/bundle"
)

const mib = 1 << 20

func line(n int, stepMS int64, f func(i int) float64) []Point {
	pts := make([]Point, n)
	for i := range pts {
		pts[i] = Point{T: 1_700_000_000_000 + int64(i)*stepMS, V: f(i)}
	}
	return pts
}

func TestFitLinearWithOutliers(t *testing.T) {
	// 2 MiB/min at 15 s, with a few wild spikes least squares would follow.
	pts := line(200, 15_000, func(i int) float64 { return 100*mib + float64(i)*0.5*mib })
	for _, i := range []int{20, 90, 150} {
		pts[i].V = 900 * mib
	}
	tr, ok := Fit(pts)
	if !ok {
		t.Fatal("no fit")
	}
	if got := tr.PerMinute() / mib; math.Abs(got-2) > 0.01 {
		t.Errorf("slope %.3f MiB/min, want 2", got)
	}
	if !tr.Steady(0.8, 16*mib) {
		t.Errorf("a steady leak failed the gate: %+v", tr)
	}
	limit := 512.0 * mib
	at, ok := tr.Reaches(limit)
	want := pts[len(pts)-1].T + int64((limit-(100*mib+199*0.5*mib))/(2*mib)*60_000)
	if !ok || absI(at-want) > 60_000 {
		t.Errorf("reaches the limit at %d, want %d ± 1 min", at, want)
	}
}

func TestFitSawtoothIsNotGrowth(t *testing.T) {
	// Allocate 20 MiB/s for 8 s, free everything, repeat: a GC'd heap.
	pts := line(120, 1000, func(i int) float64 { return 50*mib + float64(i%8)*20*mib })
	tr, ok := Fit(pts)
	if !ok {
		t.Fatal("no fit")
	}
	if tr.Steady(0.8, 16*mib) {
		t.Errorf("a sawtooth passed the growth gate: %+v", tr)
	}
}

func TestFitTooFewPoints(t *testing.T) {
	if _, ok := Fit(line(4, 1000, func(i int) float64 { return float64(i) })); ok {
		t.Error("fit on 4 points")
	}
	if _, ok := Fit(line(10, 0, func(i int) float64 { return float64(i) })); ok {
		t.Error("fit on a zero time span")
	}
}

func absI(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestCleanHostile(t *testing.T) {
	const now = 1_700_000_000_000
	pts := []Point{{now - 3000, 3}, {now - 1000, math.NaN()}, {now - 5000, 1}, {now - 4000, 2},
		{now - 4000, 2.5}, {now + 100*365*24*3600*1000, 9}, {now - 2000, math.Inf(1)}, {-5, 1}}
	got, d := clean(pts, Options{NowMS: now}.withDefaults())
	want := []Point{{now - 5000, 1}, {now - 4000, 2.5}, {now - 3000, 3}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("clean = %v, want %v", got, want)
	}
	if d.nonFinite != 2 || d.duplicate != 1 || d.outlier != 2 || d.outOfOrder == 0 {
		t.Errorf("dropped = %+v", d)
	}
	// Without a clock, the century-away sample is an outlier of the series.
	got, _ = clean([]Point{{now, 1}, {now + 1000, 2}, {now + 2000, 3}, {now + 100*365*24*3600*1000, 4}}, Options{}.withDefaults())
	if len(got) != 3 {
		t.Errorf("future sample kept without a clock: %v", got)
	}
}

func TestCleanMillionSamples(t *testing.T) {
	pts := line(1_000_000, 1000, func(i int) float64 { return float64(i) })
	got, d := clean(pts, Options{}.withDefaults())
	if len(got) > defaultMaxPoints || d.thinned == 0 {
		t.Fatalf("%d points kept, %d thinned", len(got), d.thinned)
	}
	if got[len(got)-1].V != 999_999 {
		t.Errorf("last sample lost: %v", got[len(got)-1])
	}
	tr, ok := Fit(got)
	if !ok || math.Abs(tr.Slope*1000-1) > 1e-6 {
		t.Errorf("fit after thinning: %+v", tr)
	}
}

func gz(s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.Bytes()
}

// A v1 watch as the collector writes it: two samples of the root and one
// container, the container restarted (a new cgroup) between them.
const cgroupsV1 = "ts_ms\tcgroup\tmemory.usage_in_bytes\tmemory.limit_in_bytes\tmemory.stat:total_rss\tmemory.stat:total_cache\tmemory.stat:total_inactive_file\tmemory.oom_control:oom_kill\tmemory.stat:total_workingset_refault_anon\tmemory.stat:total_workingset_refault_file\n" +
	"1000\t/\t4000000\t9223372036854771712\t1000000\t3000000\t1000000\t0\t1\t2\n" +
	"1000\t/kubepods/pod1/aaa\t2000000\t268435456\t1500000\t500000\t100000\t0\t\t\n" +
	"2000\t/\t5000000\t9223372036854771712\t1000000\t4000000\t1000000\t1\t3\t4\n" +
	"2000\t\"/kubepods/pod1/b\\tb\"\t100\t268435456\t100\t0\t0\t0\t\t\n" +
	"garbage line\n" +
	"3000\t/\tNaN\tmax\t\t\t\t\t\t\n"

const nodeTSV = "ts_ms\tmeminfo:MemTotal\tmeminfo:MemFree\tmeminfo:MemAvailable\tmeminfo:Inactive(file)\tvmstat:workingset_refault_file\tpressure:some.total\n" +
	"1000\t8000\t1000\t5000\t500\t10\t100\n" +
	"2000\t8000\t900\t4900\t500\t12\t150\n"

func TestLoadCollectorSeries(t *testing.T) {
	v := bundle.MapView{
		bundle.SeriesCgroups: gz(cgroupsV1),
		bundle.SeriesNode:    gz(nodeTSV),
		bundle.SeriesEvents:  gz("ts_ms\tevent\tcgroup\n2000\tvanished\t/kubepods/pod1/aaa\n2000\tappeared\t\"/kubepods/pod1/b\\tb\"\n"),
	}
	s := Load(v, Options{})
	if len(s.Tracks) != 3 || len(s.Nodes) != 1 || len(s.Events) != 2 {
		t.Fatalf("tracks %d nodes %d events %d; problems %v", len(s.Tracks), len(s.Nodes), len(s.Events), s.Problems)
	}
	root := s.Tracks[0]
	if root.Key.Cgroup != "/" || len(root.Get(Limit)) != 0 || len(root.Get(Usage)) != 2 {
		t.Errorf("root track %+v (v1 unlimited must not be a limit; NaN dropped)", root)
	}
	if ws := root.Get(WorkingSet); len(ws) != 2 || ws[1].V != 4000000 {
		t.Errorf("root working set %v", ws)
	}
	if rf := root.Get(Refault); len(rf) != 2 || rf[1].V != 7 {
		t.Errorf("refaults (anon+file) %v", rf)
	}
	if s.Tracks[2].Key.Cgroup != "/kubepods/pod1/b\tb" {
		t.Errorf("quoted path not unquoted: %q", s.Tracks[2].Key.Cgroup)
	}
	n := s.Node("")
	if av, _ := n.Last(Available); av.V != 8000*1024-4000000 {
		t.Errorf("available = %v, want MemTotal − root working set", av)
	}
	if !strings.Contains(strings.Join(s.Problems, "\n"), "series/cgroups.tsv.gz:6") {
		t.Errorf("bad line not reported: %v", s.Problems)
	}
}

func TestLoadTruncatedGzip(t *testing.T) {
	data := gz(cgroupsV1 + strings.Repeat("4000\t/\t1\t2\t3\t4\t5\t6\t7\t8\n", 20000))
	s := Load(bundle.MapView{bundle.SeriesCgroups: data[:len(data)/2]}, Options{})
	if len(s.Tracks) == 0 {
		t.Fatalf("a cut gzip lost every sample: %v", s.Problems)
	}
	if !strings.Contains(strings.Join(s.Problems, "\n"), "unexpected EOF") {
		t.Errorf("cut not reported: %v", s.Problems)
	}
}

const rangeAnswer = `{"status":"success","data":{"resultType":"matrix","result":[
 {"metric":{"__name__":"container_memory_working_set_bytes","namespace":"shop","pod":"api-0","container":"api","id":"/kubepods/burstable/podx/abc","node":"n1"},
  "values":[[1700000000,"100"],[1700000060,"NaN"],[1700000030.5,"150"],[1700000120,"+Inf"],[4855000000,"1"]]},
 {"metric":{"__name__":"container_memory_working_set_bytes","id":"/","node":"n1"},"values":[[1700000000,"1000"]]},
 {"metric":{"__name__":"node_memory_MemTotal_bytes","instance":"10.0.0.1:9100"},"values":[[1700000000,"4000"]]},
 {"metric":{"__name__":"something_else"},"values":[[1700000000,"1"]]}
]}}`

func TestReadRange(t *testing.T) {
	nodes, tracks, probs, err := ReadRange(strings.NewReader(rangeAnswer), "series/prometheus/x.json", Options{NowMS: 1_700_001_000_000})
	if err != nil {
		t.Fatal(err)
	}
	if len(tracks) != 1 || len(nodes) != 2 {
		t.Fatalf("tracks %v nodes %v", tracks, nodes)
	}
	ws := tracks[0].Get(WorkingSet)
	if fmt.Sprint(ws) != "[{1700000000000 100} {1700000030500 150}]" {
		t.Errorf("working set %v", ws)
	}
	k := tracks[0].Key
	if k.Namespace != "shop" || k.Pod != "api-0" || k.Container != "api" || k.Cgroup != "/kubepods/burstable/podx/abc" {
		t.Errorf("key %+v", k)
	}
	all := strings.Join(probs, "\n")
	if !strings.Contains(all, "something_else") || !strings.Contains(all, "2 NaN/Inf") {
		t.Errorf("problems %v", probs)
	}
	// mergeNodes joins node-exporter's instance and cAdvisor's root.
	if m := mergeNodes(nodes); len(m) != 1 {
		t.Errorf("node tracks not merged: %v", m)
	}
}

func TestReadRangeForms(t *testing.T) {
	promtool := `[{"metric":{"namespace":"a","pod":"p","container":"c"},"values":[[1700000000,"5"],[1700000015,"6"]]}]`
	_, tracks, _, err := ReadRange(strings.NewReader(promtool), "series/prometheus/container_memory_rss.json", Options{})
	if err != nil || len(tracks) != 1 || len(tracks[0].Get(Anon)) != 2 {
		t.Errorf("promtool array with the family from the file name: %v %v", tracks, err)
	}
	for _, bad := range []string{
		`{"status":"error","errorType":"bad_data","error":"parse error"}`,
		`{"status":"success","data":{"resultType":"scalar","result":[1,"2"]}}`,
		`{"foo":1}`, `not json`, `[{"metric":{},"values":[["x","1"]]}]`,
	} {
		if _, _, _, err := ReadRange(strings.NewReader(bad), "series/prometheus/bad.json", Options{}); err == nil {
			t.Errorf("%s: no error", bad)
		} else if !strings.Contains(err.Error(), "series/prometheus/bad.json") {
			t.Errorf("error does not name the file: %v", err)
		}
	}
	vector := `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"container_memory_cache","namespace":"a","pod":"p","container":"c"},"value":[1700000000,"7"]}]}}`
	if _, tr, _, err := ReadRange(strings.NewReader(vector), "v.json", Options{}); err != nil || len(tr) != 1 {
		t.Errorf("instant vector: %v %v", tr, err)
	}
}

func TestLooksLikeRangeQuery(t *testing.T) {
	yes := []string{rangeAnswer, `  [ {"metric":{"a":"b"},"values":[]}]`, `{"resultType":"matrix","result":[]}`}
	no := []string{`{"kind":"PodList","items":[]}`, `[1,2,3]`, `# HELP x`, ``, `{"node":{"nodeName":"a"},"pods":[]}`}
	for _, s := range yes {
		if !LooksLikeRangeQuery([]byte(s)) {
			t.Errorf("not recognised: %.40s", s)
		}
	}
	for _, s := range no {
		if LooksLikeRangeQuery([]byte(s)) {
			t.Errorf("wrongly recognised: %.40s", s)
		}
	}
}

func TestReadRangeMillionSamples(t *testing.T) {
	var b strings.Builder
	b.WriteString(`[{"metric":{"__name__":"container_memory_usage_bytes","namespace":"a","pod":"p","container":"c"},"values":[`)
	for i := 0; i < 1_000_000; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `[%d,"%d"]`, 1_600_000_000+i, i)
	}
	b.WriteString(`]}]`)
	_, tracks, probs, err := ReadRange(strings.NewReader(b.String()), "big.json", Options{})
	if err != nil || len(tracks) != 1 {
		t.Fatal(err)
	}
	if n := len(tracks[0].Get(Usage)); n > defaultMaxPoints || n < defaultMaxPoints/2 {
		t.Errorf("%d points kept", n)
	}
	if !strings.Contains(strings.Join(probs, " "), "thinned") {
		t.Errorf("thinning not reported: %v", probs)
	}
}
