package bundle_test

import (
	"archive/tar"
	"bytes"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/memsnap/memsnap/bundle"
)

// Traversal, absolute names, links, devices, FIFOs, duplicates and invalid
// UTF-8 are each skipped with a Problem naming the entry; the rest is kept.
func TestHostileTarEntries(t *testing.T) {
	good := map[string][]byte{"node/meminfo": []byte("MemTotal: 1 kB\n")}
	entries := []testEntry{
		file("node/meminfo", "MemTotal: 1 kB\n"),
		file("../../etc/cron.d/evil", "* * * * * root sh\n"),
		file("node/../../escape", "x"),
		file("/etc/passwd", "root::0:0::/:/bin/sh\n"),
		{Name: "node/passwd", Type: tar.TypeSymlink, Link: "/etc/passwd"},
		{Name: "node/alias", Type: tar.TypeSymlink, Link: "meminfo"},
		{Name: "node/hard-passwd", Type: tar.TypeLink, Link: "/etc/passwd"},
		{Name: "node/hard-alias", Type: tar.TypeLink, Link: "node/meminfo"},
		{Name: "dev/sda", Type: tar.TypeBlock},
		{Name: "dev/null", Type: tar.TypeChar},
		{Name: "node/fifo", Type: tar.TypeFifo},
		file("node/meminfo", "MemTotal: 999999 kB (second copy)\n"),
		file("node/\xff\xfe-bad", "x"),
		file("C:\\Windows\\evil", "x"),
	}
	b := mustOpen(t, writeTemp(t, "b.tgz", gzipBytes(t, tarBytes(t, entries...))), bundle.Options{})
	assertFiles(t, b, good)
	requireProblem(t, b, "../../etc/cron.d/evil", `".." component`)
	requireProblem(t, b, "node/../../escape", `".." component`)
	requireProblem(t, b, "/etc/passwd", "absolute name")
	requireProblem(t, b, "node/passwd", "symbolic link", `"/etc/passwd"`)
	requireProblem(t, b, "node/alias", "symbolic link", `"meminfo"`)
	requireProblem(t, b, "node/hard-passwd", "hard link", `"/etc/passwd"`)
	requireProblem(t, b, "node/hard-alias", "hard link", `"node/meminfo"`)
	requireProblem(t, b, "dev/sda", "device node")
	requireProblem(t, b, "dev/null", "device node")
	requireProblem(t, b, "node/fifo", "named pipe")
	requireProblem(t, b, "node/meminfo", "duplicate entry: the first copy is kept")
	bad := strconv.Quote("node/\xff\xfe-bad")
	requireProblem(t, b, bad, bad, "not valid UTF-8")
	requireProblem(t, b, `C:\Windows\evil`, "absolute Windows name")
	for _, p := range b.Problems() {
		if !strings.Contains(p.Message, "refused") && !strings.Contains(p.Message, "duplicate") &&
			p.Path != bundle.ManifestPath {
			t.Errorf("unexpected problem %+v", p)
		}
	}
}

func TestHostileZipEntries(t *testing.T) {
	good := map[string][]byte{"node/meminfo": []byte("fine")}
	data := zipBytes(t,
		file("../../evil", "x"),
		file("/abs/evil", "x"),
		file("a/../../evil", "x"),
		file("node/meminfo", "fine"),
		testEntry{Name: "ok/link", Type: tar.TypeSymlink, Link: "/etc/passwd"},
		testEntry{Name: "ok/pipe", Type: tar.TypeFifo},
	)
	for _, stdin := range []bool{false, true} {
		var b *bundle.Bundle
		if stdin {
			b = mustOpen(t, "-", bundle.Options{Stdin: bytes.NewReader(data)})
		} else {
			b = mustOpen(t, writeTemp(t, "b.zip", data), bundle.Options{})
		}
		assertFiles(t, b, good)
		requireProblem(t, b, "../../evil", `".." component`)
		requireProblem(t, b, "a/../../evil", `".." component`)
		requireProblem(t, b, "/abs/evil", "absolute name")
		requireProblem(t, b, "ok/link", "symbolic link", `"/etc/passwd"`)
		requireProblem(t, b, "ok/pipe", "named pipe")
	}
}

// A truncated stream keeps every entry read before the damage and names the
// archive in a Problem.
func TestTruncatedStreams(t *testing.T) {
	var entries []testEntry
	files := map[string][]byte{}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 40 {
		name := "cgroup/pod" + strconv.Itoa(100+i) + "/memory.stat"
		var body []byte
		for range 400 + i*13 {
			body = fmt.Appendf(body, "anon %d\n", rng.Uint64())
		}
		entries = append(entries, testEntry{Name: name, Body: body})
		files[name] = body
	}
	tarball := tarBytes(t, entries...)
	cases := map[string][]byte{
		"gzip": gzipBytes(t, tarball)[:len(gzipBytes(t, tarball))*6/10],
		"tar":  tarball[:len(tarball)*6/10],
		"zstd": zstdBytes(t, tarball)[:len(zstdBytes(t, tarball))*6/10],
		"xz":   xzBytes(t, tarball)[:len(xzBytes(t, tarball))*6/10],
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			path := writeTemp(t, "cut.bundle", data)
			b := mustOpen(t, path, bundle.Options{})
			got := b.List("")
			if len(got) < 10 || len(got) >= len(entries) {
				t.Fatalf("kept %d of %d entries", len(got), len(entries))
			}
			complete := 0
			for _, p := range got {
				body, _, _ := bundle.ReadFile(b, p, 0)
				switch {
				case bytes.Equal(body, files[p]):
					complete++
				case !bytes.HasPrefix(files[p], body):
					t.Errorf("%s: kept content is not a prefix of the original", p)
				}
			}
			if complete < len(got)-1 {
				t.Errorf("only %d of %d kept entries are complete", complete, len(got))
			}
			requireProblem(t, b, "", path, "damaged or truncated", "entries read before the damage are kept")
		})
	}
}

// A manifest sha256 that disagrees with the content is a Problem when the
// file is read to the end through the View, and a mismatch in Inspect.
func TestSHA256Mismatch(t *testing.T) {
	files := map[string][]byte{"node/meminfo": []byte("MemTotal: 1 kB\n"), "node/uptime": []byte("10.0 20.0\n")}
	manifest := testManifest(t, files, nil)
	tampered := map[string][]byte{"node/meminfo": []byte("MemTotal: 2 kB\n"), "node/uptime": files["node/uptime"],
		bundle.ManifestPath: manifest}
	var entries []testEntry
	for _, n := range []string{"manifest.json", "node/meminfo", "node/uptime"} {
		entries = append(entries, testEntry{Name: n, Body: tampered[n]})
	}
	b := mustOpen(t, writeTemp(t, "b.tgz", gzipBytes(t, tarBytes(t, entries...))), bundle.Options{})
	if len(b.Problems()) != 0 {
		t.Fatalf("problems before reading:\n%s", problemList(b))
	}
	// A partial read proves nothing and reports nothing.
	if _, _, err := bundle.ReadFile(b, "node/meminfo", 4); err != nil {
		t.Fatal(err)
	}
	if len(b.Problems()) != 0 {
		t.Fatalf("problems after a partial read:\n%s", problemList(b))
	}
	bundle.ReadFile(b, "node/uptime", 0)
	bundle.ReadFile(b, "node/meminfo", 0)
	requireProblem(t, b, "node/meminfo", "sha256 mismatch", sha(files["node/meminfo"]), sha(tampered["node/meminfo"]))
	if hasProblem(b, "node/uptime") {
		t.Errorf("node/uptime matches its digest:\n%s", problemList(b))
	}
	r := bundle.Inspect(b)
	checks := map[string]string{}
	for _, f := range r.Files {
		checks[f.Path] = f.Check
	}
	if checks["node/meminfo"] != bundle.CheckMismatch || checks["node/uptime"] != bundle.CheckOK ||
		checks["manifest.json"] != bundle.CheckManifest {
		t.Errorf("checks = %v", checks)
	}
}

func TestManifestProblems(t *testing.T) {
	meminfo := file("node/meminfo", "MemTotal: 1 kB\n")
	newer := testManifest(t, map[string][]byte{"node/meminfo": meminfo.Body}, func(m *bundle.Manifest) { m.FormatVersion = 7 })
	cases := []struct {
		name     string
		manifest []byte
		want     string
		usable   bool
	}{
		{"missing", nil, "no manifest.json: analysed from the known paths", false},
		{"newer", newer, "newer format_version 7: analysed by the known paths", true},
		{"invalid JSON", []byte(`{"format": "memsnap-bundle", "files": [`), "invalid manifest", false},
		{"other format", []byte(`{"format": "something-else", "format_version": 1}`), `format is "something-else"`, false},
		{"no version", []byte(`{"format": "memsnap-bundle"}`), "format_version missing", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			entries := []testEntry{meminfo}
			if c.manifest != nil {
				entries = append(entries, testEntry{Name: "manifest.json", Body: c.manifest})
			}
			b := mustOpen(t, writeTemp(t, "b.tar", tarBytes(t, entries...)), bundle.Options{})
			requireProblem(t, b, bundle.ManifestPath, c.want)
			if (b.Manifest() != nil) != c.usable {
				t.Errorf("Manifest() = %v, usable %v", b.Manifest(), c.usable)
			}
			if body, _, err := bundle.ReadFile(b, "node/meminfo", 0); err != nil || !bytes.Equal(body, meminfo.Body) {
				t.Errorf("node/meminfo not analysable: %v", err)
			}
		})
	}
}
