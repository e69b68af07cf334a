package bundle_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/memsnap/memsnap/bundle"
)

func TestSmallLimits(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 64) // 1 KiB
	entries := []testEntry{
		file("node/meminfo", "MemTotal: 1 kB\n"),
		{Name: "logs/kernel.log", Body: big},
		file("node/uptime", "10.0 20.0\n"),
		file("node/stat", "btime 1700000000\n"),
	}
	data := gzipBytes(t, tarBytes(t, entries...))

	t.Run("per file", func(t *testing.T) {
		b := mustOpen(t, writeTemp(t, "b", data), bundle.Options{MaxFileBytes: 100})
		got, _, _ := bundle.ReadFile(b, "logs/kernel.log", 0)
		if !bytes.Equal(got, big[:100]) {
			t.Errorf("cut file holds %d bytes, want the first 100", len(got))
		}
		requireProblem(t, b, "logs/kernel.log", "per-file limit: cut at 100 bytes")
		if len(b.List("node/")) != 3 {
			t.Errorf("entries after the cut one are lost: %v", b.List(""))
		}
	})
	t.Run("per file, spilled", func(t *testing.T) {
		b := mustOpen(t, writeTemp(t, "b", data), bundle.Options{MaxFileBytes: 500, MemFileBytes: 10})
		got, _, _ := bundle.ReadFile(b, "logs/kernel.log", 0)
		if !bytes.Equal(got, big[:500]) {
			t.Errorf("cut file holds %d bytes, want the first 500", len(got))
		}
		meminfo, _, _ := bundle.ReadFile(b, "node/meminfo", 0)
		if string(meminfo) != "MemTotal: 1 kB\n" {
			t.Errorf("spilled node/meminfo = %q", meminfo)
		}
	})
	t.Run("total", func(t *testing.T) {
		b := mustOpen(t, writeTemp(t, "b", data), bundle.Options{MaxTotalBytes: 600})
		if got := b.List(""); strings.Join(got, " ") != "logs/kernel.log node/meminfo" {
			t.Errorf("files = %v", got)
		}
		requireProblem(t, b, "", "total size limit of 600 bytes", `"logs/kernel.log"`, "rest of the archive is skipped")
		requireProblem(t, b, "logs/kernel.log", "cut by the total size limit")
	})
	t.Run("entries", func(t *testing.T) {
		b := mustOpen(t, writeTemp(t, "b", data), bundle.Options{MaxEntries: 2})
		if got := b.List(""); len(got) != 2 {
			t.Errorf("files = %v", got)
		}
		requireProblem(t, b, "", "more than 2 entries", `"node/uptime"`)
	})
	t.Run("directory", func(t *testing.T) {
		dir := t.TempDir()
		writeTree(t, dir, map[string][]byte{"logs/kernel.log": big, "node/meminfo": []byte("MemTotal: 1 kB\n")})
		b := mustOpen(t, dir, bundle.Options{MaxFileBytes: 100})
		got, _, _ := bundle.ReadFile(b, "logs/kernel.log", 0)
		if !bytes.Equal(got, big[:100]) {
			t.Errorf("cut file holds %d bytes", len(got))
		}
		requireProblem(t, b, "logs/kernel.log", "cut at 100 bytes")
	})
}

// bombWriter writes a gzip'd tar whose single entry claims 16 GiB of zeros,
// generated on the fly; it stops as soon as the reader stops reading.
func bombWriter(w *io.PipeWriter, size int64) {
	zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
	tw := tar.NewWriter(zw)
	err := tw.WriteHeader(&tar.Header{Name: "logs/kernel.log", Typeflag: tar.TypeReg, Size: size, Mode: 0o644})
	zeros := make([]byte, 1<<20)
	for written := int64(0); err == nil && written < size; written += int64(len(zeros)) {
		_, err = tw.Write(zeros)
	}
	if err == nil {
		err = tw.Close()
	}
	if err == nil {
		err = zw.Close()
	}
	w.CloseWithError(err)
}

// A gzip bomb on stdin is cut by the limits in seconds, with bounded memory,
// and the run does not fail.
func TestGzipBomb(t *testing.T) {
	pr, pw := io.Pipe()
	go bombWriter(pw, 16<<30)
	defer pr.Close()

	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var peak uint64
	done := make(chan struct{})
	go func() {
		var m runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(50 * time.Millisecond):
				runtime.ReadMemStats(&m)
				peak = max(peak, m.HeapInuse)
			}
		}
	}()
	start := time.Now()
	tmp := t.TempDir()
	b := mustOpen(t, "-", bundle.Options{Stdin: pr, TempDir: tmp, MaxFileBytes: 32 << 20, MaxTotalBytes: 512 << 20})
	close(done)
	elapsed := time.Since(start)
	pr.Close()
	t.Logf("bomb cut after %v, heap in use peak %d MiB (before %d MiB)", elapsed, peak>>20, before.HeapInuse>>20)
	if elapsed > 60*time.Second {
		t.Errorf("took %v", elapsed)
	}
	if peak > before.HeapInuse+64<<20 {
		t.Errorf("heap grew by %d MiB", (peak-before.HeapInuse)>>20)
	}
	if size, _ := b.Size("logs/kernel.log"); size != 32<<20 {
		t.Errorf("kept %d bytes, want 32 MiB", size)
	}
	requireProblem(t, b, "logs/kernel.log", "per-file limit")
	requireProblem(t, b, "", "total size limit", "rest of the archive is skipped")
}

// 100,000 small entries are read, not refused (the limit is 250,000).
func TestManyEntries(t *testing.T) {
	const n = 100_000
	pr, pw := io.Pipe()
	go func() {
		zw, _ := gzip.NewWriterLevel(pw, gzip.BestSpeed)
		tw := tar.NewWriter(zw)
		var err error
		for i := 0; i < n && err == nil; i++ {
			body := fmt.Sprintf("%d\n", i)
			err = tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("cgroup/kubepods/pod%06d/memory.current", i),
				Typeflag: tar.TypeReg, Size: int64(len(body)), Mode: 0o644})
			if err == nil {
				_, err = io.WriteString(tw, body)
			}
		}
		if err == nil {
			err = tw.Close()
		}
		if err == nil {
			err = zw.Close()
		}
		pw.CloseWithError(err)
	}()
	b := mustOpen(t, "-", bundle.Options{Stdin: pr})
	if got := len(b.List("cgroup/")); got != n {
		t.Fatalf("read %d entries, want %d", got, n)
	}
	got, _, _ := bundle.ReadFile(b, "cgroup/kubepods/pod099999/memory.current", 0)
	if string(got) != "99999\n" {
		t.Errorf("last entry = %q", got)
	}
	requireProblem(t, b, bundle.ManifestPath, "no manifest.json")
	if len(b.Problems()) != 1 {
		t.Errorf("problems:\n%s", problemList(b))
	}
}

// Nothing is written outside the private temp area, which Close removes; with
// no TempDir given, the area sits under $TMPDIR.
func TestTempAreaOnly(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	cwd, _ := os.Getwd()
	beforeCwd, _ := os.ReadDir(cwd)
	files := withManifest(t, corpusFiles(t))
	data := zipBytes(t, entriesOf(t, corpusFiles(t))...)
	b, err := bundle.Open(t.Context(), "-", bundle.Options{Stdin: bytes.NewReader(data), MemFileBytes: 16})
	if err != nil {
		t.Fatal(err)
	}
	areas, _ := os.ReadDir(tmp)
	if len(areas) != 1 || !strings.HasPrefix(areas[0].Name(), "memsnap-bundle-") {
		t.Errorf("temp dir holds %v, want one private area", areas)
	}
	assertFiles(t, b, files)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	assertEmptyDir(t, tmp)
	afterCwd, _ := os.ReadDir(cwd)
	if len(afterCwd) != len(beforeCwd) {
		t.Errorf("working directory changed: %d entries, was %d", len(afterCwd), len(beforeCwd))
	}
	if _, err := b.Open("node/meminfo"); err == nil {
		t.Error("Open after Close succeeded")
	}
}

// Files and Problems can be used from several goroutines at once.
func TestConcurrentReads(t *testing.T) {
	files := corpusFiles(t)
	bad := testManifest(t, files, func(m *bundle.Manifest) {
		for i := range m.Files {
			m.Files[i].SHA256 = strings.Repeat("0", 64)
		}
	})
	entries := []testEntry{{Name: "manifest.json", Body: bad}}
	for name, body := range files {
		entries = append(entries, testEntry{Name: name, Body: body})
	}
	b := mustOpen(t, writeTemp(t, "b", gzipBytes(t, tarBytes(t, entries...))), bundle.Options{MemFileBytes: 1024})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for _, p := range b.List("") {
				bundle.ReadFile(b, p, 0)
				b.Problems()
			}
		})
	}
	wg.Wait()
	for name := range files {
		requireProblem(t, b, name, "sha256 mismatch")
	}
}
