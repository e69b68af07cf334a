package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/memsnap/memsnap/internal/testcorpus"
	"github.com/memsnap/memsnap/report/schema"
)

const fixedNow = "2026-01-01T00:00:00Z"

// memsnap runs the CLI in-process.
func memsnap(t *testing.T, stdin []byte, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, Streams{Stdin: bytes.NewReader(stdin), Stdout: &out, Stderr: &errb})
	return code, out.String(), errb.String()
}

func samplesDir(t *testing.T) string {
	return filepath.Join(testcorpus.RepoRoot(t), "samples")
}

func analyzeJSON(t *testing.T, args ...string) *schema.Document {
	t.Helper()
	code, out, stderr := memsnap(t, nil, append([]string{"analyze", "--format", "json", "-o", "-", "--now", fixedNow}, args...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc schema.Document
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("invalid JSON: %v", err)
	}
	return &doc
}

type triple struct{ rule, subject, severity string }

// sampleWants reads samples/README.md: each "## <sample>" section holds a
// ```findings block of "rule<TAB>subject<TAB>severity" lines.
func sampleWants(t *testing.T) map[string][]triple {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(samplesDir(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	wants := map[string][]triple{}
	heading := regexp.MustCompile("^##+ +`?([a-z0-9-]+)`?")
	var sample string
	in := false
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case !in && heading.MatchString(line):
			sample = heading.FindStringSubmatch(line)[1]
		case strings.HasPrefix(line, "```findings"):
			in = true
			if _, ok := wants[sample]; !ok {
				wants[sample] = []triple{}
			}
		case in && strings.HasPrefix(line, "```"):
			in = false
		case in && strings.TrimSpace(line) != "":
			f := strings.Split(line, "\t")
			if len(f) != 3 {
				t.Fatalf("samples/README.md: %q: want rule<TAB>subject<TAB>severity", line)
			}
			wants[sample] = append(wants[sample], triple{f[0], f[1], f[2]})
		}
	}
	return wants
}

// TestSampleFindings asserts that every sample yields exactly the findings
// samples/README.md lists — an extra finding fails too — and that the healthy
// samples have nothing above info.
func TestSampleFindings(t *testing.T) {
	wants := sampleWants(t)
	dirs, _ := filepath.Glob(filepath.Join(samplesDir(t), "*", "manifest.json"))
	if len(dirs) < 3 {
		t.Fatalf("found %d sample bundles, want at least 3", len(dirs))
	}
	// Ticket samples are loose files without a manifest (#13).
	tickets := ticketSamples(t)
	dirs = append(dirs, tickets...)
	for _, m := range dirs {
		dir := filepath.Dir(m)
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			want, ok := wants[name]
			if !ok {
				t.Fatalf("samples/README.md has no findings block for %s", name)
			}
			doc := analyzeJSON(t, dir)
			var got []triple
			for _, f := range doc.Findings {
				got = append(got, triple{f.Rule, f.Subject, f.Severity})
				if strings.HasPrefix(name, "healthy") && schema.SeverityRank(f.Severity) > schema.SeverityRank(schema.Info) {
					t.Errorf("healthy sample has %s finding %s %s: %s", f.Severity, f.Rule, f.Subject, f.Summary)
				}
			}
			sortTriples(got)
			sortTriples(want)
			if !equalTriples(got, want) {
				t.Errorf("findings differ from samples/README.md\n got: %v\nwant: %v", got, want)
				for _, f := range doc.Findings {
					t.Logf("%s\t%s\t%s\t%s", f.Rule, f.Subject, f.Severity, f.Summary)
				}
			}
			for _, b := range doc.Bundles {
				for _, p := range b.Problems {
					t.Logf("problem: %s", p)
				}
			}
		})
	}
}

func sortTriples(s []triple) {
	sort.Slice(s, func(i, j int) bool {
		if s[i].rule != s[j].rule {
			return s[i].rule < s[j].rule
		}
		if s[i].subject != s[j].subject {
			return s[i].subject < s[j].subject
		}
		return s[i].severity < s[j].severity
	})
}

func equalTriples(a, b []triple) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSeed000PageCacheEvidence(t *testing.T) {
	doc := analyzeJSON(t, filepath.Join(samplesDir(t), "seed-000-page-cache"))
	for _, f := range doc.Findings {
		if f.Rule != "working-set-page-cache" {
			continue
		}
		for _, e := range f.Evidence {
			if e.Key == "total_active_file" && e.Value.String() == "795275264" {
				return
			}
		}
		t.Fatalf("working-set-page-cache finding does not cite total_active_file = 795275264: %+v", f.Evidence)
	}
	t.Fatal("no working-set-page-cache finding for seed 000")
}

func TestSeed001OOMAttributed(t *testing.T) {
	doc := analyzeJSON(t, filepath.Join(samplesDir(t), "seed-001-anon-oom"))
	for _, f := range doc.Findings {
		if f.Rule == "oom-kill" && f.Pod != "" && f.Container != "" && f.Namespace != "" {
			for _, e := range doc.OOMEvents {
				if e.Pod == f.Pod && e.Container == f.Container && e.LimitScope == "container" && e.FilledBy == "anon" {
					return
				}
			}
			t.Fatalf("oom-kill finding %s has no matching container-scope anon event: %+v", f.Subject, doc.OOMEvents)
		}
	}
	t.Fatalf("no oom-kill finding attributed to a pod and container: %+v", doc.Findings)
}

func TestExitCodes(t *testing.T) {
	seed1 := filepath.Join(samplesDir(t), "seed-001-anon-oom")
	healthy := filepath.Join(samplesDir(t), "healthy-v1")
	tmp := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"no args", []string{"analyze"}, 2},
		{"bad format", []string{"analyze", "--format", "pdf", seed1}, 2},
		{"bad fail-on", []string{"analyze", "--fail-on", "panic", seed1}, 2},
		{"bad now", []string{"analyze", "--now", "yesterday", seed1}, 2},
		{"negative jobs", []string{"analyze", "--jobs", "-1", seed1}, 2},
		{"two bundles at once", []string{"analyze", "-o", filepath.Join(tmp, "j.json"), "--format", "json", "--jobs", "2",
			"--fail-on", "critical", healthy, seed1}, 1},
		{"missing bundle", []string{"analyze", "-o", filepath.Join(tmp, "x.html"), filepath.Join(tmp, "nope.tgz")}, 2},
		{"unknown config key", []string{"analyze", "--config", writeTemp(t, "rulez: {}\n"), seed1}, 2},
		{"findings below fail-on", []string{"analyze", "-o", filepath.Join(tmp, "a.json"), "--format", "json", "--fail-on", "none", seed1}, 0},
		{"critical at fail-on critical", []string{"analyze", "-o", filepath.Join(tmp, "b.json"), "--format", "json", "--fail-on", "critical", seed1}, 1},
		{"healthy at fail-on warning", []string{"analyze", "-o", filepath.Join(tmp, "c.json"), "--format", "json", "--fail-on", "warning", healthy}, 0},
		{"suppressed does not count", []string{"analyze", "-o", filepath.Join(tmp, "d.json"), "--format", "json", "--fail-on", "warning",
			"--config", writeTemp(t, "suppress:\n  - rule: \"*\"\n    subject: \"*\"\n    reason: accepted risk\n"), seed1}, 0},
		{"unknown rule", []string{"explain", "no-such-rule"}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := memsnap(t, nil, tc.args...)
			if code != tc.want {
				t.Errorf("exit %d, want %d; stderr: %s", code, tc.want, stderr)
			}
			if tc.want == 2 && strings.TrimSpace(stderr) == "" {
				t.Errorf("exit 2 without a message")
			}
		})
	}
}

func writeTemp(t *testing.T, content string) string {
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDeterministic: the same input and --now give byte-identical files.
func TestDeterministic(t *testing.T) {
	args := []string{"analyze", "--now", fixedNow, "--format", "json", "--format", "html", "--format", "sarif", "--format", "junit", "--format", "markdown", "--format", "text"}
	var samples []string
	ms, _ := filepath.Glob(filepath.Join(samplesDir(t), "*", "manifest.json"))
	for _, m := range ms {
		samples = append(samples, filepath.Dir(m))
	}
	a, b := t.TempDir(), t.TempDir()
	for _, out := range []string{a, b} {
		if code, _, stderr := memsnap(t, nil, append(append(args, "-o", out), samples...)...); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	}
	entries, _ := os.ReadDir(a)
	if len(entries) != 6 {
		t.Errorf("%d files written for 6 formats", len(entries))
	}
	for _, e := range entries {
		fa, _ := os.ReadFile(filepath.Join(a, e.Name()))
		fb, _ := os.ReadFile(filepath.Join(b, e.Name()))
		if !bytes.Equal(fa, fb) {
			t.Errorf("%s differs between two runs", e.Name())
		}
		if e.Name() == "memsnap-report.html" && len(fa) > 5<<20 {
			t.Errorf("HTML report is %d bytes, over 5 MB", len(fa))
		}
	}
}

// hostileTarGz packs a sample with hostile entries around it.
func hostileTarGz(t *testing.T, sample string, hostile func(tw *tar.Writer), truncate bool) string {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	err := filepath.WalkDir(sample, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(sample, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: "bundle/" + filepath.ToSlash(rel), Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err = tw.Write(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	hostile(tw)
	tw.Close()
	gz.Close()
	data := buf.Bytes()
	if truncate {
		data = data[:len(data)-len(data)/20] // cut the gzip stream in the hostile tail
	}
	p := filepath.Join(t.TempDir(), "hostile.tar.gz")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func addFile(tw *tar.Writer, name, content string) {
	tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg})
	tw.Write([]byte(content))
}

// TestHostileBundleStillAnalysed: traversal names, a symlink, garbage in a
// memory.stat and a truncated gzip are reported, never a panic, and the rest
// of the bundle still yields its finding.
func TestHostileBundleStillAnalysed(t *testing.T) {
	sample := filepath.Join(samplesDir(t), "seed-000-page-cache")
	outside := t.TempDir()
	cases := []struct {
		name     string
		hostile  func(tw *tar.Writer)
		truncate bool
		problem  string
	}{
		{"traversal", func(tw *tar.Writer) { addFile(tw, "bundle/../../"+filepath.Base(outside)+"/pwned", "x") }, false, ".."},
		{"absolute", func(tw *tar.Writer) { addFile(tw, "/tmp/memsnap-pwned", "x") }, false, "absolute"},
		{"symlink", func(tw *tar.Writer) {
			tw.WriteHeader(&tar.Header{Name: "bundle/node/evil", Linkname: "/etc/passwd", Typeflag: tar.TypeSymlink})
		}, false, "link"},
		{"garbage memory.stat", func(tw *tar.Writer) {
			addFile(tw, "bundle/cgroup/system.slice/garbage.service/memory.stat", "cache 12\n\x00\xff\xfe not a stat line\nrss -\n")
			addFile(tw, "bundle/cgroup/system.slice/garbage.service/memory.usage_in_bytes", "4096\n")
		}, false, "memory.stat"},
		{"truncated gzip", func(tw *tar.Writer) {
			big := strings.Repeat("noise line for the truncated tail\n", 20000)
			addFile(tw, "bundle/logs/zz-tail.log", big)
		}, true, "truncated"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := hostileTarGz(t, sample, tc.hostile, tc.truncate)
			code, out, stderr := memsnap(t, nil, "analyze", "--format", "json", "-o", "-", "--now", fixedNow, p)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var doc schema.Document
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatal(err)
			}
			found := false
			for _, f := range doc.Findings {
				found = found || f.Rule == "working-set-page-cache"
			}
			if !found {
				t.Errorf("the sample's working-set-page-cache finding is gone")
			}
			all := strings.Join(doc.Bundles[0].Problems, "\n")
			if !strings.Contains(strings.ToLower(all), tc.problem) {
				t.Errorf("no problem mentioning %q; problems:\n%s", tc.problem, all)
			}
			if _, err := os.Stat(filepath.Join(outside, "pwned")); err == nil {
				t.Errorf("a file was written outside the output path")
			}
			if _, err := os.Stat("/tmp/memsnap-pwned"); err == nil {
				t.Errorf("/tmp/memsnap-pwned was written")
			}
		})
	}
}

func TestUnreadableInputExit2(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty.tgz")
	os.WriteFile(empty, nil, 0o644)
	garbage := filepath.Join(t.TempDir(), "garbage.tgz")
	os.WriteFile(garbage, bytes.Repeat([]byte("not an archive "), 100), 0o644)
	for _, p := range []string{empty, garbage} {
		code, _, stderr := memsnap(t, nil, "analyze", "--format", "json", "-o", "-", p)
		if code != 2 || !strings.Contains(stderr, filepath.Base(p)) {
			t.Errorf("%s: exit %d, stderr %q; want 2 naming the file", filepath.Base(p), code, stderr)
		}
	}
}

func TestRulesAndExplain(t *testing.T) {
	code, out, _ := memsnap(t, nil, "rules")
	if code != 0 || !strings.Contains(out, "working-set-page-cache") || !strings.Contains(out, "oom-kill") {
		t.Errorf("rules: exit %d, %q", code, out)
	}
	// One column for the severities: the titles line up whatever the ID.
	col := -1
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		id, _, _ := strings.Cut(line, " ")
		rest := strings.TrimLeft(line[len(id):], " ")
		if c := len(line) - len(rest); col == -1 {
			col = c
		} else if c != col {
			t.Errorf("rules: %q starts its severity at column %d, others at %d", line, c, col)
		}
	}
	code, out, _ = memsnap(t, nil, "explain", "oom-kill")
	if code != 0 || !strings.Contains(out, "Fix:") {
		t.Errorf("explain: exit %d, %q", code, out)
	}
	code, out, _ = memsnap(t, nil, "version")
	if code != 0 || !strings.HasPrefix(out, "memsnap ") {
		t.Errorf("version: %d %q", code, out)
	}
}

func TestStdinBundle(t *testing.T) {
	p := hostileTarGz(t, filepath.Join(samplesDir(t), "seed-001-anon-oom"), func(*tar.Writer) {}, false)
	data, _ := os.ReadFile(p)
	code, out, stderr := memsnap(t, data, "analyze", "--format", "json", "-o", "-", "--now", fixedNow, "-")
	if code != 0 || !strings.Contains(out, `"oom-kill"`) {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
}

// TestInspect: the sender's inventory checks every file against the
// manifest, and a tampered file shows as a mismatch.
func TestInspect(t *testing.T) {
	src := filepath.Join(samplesDir(t), "seed-000-page-cache")
	code, out, stderr := memsnap(t, nil, "inspect", src)
	if code != 0 || !strings.Contains(out, "memory.stat") {
		t.Fatalf("exit %d: %s\n%s", code, stderr, out)
	}
	if strings.Contains(out, "mismatch") {
		t.Errorf("an untouched sample shows a sha256 mismatch:\n%s", out)
	}
	tampered := t.TempDir()
	if err := os.CopyFS(tampered, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tampered, "node", "meminfo"), []byte("MemTotal: 1 kB\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ = memsnap(t, nil, "inspect", "--json", tampered)
	if code != 0 {
		t.Fatalf("inspect --json exit %d", code)
	}
	var inv struct {
		Files []struct{ Path, Check string } `json:"files"`
	}
	if err := json.Unmarshal([]byte(out), &inv); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range inv.Files {
		if f.Path == "node/meminfo" {
			found = true
			if f.Check != "mismatch" {
				t.Errorf("tampered node/meminfo check = %q, want mismatch", f.Check)
			}
		}
	}
	if !found {
		t.Errorf("node/meminfo not in the inventory")
	}
}
