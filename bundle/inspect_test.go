package bundle_test

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"path/filepath"
	"sort"
	"testing"
	"time"

	goldenfile "github.com/memsnap/memsnap/internal/golden"

	"github.com/memsnap/memsnap/bundle"
)

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", name), got)
}

// inspectFixture is a bundle of real samples with the usual ways a bundle
// goes wrong: a file edited after collection, one lost, one added, a refused
// entry.
func inspectFixture(t *testing.T) []byte {
	files := corpusFiles(t)
	manifest := testManifest(t, files, func(m *bundle.Manifest) {
		m.Files = append(m.Files, bundle.FileEntry{Path: "node/meminfo", Bytes: 1200, SHA256: sha([]byte("lost"))})
		m.Warnings = []string{"kubelet: /configz denied (403)"}
	})
	var entries []testEntry
	for _, name := range []string{
		"cgroup/kubepods.slice/kubepods-burstable.slice/cri-containerd-1.scope/memory.current",
		"cgroup/kubepods.slice/kubepods-burstable.slice/cri-containerd-1.scope/memory.max",
		"cgroup/kubepods.slice/kubepods-burstable.slice/cri-containerd-1.scope/memory.stat",
		"kubelet/summary.json", "pprof/operator/heap.pb.gz", "systemd/containerd.service.show",
	} {
		entries = append(entries, testEntry{Name: "memsnap-node-a/" + name, Body: files[name]})
	}
	entries = append(entries,
		testEntry{Name: "memsnap-node-a/logs/kernel.log", Body: append(files["logs/kernel.log"], "edited\n"...)},
		testEntry{Name: "memsnap-node-a/notes.txt", Body: []byte("added by hand\n")},
		testEntry{Name: "memsnap-node-a/node/passwd", Type: tar.TypeSymlink, Link: "/etc/passwd"},
		testEntry{Name: "memsnap-node-a/manifest.json", Body: manifest},
	)
	return gzipBytes(t, tarBytes(t, entries...))
}

func TestInspectGolden(t *testing.T) {
	b := mustOpen(t, "-", bundle.Options{Stdin: bytes.NewReader(inspectFixture(t))})
	r := bundle.Inspect(b)
	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	golden(t, "inspect/corpus-bundle.txt", text.Bytes())
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "inspect/corpus-bundle.json", append(js, '\n'))

	// Inspect also records what it found, for the analyzer's report.
	requireProblem(t, b, "logs/kernel.log", "sha256 mismatch")
	// And it is deterministic.
	var again bytes.Buffer
	bundle.Inspect(b).WriteText(&again)
	if !bytes.Equal(again.Bytes(), text.Bytes()) {
		t.Error("a second Inspect differs")
	}
}

func TestInspectWithoutManifest(t *testing.T) {
	b := mustOpen(t, "-", bundle.Options{Stdin: bytes.NewReader(tarBytes(t,
		file("node/meminfo", "MemTotal: 1 kB\n"), file("node/\x1b[31mred", "x")))})
	r := bundle.Inspect(b)
	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	golden(t, "inspect/no-manifest.txt", text.Bytes())
	if bytes.Contains(text.Bytes(), []byte("\x1b")) {
		t.Error("a terminal escape from an entry name reached the text output")
	}
}

// The collector's Writer and this reader agree on the format: every file
// verifies.
func TestWriterReaderRoundTrip(t *testing.T) {
	var out bytes.Buffer
	w, err := bundle.NewWriter(&out, bundle.WriterOptions{SpoolDir: t.TempDir(), ModTime: time.Unix(1700000000, 0)})
	if err != nil {
		t.Fatal(err)
	}
	files := corpusFiles(t)
	for _, name := range sortedKeys(files) {
		if _, err := w.AddBytes(name, files[name]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(&bundle.Manifest{Created: "2024-05-01T10:00:00Z"}); err != nil {
		t.Fatal(err)
	}
	b := mustOpen(t, "-", bundle.Options{Stdin: &out})
	r := bundle.Inspect(b)
	if r.Totals.Checks[bundle.CheckOK] != len(files) || len(r.Problems) != 0 {
		t.Errorf("checks %v, problems %v", r.Totals.Checks, r.Problems)
	}
}

func sortedKeys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
