package lab

import (
	"math"
	"path"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/memsnap/memsnap/report/schema"
)

// Watch scenarios (issue #15): the collector's --watch on the real kernel.

// watchFlags: 25 samples at 1 s, the "watched at 1 s".
var watchFlags = []string{"--watch", "25s", "--every", "1s"}

// evidenceTime finds "<prefix><2006-01-02 15:04:05Z>" in a finding's evidence.
func evidenceTime(f schema.Finding, prefix string) (time.Time, bool) {
	for _, ev := range f.Evidence {
		if i := strings.Index(ev.Text, prefix); i >= 0 {
			s := ev.Text[i+len(prefix):]
			if len(s) >= len("2006-01-02 15:04:05Z") {
				t, err := time.Parse("2006-01-02 15:04:05Z", s[:len("2006-01-02 15:04:05Z")])
				return t, err == nil
			}
		}
	}
	return time.Time{}, false
}

// 6. leak watch: a container grows anon memory at a fixed 4 MiB/s under a
// 256 MiB limit; a watch at 1 s predicts its OOM kill, which then really
// happens: the prediction must be within ±20 % of the time that was left
// after the last sample. A second pod's log file grows page cache at the
// same rate: page-cache-growth, not memory-growth.
func testLeakWatch(t *testing.T, e *labEnv) {
	n := setupNode(t, e, 0, nil)
	const limit = 256 * mib
	leak := newPod(n.Root, "memsnap-lab", "leaky-watch", "burstable", limit)
	lc := leak.addContainer("app", limit)
	writer := newPod(n.Root, "memsnap-lab", "log-writer-watch", "burstable", limit)
	wc := writer.addContainer("app", limit)
	for _, p := range []*Pod{leak, writer} {
		if err := n.createPod(p); err != nil {
			t.Fatal(err)
		}
	}
	n.kubelet.setPods(leak, writer)
	wp, err := n.start(wc, "cachegrow", "-file", path.Join(n.Dir, "app.log"), "-step", strconv.FormatInt(mib, 10), "-interval", "250ms")
	if err != nil {
		t.Fatal(err)
	}
	proc, err := n.start(lc, "grow", "-step", strconv.FormatInt(mib, 10), "-interval", "250ms")
	if err != nil {
		t.Fatal(err)
	}
	started := time.Now()

	r := n.collect(t, e, "leak-watch", watchFlags...)
	st, err := proc.wait(3 * time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	died := time.Now()
	if !oomKilled(st) {
		t.Fatalf("leaking workload ended with %v after %q, want SIGKILL from the OOM killer", st, proc.lastLine())
	}
	t.Logf("leak OOM-killed %s after it started (%s)", died.Sub(started).Round(time.Millisecond), proc.lastLine())
	if w := r.Bundle.Manifest().Watch; w == nil || w.Samples < 20 {
		t.Fatalf("manifest watch = %+v, want ≥ 20 samples", w)
	}

	f := requireFinding(t, r, "memory-growth", leak.UID)
	predicted, ok1 := evidenceTime(f, "predicted to be reached at ")
	var lastSample time.Time
	for _, ev := range f.Evidence {
		if ev.Key == "anon last sample" {
			lastSample, _ = evidenceTime(schema.Finding{Evidence: []schema.Evidence{ev}}, "anon at ")
		}
	}
	if !ok1 || lastSample.IsZero() {
		t.Fatalf("memory-growth evidence lacks the prediction or the last sample: %+v", f.Evidence)
	}
	left := died.Sub(lastSample)
	errFrac := predicted.Sub(died).Seconds() / left.Seconds()
	t.Logf("PREDICTION: OOM predicted at %s, real OOM at %s: %+.1f s on %.1f s left after the last sample (%s) = %+.1f %% error",
		predicted.Format(time.TimeOnly), died.UTC().Format(time.TimeOnly), predicted.Sub(died).Seconds(), left.Seconds(),
		lastSample.Format(time.TimeOnly), 100*errFrac)
	if math.Abs(errFrac) > 0.20 {
		t.Errorf("predicted OOM %s off the real one by %.0f %% of the %s left; want within ±20 %%", predicted.Sub(died), 100*errFrac, left)
	}
	if f.Severity != schema.Critical {
		t.Errorf("a container under a minute from its OOM kill is %s, want critical", f.Severity)
	}

	pc := requireFinding(t, r, "page-cache-growth", writer.UID)
	if pc.Container != "app" || pc.Pod != writer.Name {
		t.Errorf("page-cache-growth names %s/%s", pc.Pod, pc.Container)
	}
	if fs := r.findings("memory-growth", writer.UID); len(fs) > 0 {
		t.Errorf("the page-cache writer is called a leak: %s", fs[0].Summary)
	}
	wp.stop()
}

// 7. sawtooth watch: a container allocates 8 MiB every 250 ms up to
// 160 MiB, frees it all and starts again — a garbage-collected heap —
// watched as long as the leak: not a leak.
func testSawtoothWatch(t *testing.T, e *labEnv) {
	n := setupNode(t, e, 0, nil)
	const limit = 256 * mib
	p := newPod(n.Root, "memsnap-lab", "gc-sawtooth", "burstable", limit)
	c := p.addContainer("app", limit)
	if err := n.createPod(p); err != nil {
		t.Fatal(err)
	}
	n.kubelet.setPods(p)
	proc, err := n.start(c, "saw", "-step", strconv.FormatInt(8*mib, 10), "-interval", "250ms", "-max", strconv.FormatInt(160*mib, 10))
	if err != nil {
		t.Fatal(err)
	}
	r := n.collect(t, e, "sawtooth-watch", watchFlags...)
	if proc.exited() {
		t.Fatalf("sawtooth workload died: %v", proc.state)
	}
	if w := r.Bundle.Manifest().Watch; w == nil || w.Samples < 20 {
		t.Fatalf("manifest watch = %+v, want ≥ 20 samples", w)
	}
	// The teeth were real: the kernel's peak is well above the trough.
	peakFile := "memory.max_usage_in_bytes"
	if n.H.Version == 2 {
		peakFile = "memory.peak"
	}
	b, ok := r.file(path.Join("cgroup", strings.TrimPrefix(c.Cgroup, "/"), peakFile))
	peak, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if !ok || peak < 128*mib {
		t.Errorf("container peak %d (present %v): the sawtooth did not reach its teeth", peak, ok)
	}
	ran := false
	for _, s := range r.Report.Rules {
		if s.ID == "memory-growth" {
			ran = s.Status == "ran"
		}
	}
	if !ran {
		t.Fatalf("memory-growth did not run on the watch: %+v", r.Report.Rules)
	}
	if fs := r.findings("memory-growth", p.UID); len(fs) > 0 {
		t.Errorf("the sawtooth is called a leak: %s", fs[0].Summary)
	}
	t.Logf("sawtooth: peak %d MiB, no memory-growth finding", peak/mib)
	proc.stop()
}
