package bundle_test

import (
	"archive/tar"
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/memsnap/memsnap/bundle"
)

func FuzzParseManifest(f *testing.F) {
	files := corpusFiles(f)
	f.Add(testManifest(f, files, nil))
	f.Add(testManifest(f, files, func(m *bundle.Manifest) { m.FormatVersion = 99 }))
	f.Add([]byte(`{"format":"memsnap-bundle","format_version":1,"files":[{"path":"a","bytes":-1,"sha256":"zz"}]}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"node":{"page_size":1e400}}`))
	f.Add([]byte(strings.Repeat("[", 10000)))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := bundle.ParseManifest(bytes.NewReader(data))
		if (m == nil) == (err == nil) {
			t.Fatalf("manifest %v with error %v", m, err)
		}
	})
}

// FuzzOpen feeds arbitrary bytes to Open as an archive on stdin: it must
// return a bundle or an error, never panic, and leave nothing behind.
func FuzzOpen(f *testing.F) {
	files := corpusFiles(f)
	small := map[string][]byte{"node/meminfo": []byte("MemTotal: 1 kB\n"),
		"cgroup/a/memory.stat": files["cgroup/kubepods.slice/kubepods-burstable.slice/cri-containerd-1.scope/memory.stat"]}
	tarball := tarBytes(f, entriesOf(f, small)...)
	f.Add(tarball)
	f.Add(gzipBytes(f, tarball))
	f.Add(xzBytes(f, tarball))
	f.Add(zstdBytes(f, tarball))
	f.Add(zipBytes(f, entriesOf(f, small)...))
	f.Add(zipBytes(f, testEntry{Name: "b.tgz", Body: gzipBytes(f, tarball)}))
	f.Add(tarBytes(f, file("../x", "y"), testEntry{Name: "l", Type: tar.TypeSymlink, Link: "/etc"}, file("a/b", "c")))
	f.Add(gzipBytes(f, tarball)[:60])
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tmp := t.TempDir()
		opts := bundle.Options{Stdin: bytes.NewReader(data), TempDir: tmp,
			MaxFileBytes: 1 << 20, MaxTotalBytes: 4 << 20, MaxEntries: 1000, MemFileBytes: 1024}
		b, err := bundle.Open(context.Background(), "-", opts)
		if err != nil {
			assertEmptyDir(t, tmp)
			return
		}
		for _, p := range b.List("") {
			if _, ok := b.Size(p); !ok {
				t.Fatalf("%q listed but has no size", p)
			}
			bundle.ReadFile(b, p, 0)
		}
		bundle.Inspect(b).WriteText(&bytes.Buffer{})
		b.Problems()
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		assertEmptyDir(t, tmp)
	})
}
