package heap

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/google/pprof/profile"
	"github.com/memsnap/memsnap/internal/testcorpus"
)

const testMax = 64 << 20

func parseFile(t *testing.T, path string) *Profile {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := Parse(f, testMax)
	if err != nil {
		t.Fatalf("%s: %v", filepath.Base(path), err)
	}
	return p
}

// pprofTop is the first row and the total of `go tool pprof -top`.
type pprofTop struct {
	flat, total     float64 // bytes, at pprof's printed precision
	flatUnit        float64 // bytes per printed unit of flat
	cumPct          float64
	function        string
	totalUnit       float64
	commandForError string
}

// runPprofTop runs the pprof that ships with Go, the reference the brief
// names: `go tool pprof -sample_index=<si> -top <file>`.
func runPprofTop(t *testing.T, sampleIndex, file string) pprofTop {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	args := []string{"tool", "pprof", "-sample_index=" + sampleIndex, "-top", file}
	out, err := exec.Command(goBin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	var top pprofTop
	top.commandForError = "go " + strings.Join(args, " ")
	lines := strings.Split(string(out), "\n")
	for i, l := range lines {
		if rest, ok := strings.CutPrefix(l, "Showing nodes accounting for "); ok {
			// "Showing nodes accounting for 132.49MB, 96.68% of 137.04MB total"
			f := strings.Fields(rest)
			top.total, top.totalUnit = pprofBytes(t, f[3])
		}
		if strings.Contains(l, "flat%") && i+1 < len(lines) {
			f := strings.Fields(lines[i+1])
			top.flat, top.flatUnit = pprofBytes(t, f[0])
			top.cumPct, _ = strconv.ParseFloat(strings.TrimSuffix(f[4], "%"), 64)
			top.function = strings.TrimSuffix(strings.Join(f[5:], " "), " (inline)")
			return top
		}
	}
	t.Fatalf("%s: no table in output:\n%s", top.commandForError, out)
	return top
}

// pprofBytes reads "1805.17kB" / "32MB": pprof's memory units are powers of
// 1024 (google/pprof:internal/measurement/measurement.go).
func pprofBytes(t *testing.T, s string) (value, unit float64) {
	t.Helper()
	units := []struct {
		suffix string
		scale  float64
	}{{"TB", 1 << 40}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"kB", 1 << 10}, {"B", 1}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(num, 64)
			if err != nil {
				t.Fatalf("pprof value %q: %v", s, err)
			}
			return v * u.scale, u.scale
		}
	}
	t.Fatalf("pprof value %q has no byte unit", s)
	return 0, 0
}

// samePrinted reports whether got prints as want at pprof's two decimals.
func samePrinted(got int64, want, unit float64) bool {
	return math.Abs(float64(got)-want) <= 0.0051*unit
}

func TestTopMatchesGoToolPprof(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(testcorpus.Dir(t), "pprof", "*.pb.gz"))
	if len(files) < 2 {
		t.Fatalf("expected the corpus heap profiles, found %v", files)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			p := parseFile(t, file)
			if p.Format != "protobuf" || !p.Symbolized || p.TimeNanos == 0 || p.PeriodType != "space/bytes" {
				t.Errorf("meta: format %q symbolized %v time %d period type %q", p.Format, p.Symbolized, p.TimeNanos, p.PeriodType)
			}
			for _, c := range []struct {
				sampleIndex string
				total       *int64
				top         []FuncCost
			}{{InuseSpace, p.InuseBytes, p.TopInuse}, {AllocSpace, p.AllocBytes, p.TopAlloc}} {
				want := runPprofTop(t, c.sampleIndex, file)
				if len(c.top) == 0 || c.total == nil {
					t.Fatalf("%s: no top / total", c.sampleIndex)
				}
				if c.top[0].Function != want.function || !samePrinted(c.top[0].Bytes, want.flat, want.flatUnit) {
					t.Errorf("%s top = %s %d, pprof says %s %.0f (%s)", c.sampleIndex, c.top[0].Function, c.top[0].Bytes, want.function, want.flat, want.commandForError)
				}
				if !samePrinted(*c.total, want.total, want.totalUnit) {
					t.Errorf("%s total = %d, pprof says %.0f", c.sampleIndex, *c.total, want.total)
				}
				// PathShare of exactly the top function is pprof's cum% of it.
				share := PathShare(p, func(fn string) bool { return fn == want.function }, c.sampleIndex)
				if math.Abs(share*100-want.cumPct) > 0.006 {
					t.Errorf("%s PathShare(%s) = %.4f%%, pprof cum%% %.2f%%", c.sampleIndex, want.function, share*100, want.cumPct)
				}
			}
		})
	}
}

func TestLegacyTextProfileIsRead(t *testing.T) {
	file := testcorpus.Path(t, "pprof", "google-pprof-gobench-legacy-text.heap")
	p := parseFile(t, file)
	if p.Format != "legacy text" || p.Symbolized {
		t.Errorf("format %q symbolized %v", p.Format, p.Symbolized)
	}
	want := runPprofTop(t, InuseSpace, file)
	if len(p.TopInuse) == 0 || p.TopInuse[0].Function != want.function || !samePrinted(p.TopInuse[0].Bytes, want.flat, want.flatUnit) {
		t.Errorf("top inuse = %+v, pprof says %s %.0f", p.TopInuse, want.function, want.flat)
	}
	if p.InuseBytes == nil || !samePrinted(*p.InuseBytes, want.total, want.totalUnit) {
		t.Errorf("inuse total = %v, pprof says %.0f", p.InuseBytes, want.total)
	}
}

// replayReader serves one gzip member again and again: gzip.Reader reads
// concatenated members as one stream, so a few KB per 16 MiB of zeros make a
// multi-gigabyte bomb without compressing gigabytes first.
type replayReader struct {
	member []byte
	left   int
	pos    int
	served int // members started
}

func (r *replayReader) Read(p []byte) (int, error) {
	if r.pos == len(r.member) {
		if r.left == 0 {
			return 0, io.EOF
		}
		r.left--
		r.pos = 0
		r.served++
	}
	n := copy(p, r.member[r.pos:])
	r.pos += n
	return n, nil
}

func TestGzipBombIsRefusedEarly(t *testing.T) {
	const perMember = 16 << 20
	var member bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&member, gzip.BestCompression)
	zw.Write(make([]byte, perMember))
	zw.Close()
	bomb := &replayReader{member: member.Bytes(), left: 256, pos: member.Len()} // 4 GiB of zeros

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Parse(bomb, testMax)
	runtime.ReadMemStats(&after)

	if err == nil || !strings.Contains(err.Error(), "decompresses beyond 64 MiB") {
		t.Fatalf("err = %v", err)
	}
	if limit := testMax/perMember + 2; bomb.served > limit {
		t.Errorf("read %d members (%d MiB decompressed) before refusing; want ≤ %d", bomb.served, bomb.served*16, limit)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4*testMax {
		t.Errorf("allocated %d MiB for a %d MiB cap", alloc>>20, testMax>>20)
	}
}

func TestRefusals(t *testing.T) {
	good, err := os.ReadFile(testcorpus.Path(t, "pprof", "parca-server-heap-2022-02-10.pb.gz"))
	if err != nil {
		t.Fatal(err)
	}
	var doubled bytes.Buffer
	zw := gzip.NewWriter(&doubled)
	zw.Write(good)
	zw.Close()

	cpu := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		Function:   []*profile.Function{{ID: 1, Name: "main.main"}},
	}
	cpu.Location = []*profile.Location{{ID: 1, Line: []profile.Line{{Function: cpu.Function[0]}}}}
	cpu.Sample = []*profile.Sample{{Location: cpu.Location, Value: []int64{1, 10}}}
	var cpuBytes bytes.Buffer
	if err := cpu.Write(&cpuBytes); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name, in, want string
		max            int64
	}{
		{"empty", "", "empty", testMax},
		{"text", "hello, this is not a profile\n", "not a pprof", testMax},
		{"truncated gzip", string(good[:len(good)/2]), "reading", testMax},
		{"bad gzip header", "\x1f\x8b\x00garbage", "bad gzip header", testMax},
		{"gzip inside gzip", doubled.String(), "gzip inside gzip", testMax},
		{"cpu profile", cpuBytes.String(), "not a heap profile: sample types samples, cpu", testMax},
		{"raw over the cap", strings.Repeat("x", 2048), "is larger than 1024 bytes", 1024},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := Parse(strings.NewReader(c.in), c.max)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Parse = %v, %v; want error containing %q", p, err, c.want)
			}
		})
	}
}

// A hand-built profile with known stacks: PathShare counts each sample once
// however many matching frames it has, and sees inlined frames.
func TestPathShare(t *testing.T) {
	fn := map[string]*profile.Function{}
	p := &profile.Profile{SampleType: []*profile.ValueType{{Type: "alloc_space", Unit: "bytes"}, {Type: "inuse_space", Unit: "bytes"}}}
	loc := func(names ...string) *profile.Location { // names: innermost first (inlined chain)
		l := &profile.Location{ID: uint64(len(p.Location) + 1)}
		for _, n := range names {
			if fn[n] == nil {
				fn[n] = &profile.Function{ID: uint64(len(p.Function) + 1), Name: n}
				p.Function = append(p.Function, fn[n])
			}
			l.Line = append(l.Line, profile.Line{Function: fn[n]})
		}
		p.Location = append(p.Location, l)
		return l
	}
	makeSlice := loc("runtime.makeslice")
	collect := loc("github.com/google/cadvisor/metrics.(*PrometheusCollector).collectContainersInfo")
	gather := loc("github.com/prometheus/client_golang/prometheus.(*Registry).Gather")
	serve := loc("net/http.HandlerFunc.ServeHTTP", "github.com/prometheus/client_golang/prometheus/promhttp.HandlerFor.func1")
	house := loc("github.com/google/cadvisor/manager.(*containerData).housekeeping")
	p.Sample = []*profile.Sample{
		{Location: []*profile.Location{makeSlice, collect, gather, serve}, Value: []int64{600, 10}},
		{Location: []*profile.Location{makeSlice, gather, gather}, Value: []int64{100, 0}}, // recursion: counted once
		{Location: []*profile.Location{makeSlice, house}, Value: []int64{300, 90}},
	}
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	hp, err := Parse(&buf, testMax)
	if err != nil {
		t.Fatal(err)
	}
	scrape := func(f string) bool {
		return strings.Contains(f, "collectContainersInfo") || strings.HasSuffix(f, ".Gather") || strings.Contains(f, "promhttp")
	}
	for _, c := range []struct {
		st   string
		want float64
	}{{AllocSpace, 0.7}, {InuseSpace, 0.1}, {"alloc_objects", 0}} {
		if got := PathShare(hp, scrape, c.st); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("PathShare(%s) = %v, want %v", c.st, got, c.want)
		}
	}
	onlyInline := func(f string) bool { return strings.Contains(f, "promhttp") }
	if got := PathShare(hp, onlyInline, AllocSpace); math.Abs(got-0.6) > 1e-9 {
		t.Errorf("inlined frame share = %v, want 0.6", got)
	}
	if want := []FuncCost{{"runtime.makeslice", 1000}}; fmt.Sprint(hp.TopAlloc) != fmt.Sprint(want) {
		t.Errorf("TopAlloc = %v, want %v", hp.TopAlloc, want)
	}
	if *hp.AllocBytes != 1000 || *hp.InuseBytes != 100 || hp.InuseObjects != nil {
		t.Errorf("totals %d %d %v", *hp.AllocBytes, *hp.InuseBytes, hp.InuseObjects)
	}
}

func TestTopTiesByName(t *testing.T) {
	p := &profile.Profile{SampleType: []*profile.ValueType{{Type: "inuse_space", Unit: "bytes"}}}
	for i, n := range []string{"b.f", "a.f", "c.f"} {
		f := &profile.Function{ID: uint64(i + 1), Name: n}
		l := &profile.Location{ID: uint64(i + 1), Line: []profile.Line{{Function: f}}}
		p.Function, p.Location = append(p.Function, f), append(p.Location, l)
		p.Sample = append(p.Sample, &profile.Sample{Location: []*profile.Location{l}, Value: []int64{int64(10 + 5*(i/2))}})
	}
	var buf bytes.Buffer
	p.Write(&buf)
	hp, err := Parse(&buf, testMax)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(hp.TopInuse); got != "[{c.f 15} {a.f 10} {b.f 10}]" {
		t.Errorf("TopInuse = %s", got)
	}
	if got := hp.Top(InuseSpace, 1); len(got) != 1 || got[0].Function != "c.f" {
		t.Errorf("Top(1) = %v", got)
	}
}
