package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"strings"
	"testing"

	"github.com/memsnap/memsnap/internal/testcorpus"
	"github.com/memsnap/memsnap/report/schema"
)

// FuzzRender puts one arbitrary string (and number) everywhere a bundle can
// put one and renders every format: no error, no panic, HTML without the
// string's markup, JUnit that parses as XML, SARIF and JSON that parse.
// Seeds: the XSS payloads and real kernel OOM log lines from the corpus.
func FuzzRender(f *testing.F) {
	for _, p := range xssPayloads {
		f.Add(p, int64(0))
	}
	f.Add("\x1b[2J\x00\xff]]>\r\n\u202e", int64(-1))
	file, err := os.Open(testcorpus.Path(f, "oom-logs", "k8s-v1-docker-memcg-oom-anon-4.18.log"))
	if err != nil {
		f.Fatal(err)
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	for i := 0; sc.Scan() && i < 8; i++ {
		f.Add(sc.Text(), int64(i)<<20)
	}
	f.Fuzz(func(t *testing.T, s string, n int64) {
		// The markers survive escaping; s inside them does not if it has
		// markup characters, so a raw "zqzq…qzqz" means s went unescaped.
		// The markers differ so that the end of one escaped value, the
		// template's own markup and the start of the next (`zqzq` `">`
		// `zqzq` around a class attribute) cannot spell a raw match; s
		// may not contain the marker letters in pairs for the same reason
		// (no escape writes a 'q' or 'z').
		if strings.Contains(s, "zq") || strings.Contains(s, "qz") {
			return
		}
		marked := "zqzq" + s + "qzqz"
		doc := stringDoc(marked, n)
		for _, format := range Formats {
			var b bytes.Buffer
			if err := Render(&b, format, doc, Options{FailOn: schema.Info, IsTTY: true}); err != nil {
				t.Fatalf("%s: %v", format, err)
			}
			out := b.Bytes()
			switch format {
			case "html":
				if strings.ContainsAny(s, "<>&") && bytes.Contains(out, []byte(marked)) {
					t.Fatalf("html: %q appears unescaped", s)
				}
			case "junit":
				if err := xml.Unmarshal(out, new(any)); err != nil {
					t.Fatalf("junit: %v", err)
				}
			case "sarif", "json":
				if !json.Valid(out) {
					t.Fatalf("%s: invalid JSON", format)
				}
			}
		}
	})
}

// stringDoc is a small document with s in every string and n in every number.
func stringDoc(s string, n int64) *schema.Document {
	return &schema.Document{
		Bundles: []schema.Bundle{{Node: s, Source: s, Kernel: s, Problems: []string{s},
			Sources: []schema.Source{{Name: s, Status: s, Error: s}}, Memory: schema.NodeMemory{CapacityBytes: &n, UsedBytes: &n}}},
		Rules: []schema.RuleStatus{{ID: s, Status: "skipped", Reason: s}},
		Findings: []schema.Finding{{Rule: s, Severity: schema.Critical, Node: s, Subject: s, Title: s, Summary: s, Remediation: s,
			References: []string{s}, Evidence: []schema.Evidence{{File: s, Key: s, Text: s}}, Suppressed: nil}},
		OOMEvents: []schema.OOMEvent{{Node: s, Time: s, Process: s, LimitScope: s, File: s, Line: int(n % 1000), MemcgUsageBytes: &n}},
		Workloads: []schema.Workload{{Node: s, Namespace: s, Pod: s, Container: s, UsageBytes: &n, WorkingSetBytes: &n, LimitBytes: &n}},
		HeapProfiles: []schema.HeapProfile{{Target: s, File: s, Error: s,
			TopInuse: []schema.FuncCost{{Function: s, Bytes: n}}, TopAlloc: []schema.FuncCost{{Function: s, Bytes: n}}}},
		Excerpts: []schema.Excerpt{{File: s, Lines: []schema.ExcerptLine{{N: 1, Text: s}}}},
	}
}
