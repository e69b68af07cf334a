package promtext

import (
	"bytes"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/memsnap/memsnap/internal/testcorpus"
)

func parseFile(t *testing.T, elem ...string) (*Metrics, []Problem) {
	t.Helper()
	f, err := os.Open(testcorpus.Path(t, elem...))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return Parse(f, MemoryFamilies)
}

// Values below are copied from the corpus files (grep the family name).
func TestParseKubeletCadvisorMinikube116(t *testing.T) {
	m, probs := parseFile(t, "cadvisor-metrics", "nri-kubernetes-k8s-1_16-kubelet-metrics-cadvisor.txt")
	if len(probs) != 0 {
		t.Fatalf("problems: %v", probs)
	}
	// `grep -c '^container_memory\|^container_spec_memory\|^container_oom\|^machine_memory\|^container_scrape_error'`
	if m.Series != 782 {
		t.Errorf("Series = %d, want 782", m.Series)
	}
	for _, dropped := range []string{"container_cpu_usage_seconds_total", "container_fs_usage_bytes", "container_network_receive_bytes_total", "machine_cpu_cores"} {
		if m.Family(dropped) != nil {
			t.Errorf("family %s kept, want dropped by the prefilter", dropped)
		}
	}
	if got := len(m.Samples("container_memory_working_set_bytes")); got != 52 {
		t.Errorf("working set samples = %d, want 52", got)
	}
	if f := m.Family("container_memory_working_set_bytes"); f.Type != "gauge" || f.Help != "Current working set in bytes." {
		t.Errorf("family meta = %q %q", f.Type, f.Help)
	}
	if v, ok := m.ValueByCgroup("container_memory_working_set_bytes", "/kubepods.slice"); !ok || v != 3.92593408e+08 {
		t.Errorf("kubepods working set = %v %v", v, ok)
	}
	s := m.ByCgroup("container_memory_working_set_bytes", "/kubepods.slice")
	if len(s) != 1 || s[0].TimestampMs == nil || *s[0].TimestampMs != 1639576265632 {
		t.Errorf("kubepods working set sample = %+v", s)
	}
	if v, ok := m.ValueByCgroup("container_spec_memory_limit_bytes", "/kubepods.slice"); !ok || v != 4.029632512e+09 {
		t.Errorf("kubepods limit = %v %v", v, ok)
	}
	machine := m.Samples("machine_memory_bytes")
	if len(machine) != 1 || machine[0].Value != 4.029632512e+09 || len(machine[0].Labels) != 0 || machine[0].TimestampMs != nil {
		t.Errorf("machine_memory_bytes = %+v", machine)
	}
	bb := m.ForContainer("container_memory_working_set_bytes", "scraper", "e2e-statefulset-0", "busybox")
	if len(bb) != 1 || bb[0].Value != 565248 {
		t.Fatalf("busybox in e2e-statefulset-0 = %+v", bb)
	}
	c := bb[0].Container()
	if c.Image != "busybox@sha256:b5cfd4befc119a590ca1a81d6bb0fa1fb19f1fbebd0397f25fae164abe1e8a6a" ||
		c.Name != "k8s_busybox_e2e-statefulset-0_scraper_580cb717-f03a-4c9c-8345-bc3ca06ee8e6_0" ||
		!strings.HasSuffix(c.ID, "docker-112ce4d14aaecdbdf78af8a23748f80121b1d2e22cd977d0586a1739df3f3432.scope") {
		t.Errorf("container identity = %+v", c)
	}
	if _, ok := m.ValueByCgroup("container_memory_working_set_bytes", "/no/such/cgroup"); ok {
		t.Error("lookup of an absent cgroup succeeded")
	}
}

func TestParseCadvisorGolden(t *testing.T) {
	m, probs := parseFile(t, "cadvisor-metrics", "cadvisor-golden-prometheus_metrics.txt")
	if len(probs) != 0 {
		t.Fatalf("problems: %v", probs)
	}
	if m.Series != 44 {
		t.Errorf("Series = %d, want 44", m.Series)
	}
	if v, ok := m.ValueByCgroup("container_memory_working_set_bytes", "testcontainer"); !ok || v != 9 {
		t.Errorf("working set = %v %v", v, ok)
	}
	if v, ok := m.ValueByCgroup("container_memory_swap", "testcontainer"); !ok || v != 8192 {
		t.Errorf("swap = %v %v", v, ok)
	}
	fail := m.ByCgroup("container_memory_failures_total", "testcontainer")
	if len(fail) != 4 {
		t.Fatalf("failures series = %d, want 4", len(fail))
	}
	// pgmajfault/hierarchy is 13 in the file.
	found := false
	for _, s := range fail {
		ft, _ := s.Labels.Get("failure_type")
		sc, _ := s.Labels.Get("scope")
		if ft == "pgmajfault" && sc == "hierarchy" {
			found = s.Value == 13
		}
	}
	if !found {
		t.Errorf("pgmajfault/hierarchy = 13 not found in %+v", fail)
	}
	if v, ok := m.ValueByCgroup("container_memory_events_max_total", "testcontainer"); !ok || v != 5 {
		t.Errorf("events max = %v %v", v, ok)
	}
	if s := m.Samples("container_scrape_error"); len(s) != 1 || s[0].Value != 0 {
		t.Errorf("scrape error = %+v", s)
	}
	if m.Family("container_cpu_usage_seconds_total") != nil || m.Family("container_perf_events_total") != nil {
		t.Error("non-memory families kept")
	}
}

func TestParseGarbageKeepsTheRest(t *testing.T) {
	in := strings.Join([]string{
		`# HELP container_memory_rss Size of RSS in bytes.`,
		`# TYPE container_memory_rss gauge`,
		`container_memory_rss{id="/a",pod="p",namespace="n",container="c"} 100`,
		`container_memory_rss{id="/b" 12`,                    // 4: unclosed label set
		`container_memory_rss{id="/c"} notanumber`,           // 5: bad value
		"\x00\xff\xfe binary junk",                           // 6: not the format
		`container_memory_rss{id="/d"} 400 1700000000000`,    // kept, with timestamp
		`container_cpu_usage_seconds_total{id="/a"} garbage`, // dropped family: never parsed
		`# TYPE container_memory_cache sometype`,             // 9: unknown type
		`container_memory_cache{id="/a"} +Inf`,
		`container_memory_cache{pod_name="old",namespace="n",container_name="c",id="/old"} 7`,
		`container_memory_rss{id="/e",id="/dup"} 5`, // 12: duplicate label
		`container_memory_swap{id="/a"} 1` + "\r",   // CRLF line endings
		`container_memory_swap{id="/z"} 2`,          // last line without newline
	}, "\n")
	m, probs := Parse(strings.NewReader(in), MemoryFamilies)

	wantLines := map[int]bool{4: true, 5: true, 6: true, 9: true, 12: true}
	for _, p := range probs {
		if !wantLines[p.Line] {
			t.Errorf("unexpected problem %v", p)
		}
		delete(wantLines, p.Line)
	}
	if len(wantLines) != 0 {
		t.Errorf("no problem reported for lines %v (got %v)", wantLines, probs)
	}
	if v, ok := m.ValueByCgroup("container_memory_rss", "/a"); !ok || v != 100 {
		t.Errorf("/a rss = %v %v", v, ok)
	}
	d := m.ByCgroup("container_memory_rss", "/d")
	if len(d) != 1 || d[0].Value != 400 || d[0].TimestampMs == nil || *d[0].TimestampMs != 1700000000000 {
		t.Errorf("/d = %+v", d)
	}
	if v, _ := m.ValueByCgroup("container_memory_cache", "/a"); !math.IsInf(v, 1) {
		t.Errorf("+Inf cache = %v", v)
	}
	if s := m.ForContainer("container_memory_cache", "n", "old", "c"); len(s) != 1 || s[0].Value != 7 {
		t.Errorf("pre-1.16 pod_name/container_name lookup = %+v", s)
	}
	if v, ok := m.ValueByCgroup("container_memory_swap", "/z"); !ok || v != 2 {
		t.Errorf("last line = %v %v", v, ok)
	}
	if _, ok := m.ValueByCgroup("container_memory_swap", "/a"); !ok {
		t.Error("CRLF line lost")
	}
	if m.Family("container_cpu_usage_seconds_total") != nil {
		t.Error("dropped family kept")
	}
	if m.Family("container_memory_rss").Type != "gauge" {
		t.Error("TYPE lost")
	}
}

func TestParseLongLine(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("container_memory_rss{id=\"/a\"} 1\n")
	b.WriteString("container_memory_rss{id=\"/")
	b.Write(bytes.Repeat([]byte("x"), 3*MaxLineBytes))
	b.WriteString("\"} 2\ncontainer_memory_rss{id=\"/c\"} 3\n")
	m, probs := Parse(&b, MemoryFamilies)
	if len(probs) != 1 || probs[0].Line != 2 || !strings.Contains(probs[0].Msg, "longer than") {
		t.Errorf("problems = %v", probs)
	}
	if m.Series != 2 {
		t.Errorf("Series = %d, want 2 (the lines around the long one)", m.Series)
	}
}

// seriesReader generates n distinct series of one kept family without
// holding them in memory.
type seriesReader struct {
	n, i int
	buf  []byte
}

func (r *seriesReader) Read(p []byte) (int, error) {
	for len(r.buf) < len(p) && r.i < r.n {
		r.buf = append(r.buf, "container_memory_rss{id=\"/kubepods/pod"...)
		r.buf = strconv.AppendInt(r.buf, int64(r.i), 10)
		r.buf = append(r.buf, "\",namespace=\"ns\",pod=\"p\",container=\"c\"} 4096\n"...)
		r.i++
	}
	if len(r.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

func TestParseMillionSeriesIsCapped(t *testing.T) {
	const total = 1_000_000
	m, probs := Parse(&seriesReader{n: total}, MemoryFamilies)
	if m.Series != MaxSeries || len(m.Samples("container_memory_rss")) != MaxSeries {
		t.Errorf("Series = %d, want the cap %d", m.Series, MaxSeries)
	}
	if m.Dropped != total-MaxSeries {
		t.Errorf("Dropped = %d, want %d", m.Dropped, total-MaxSeries)
	}
	if len(probs) != 1 || !strings.Contains(probs[0].Msg, "beyond the cap") {
		t.Errorf("problems = %v", probs)
	}
	// Distinct label values are interned once: the last kept id is there.
	if _, ok := m.ValueByCgroup("container_memory_rss", "/kubepods/pod199999"); !ok {
		t.Error("last series under the cap missing")
	}
}
