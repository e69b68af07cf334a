package main

import (
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memsnap/memsnap/internal/testcorpus"
	"github.com/memsnap/memsnap/report/schema"
)

// oomEventsOf runs analyze and returns its oom_events without the node
// field (a bundle directory and a loose file are named differently).
func oomEventsOf(t *testing.T, stdin []byte, arg string) string {
	t.Helper()
	code, out, stderr := memsnap(t, stdin, "analyze", "--format", "json", "-o", "-", "--now", fixedNow, arg)
	if code > 1 {
		t.Fatalf("analyze %s: exit %d: %s", arg, code, stderr)
	}
	var doc schema.Document
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("invalid JSON: %v", err)
	}
	for i := range doc.OOMEvents {
		doc.OOMEvents[i].Node = ""
	}
	b, _ := json.Marshal(doc.OOMEvents)
	return string(b)
}

// TestLooseKernelLog: every corpus OOM log analysed as a plain file, on
// stdin and gzip-compressed gives the oom_events of the same log inside a
// bundle (a directory holding it as logs/kernel.log).
func TestLooseKernelLog(t *testing.T) {
	dir := testcorpus.Path(t, "oom-logs")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if e.Name() == "EXPECTED.json" {
			continue
		}
		n++
		t.Run(e.Name(), func(t *testing.T) {
			path := filepath.Join(dir, e.Name())
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			bdir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(bdir, "logs"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(bdir, "logs", "kernel.log"), data, 0o644); err != nil {
				t.Fatal(err)
			}
			want := oomEventsOf(t, nil, bdir)
			if want == "[]" || want == "null" {
				t.Fatalf("the bundle gives no oom_events")
			}
			if got := oomEventsOf(t, nil, path); got != want {
				t.Errorf("analyze FILE:\n got %s\nwant %s", got, want)
			}
			if got := oomEventsOf(t, data, "-"); got != want {
				t.Errorf("cat FILE | analyze -:\n got %s\nwant %s", got, want)
			}
			gz := filepath.Join(t.TempDir(), "attachment.gz")
			writeGzip(t, gz, data)
			if got := oomEventsOf(t, nil, gz); got != want {
				t.Errorf("analyze FILE.gz:\n got %s\nwant %s", got, want)
			}
			// Quoted in a mail reply and dropped in a ticket directory
			// among other files, it still gives the same events.
			tdir := t.TempDir()
			quoted := "> " + strings.ReplaceAll(strings.TrimSuffix(string(data), "\n"), "\n", "\n> ") + "\n"
			os.WriteFile(filepath.Join(tdir, "mail.txt"), []byte(quoted), 0o644)
			os.WriteFile(filepath.Join(tdir, "notes.txt"), []byte("customer says it happens every night\n"), 0o644)
			if got := oomEventsOf(t, nil, tdir); got != want {
				t.Errorf("ticket directory with the quoted log:\n got %s\nwant %s", got, want)
			}
		})
	}
	if n == 0 {
		t.Fatal("no corpus OOM logs")
	}
}

func writeGzip(t *testing.T, path string, data []byte) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	zw.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}
