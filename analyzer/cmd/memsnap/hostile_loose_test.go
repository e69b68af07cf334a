package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// repeatReader streams n bytes of a pattern without holding them.
type repeatReader struct {
	head []byte
	pat  byte
	n    int64
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if len(r.head) > 0 {
		c := copy(p, r.head)
		r.head = r.head[c:]
		return c, nil
	}
	if r.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.n {
		p = p[:r.n]
	}
	for i := range p {
		p[i] = r.pat
	}
	r.n -= int64(len(p))
	return len(p), nil
}

// peakHeap runs f and samples the heap while it runs.
func peakHeap(f func()) uint64 {
	done := make(chan struct{})
	var peak uint64
	go func() {
		var ms runtime.MemStats
		for {
			select {
			case <-done:
				return
			default:
			}
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			runtime.Gosched()
		}
	}()
	f()
	close(done)
	return peak
}

const looseHeapBound = 300 << 20

// TestHostileLooseFiles: loose inputs built to hurt — a 2 GB single line
// (streamed, never stored whole), binary garbage named dmesg.txt, a YAML
// anchor bomb, a 200,000-deep JSON document, a gzip bomb as a single .gz —
// give no crash, bounded memory and a message naming the file.
func TestHostileLooseFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 2 GB")
	}
	run1 := func(t *testing.T, stdin io.Reader, arg string) (int, string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		code := 0
		peak := peakHeap(func() {
			code = run(context.Background(), []string{"analyze", "--format", "json", "-o", "-", "--now", fixedNow, arg},
				Streams{Stdin: stdin, Stdout: &out, Stderr: &errb})
		})
		if peak > looseHeapBound {
			t.Errorf("heap in use peaked at %d MiB, bound %d MiB", peak>>20, looseHeapBound>>20)
		}
		return code, out.String(), errb.String()
	}
	t.Run("2GB single line on stdin", func(t *testing.T) {
		head := "[ 1.000000] x invoked oom-killer: gfp_mask=0x0, order=0, oom_score_adj=0\n[ 1.000001] memory: usage 10kB, limit 10kB, failcnt 1\n[ 1.000002] "
		code, out, stderr := run1(t, &repeatReader{head: []byte(head), pat: 'x', n: 2 << 30}, "-")
		if code > 1 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if !strings.Contains(stderr, "cut at") || !strings.Contains(out, "line longer than") {
			t.Errorf("no message about the cut file / skipped line:\n%s", stderr)
		}
	})
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Run("binary garbage named dmesg.txt", func(t *testing.T) {
		garbage := make([]byte, 1<<20)
		for i := range garbage {
			garbage[i] = byte(i*7919 + i>>8)
		}
		p := write("dmesg.txt", garbage)
		code, _, stderr := run1(t, nil, p)
		if code != 2 || !strings.Contains(stderr, "dmesg.txt") || !strings.Contains(stderr, "binary data") {
			t.Errorf("exit %d, stderr %q: want exit 2 naming dmesg.txt as binary data", code, stderr)
		}
	})
	t.Run("yaml anchor bomb and deep json beside a kernel log", func(t *testing.T) {
		tdir := t.TempDir()
		log, _ := os.ReadFile(filepath.Join(samplesDir(t), "seed-001-anon-oom", "logs", "kernel.log"))
		os.WriteFile(filepath.Join(tdir, "a.txt"), log, 0o644)
		bomb := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\na: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
		prev := "a"
		for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
			bomb += n + ": &" + n + " [" + strings.Repeat("*"+prev+",", 8) + "*" + prev + "]\n"
			prev = n
		}
		os.WriteFile(filepath.Join(tdir, "pod.yaml.txt"), []byte(bomb), 0o644)
		deep := `{"kind":"PodList","items":` + strings.Repeat("[", 200_000) + strings.Repeat("]", 200_000) + "}"
		os.WriteFile(filepath.Join(tdir, "pods.json"), []byte(deep), 0o644)
		code, out, stderr := run1(t, nil, tdir)
		if code > 1 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if !strings.Contains(out, "pod.yaml.txt") || !strings.Contains(out, "pods.json") {
			t.Errorf("the report does not name the hostile files:\n%s", stderr)
		}
		if !strings.Contains(out, `"oom-kill"`) {
			t.Errorf("the kernel log beside them was not analysed")
		}
	})
	t.Run("gzip bomb as a single .gz", func(t *testing.T) {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		io.Copy(zw, &repeatReader{pat: '\n', n: 1 << 30})
		zw.Close()
		p := write("dmesg.gz", buf.Bytes())
		code, _, stderr := run1(t, nil, p)
		if code > 2 || !strings.Contains(stderr, "dmesg") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
}
