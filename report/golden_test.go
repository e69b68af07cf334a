package report

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/memsnap/memsnap/internal/golden"

	"github.com/memsnap/memsnap/report/schema"
)

var testNow = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

// goldenCases: every format over every test document.
var goldenDocs = []struct {
	name string
	doc  func() *schema.Document
	opts Options
}{
	{"rich", richDoc, Options{FailOn: schema.Warning, Now: testNow}},
	{"empty", emptyDoc, Options{FailOn: schema.Critical, Now: testNow}},
	{"owners", ownersDoc, Options{FailOn: schema.Warning, Now: testNow}},
}

func render(t testing.TB, format string, doc *schema.Document, opts Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Render(&buf, format, doc, opts); err != nil {
		t.Fatalf("Render(%s): %v", format, err)
	}
	return buf.Bytes()
}

// normalizeGolden replaces the inlined ECharts build by a placeholder: the
// golden HTML keeps the build's CSP hash (checked) instead of a megabyte of
// vendored JavaScript.
func normalizeGolden(format string, out []byte) []byte {
	if format != "html" {
		return out
	}
	js, err := vendorFS.ReadFile("templates/vendor/echarts/echarts.min.js")
	if err != nil {
		panic(err)
	}
	js = normalizeNewlines(js)
	return bytes.Replace(out, js, fmt.Appendf(nil, "/* vendored echarts.min.js, %d bytes */", len(js)), 1)
}

func TestGolden(t *testing.T) {
	for _, gd := range goldenDocs {
		for _, format := range Formats {
			t.Run(gd.name+"/"+format, func(t *testing.T) {
				out := normalizeGolden(format, render(t, format, gd.doc(), gd.opts))
				golden.Check(t, filepath.Join("testdata", "golden", gd.name+"."+Extension(format)), out)
			})
		}
	}
}

// TestDeterministic renders twice, and from a shuffled copy of the lists:
// byte-identical output either way.
func TestDeterministic(t *testing.T) {
	for _, format := range Formats {
		a := render(t, format, richDoc(), Options{Now: testNow})
		b := render(t, format, richDoc(), Options{Now: testNow})
		if !bytes.Equal(a, b) {
			t.Errorf("%s: two renders differ", format)
		}
		c := render(t, format, reversed(richDoc()), Options{Now: testNow})
		if !bytes.Equal(a, c) {
			t.Errorf("%s: output depends on the input list order:\n%s", format, golden.FirstDiff(a, c))
		}
	}
}

func reversed(d *schema.Document) *schema.Document {
	rev := func(n int, swap func(i, j int)) {
		for i, j := 0, n-1; i < j; i, j = i+1, j-1 {
			swap(i, j)
		}
	}
	rev(len(d.Findings), func(i, j int) { d.Findings[i], d.Findings[j] = d.Findings[j], d.Findings[i] })
	rev(len(d.Workloads), func(i, j int) { d.Workloads[i], d.Workloads[j] = d.Workloads[j], d.Workloads[i] })
	rev(len(d.OOMEvents), func(i, j int) { d.OOMEvents[i], d.OOMEvents[j] = d.OOMEvents[j], d.OOMEvents[i] })
	rev(len(d.Rules), func(i, j int) { d.Rules[i], d.Rules[j] = d.Rules[j], d.Rules[i] })
	rev(len(d.Bundles), func(i, j int) { d.Bundles[i], d.Bundles[j] = d.Bundles[j], d.Bundles[i] })
	rev(len(d.Excerpts), func(i, j int) { d.Excerpts[i], d.Excerpts[j] = d.Excerpts[j], d.Excerpts[i] })
	rev(len(d.HeapProfiles), func(i, j int) { d.HeapProfiles[i], d.HeapProfiles[j] = d.HeapProfiles[j], d.HeapProfiles[i] })
	rev(len(d.Catalog), func(i, j int) { d.Catalog[i], d.Catalog[j] = d.Catalog[j], d.Catalog[i] })
	return d
}
