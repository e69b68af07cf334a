package report

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/memsnap/memsnap/report/schema"
)

// xssPayloads each try to set window.__pwn from a different HTML context:
// breaking out of a script element, an element with an event handler, a
// javascript: URL where a string could become a link, and quote-breaking out
// of an attribute.
var xssPayloads = []string{
	`</script><script>window.__pwn=1</script>`,
	`<img src=x onerror="window.__pwn=1">`,
	`javascript:window.__pwn=1`,
	`'"><svg onload=window.__pwn=1>`,
}

// hostileDoc is richDoc with a payload appended to every string that can come
// from a bundle: pod names, label values, log lines (excerpts), file paths
// (evidence), profile function names, manifest errors (sources), config
// reasons (suppressions), and all the others. Only the values the analyzer
// itself chooses (schema ID, severities, the generated time) stay clean.
func hostileDoc() *schema.Document {
	d := richDoc()
	n := 0
	poison(reflect.ValueOf(d).Elem(), &n)
	return d
}

// Status is the rule status (ran/skipped) here; the manifest's source status
// is hostile but lands only in escaped text and attribute values.
var analyzerChosen = map[string]bool{"Schema": true, "Severity": true, "Generated": true, "Status": true}

func poison(v reflect.Value, n *int) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			poison(v.Elem(), n)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if analyzerChosen[v.Type().Field(i).Name] {
				continue
			}
			poison(v.Field(i), n)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			poison(v.Index(i), n)
		}
	case reflect.String:
		if v.Type() != reflect.TypeOf("") || !v.CanSet() {
			return // json.Number stays a number
		}
		v.SetString(v.String() + " " + xssPayloads[*n%len(xssPayloads)])
		*n++
	}
}

func TestHostileDocCoversTheIssueFields(t *testing.T) {
	d := hostileDoc()
	for name, s := range map[string]string{
		"pod name":         d.Workloads[0].Pod,
		"label value":      d.Findings[0].Subject,
		"log line":         d.Excerpts[0].Lines[0].Text,
		"file path":        d.Findings[0].Evidence[0].File,
		"function name":    d.HeapProfiles[0].TopInuse[0].Function,
		"manifest error":   d.Bundles[0].Sources[2].Error,
		"config reason":    d.Findings[2].Suppressed.Reason,
		"node name":        d.Bundles[0].Node,
		"bundle problem":   d.Bundles[0].Problems[0],
		"skip reason":      d.Rules[3].Reason,
		"profile error":    d.HeapProfiles[1].Error,
		"oom process name": d.OOMEvents[0].Process,
	} {
		if !strings.Contains(s, "__pwn") {
			t.Errorf("%s carries no payload: %q", name, s)
		}
	}
}

// TestHTMLEscapesPayloads is the static half of the XSS test (the browser
// test runs the same document): no payload survives as markup.
func TestHTMLEscapesPayloads(t *testing.T) {
	out := string(render(t, "html", hostileDoc(), Options{Now: testNow}))
	for _, bad := range []string{"<script>window.__pwn", "<img src=x", "<svg onload", `href="javascript:`, "onerror=\"window"} {
		if i := strings.Index(out, bad); i >= 0 {
			t.Errorf("payload survives as markup at byte %d: %q", i, out[max(0, i-80):min(len(out), i+80)])
		}
	}
	// Exactly our three scripts: the data block, ECharts and the init script.
	if got := strings.Count(strings.ToLower(out), "<script"); got != 3 {
		t.Errorf("page has %d <script elements, want 3", got)
	}
	if !strings.Contains(out, "&lt;img src=x onerror=&#34;window.__pwn=1&#34;&gt;") {
		t.Errorf("the <img> payload is not shown as escaped text")
	}
}

func TestOtherFormatsNeutralisePayloads(t *testing.T) {
	d := hostileDoc()
	d.Bundles[0].Node += "\x1b[2J\x1b]8;;http://evil\x07"
	for _, format := range []string{"text", "markdown"} {
		out := string(render(t, format, d, Options{Now: testNow, IsTTY: true}))
		if strings.Contains(out, "\x1b[2J") || strings.Contains(out, "\x1b]8") {
			t.Errorf("%s: a terminal escape from the bundle reaches the output", format)
		}
		if format == "markdown" {
			for _, bad := range []string{"<img", "<svg", "<script", "</script"} {
				if strings.Contains(out, bad) {
					t.Errorf("markdown: raw %q would be HTML in a PR comment", bad)
				}
			}
		}
	}
}

func ExampleRender_text() {
	doc := emptyDoc()
	doc.Findings = []schema.Finding{{Rule: "oom-kill", Severity: schema.Critical, Node: "n1", Subject: "ns/pod/c", Title: "Killed\x1b[31m"}}
	var b strings.Builder
	_ = Render(&b, "text", doc, Options{})
	fmt.Print(strings.Split(b.String(), "\n")[1])
	// Output: CRITICAL: 1 critical, 0 warning, 0 info
}
