package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memsnap/memsnap/report/browsertest"
	"github.com/memsnap/memsnap/report/schema"
)

// writeReport renders doc as HTML into a temporary file named name.html
// (the screenshot takes the same name).
func writeReport(t *testing.T, name string, doc *schema.Document) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name+".html")
	if err := os.WriteFile(path, render(t, "html", doc, Options{Now: testNow}), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestBrowser opens the reports in headless Chromium: no console error, no
// request but the document, no CSP violation, every chart painted, every
// finding laid out. Screenshots land in test-artifacts/.
func TestBrowser(t *testing.T) {
	for name, doc := range map[string]*schema.Document{
		"report-rich":  richDoc(),
		"report-empty": emptyDoc(),
	} {
		t.Run(name, func(t *testing.T) {
			res := browsertest.Check(t, writeReport(t, name, doc))
			if name == "report-rich" {
				if len(res.Charts) < 6 {
					t.Errorf("%d charts, want node memory ×3, workloads ×2, OOM timeline, heap ×2", len(res.Charts))
				}
				if len(res.Findings) != len(doc.Findings) {
					t.Errorf("%d findings laid out, want %d", len(res.Findings), len(doc.Findings))
				}
				for _, want := range []string{"Container shop/worker-5c/worker was OOM-killed", "Suppressed: logging agent", "Cluster summary", "GetDirUsage"} {
					if !strings.Contains(res.Text, want) {
						t.Errorf("the page does not show %q", want)
					}
				}
			}
		})
	}
}

// TestBrowserXSS renders a document whose every bundle-derived string carries
// a payload that tries to set window.__pwn: nothing runs, nothing is
// requested, and the payloads are shown as text.
func TestBrowserXSS(t *testing.T) {
	res := browsertest.Check(t, writeReport(t, "report-xss", hostileDoc()))
	for _, p := range xssPayloads {
		if !strings.Contains(res.Text, p) {
			t.Errorf("payload %q is not shown literally", p)
		}
	}
}
