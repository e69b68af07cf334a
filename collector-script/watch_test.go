package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/memsnap/memsnap/bundle"
	"github.com/memsnap/memsnap/collector-script/internal/hostfixture"
)

// readSeries gunzips one series file of a bundle into header and rows.
func readSeries(t *testing.T, rb readBack, name string) ([]string, [][]string) {
	t.Helper()
	b, ok := rb.files[name]
	if !ok {
		t.Fatalf("%s not in the bundle", name)
	}
	gz, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	sc := bufio.NewScanner(gz)
	sc.Buffer(nil, 1<<20)
	var header []string
	var rows [][]string
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if header == nil {
			header = f
			continue
		}
		if len(f) != len(header) {
			t.Fatalf("%s: row of %d cells under a header of %d", name, len(f), len(header))
		}
		rows = append(rows, f)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return header, rows
}

func col(header []string, name string) int {
	for i, h := range header {
		if h == name {
			return i
		}
	}
	return -1
}

// TestWatchFixtureHost runs a short watch over a fake host while a
// container cgroup is removed and a new one appears (a restart), and checks
// the series, the events, both snapshots and the manifest.
func TestWatchFixtureHost(t *testing.T) {
	for _, version := range []int{1, 2} {
		t.Run("v"+string(rune('0'+version)), func(t *testing.T) {
			h, k := fixture(t, version, "systemd", hostfixture.KubeletOptions{})
			o := testOptions(t, h, k)
			o.Watch, o.Every = time.Second, 50*time.Millisecond
			mount := "sys/fs/cgroup/memory"
			usageFile := "memory.usage_in_bytes"
			if version == 2 {
				mount, usageFile = "sys/fs/cgroup", "memory.current"
			}
			pod := h.Pods[0]
			gone := pod.Containers[1].Cgroup
			born := filepath.Join(pod.Cgroup, "cri-containerd-"+strings.Repeat("ab", 32)+".scope")
			// The restart happens after the third sample, however long the
			// first snapshot took (the sampler runs in Run's goroutine).
			afterSample = func(n int) {
				if n != 3 {
					return
				}
				os.RemoveAll(filepath.Join(h.Root, mount, gone))
				dir := filepath.Join(h.Root, mount, born)
				os.MkdirAll(dir, 0o755)
				os.WriteFile(filepath.Join(dir, usageFile), []byte("1048576\n"), 0o644)
			}
			t.Cleanup(func() { afterSample = nil })
			if code := Run(context.Background(), o); code != exitOK {
				t.Fatalf("exit %d: %s", code, o.Stderr)
			}
			rb := readBundle(t, o.Output)
			w := rb.manifest.Watch
			// 21 ticks; ≥ 5 leaves a 4× margin for a slow sample under -race on a loaded machine.
			if w == nil || w.Samples < 5 || w.StoppedBy != "duration" || w.EveryMS != 50 {
				t.Fatalf("manifest watch = %+v, want ≥ 5 samples ended by duration", w)
			}
			if s := rb.source(t, bundle.SourceSeries); s.Status != bundle.StatusOK || s.Files < 4 {
				t.Errorf("series source = %+v", s)
			}
			for _, p := range []string{bundle.SeriesFirstDir + bundle.NodeMeminfo, bundle.NodeMeminfo,
				bundle.SeriesFirstDir + "cgroup/" + gone + "/" + usageFile, "cgroup/" + born + "/" + usageFile, bundle.KernelLog} {
				if _, ok := rb.files[p]; !ok {
					t.Errorf("%s missing", p)
				}
			}
			if _, ok := rb.files["cgroup/"+gone+"/"+usageFile]; ok {
				t.Errorf("the final snapshot still has the removed cgroup %s", gone)
			}

			header, rows := readSeries(t, rb, bundle.SeriesNode)
			if len(rows) != w.Samples || col(header, "meminfo:MemAvailable") < 0 || rows[0][col(header, "meminfo:MemTotal")] == "" {
				t.Errorf("node series: %d rows for %d samples, header %v", len(rows), w.Samples, header)
			}
			header, rows = readSeries(t, rb, bundle.SeriesCgroups)
			ci, ui := col(header, "cgroup"), col(header, usageFile)
			if ci != 1 || ui < 0 {
				t.Fatalf("cgroup series header %v", header)
			}
			perPath := map[string]int{}
			for _, r := range rows {
				perPath[r[ci]]++
				if r[ci] == "/"+gone && r[ui] == "" {
					t.Errorf("row for %s without %s", gone, usageFile)
				}
			}
			if perPath["/"] != w.Samples {
				t.Errorf("root cgroup in %d of %d samples", perPath["/"], w.Samples)
			}
			if n := perPath["/"+gone]; n == 0 || n >= w.Samples {
				t.Errorf("removed cgroup in %d of %d samples", n, w.Samples)
			}
			if n := perPath["/"+born]; n == 0 || n >= w.Samples {
				t.Errorf("new cgroup in %d of %d samples", n, w.Samples)
			}
			_, rows = readSeries(t, rb, bundle.SeriesEvents)
			got := map[string]bool{}
			for _, r := range rows {
				got[r[1]+" "+r[2]] = true
			}
			if !got["vanished /"+gone] || !got["appeared /"+born] || len(rows) != 2 {
				t.Errorf("events = %v, want the vanished/appeared pair", rows)
			}
		})
	}
}

// TestWatchMaxBytes: a budget too small for ten minutes of samples stops
// sampling early, still writes a readable bundle and says why.
func TestWatchMaxBytes(t *testing.T) {
	h, k := fixture(t, 2, "systemd", hostfixture.KubeletOptions{})
	o := testOptions(t, h, k)
	o.Watch, o.Every = time.Minute, time.Millisecond
	o.NoProc, o.Pprof = true, nil
	// The first snapshot is about 250 KB: what is left after it and the
	// reserve for the final one fills within seconds at 1 ms.
	o.MaxBytes = watchReserve + 400<<10
	start := time.Now()
	if code := Run(context.Background(), o); code != exitOK {
		t.Fatalf("exit %d: %s", code, o.Stderr)
	}
	if time.Since(start) > 45*time.Second {
		t.Errorf("the watch ran its whole duration despite --max-bytes")
	}
	rb := readBundle(t, o.Output)
	if w := rb.manifest.Watch; w == nil || w.StoppedBy != "max-bytes" {
		t.Fatalf("watch = %+v, want stopped_by max-bytes", rb.manifest.Watch)
	}
	if s := rb.source(t, bundle.SourceSeries); !s.Truncated || s.Status != bundle.StatusPartial {
		t.Errorf("series source = %+v", s)
	}
	readSeries(t, rb, bundle.SeriesCgroups) // whole, readable gzip
	var total int64
	for _, f := range rb.manifest.Files {
		total += f.Bytes
	}
	if total > o.MaxBytes {
		t.Errorf("bundle holds %d bytes of files, over --max-bytes %d", total, o.MaxBytes)
	}
}

// TestWatchSignal: cancelling the run (SIGINT) ends the watch, and the
// final snapshot is still taken.
func TestWatchSignal(t *testing.T) {
	h, k := fixture(t, 1, "cgroupfs", hostfixture.KubeletOptions{})
	o := testOptions(t, h, k)
	o.Watch, o.Every = time.Hour, 20*time.Millisecond
	ctx, cancel := context.WithCancelCause(context.Background())
	time.AfterFunc(300*time.Millisecond, func() { cancel(errInterrupted) })
	if code := Run(ctx, o); code != exitOK {
		t.Fatalf("exit %d: %s", code, o.Stderr)
	}
	rb := readBundle(t, o.Output)
	// The loop samples once on entry and once more at the signal, whatever the load.
	if w := rb.manifest.Watch; w == nil || w.StoppedBy != "signal" || w.Samples < 2 {
		t.Fatalf("watch = %+v", w)
	}
	if _, ok := rb.files[bundle.NodeMeminfo]; !ok {
		t.Errorf("no final snapshot after the signal")
	}
}

// TestWatchKubeletSummary: each interval's /stats/summary becomes rows of
// series/kubelet-summary.tsv.gz for the node, every pod and container, with
// the fixture kubelet's numbers.
func TestWatchKubeletSummary(t *testing.T) {
	h, k := fixture(t, 2, "systemd", hostfixture.KubeletOptions{})
	o := testOptions(t, h, k)
	o.Pprof = nil
	// 300 ms per request is 100× what the loopback fixture needs, so no
	// request is cut even under -race on a loaded machine.
	o.Watch, o.Every = time.Second, 300*time.Millisecond
	if code := Run(context.Background(), o); code != exitOK {
		t.Fatalf("exit %d: %s", code, o.Stderr)
	}
	rb := readBundle(t, o.Output)
	if s := rb.source(t, bundle.SourceSeries); s.Status != bundle.StatusOK || s.Files < 5 {
		t.Errorf("series source = %+v", s)
	}
	header, rows := readSeries(t, rb, bundle.SeriesKubeletSummary)
	pod, ctr, ws, avail, errc := col(header, "pod"), col(header, "container"), col(header, "workingSetBytes"), col(header, "availableBytes"), col(header, "error")
	if pod < 0 || ctr < 0 || ws < 0 || avail < 0 || errc < 0 || col(header, "stat_ms") < 0 {
		t.Fatalf("header %v", header)
	}
	perTS := map[string]int{}
	nodes, containers := 0, 0
	for _, r := range rows {
		if r[errc] != "" {
			t.Errorf("failed sample: %v", r)
			continue
		}
		perTS[r[0]]++
		switch {
		case r[pod] == "":
			nodes++
			if r[ws] != strconv.Itoa(12<<30) || r[avail] != strconv.Itoa(4<<30) {
				t.Errorf("node row %v", r)
			}
		case r[ctr] != "":
			containers++
			if r[ws] != strconv.Itoa(26<<20) {
				t.Errorf("container row %v", r)
			}
		}
	}
	if nodes < 2 {
		t.Errorf("%d node rows, want one per sample (≥ 2)", nodes)
	}
	want := 1 + len(h.Pods)
	for _, p := range h.Pods {
		want += len(p.Containers) - 1
	}
	for ts, n := range perTS {
		if n != want {
			t.Errorf("sample %s: %d rows, want %d (node, pods, containers)", ts, n, want)
		}
	}
	if containers == 0 {
		t.Error("no container rows")
	}
}

// TestWatchHungKubelet: a kubelet that never answers costs each request
// min(--timeout, --every) in the background; the cgroup samples go on at
// their pace, each failed request is one error row, and the watch ends on
// time.
func TestWatchHungKubelet(t *testing.T) {
	h, k := fixture(t, 1, "cgroupfs", hostfixture.KubeletOptions{Mode: hostfixture.Slow})
	o := testOptions(t, h, k)
	o.Pprof = nil
	o.Timeout = time.Second // the first snapshot's kubelet source is cut here
	o.Watch, o.Every = 1500*time.Millisecond, 250*time.Millisecond
	start := time.Now()
	if code := Run(context.Background(), o); code != exitOK {
		t.Fatalf("exit %d: %s", code, o.Stderr)
	}
	// About 1 s + 1.5 s + 0.25 s of waiting; 3× that still fails a request
	// left to hang (the fixture holds it for 10 minutes).
	if d := time.Since(start); d > 3*(o.Timeout+o.Watch+o.Every) {
		t.Errorf("run took %s: a hung summary request stalled the watch", d)
	}
	rb := readBundle(t, o.Output)
	w := rb.manifest.Watch
	// Seven ticks; ≥ 3 samples is what a stalled loop (one sample, then
	// waiting for the kubelet) could not reach.
	if w == nil || w.Samples < 3 || w.StoppedBy != "duration" {
		t.Fatalf("watch = %+v", w)
	}
	header, rows := readSeries(t, rb, bundle.SeriesKubeletSummary)
	errc := col(header, "error")
	if len(rows) < 2 {
		t.Fatalf("%d summary rows, want a failed one per request", len(rows))
	}
	for _, r := range rows {
		if !strings.Contains(r[errc], "cut at 250ms") {
			t.Errorf("row %v, want a failure cut at the interval", r)
		}
	}
	s := rb.source(t, bundle.SourceSeries)
	if s.Status != bundle.StatusPartial || !strings.Contains(s.Error, "kubelet summary:") {
		t.Errorf("series source = %s %q", s.Status, s.Error)
	}
	if _, rows := readSeries(t, rb, bundle.SeriesCgroups); len(rows) < 3 {
		t.Errorf("%d cgroup rows", len(rows))
	}
}
