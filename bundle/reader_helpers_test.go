package bundle_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/memsnap/memsnap/bundle"
	"github.com/memsnap/memsnap/internal/testcorpus"
	"github.com/ulikunitz/xz"
)

// testEntry is one archive entry a test builds. Type 0 means a regular file.
type testEntry struct {
	Name string
	Body []byte
	Type byte
	Link string
}

func file(name, body string) testEntry { return testEntry{Name: name, Body: []byte(body)} }

// corpusFiles is a small bundle made of real public samples (../shared/corpus),
// at the paths the collector writes them to.
func corpusFiles(t testing.TB) map[string][]byte {
	t.Helper()
	read := func(elem ...string) []byte {
		b, err := os.ReadFile(testcorpus.Path(t, elem...))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	scope := "cgroup/kubepods.slice/kubepods-burstable.slice/cri-containerd-1.scope/"
	return map[string][]byte{
		scope + "memory.stat":             read("cgroup", "docker-v2-container-scope", "memory.stat"),
		scope + "memory.current":          read("cgroup", "docker-v2-container-scope", "memory.current"),
		scope + "memory.max":              read("cgroup", "docker-v2-container-scope", "memory.max"),
		"logs/kernel.log":                 read("oom-logs", "aks-container-limit-oom-cgroupv2-syslog.log"),
		"kubelet/summary.json":            read("kubelet-summary", "nri-kubernetes-k8s-1_28-stats-summary.json"),
		"pprof/operator/heap.pb.gz":       read("pprof", "parca-k8s-operator-heap.pb.gz"),
		"systemd/containerd.service.show": read("systemd", "systemctl-show-containerd.service-ubuntu20.04-k8s-master.txt"),
	}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// testManifest returns a v1 manifest listing files with their digests.
func testManifest(t testing.TB, files map[string][]byte, edit func(*bundle.Manifest)) []byte {
	t.Helper()
	m := bundle.Manifest{
		Format: bundle.Format, FormatVersion: bundle.FormatVersion,
		Collector: bundle.Collector{Name: "memsnap-collect", Version: "0.1.0-test", Mode: "binary"},
		Created:   "2024-05-01T10:00:00Z",
		Node: bundle.NodeInfo{Hostname: "node-a", NodeName: "node-a", Kernel: "5.15.0-1041-azure",
			CgroupMode: "unified", CgroupVersion: 2, CgroupDriver: "systemd", PageSize: 4096,
			MemTotalBytes: 8 << 30, BootTime: "2024-04-30T08:00:00Z"},
		Sources: []bundle.Source{
			{Name: "logs", Paths: []string{"logs/"}, Status: "ok", DurationMS: 12, Files: 1},
			{Name: "cgroup", Paths: []string{"cgroup/"}, Status: "ok", DurationMS: 40, Files: 3},
			{Name: "kubelet", Paths: []string{"kubelet/"}, Status: "partial", Error: "configz: 403 Forbidden", DurationMS: 300, Files: 1},
		},
		Redactions: []bundle.Redaction{{Path: "kubelet/flags.txt", Rule: "token", Count: 1}},
	}
	for name, body := range files {
		m.Files = append(m.Files, bundle.FileEntry{Path: name, Bytes: int64(len(body)), SHA256: sha(body)})
	}
	sort.Slice(m.Files, func(i, j int) bool { return m.Files[i].Path < m.Files[j].Path })
	if edit != nil {
		edit(&m)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// entriesOf returns files (sorted) plus their manifest, as archive entries.
func entriesOf(t testing.TB, files map[string][]byte) []testEntry {
	var out []testEntry
	for name, body := range files {
		out = append(out, testEntry{Name: name, Body: body})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return append(out, testEntry{Name: bundle.ManifestPath, Body: testManifest(t, files, nil)})
}

func tarBytes(t testing.TB, entries ...testEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		typ := e.Type
		if typ == 0 {
			typ = tar.TypeReg
		}
		h := &tar.Header{Name: e.Name, Typeflag: typ, Linkname: e.Link, Mode: 0o644, Format: tar.FormatPAX}
		if typ == tar.TypeReg {
			h.Size = int64(len(e.Body))
		}
		if typ == tar.TypeDir {
			h.Mode = 0o755
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatalf("%s: %v", e.Name, err)
		}
		if typ == tar.TypeReg {
			if _, err := tw.Write(e.Body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func xzBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := xz.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zstdBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := zstd.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// zipBytes builds a zip; Type tar.TypeSymlink becomes a symlink-mode entry
// whose body is the link target, as Info-ZIP writes them.
func zipBytes(t testing.TB, entries ...testEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.Name, Method: zip.Deflate}
		switch e.Type {
		case tar.TypeSymlink:
			h.SetMode(fs.ModeSymlink | 0o777)
			e.Body = []byte(e.Link)
		case tar.TypeDir:
			h.SetMode(fs.ModeDir | 0o755)
		case tar.TypeFifo:
			h.SetMode(fs.ModeNamedPipe | 0o644)
		default:
			h.SetMode(0o644)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(e.Body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// writeTemp writes data to a file named name in a fresh directory.
func writeTemp(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// openPath opens path with a private TempDir and closes the bundle after
// the test, checking that nothing is left behind.
func openPath(t testing.TB, path string, opts bundle.Options) (*bundle.Bundle, error) {
	t.Helper()
	if opts.TempDir == "" {
		opts.TempDir = t.TempDir()
	}
	b, err := bundle.Open(context.Background(), path, opts)
	if err == nil {
		t.Cleanup(func() {
			if err := b.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			assertEmptyDir(t, opts.TempDir)
		})
	} else {
		assertEmptyDir(t, opts.TempDir)
	}
	return b, err
}

func mustOpen(t testing.TB, path string, opts bundle.Options) *bundle.Bundle {
	t.Helper()
	b, err := openPath(t, path, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	return b
}

func assertEmptyDir(t testing.TB, dir string) {
	t.Helper()
	left, err := os.ReadDir(dir)
	if err != nil {
		t.Errorf("reading temp dir: %v", err)
	}
	for _, e := range left {
		t.Errorf("left behind in the temp dir: %s", e.Name())
	}
}

// assertFiles checks that b holds exactly want, byte for byte.
func assertFiles(t testing.TB, b *bundle.Bundle, want map[string][]byte) {
	t.Helper()
	var names []string
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	if got := b.List(""); strings.Join(got, "\n") != strings.Join(names, "\n") {
		t.Fatalf("files:\n got %q\nwant %q", got, names)
	}
	for _, n := range names {
		got, cut, err := bundle.ReadFile(b, n, 0)
		if err != nil || cut {
			t.Fatalf("ReadFile(%s): %v cut=%v", n, err, cut)
		}
		if !bytes.Equal(got, want[n]) {
			t.Errorf("%s: content differs (%d bytes, want %d)", n, len(got), len(want[n]))
		}
		if size, ok := b.Size(n); !ok || size != int64(len(want[n])) {
			t.Errorf("Size(%s) = %d, %v", n, size, ok)
		}
	}
}

// hasProblem reports whether b has a problem at path whose message contains
// every fragment.
func hasProblem(b *bundle.Bundle, path string, fragments ...string) bool {
	for _, p := range b.Problems() {
		if p.Path != path {
			continue
		}
		ok := true
		for _, f := range fragments {
			ok = ok && strings.Contains(p.Message, f)
		}
		if ok {
			return true
		}
	}
	return false
}

func requireProblem(t testing.TB, b *bundle.Bundle, path string, fragments ...string) {
	t.Helper()
	if !hasProblem(b, path, fragments...) {
		t.Errorf("no problem at %q containing %q; problems:\n%s", path, fragments, problemList(b))
	}
}

func problemList(b *bundle.Bundle) string {
	var s strings.Builder
	for _, p := range b.Problems() {
		s.WriteString("  " + p.Path + ": " + p.Message + "\n")
	}
	return s.String()
}

func withManifest(t testing.TB, files map[string][]byte) map[string][]byte {
	out := map[string][]byte{bundle.ManifestPath: testManifest(t, files, nil)}
	for k, v := range files {
		out[k] = v
	}
	return out
}
