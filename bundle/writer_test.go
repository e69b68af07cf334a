package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// untar returns the entries of a gzip tar in order.
func untar(t *testing.T, b []byte) (names []string, content map[string][]byte) {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	content = map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		c, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		content[h.Name] = c
	}
	return names, content
}

func TestWriterRoundTrip(t *testing.T) {
	var out bytes.Buffer
	w, err := NewWriter(&out, WriterOptions{MemSpool: 1024, SpoolDir: t.TempDir(), ModTime: time.Unix(1700000000, 0)})
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 10000) // spills to disk
	long := "cgroup/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod55c6c714_b240_4dec_9a45_57b61696ab6e.slice/cri-containerd-" + strings.Repeat("a", 64) + ".scope/memory.stat"
	files := map[string][]byte{
		"node/meminfo":             []byte("MemTotal: 1 kB\n"),
		"pprof/app/heap.pb.gz":     big,
		long:                       []byte("cache 0\n"),
		"kubelet/empty-but-exists": {},
	}
	order := []string{"node/meminfo", "pprof/app/heap.pb.gz", long, "kubelet/empty-but-exists"}
	for _, name := range order {
		fe, tr, err := w.Add(name, iotest.OneByteReader(bytes.NewReader(files[name])), -1)
		if err != nil || tr {
			t.Fatalf("Add(%s) = %v, truncated %v", name, err, tr)
		}
		sum := sha256.Sum256(files[name])
		if fe.SHA256 != hex.EncodeToString(sum[:]) || fe.Bytes != int64(len(files[name])) {
			t.Errorf("%s: entry %+v", name, fe)
		}
	}
	m := &Manifest{Collector: Collector{Name: "test", Mode: "binary"}}
	if err := w.Close(m); err != nil {
		t.Fatal(err)
	}
	names, content := untar(t, out.Bytes())
	if got, want := strings.Join(names, ","), strings.Join(append(order, ManifestPath), ","); got != want {
		t.Errorf("entries %s, want %s (manifest last)", got, want)
	}
	for name, want := range files {
		if !bytes.Equal(content[name], want) {
			t.Errorf("%s: content differs (%d vs %d bytes)", name, len(content[name]), len(want))
		}
	}
	pm, err := ParseManifest(bytes.NewReader(content[ManifestPath]))
	if err != nil {
		t.Fatal(err)
	}
	if pm.Format != Format || pm.FormatVersion != FormatVersion || len(pm.Files) != len(files) {
		t.Errorf("manifest %+v", pm)
	}
	for _, fe := range pm.Files {
		sum := sha256.Sum256(content[fe.Path])
		if fe.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: manifest sha256 mismatch", fe.Path)
		}
	}
}

func TestWriterBudget(t *testing.T) {
	var out bytes.Buffer
	w, _ := NewWriter(&out, WriterOptions{MaxBytes: 100, MemSpool: 16, SpoolDir: t.TempDir()})
	if _, tr, err := w.Add("a", strings.NewReader(strings.Repeat("x", 60)), -1); err != nil || tr {
		t.Fatalf("a: %v %v", err, tr)
	}
	fe, tr, err := w.Add("b", strings.NewReader(strings.Repeat("y", 60)), -1)
	if err != nil || !tr || fe.Bytes != 40 {
		t.Fatalf("b: want cut to 40 bytes, got %+v truncated=%v err=%v", fe, tr, err)
	}
	if _, _, err := w.Add("c", strings.NewReader("z"), -1); !errors.Is(err, ErrBudget) {
		t.Fatalf("c: want ErrBudget, got %v", err)
	}
	// An exact fit is not "truncated".
	w2, _ := NewWriter(io.Discard, WriterOptions{})
	if _, tr, err := w2.Add("d", strings.NewReader("1234"), 4); err != nil || tr {
		t.Fatalf("exact fit: %v %v", err, tr)
	}
	if _, tr, _ := w2.Add("e", strings.NewReader("12345"), 4); !tr {
		t.Fatal("over the per-file limit: want truncated")
	}
}

func TestWriterRefusals(t *testing.T) {
	w, _ := NewWriter(io.Discard, WriterOptions{})
	for _, name := range []string{"", "/abs", "a/../b", "../x", "dir/", ManifestPath, "a//b", "./a"} {
		if _, err := w.AddBytes(name, nil); err == nil {
			t.Errorf("AddBytes(%q): want error", name)
		}
	}
	if _, err := w.AddBytes("dup", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := w.AddBytes("dup", nil); err == nil {
		t.Error("duplicate: want error")
	}
	// A read error midway leaves no entry behind.
	if _, _, err := w.Add("broken", iotest.TimeoutReader(strings.NewReader(strings.Repeat("x", 10))), -1); err == nil {
		t.Error("broken reader: want error")
	}
	if _, err := w.AddBytes(strings.Repeat("n/", 2049), nil); err == nil {
		t.Error("name longer than PATH_MAX: want error")
	}
	if fs, err := w.Files(); err != nil || len(fs) != 1 {
		t.Errorf("files %v (%v), want only dup", fs, err)
	}
}

// failAfter accepts n bytes then fails like a full disk.
type failAfter struct{ n int }

func (f *failAfter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		k := f.n
		f.n = 0
		return k, errors.New("no space left on device")
	}
	f.n -= len(p)
	return len(p), nil
}

func TestWriterOutputErrorIsLatched(t *testing.T) {
	w, _ := NewWriter(&failAfter{n: 100}, WriterOptions{Level: gzip.BestSpeed})
	noise := make([]byte, 64<<10)
	rand.NewChaCha8([32]byte{1}).Read(noise) // incompressible, so gzip must flush
	var err error
	for i := 0; i < 10 && err == nil; i++ {
		_, err = w.AddBytes("f"+strings.Repeat("x", i), noise)
	}
	if err == nil || !strings.Contains(err.Error(), "no space") {
		t.Fatalf("want the disk error, got %v", err)
	}
	if _, err := w.AddBytes("later", []byte("x")); err == nil {
		t.Error("later Add after failure: want error")
	}
	if err := w.Close(&Manifest{}); err == nil {
		t.Error("Close after failure: want error")
	}
}

// TestWriterIndexSpills: a node's file list does not stay in memory — past
// indexMemory the encoded entries spill to an unlinked file — and the
// manifest still lists every entry, in commit order, with its sha256.
func TestWriterIndexSpills(t *testing.T) {
	var out bytes.Buffer
	dir := t.TempDir()
	w, err := NewWriter(&out, WriterOptions{SpoolDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	const n = 5000 // ~150 bytes an entry: 3× indexMemory
	for i := range n {
		name := fmt.Sprintf("cgroup/kubepods.slice/kubepods-burstable.slice/pod%05d.slice/memory.stat", i)
		if _, err := w.AddBytes(name, []byte(name)); err != nil {
			t.Fatal(err)
		}
	}
	if w.index.file == nil || w.index.mem.Len() > indexMemory {
		t.Fatalf("index kept %d bytes in memory, spilled: %v", w.index.mem.Len(), w.index.file != nil)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("spool directory holds %v: the index file must be unlinked", ents)
	}
	if _, err := w.AddBytes("cgroup/kubepods.slice/kubepods-burstable.slice/pod00042.slice/memory.stat", nil); err == nil {
		t.Error("duplicate of a spilled entry: want error")
	}
	if err := w.Close(&Manifest{Collector: Collector{Name: "test", Mode: "binary"}}); err != nil {
		t.Fatal(err)
	}
	_, content := untar(t, out.Bytes())
	pm, err := ParseManifest(bytes.NewReader(content[ManifestPath]))
	if err != nil {
		t.Fatal(err)
	}
	if len(pm.Files) != n {
		t.Fatalf("manifest lists %d files, want %d", len(pm.Files), n)
	}
	for i, fe := range pm.Files {
		want := fmt.Sprintf("cgroup/kubepods.slice/kubepods-burstable.slice/pod%05d.slice/memory.stat", i)
		sum := sha256.Sum256([]byte(want))
		if fe.Path != want || fe.SHA256 != hex.EncodeToString(sum[:]) || fe.Bytes != int64(len(want)) {
			t.Fatalf("entry %d: %+v, want %s", i, fe, want)
		}
	}
}
