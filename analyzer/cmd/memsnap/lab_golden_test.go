package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/memsnap/memsnap/internal/golden"
)

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
			golden.Check(t, filepath.Join("testdata", name+".txt"), []byte(out))
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
