package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memsnap/memsnap/report/browsertest"
)

// TestSampleReportsInBrowser renders every sample's report, and the combined
// report make demo writes, and checks each in headless Chromium: no console
// error, no request but the document, no CSP violation, every chart painted,
// every finding visible. Screenshots land in test-artifacts/.
func TestSampleReportsInBrowser(t *testing.T) {
	ms, _ := filepath.Glob(filepath.Join(samplesDir(t), "*", "manifest.json"))
	if len(ms) == 0 {
		t.Fatal("no samples")
	}
	out := t.TempDir()
	var all []string
	for _, m := range ms {
		dir := filepath.Dir(m)
		all = append(all, dir)
		html := filepath.Join(out, "sample-"+filepath.Base(dir)+".html")
		if code, _, stderr := memsnap(t, nil, "analyze", "--now", fixedNow, "-o", html, dir); code != 0 {
			t.Fatalf("%s: exit %d: %s", dir, code, stderr)
		}
	}
	demo := filepath.Join(out, "sample-all-nodes.html")
	if code, _, stderr := memsnap(t, nil, append([]string{"analyze", "--now", fixedNow, "-o", demo}, all...)...); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	pages, _ := filepath.Glob(filepath.Join(out, "*.html"))
	for _, p := range pages {
		p := p
		t.Run(strings.TrimSuffix(filepath.Base(p), ".html"), func(t *testing.T) {
			st, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if st.Size() > 5<<20 {
				t.Errorf("%s is %d bytes, over 5 MB", filepath.Base(p), st.Size())
			}
			res := browsertest.Check(t, p)
			if res.Pwned {
				t.Errorf("window.__pwn was set")
			}
			if len(res.Charts) == 0 {
				t.Errorf("no chart on the page")
			}
			if res.Screenshot == "" {
				t.Errorf("no screenshot saved")
			}
		})
	}
}
