package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/memsnap/memsnap/internal/golden"

	"github.com/jstemmer/go-junit-report/v2/junit"
	"github.com/owenrumney/go-sarif/v2/sarif"

	"github.com/memsnap/memsnap/report/schema"
)

func TestExitCode(t *testing.T) {
	doc := richDoc() // 1 critical, 2 warning, 2 info active; 1 suppressed warning
	for _, tc := range []struct {
		failOn string
		want   int
	}{{"", 0}, {"none", 0}, {"info", 1}, {"warning", 1}, {"critical", 1}, {"bogus", 2}} {
		if got := ExitCode(doc, tc.failOn); got != tc.want {
			t.Errorf("ExitCode(rich, %q) = %d, want %d", tc.failOn, got, tc.want)
		}
	}
	// Only a suppressed critical: never fails.
	only := emptyDoc()
	only.Findings = []schema.Finding{{Rule: "oom-kill", Severity: schema.Critical, Suppressed: &schema.Suppression{Reason: "known"}}}
	if got := ExitCode(only, schema.Info); got != 0 {
		t.Errorf("a suppressed finding counted for --fail-on: exit %d", got)
	}
	only.Findings = append(only.Findings, schema.Finding{Rule: "x", Severity: schema.Warning})
	if got := ExitCode(only, schema.Critical); got != 0 {
		t.Errorf("a warning failed --fail-on critical: exit %d", got)
	}
	if got := ExitCode(only, schema.Warning); got != 1 {
		t.Errorf("a warning did not fail --fail-on warning: exit %d", got)
	}
}

func TestRenderRejectsUnknown(t *testing.T) {
	var b bytes.Buffer
	if err := Render(&b, "pdf", emptyDoc(), Options{}); err == nil || !strings.Contains(err.Error(), "pdf") {
		t.Errorf("unknown format: err = %v", err)
	}
	if err := Render(&b, "json", emptyDoc(), Options{FailOn: "severe"}); err == nil {
		t.Errorf("unknown --fail-on accepted")
	}
	if err := Render(&b, "json", nil, Options{}); err == nil {
		t.Errorf("nil document accepted")
	}
	for _, f := range Formats {
		if Extension(f) == "" {
			t.Errorf("no extension for %s", f)
		}
	}
}

func TestRenderDoesNotModifyInput(t *testing.T) {
	doc := reversed(richDoc())
	before, _ := json.Marshal(doc)
	for _, f := range Formats {
		render(t, f, doc, Options{Now: testNow})
	}
	after, _ := json.Marshal(doc)
	if !bytes.Equal(before, after) {
		t.Errorf("Render changed the caller's Document")
	}
}

func TestJSONRoundTripKeepsNullsAndZeros(t *testing.T) {
	var got schema.Document
	if err := json.Unmarshal(render(t, "json", richDoc(), Options{}), &got); err != nil {
		t.Fatal(err)
	}
	c := got.Bundles[2].Memory
	if c.AnonBytes == nil || *c.AnonBytes != 0 {
		t.Errorf("measured zero anon lost: %v", c.AnonBytes)
	}
	if c.WorkingSetBytes != nil {
		t.Errorf("absent working set became %d", *c.WorkingSetBytes)
	}
	if got.Findings[0].Severity != schema.Critical {
		t.Errorf("findings not worst first: %s", got.Findings[0].Severity)
	}
	if last := got.Findings[len(got.Findings)-1]; last.Suppressed == nil {
		t.Errorf("suppressed finding not last / lost its suppression")
	}
	raw := string(render(t, "json", emptyDoc(), Options{Now: testNow}))
	for _, want := range []string{`"findings": []`, `"oom_events": []`, `"generated": "2024-05-06T07:08:09Z"`} {
		if !strings.Contains(raw, want) {
			t.Errorf("empty document JSON lacks %s", want)
		}
	}
}

func TestTextColourOnlyOnTTY(t *testing.T) {
	doc := richDoc()
	for _, tc := range []struct {
		opts   Options
		colour bool
	}{
		{Options{IsTTY: true}, true},
		{Options{IsTTY: true, NoColor: true}, false},
		{Options{IsTTY: false}, false},
	} {
		out := render(t, "text", doc, tc.opts)
		if got := bytes.Contains(out, []byte("\x1b[")); got != tc.colour {
			t.Errorf("opts %+v: colour = %v, want %v", tc.opts, got, tc.colour)
		}
	}
}

func TestVisible(t *testing.T) {
	for in, want := range map[string]string{
		"plain":           "plain",
		"a\x1b[31mred":    `a\x1b[31mred`,
		"line\nbreak\tx":  "line break x",
		"bidi\u202eevil":  `bidi\u202eevil`,
		"bad\xffbyte":     `bad\xffbyte`,
		"ok \uFFFD stays": "ok \uFFFD stays",
	} {
		if got := visible(in); got != want {
			t.Errorf("visible(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFormatBytes(t *testing.T) {
	for in, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536 << 20: "1.5 GiB", -2048: "-2.0 KiB", 9223372036854771712: "8.0 EiB"} {
		if got := formatBytes(in); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", in, got, want)
		}
	}
}

// SARIF 2.1.0: the properties the schema requires, and those GitHub code
// scanning needs, checked on the raw JSON (not through our own types).
func TestSARIFStructure(t *testing.T) {
	out := render(t, "sarif", hostileDoc(), Options{Now: testNow})
	var log map[string]any
	if err := json.Unmarshal(out, &log); err != nil {
		t.Fatal(err)
	}
	must := func(ok bool, format string, args ...any) {
		t.Helper()
		if !ok {
			t.Errorf(format, args...)
		}
	}
	must(log["version"] == "2.1.0", "version = %v", log["version"])
	must(strings.Contains(fmt.Sprint(log["$schema"]), "sarif-schema-2.1.0.json"), "$schema = %v", log["$schema"])
	runs, _ := log["runs"].([]any)
	must(len(runs) == 1, "runs: %d", len(runs))
	run := runs[0].(map[string]any)
	driver := run["tool"].(map[string]any)["driver"].(map[string]any)
	must(driver["name"] == "memsnap", "driver.name = %v", driver["name"])
	rules := driver["rules"].([]any)
	ruleIDs := map[string]int{}
	for i, r := range rules {
		r := r.(map[string]any)
		id, _ := r["id"].(string)
		must(id != "", "rule %d has no id", i)
		sd, _ := r["shortDescription"].(map[string]any)
		must(sd != nil && sd["text"] != "", "rule %s has no shortDescription.text", id)
		ruleIDs[id] = i
	}
	results := run["results"].([]any)
	must(len(results) == len(richDoc().Findings), "results: %d", len(results))
	uriRef := regexp.MustCompile(`^[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$`)
	suppressed := 0
	for i, r := range results {
		r := r.(map[string]any)
		msg, _ := r["message"].(map[string]any)
		must(msg != nil && msg["text"] != "", "result %d: message.text missing", i)
		id, _ := r["ruleId"].(string)
		idx, ok := r["ruleIndex"].(float64)
		must(ok && ruleIDs[id] == int(idx), "result %d: ruleIndex %v does not point at %s", i, r["ruleIndex"], id)
		must(map[string]bool{"error": true, "warning": true, "note": true, "none": true}[fmt.Sprint(r["level"])], "result %d: level %v", i, r["level"])
		locs, _ := r["locations"].([]any)
		must(len(locs) > 0, "result %d: no locations", i)
		for _, l := range locs {
			pl, _ := l.(map[string]any)["physicalLocation"].(map[string]any)
			if pl == nil {
				continue
			}
			al := pl["artifactLocation"].(map[string]any)
			uri, _ := al["uri"].(string)
			must(uriRef.MatchString(uri) && !strings.HasPrefix(uri, "/"), "result %d: uri %q is not a relative URI reference", i, uri)
			base, _ := al["uriBaseId"].(string)
			_, known := run["originalUriBaseIds"].(map[string]any)[base]
			must(known, "result %d: uriBaseId %q not in originalUriBaseIds", i, base)
			if reg, ok := pl["region"].(map[string]any); ok {
				must(reg["startLine"].(float64) >= 1, "result %d: startLine %v", i, reg["startLine"])
			}
		}
		if sups, ok := r["suppressions"].([]any); ok {
			suppressed++
			s := sups[0].(map[string]any)
			must(s["kind"] == "external", "suppression kind %v", s["kind"])
			must(strings.Contains(fmt.Sprint(s["justification"]), "VPA"), "suppression lost its reason: %v", s["justification"])
			must(regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(fmt.Sprint(s["guid"])), "suppression guid %v", s["guid"])
			for k, v := range s {
				must(v != nil, "suppression.%s is null (the schema allows no null)", k)
			}
		}
	}
	must(suppressed == 1, "suppressed results: %d, want 1", suppressed)
}

func TestSARIFRoundTripsThroughGoSARIF(t *testing.T) {
	out := render(t, "sarif", richDoc(), Options{Now: testNow})
	rep, err := sarif.FromBytes(out)
	if err != nil {
		t.Fatalf("go-sarif cannot read our SARIF: %v", err)
	}
	again, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	_ = json.Unmarshal(out, &a)
	_ = json.Unmarshal(again, &b)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("SARIF changes when read and written by go-sarif:\n%s", golden.FirstDiff(out, append(again, '\n')))
	}
	if n := len(rep.Runs[0].Results); n != 6 {
		t.Errorf("go-sarif sees %d results, want 6", n)
	}
}

func TestJUnitUnmarshalsIntoGoJUnitReport(t *testing.T) {
	out := render(t, "junit", hostileDoc(), Options{FailOn: schema.Warning, Now: testNow})
	var suites junit.Testsuites
	if err := xml.Unmarshal(out, &suites); err != nil {
		t.Fatalf("junit XML does not unmarshal: %v", err)
	}
	if len(suites.Suites) != 3 {
		t.Fatalf("%d testsuites, want one per bundle (3)", len(suites.Suites))
	}
	// rich: node-a fails oom-kill (critical) and working-set-page-cache
	// (warning); the suppressed no-memory-limit does not fail. node-b fails
	// kubepods-limit-drift; the info heap finding does not.
	failures := map[string]bool{}
	for _, s := range suites.Suites {
		for _, c := range s.Testcases {
			if c.Failure != nil {
				failures[fmt.Sprintf("%d/%s", s.ID, strings.Fields(c.Name)[0])] = true
			}
		}
	}
	want := map[string]bool{"0/oom-kill": true, "0/working-set-page-cache": true, "1/kubepods-limit-drift": true}
	if !reflect.DeepEqual(failures, want) {
		t.Errorf("failures = %v, want %v", failures, want)
	}
	if suites.Failures != 3 || suites.Skipped != 2 {
		t.Errorf("totals: failures %d skipped %d, want 3 and 2", suites.Failures, suites.Skipped)
	}
	// --fail-on none: no failures at all, findings still listed.
	var none junit.Testsuites
	if err := xml.Unmarshal(render(t, "junit", richDoc(), Options{}), &none); err != nil {
		t.Fatal(err)
	}
	if none.Failures != 0 {
		t.Errorf("--fail-on none produced %d failures", none.Failures)
	}
	if !bytes.Contains(render(t, "junit", richDoc(), Options{}), []byte("OOM-killed")) {
		t.Errorf("findings below --fail-on are not in system-out")
	}
}

func TestJUnitSurvivesInvalidXMLCharacters(t *testing.T) {
	doc := richDoc()
	doc.Findings[0].Summary = "nul\x00 bell\x07 cdata-end ]]> bad\xff"
	var suites junit.Testsuites
	if err := xml.Unmarshal(render(t, "junit", doc, Options{FailOn: schema.Info}), &suites); err != nil {
		t.Fatalf("control bytes broke the XML: %v", err)
	}
}

// TestHTMLSizeBudget renders a node of the reference size (DESIGN §5: 250
// pods, 750 containers, 4 heap profiles) three times over: the report stays
// under 5 MB and says what it capped.
func TestHTMLSizeBudget(t *testing.T) {
	doc := &schema.Document{Schema: schema.ID}
	long := strings.Repeat("x", 5000)
	for b := 0; b < 3; b++ {
		doc.Bundles = append(doc.Bundles, schema.Bundle{Index: b, Node: fmt.Sprintf("big-%d", b), Manifest: true})
		for p := 0; p < 250; p++ {
			for c := 0; c < 4; c++ {
				name := fmt.Sprintf("c%d", c)
				if c == 3 {
					name = ""
				}
				doc.Workloads = append(doc.Workloads, schema.Workload{Bundle: b, Namespace: "ns", Pod: fmt.Sprintf("pod-%03d-%s", p, long[:40]),
					Container: name, UsageBytes: mib(int64(p + c)), WorkingSetBytes: mib(int64(p)), AnonBytes: mib(1), LimitBytes: gib(1)})
			}
			doc.Findings = append(doc.Findings, schema.Finding{Rule: "working-set-page-cache", Severity: schema.Warning, Bundle: b,
				Subject: fmt.Sprintf("ns/pod-%03d", p), Title: "t", Summary: long,
				Evidence: []schema.Evidence{{File: "cgroup/x/memory.stat", Text: long}}})
		}
		for k := 0; k < 4; k++ {
			hp := schema.HeapProfile{Bundle: b, Target: fmt.Sprintf("t%d", k)}
			for f := 0; f < 200; f++ {
				hp.TopInuse = append(hp.TopInuse, schema.FuncCost{Function: fmt.Sprintf("pkg.f%d%s", f, long[:200]), Bytes: int64(f)})
			}
			doc.HeapProfiles = append(doc.HeapProfiles, hp)
		}
		for e := 0; e < 300; e++ {
			ex := schema.Excerpt{Bundle: b, File: fmt.Sprintf("logs/f%d", e)}
			for l := 0; l < 1000; l++ {
				ex.Lines = append(ex.Lines, schema.ExcerptLine{N: l + 1, Text: long})
			}
			doc.Excerpts = append(doc.Excerpts, ex)
		}
	}
	out := render(t, "html", doc, Options{})
	const budget = 5 << 20
	if len(out) > budget {
		t.Errorf("HTML is %s, over the 5 MB budget", formatBytes(int64(len(out))))
	}
	t.Logf("reference-size report over 3 nodes: %s", formatBytes(int64(len(out))))
	for _, note := range []string{"the pods table shows", "further excerpts are not embedded", "findings are shown"} {
		// A cap that hits every node is said once, not once per node.
		if n := bytes.Count(out, []byte(note)); n != 1 {
			t.Errorf("the report says %q %d times, want once", note, n)
		}
	}
}

func TestHTMLCSP(t *testing.T) {
	out := string(render(t, "html", richDoc(), Options{}))
	m := regexp.MustCompile(`<meta http-equiv="Content-Security-Policy" content="([^"]+)">`).FindStringSubmatch(out)
	if m == nil {
		t.Fatal("no CSP meta element")
	}
	csp := html.UnescapeString(m[1])
	for _, want := range []string{"default-src 'none'", "connect-src 'none'", "img-src data:", "style-src 'unsafe-inline'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP lacks %s: %s", want, csp)
		}
	}
	if strings.Contains(csp, "unsafe-eval") || regexp.MustCompile(`script-src[^;]*'unsafe-inline'`).MatchString(csp) {
		t.Errorf("CSP allows arbitrary script: %s", csp)
	}
	if n := strings.Count(csp, "'sha256-"); n != 2 {
		t.Errorf("CSP has %d script hashes, want 2", n)
	}
	if strings.Index(out, "Content-Security-Policy") > strings.Index(out, "<script") {
		t.Errorf("the CSP must come before any script")
	}
	for _, bad := range []string{`src="http`, `href="http`, `url(http`, `src="//`, `href="//`} {
		if strings.Contains(out, bad) {
			t.Errorf("page refers to the network: %s", bad)
		}
	}
	if !strings.Contains(out, "Apache License") || !strings.Contains(out, "Apache ECharts") {
		t.Errorf("the ECharts licence notice is missing")
	}
}

// TestKubepodsLimitWording: a missing kubepods cgroup and an unlimited one
// are said in words in text and HTML, never as the 8 EiB sentinel or as
// "—" (which means the bundle does not say).
func TestKubepodsLimitWording(t *testing.T) {
	for _, tc := range []struct {
		mem        schema.NodeMemory
		text, html string
	}{
		{schema.NodeMemory{KubepodsAbsent: true}, "no kubepods cgroup,", `<td class="num">no kubepods cgroup</td>`},
		{schema.NodeMemory{KubepodsUnlimited: true, KubepodsCgroup: "/kubepods"}, "kubepods limit unlimited,", `<td class="num">unlimited</td>`},
		{schema.NodeMemory{}, "kubepods limit —,", `<td>kubepods limit, cgroup file</td><td class="num">—</td>`},
	} {
		doc := &schema.Document{Schema: schema.ID, Bundles: []schema.Bundle{{Node: "n1", Memory: tc.mem}}}
		if got := string(render(t, "text", doc, Options{})); !strings.Contains(got, tc.text) {
			t.Errorf("text for %+v lacks %q:\n%s", tc.mem, tc.text, got)
		}
		if got := string(render(t, "html", doc, Options{})); !strings.Contains(got, tc.html) {
			t.Errorf("html for %+v lacks %q", tc.mem, tc.html)
		}
	}
}
