package report

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"regexp"
	"strings"

	"github.com/memsnap/memsnap/report/schema"
)

// The ECharts build is vendored, not committed (DESIGN §7). If the build
// fails here with "pattern templates/vendor/echarts/...: no matching files
// found", run report/templates/fetch-echarts.sh (or `go generate ./report`).
//
//go:generate sh templates/fetch-echarts.sh
//go:embed templates/vendor/echarts/echarts.min.js templates/vendor/echarts/LICENSE templates/vendor/echarts/NOTICE
var vendorFS embed.FS

//go:embed templates/*.tmpl templates/report.css templates/init.js
var templateFS embed.FS

var pageTemplate = template.Must(template.New("report.html.tmpl").Funcs(template.FuncMap{
	"bytes":      bytesOrDash,
	"upper":      strings.ToUpper,
	"sevLabel":   severityLabel,
	"evidenceVa": evidenceValue,
	"orDash":     orDash,
	"dataBytes":  dataBytes,
	"deref":      func(p *float64) float64 { return *p },
	"growth":     growthPerMin,
	"bytes64":    formatBytes,
}).ParseFS(templateFS, "templates/*.tmpl"))

// Inline scripts are allowed by their sha256 (CSP level 2 hash sources), so
// nothing else can run: not injected <script> tags, not event handler
// attributes, not javascript: URLs. Styles must be inline because ECharts
// positions its tooltip with inline styles (DESIGN §4).
const cspTemplate = "default-src 'none'; connect-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src %s; base-uri 'none'; form-action 'none'"

// Caps on what one report embeds (the 5 MB budget of DESIGN §5); each cap
// that applies is stated in the report.
// ECharts itself is 1 MB; the budgets below keep the rest under ~3.5 MB
// whatever the bundles hold.
const (
	htmlRowBudget       = 1500 // workload table rows over all bundles (~800 B each)
	htmlRowMinPerBundle = 50
	// With more than htmlManyBundles nodes (a cluster report) the minimum
	// per node drops, so 100 nodes × 250 pods stay within the 5 MB goal
	// (issue #14); the JSON keeps every row.
	htmlManyBundles         = 30
	htmlRowMinPerBundleMany = 15
	// A Lazy (cluster) page carries its per-node rows compressed and
	// renders them on demand: each node keeps this many at least.
	htmlRowMinPerBundleLazy = 50
	// htmlHeapChartCap: above this many heap profiles no heap charts.
	htmlHeapChartCap   = 40
	htmlFindingBytes   = 1 << 20 // findings, worst first
	htmlEvidenceCap    = 20      // evidence items per finding
	htmlOOMRowCap      = 500
	htmlExcerptCap     = 100     // excerpts per bundle
	htmlExcerptLineCap = 200     // lines per excerpt
	htmlExcerptBytes   = 1 << 20 // all excerpt lines
	htmlLineRunes      = 400     // characters per excerpt line
	htmlFieldRunes     = 1000    // characters per summary, remediation, evidence text
	htmlFuncRows       = 20
	htmlOwnerRows      = 500 // rows of the workloads-by-owner table (~1 KB each)
)

// byteBudget is an allowance of page bytes for one section.
type byteBudget struct{ left int }

// take spends n bytes, or reports that they do not fit (and spends nothing
// more afterwards, so a section stops at its first overflow).
func (b *byteBudget) take(n int) bool {
	if n > b.left {
		b.left = 0
		return false
	}
	b.left -= n
	return true
}

func renderHTML(w io.Writer, doc *schema.Document, opts Options) error {
	echarts, err := vendorFS.ReadFile("templates/vendor/echarts/echarts.min.js")
	if err != nil {
		return err
	}
	// An inline script ends at the first "</script": refuse a vendored file
	// that would break out of its element rather than emit a broken page.
	if bytes.Contains(bytes.ToLower(echarts), []byte("</script")) || bytes.Contains(echarts, []byte("<!--")) {
		return fmt.Errorf("report: vendored echarts.min.js cannot be inlined (contains </script or <!--)")
	}
	// The HTML parser turns CR LF and lone CR into LF before the browser
	// hashes an inline script (the ECharts build has CR LF in its licence
	// header): inline exactly the text the browser will hash.
	echarts = normalizeNewlines(echarts)
	license, _ := vendorFS.ReadFile("templates/vendor/echarts/LICENSE")
	notice, _ := vendorFS.ReadFile("templates/vendor/echarts/NOTICE")
	css, err := templateFS.ReadFile("templates/report.css")
	if err != nil {
		return err
	}
	initJS, err := templateFS.ReadFile("templates/init.js")
	if err != nil {
		return err
	}

	initJS = normalizeNewlines(initJS)

	page := buildPage(doc, opts)
	page.CSS = template.CSS(css)
	page.EChartsJS = template.JS(echarts)
	page.InitJS = template.JS(initJS)
	page.EChartsLicense = string(license)
	page.EChartsNotice = string(notice)
	page.CSP = fmt.Sprintf(cspTemplate, scriptHash(echarts)+" "+scriptHash(initJS))

	if page.Lazy {
		if page.Detail, err = lazyDetail(page); err != nil {
			return err
		}
	}

	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, page); err != nil {
		return err
	}
	out := buf.Bytes()
	// The hashes above are of the script texts; make sure the template put
	// them into the page byte for byte, or the browser would block them.
	if !bytes.Contains(out, append(append([]byte("<script>"), initJS...), "</script>"...)) {
		return fmt.Errorf("report: init script was altered by the template; its CSP hash would not match")
	}
	_, err = w.Write(out)
	return err
}

func normalizeNewlines(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	return bytes.ReplaceAll(b, []byte("\r"), []byte("\n"))
}

func scriptHash(script []byte) string {
	sum := sha256.Sum256(script)
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

func severityLabel(s string) string {
	switch s {
	case schema.Critical, schema.Warning, schema.Info:
		return s
	}
	return "unknown"
}

// dataBytes is a sortable number for a table cell: absent sorts below 0.
func dataBytes(p *int64) int64 {
	if p == nil {
		return -1
	}
	return *p
}

var lineKey = regexp.MustCompile(`^line (\d+)$`)

// growthPerMin is a slope for the growth table: "+2.0 MiB", "−512 KiB".
func growthPerMin(p *float64) string {
	v := *p
	if v < 0 {
		return "−" + bytesOrDash(ptrInt64(int64(-v)))
	}
	return "+" + bytesOrDash(ptrInt64(int64(v)))
}

func ptrInt64(v int64) *int64 { return &v }
