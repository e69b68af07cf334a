package main

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/memsnap/memsnap/collector-script/internal/hostfixture"
)

// TestSampleWalk takes samples of a v2 tree the fixture does not make by
// itself: child cgroups created out of name order, a symlink to a cgroup
// directory, a FIFO where memory.stat should be, and a slow file. The rows
// must come in name order whatever the listing order, the symlink must not
// be followed, the FIFO must not block the sample, and memory.peak must be
// read on the slow turns only.
func TestSampleWalk(t *testing.T) {
	root := filepath.Join(t.TempDir(), "host")
	os.Mkdir(root, 0o755)
	if _, err := hostfixture.Generate(root, hostfixture.Options{CgroupVersion: 2, Driver: "systemd", Pods: 1, Processes: 2}); err != nil {
		t.Fatal(err)
	}
	mount := filepath.Join(root, "sys/fs/cgroup")
	for _, d := range []string{"zz.slice", "mm.slice", "aa.slice"} {
		os.Mkdir(filepath.Join(mount, d), 0o755)
		os.WriteFile(filepath.Join(mount, d, "memory.current"), []byte("4096\n"), 0o644)
		os.WriteFile(filepath.Join(mount, d, "memory.peak"), []byte("8192\n"), 0o644)
	}
	if err := os.Symlink("aa.slice", filepath.Join(mount, "ln.slice")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(mount, "mm.slice", "memory.stat"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := newRecorder(Host{Root: root}, t.TempDir(), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		for range slowEvery + 1 {
			r.sample()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second): // a sample takes milliseconds; only a block gets here
		t.Fatal("the samples did not finish: a FIFO blocked the walk?")
	}
	if len(r.problems) > 0 {
		t.Errorf("problems: %v", r.problems)
	}
	if err := r.cg.finish(); err != nil {
		t.Fatal(err)
	}
	gz, err := gzip.NewReader(r.cg.f)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(gz)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	header := strings.Split(lines[0], "\t")
	pk, cur := col(header, "memory.peak"), col(header, "memory.current")
	// Each sample starts with the root cgroup's row ("/"): samples are
	// told apart by that, not by their ms timestamps, which two fast
	// samples can share.
	var order []string
	var peaks []string // /aa.slice's memory.peak cell, one per sample
	sample := 0
	for i, line := range lines[1:] {
		f := strings.Split(line, "\t")
		if f[1] == "/" {
			sample++
		}
		if f[1] == "/ln.slice" {
			t.Errorf("row %d: the symlinked directory was walked", i)
		}
		if f[1] == "/aa.slice" {
			peaks = append(peaks, f[pk])
		}
		if sample != 1 {
			continue // first sample only, for the order
		}
		order = append(order, f[1])
		if f[1] == "/aa.slice" || f[1] == "/zz.slice" {
			if f[cur] != "4096" {
				t.Errorf("%s: memory.current %q", f[1], f[cur])
			}
		}
	}
	var top []string
	for _, p := range order {
		if strings.Count(p, "/") == 1 && p != "/" {
			top = append(top, p)
		}
	}
	if i := strings.Index(strings.Join(top, " "), "/aa.slice"); i != 0 {
		t.Errorf("top-level cgroups in sample order %v, want name order", top)
	}
	for j := 1; j < len(top); j++ {
		if top[j-1] > top[j] {
			t.Errorf("rows out of name order: %v", top)
		}
	}
	// Samples 1 and slowEvery+1 are slow turns: two of five rows carry memory.peak.
	want := []string{"8192", "", "", "", "8192"}
	if strings.Join(peaks, ",") != strings.Join(want, ",") {
		t.Errorf("memory.peak of /aa.slice per sample: %q, want %q", peaks, want)
	}
}
