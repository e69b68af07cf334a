package report

import (
	"fmt"
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

// seriesDoc is a watch of a 250-pod node: the node's lines, 750
// containers of which the first few grow, a restart and an OOM kill.
func seriesDoc() *schema.Document {
	doc := richDoc()
	const t0, step, n = int64(1714979289000), int64(15000), 41
	line := func(start, perStep int64) [][2]int64 {
		pts := make([][2]int64, n)
		for i := range pts {
			pts[i] = [2]int64{t0 + int64(i)*step, start + int64(i)*perStep}
		}
		return pts
	}
	thr := int64(100 << 20)
	s := &schema.Series{Files: []string{"series/node.tsv.gz", "series/cgroups.tsv.gz"}, EveryMS: step, SnapshotAt: "2024-05-06T07:18:09Z",
		Node: &schema.SeriesNode{File: "series/node.tsv.gz", EvictionThresholdBytes: &thr,
			Used: line(6<<30, 8<<20), WorkingSet: line(5<<30, 8<<20), Available: line(3<<30, -8<<20)}}
	for i := 0; i < 750; i++ {
		limit := int64(512 << 20)
		g := float64(4<<20) / float64(i+1)
		c := schema.SeriesContainer{Subject: fmt.Sprintf("shop/api-%03d/app", i), Namespace: "shop", Pod: fmt.Sprintf("api-%03d", i),
			Container: "app", File: "series/cgroups.tsv.gz", GrowthBytesPerMin: &g, LimitBytes: &limit, FirstMS: t0, LastMS: t0 + (n-1)*step}
		if i < 8 {
			c.Usage, c.WorkingSet = line(200<<20, int64(g)/4+(1<<20)), line(180<<20, int64(g)/4)
			c.Anon, c.FileCache = line(150<<20, int64(g)/4), line(50<<20, 1<<20)
		}
		s.Containers = append(s.Containers, c)
	}
	s.Events = []schema.SeriesEvent{{MS: t0 + 20*step, Kind: "restart", Subject: "shop/api-000/app"}, {MS: t0 + 30*step, Kind: "oom_kill", Subject: "shop/api-001/app"}}
	doc.Bundles[0].Series = s
	return doc
}

// TestBrowserSeries: the time charts paint (node + the 8 fastest
// containers), the growth table lists the containers of a 250-pod node,
// restarts and OOM kills are marked, nothing is requested.
func TestBrowserSeries(t *testing.T) {
	doc := seriesDoc()
	base := browsertest.Check(t, writeReport(t, "report-rich-base", richDoc()))
	res := browsertest.Check(t, writeReport(t, "report-series", doc))
	if got, want := len(res.Charts), len(base.Charts)+9; got != want {
		t.Errorf("%d charts painted, want %d (the rich report's %d + node + 8 containers)", got, want, len(base.Charts))
	}
	for _, want := range []string{"Memory over time", "shop/api-000/app", "shop/api-499/app", "+4.0 MiB", "growth table shows the 500 fastest of 750", "other rules ran on the final snapshot"} {
		if !strings.Contains(res.Text, want) {
			t.Errorf("the page does not show %q", want)
		}
	}
}
