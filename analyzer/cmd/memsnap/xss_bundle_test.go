//go:build linux

package main

// The browser XSS test end to end from bundles: report/xss_test.go poisons a
// synthetic Document; this one poisons the bundles themselves, lets the real
// reader, snapshot, rules and renderer carry every hostile string into the
// HTML report, and opens it in Chromium.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/pprof/profile"

	"github.com/memsnap/memsnap/report/browsertest"
	"github.com/memsnap/memsnap/report/schema"
)

// bundlePayloads each try to set window.__pwn from a different HTML context
// (the same four as report/xss_test.go): breaking out of a script element, an
// element with an event handler, a javascript: URL, quote-breaking out of an
// attribute.
var bundlePayloads = []string{
	`</script><script>window.__pwn=1</script>`,
	`<img src=x onerror="window.__pwn=1">`,
	`javascript:window.__pwn=1`,
	`'"><svg onload=window.__pwn=1>`,
}

// poisoned is one bundle-derived string: a tag naming its source, then a
// payload. The tag lets the test say which source lost its text.
type poisoned struct {
	source string
	text   string
	shown  bool // the report displays this source (label values, e.g., are only read)
}

func payloadFor(tag string, i int) string { return tag + "-" + bundlePayloads[i%len(bundlePayloads)] }

func TestXSSFromBundles(t *testing.T) {
	dir := t.TempDir()
	pageCache := filepath.Join(dir, "page-cache")
	oom := filepath.Join(dir, "anon-oom")
	copySample(t, "seed-000-page-cache", pageCache)
	copySample(t, "seed-001-anon-oom", oom)

	var sources []poisoned
	add := func(source, text string, shown bool) string {
		sources = append(sources, poisoned{source, text, shown})
		return text
	}

	// Pod names, namespaces, container names and label values, in pods.json
	// and the summary alike (the summary names pods too).
	for _, b := range []string{pageCache, oom} {
		names := map[string]string{}
		for _, f := range []string{"kubelet/pods.json", "kubelet/summary.json"} {
			editJSON(t, filepath.Join(b, f), func(v any) { poisonNames(v, names, add) })
		}
	}
	// Open file paths (fds.tsv): working-set-page-cache names the largest.
	fds := filepath.Join(pageCache, "proc", "1156", "fds.tsv")
	editFile(t, fds, func(b []byte) []byte {
		return bytes.Replace(b, []byte("/app/logs/app.log"), []byte("/app/logs/"+add("file path", payloadFor("FDPATH", 3), true)), 1)
	})
	// Process names in the OOM report, and a line beside it.
	proc := add("OOM process name", payloadFor("PROC", 0), true)
	logLine := add("kernel log line", payloadFor("KLOG", 1), true)
	editFile(t, filepath.Join(oom, "logs", "kernel.log"), func(b []byte) []byte {
		s := string(b)
		s = strings.ReplaceAll(s, "(main)", "("+proc+")")
		s = strings.ReplaceAll(s, "task=main,", "task="+proc+",")
		s = strings.ReplaceAll(s, "] main invoked oom-killer", "] "+proc+" invoked oom-killer")
		s = strings.Replace(s, "shmem-rss:0kB, UID:0 pgtables:644kB oom_score_adj:984\n",
			"shmem-rss:0kB, UID:0 pgtables:644kB oom_score_adj:984\n[95066.317679] "+logLine+"\n", 1)
		return []byte(s)
	})
	// Heap profile function names, and a target named by a payload.
	target := add("heap target name", payloadFor("TARGET", 1), true)
	fn := add("profile function name", payloadFor("FUNC", 0), true)
	writeHeapProfile(t, filepath.Join(pageCache, "pprof", target), fn)
	// Manifest: a source error and the node name.
	srcErr := add("manifest source error", payloadFor("SRCERR", 2), true)
	node := add("node name", payloadFor("NODE", 3), true)
	editJSON(t, filepath.Join(pageCache, "manifest.json"), func(v any) {
		m := v.(map[string]any)
		m["node"].(map[string]any)["node_name"] = node
		m["sources"] = append(m["sources"].([]any), map[string]any{"name": "cadvisor", "paths": []any{"cadvisor/"},
			"status": "failed", "error": srcErr})
	})
	// A bundle problem naming a hostile entry (a refused link).
	linkName := add("refused entry name", payloadFor("LINK", 3), true)
	must(t, os.Symlink("/etc/passwd", filepath.Join(pageCache, "logs", linkName)))
	// A suppression reason from --config.
	reason := add("config suppression reason", payloadFor("REASON", 1), true)
	cfg := filepath.Join(dir, "config.yaml")
	cfgJSON, _ := json.Marshal(map[string]any{"suppress": []any{map[string]any{
		"rule": "working-set-page-cache", "subject": "*", "reason": reason}}})
	must(t, os.WriteFile(cfg, cfgJSON, 0o644)) // JSON is YAML: no quoting to get wrong
	refreshManifest(t, pageCache)
	refreshManifest(t, oom)

	out := filepath.Join(dir, "out")
	code, _, stderr := memsnap(t, nil, "analyze", "--now", fixedNow, "--format", "html", "--format", "json",
		"--config", cfg, "-o", out, pageCache, oom)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	jsonReport, err := os.ReadFile(filepath.Join(out, "memsnap-report.json"))
	must(t, err)
	var doc schema.Document
	must(t, json.Unmarshal(jsonReport, &doc))
	assertPipelineCarried(t, &doc)

	// Log excerpts sit in collapsed <details class="excerpt">, which innerText
	// skips: the page is checked with them open. Only that attribute differs
	// (the scripts, which hold "<details" too, are untouched), so the CSP
	// hashes and every escaped string are the report's own.
	html, err := os.ReadFile(filepath.Join(out, "memsnap-report.html"))
	must(t, err)
	opened := filepath.Join(dir, "memsnap-report-opened.html")
	must(t, os.WriteFile(opened, bytes.ReplaceAll(html, []byte(`<details class="excerpt"`), []byte(`<details open class="excerpt"`)), 0o644))
	res := browsertest.Check(t, opened)
	text := res.Text
	for _, s := range sources {
		if !s.shown {
			continue
		}
		if !bytes.Contains(jsonReport, mustJSON(s.text)) {
			t.Errorf("%s: %q is not in the JSON report: the analysis lost it before rendering", s.source, s.text)
			continue
		}
		if !strings.Contains(text, s.text) {
			t.Errorf("%s: %q is not shown literally in the page", s.source, s.text)
		}
	}
}

// assertPipelineCarried checks the poisoned strings reached the findings and
// events the renderer draws: a test whose payloads never reach the report
// would pass for nothing.
func assertPipelineCarried(t *testing.T, doc *schema.Document) {
	t.Helper()
	var suppressed, oomProc, fn bool
	for _, f := range doc.Findings {
		suppressed = suppressed || (f.Suppressed != nil && strings.HasPrefix(f.Suppressed.Reason, "REASON-"))
	}
	for _, e := range doc.OOMEvents {
		oomProc = oomProc || strings.HasPrefix(e.Process, "PROC-")
	}
	for _, h := range doc.HeapProfiles {
		for _, f := range h.TopInuse {
			fn = fn || strings.HasPrefix(f.Function, "FUNC-")
		}
	}
	if !suppressed || !oomProc || !fn {
		t.Errorf("payloads did not reach the report: suppression reason %v, OOM process %v, profile function %v", suppressed, oomProc, fn)
	}
}

func mustJSON(s string) []byte {
	b, _ := json.Marshal(s)
	return bytes.Trim(b, `"`)
}

// poisonNames appends payloads to pod names, namespaces, label values and
// container names wherever a PodList or a stats summary holds them; names
// maps each original to its poisoned form so both files agree.
func poisonNames(v any, names map[string]string, add func(string, string, bool) string) {
	rename := func(m map[string]any, key, source, tag string, i int) {
		old, ok := m[key].(string)
		if !ok || old == "" {
			return
		}
		if _, seen := names[source+old]; !seen {
			// Label values are read (agent detection), never displayed.
			names[source+old] = old + "_" + add(source, payloadFor(tag, i+len(names)), source != "label value")
		}
		m[key] = names[source+old]
	}
	switch v := v.(type) {
	case map[string]any:
		if meta, ok := v["metadata"].(map[string]any); ok { // a Pod
			rename(meta, "name", "pod name", "POD", 0)
			rename(meta, "namespace", "namespace", "NS", 1)
			if labels, ok := meta["labels"].(map[string]any); ok {
				for k := range labels {
					rename(labels, k, "label value", "LABEL", 2)
				}
			}
		}
		if ref, ok := v["podRef"].(map[string]any); ok { // a summary pod
			rename(ref, "name", "pod name", "POD", 0)
			rename(ref, "namespace", "namespace", "NS", 1)
		}
		for _, key := range []string{"containers", "initContainers", "containerStatuses"} {
			if list, ok := v[key].([]any); ok {
				for _, c := range list {
					if c, ok := c.(map[string]any); ok {
						rename(c, "name", "container name", "CTR", 3)
					}
				}
			}
		}
		for k, child := range v {
			if k != "metadata" && k != "podRef" {
				poisonNames(child, names, add)
			}
		}
	case []any:
		for _, child := range v {
			poisonNames(child, names, add)
		}
	}
}

func editFile(t *testing.T, path string, f func([]byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	must(t, err)
	nb := f(b)
	if bytes.Equal(b, nb) {
		t.Fatalf("%s: the edit changed nothing (the sample changed?)", path)
	}
	must(t, os.WriteFile(path, nb, 0o644))
}

func editJSON(t *testing.T, path string, f func(any)) {
	t.Helper()
	editFile(t, path, func(b []byte) []byte {
		var v any
		must(t, json.Unmarshal(b, &v))
		f(v)
		out, err := json.Marshal(v)
		must(t, err)
		return out
	})
}

// refreshManifest recomputes the manifest's file list, so the reader's
// sha256 check does not drown the report in mismatches.
func refreshManifest(t *testing.T, dir string) {
	t.Helper()
	editJSON(t, filepath.Join(dir, "manifest.json"), func(v any) {
		var files []any
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() || d.Name() == "manifest.json" {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			sum := sha256.Sum256(b)
			files = append(files, map[string]any{"path": filepath.ToSlash(rel), "bytes": len(b), "sha256": hex.EncodeToString(sum[:])})
			return nil
		})
		v.(map[string]any)["files"] = files
	})
}

// writeHeapProfile writes pprof/<target>/heap.pb.gz, a Go heap profile whose
// one allocating function is fn, and target.json naming the process.
func writeHeapProfile(t *testing.T, dir, fn string) {
	t.Helper()
	must(t, os.MkdirAll(dir, 0o755))
	f := &profile.Function{ID: 1, Name: fn, SystemName: fn, Filename: "hostile.go"}
	loc := &profile.Location{ID: 1, Address: 0x1000, Line: []profile.Line{{Function: f, Line: 1}}}
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "alloc_objects", Unit: "count"}, {Type: "alloc_space", Unit: "bytes"},
			{Type: "inuse_objects", Unit: "count"}, {Type: "inuse_space", Unit: "bytes"}},
		DefaultSampleType: "inuse_space",
		PeriodType:        &profile.ValueType{Type: "space", Unit: "bytes"},
		Period:            512 * 1024,
		Function:          []*profile.Function{f},
		Location:          []*profile.Location{loc},
		Sample:            []*profile.Sample{{Location: []*profile.Location{loc}, Value: []int64{10, 64 << 20, 5, 32 << 20}}},
	}
	var b bytes.Buffer
	must(t, p.Write(&b))
	must(t, os.WriteFile(filepath.Join(dir, "heap.pb.gz"), b.Bytes(), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "target.json"), []byte(`{"name":"app","pid":1156,"url":"http://127.0.0.1:6060/debug/pprof/heap"}`), 0o644))
}
