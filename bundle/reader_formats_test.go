package bundle_test

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memsnap/memsnap/bundle"
)

// Every input DESIGN §2 lists opens to the same files. The file names lie on
// purpose: the format comes from the magic bytes.
func TestOpenEveryFormat(t *testing.T) {
	files := corpusFiles(t)
	want := withManifest(t, files)
	tarball := tarBytes(t, entriesOf(t, files)...)
	tgz := gzipBytes(t, tarball)
	cases := []struct {
		name  string
		data  []byte
		stdin bool
	}{
		{"tar.gz", tgz, false},
		{"tar.gz on stdin", tgz, true},
		{"tar", tarball, false},
		{"tar.xz", xzBytes(t, tarball), false},
		{"tar.zst", zstdBytes(t, tarball), false},
		{"tar.zst on stdin", zstdBytes(t, tarball), true},
		{"zip", zipBytes(t, entriesOf(t, files)...), false},
		{"zip on stdin (spooled)", zipBytes(t, entriesOf(t, files)...), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b *bundle.Bundle
			if c.stdin {
				b = mustOpen(t, "-", bundle.Options{Stdin: bytes.NewReader(c.data)})
				if b.Source() != "-" {
					t.Errorf("Source = %q", b.Source())
				}
			} else {
				b = mustOpen(t, writeTemp(t, "bundle.txt", c.data), bundle.Options{})
			}
			assertFiles(t, b, want)
			if len(b.Problems()) != 0 {
				t.Errorf("unexpected problems:\n%s", problemList(b))
			}
			m := b.Manifest()
			if m == nil || m.Node.NodeName != "node-a" {
				t.Fatalf("manifest = %+v", m)
			}
			// Reading through the View checks each sha256: all agree.
			for _, p := range b.List("") {
				bundle.ReadFile(b, p, 0)
			}
			if len(b.Problems()) != 0 {
				t.Errorf("problems after reading:\n%s", problemList(b))
			}
		})
	}
}

func TestOpenDirectory(t *testing.T) {
	files := withManifest(t, corpusFiles(t))
	dir := t.TempDir()
	writeTree(t, dir, files)
	b := mustOpen(t, dir, bundle.Options{})
	assertFiles(t, b, files)
	if len(b.Problems()) != 0 {
		t.Errorf("unexpected problems:\n%s", problemList(b))
	}
}

func writeTree(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Entries under one top-level directory, as `tar -czf x.tgz memsnap-node1/`
// makes, and "./" prefixes, as `tar -C dir .` makes, are stripped.
func TestTopLevelDirectoryStripped(t *testing.T) {
	files := withManifest(t, map[string][]byte{
		"node/meminfo":                []byte("MemTotal: 1 kB\n"),
		"cgroup/kubepods/memory.stat": []byte("anon 1\n"),
	})
	for _, prefix := range []string{"memsnap-node1/", "./memsnap-node1/", "./"} {
		t.Run(prefix, func(t *testing.T) {
			entries := []testEntry{{Name: "./", Type: tar.TypeDir}, {Name: prefix, Type: tar.TypeDir}}
			for _, name := range []string{"cgroup/kubepods/memory.stat", "manifest.json", "node/meminfo"} {
				entries = append(entries, testEntry{Name: prefix + name, Body: files[name]})
			}
			b := mustOpen(t, writeTemp(t, "b.tgz", gzipBytes(t, tarBytes(t, entries...))), bundle.Options{})
			assertFiles(t, b, files)
			if b.Manifest() == nil {
				t.Errorf("manifest not found after the strip:\n%s", problemList(b))
			}
		})
	}
	t.Run("hand-made cgroup tree is not stripped", func(t *testing.T) {
		only := map[string][]byte{"cgroup/kubepods/memory.stat": []byte("anon 1\n")}
		b := mustOpen(t, writeTemp(t, "b.tar", tarBytes(t, file("cgroup/kubepods/memory.stat", "anon 1\n"))), bundle.Options{})
		assertFiles(t, b, only)
		requireProblem(t, b, "manifest.json", "no manifest.json: analysed from the known paths")
	})
}

// One level of nesting is opened; two are refused with a clear error.
func TestNesting(t *testing.T) {
	files := withManifest(t, map[string][]byte{"node/meminfo": []byte("MemTotal: 1 kB\n")})
	tgz := gzipBytes(t, tarBytes(t, entriesOf(t, map[string][]byte{"node/meminfo": files["node/meminfo"]})...))

	accepted := map[string][]byte{
		"zip holding a tar.gz":               zipBytes(t, testEntry{Name: "memsnap-node1.tar.gz", Body: tgz}),
		"zip holding a folder with a tar.gz": zipBytes(t, testEntry{Name: "Downloads/", Type: tar.TypeDir}, testEntry{Name: "Downloads/memsnap.tgz", Body: tgz}),
		"tar.gz holding a zip":               gzipBytes(t, tarBytes(t, testEntry{Name: "b.zip", Body: zipBytes(t, entriesOf(t, map[string][]byte{"node/meminfo": files["node/meminfo"]})...)})),
		"gzip around a tar.gz":               gzipBytes(t, tgz),
	}
	for name, data := range accepted {
		t.Run(name, func(t *testing.T) {
			b := mustOpen(t, writeTemp(t, "x", data), bundle.Options{MemFileBytes: 64}) // the inner archive spills
			assertFiles(t, b, files)
		})
	}
	t.Run("directory holding a tar.gz", func(t *testing.T) {
		dir := t.TempDir()
		writeTree(t, dir, map[string][]byte{"memsnap.tar.gz": tgz})
		assertFiles(t, mustOpen(t, dir, bundle.Options{}), files)
	})

	inner := zipBytes(t, testEntry{Name: "memsnap.tar.gz", Body: tgz})
	refused := map[string][]byte{
		"tar.gz holding a zip holding a tar.gz": gzipBytes(t, tarBytes(t, file("outer.zip", string(inner)))),
		"gzip around a zip holding a tar.gz":    gzipBytes(t, inner),
		"gzip around a gzip around a tar.gz":    gzipBytes(t, gzipBytes(t, tgz)),
	}
	for name, data := range refused {
		t.Run(name, func(t *testing.T) {
			_, err := openPath(t, writeTemp(t, "x", data), bundle.Options{})
			if err == nil || !strings.Contains(err.Error(), "nested two deep") {
				t.Fatalf("err = %v, want nested two deep", err)
			}
		})
	}
}

// Files inside a bundle are data: an archive at a bundle path stays a file.
func TestArchiveInsideBundleIsData(t *testing.T) {
	inner := gzipBytes(t, tarBytes(t, file("node/meminfo", "MemTotal: 2 kB\n")))
	files := map[string][]byte{"kubelet/log.txt": inner}
	b := mustOpen(t, writeTemp(t, "b", gzipBytes(t, tarBytes(t, file("kubelet/log.txt", string(inner))))), bundle.Options{})
	assertFiles(t, b, files)
}

func TestUnusableInput(t *testing.T) {
	tgz := gzipBytes(t, tarBytes(t, file("node/meminfo", strings.Repeat("x", 4096))))
	cases := []struct {
		name, path string
		data       []byte
		want       string
	}{
		{"empty file", "f", []byte{}, "empty file"},
		{"garbage", "f", []byte("this is not an archive, just text\n"), "not an archive nor a directory"},
		{"7z", "f", []byte("7z\xbc\xaf\x27\x1c\x00\x04 rest of a 7z"), "unsupported format .7z"},
		{"truncated before the first entry", "f", tgz[:20], "no entry could be read"},
		{"tar header only", "f", tarBytes(t, file("a", "b"))[:100], "not an archive"},
		{"missing path", "", nil, "no such file or directory"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "missing.tgz")
			if c.data != nil {
				path = writeTemp(t, c.path, c.data)
			}
			_, err := openPath(t, path, bundle.Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			if !strings.Contains(err.Error(), filepath.Base(path)) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
	t.Run("empty stdin", func(t *testing.T) {
		_, err := openPath(t, "-", bundle.Options{Stdin: bytes.NewReader(nil)})
		if err == nil || !strings.Contains(err.Error(), "stdin: empty input") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("stdin not given", func(t *testing.T) {
		if _, err := bundle.Open(context.Background(), "-", bundle.Options{}); err == nil {
			t.Fatal("no error")
		}
	})
}
