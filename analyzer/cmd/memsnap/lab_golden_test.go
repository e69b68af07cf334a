package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateLabGoldens = flag.Bool("update", false, "rewrite testdata/lab-*.txt from the committed samples/lab-* bundles")

// TestLabSampleReports compares the text report of every real-kernel
// sample (samples/lab-*, written by make samples-from-lab) with
// testdata/<sample>.txt, so that a change in how memsnap reads real kernel
// output — numbers, attribution, wording — shows up in review as a diff of
// these files. The clock is fixed with --now and the bundle's location is
// written as samples/<name>. -update rewrites the goldens.
func TestLabSampleReports(t *testing.T) {
	ms, _ := filepath.Glob(filepath.Join(samplesDir(t), "lab-*", "manifest.json"))
	if len(ms) == 0 {
		t.Fatal("no samples/lab-* bundles (make samples-from-lab writes them)")
	}
	want := map[string]bool{}
	for _, m := range ms {
		dir := filepath.Dir(m)
		name := filepath.Base(dir)
		want[name+".txt"] = true
		t.Run(name, func(t *testing.T) {
			code, out, stderr := memsnap(t, nil, "analyze", "--format", "text", "--now", fixedNow, "-o", "-", dir)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			out = strings.ReplaceAll(out, dir, "samples/"+name)
			golden := filepath.Join("testdata", name+".txt")
			if *updateLabGoldens {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			b, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./analyzer/cmd/memsnap -run TestLabSampleReports -update)", err)
			}
			if d := firstDifference(string(b), out); d != "" {
				t.Errorf("%s differs from the report of samples/%s (rerun with -update if the change is intended):\n%s", golden, name, d)
			}
		})
	}
	// A golden whose sample is gone would otherwise linger unchecked.
	goldens, _ := filepath.Glob(filepath.Join("testdata", "lab-*.txt"))
	for _, g := range goldens {
		if !want[filepath.Base(g)] {
			t.Errorf("%s has no samples/%s bundle", g, strings.TrimSuffix(filepath.Base(g), ".txt"))
		}
	}
}

// firstDifference describes where two texts part: the first differing
// line of each with two lines of context, or "" when they are equal.
func firstDifference(want, got string) string {
	if want == got {
		return ""
	}
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	i := 0
	for i < len(w) && i < len(g) && w[i] == g[i] {
		i++
	}
	var b strings.Builder
	for j := max(i-2, 0); j < i; j++ {
		fmt.Fprintf(&b, "  %d    %s\n", j+1, w[j])
	}
	if i < len(w) {
		fmt.Fprintf(&b, "  %d  - %s\n", i+1, w[i])
	}
	if i < len(g) {
		fmt.Fprintf(&b, "  %d  + %s\n", i+1, g[i])
	}
	fmt.Fprintf(&b, "  (golden %d lines, report %d lines)", len(w), len(g))
	return b.String()
}
