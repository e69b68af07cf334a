package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/memsnap/memsnap/internal/golden"
)

// TestLabSampleReports compares the text report of every real-kernel
// sample (samples/lab-*, written by make samples-from-lab) and of every
// ticket sample (samples/ticket-*, loose files as a customer sends them) with
// testdata/<sample>.txt, so that a change in how memsnap reads real kernel
// output — numbers, attribution, wording — shows up in review as a diff of
// these files. The clock is fixed with --now and the bundle's location is
// written as samples/<name>. -update rewrites the goldens.
func TestLabSampleReports(t *testing.T) {
	ms, _ := filepath.Glob(filepath.Join(samplesDir(t), "lab-*", "manifest.json"))
	if len(ms) == 0 {
		t.Fatal("no samples/lab-* bundles (make samples-from-lab writes them)")
	}
	tickets := ticketSamples(t)
	if len(tickets) == 0 {
		t.Fatal("no samples/ticket-* directories")
	}
	ms = append(ms, tickets...)
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
	tg, _ := filepath.Glob(filepath.Join("testdata", "ticket-*.txt"))
	goldens = append(goldens, tg...)
	for _, g := range goldens {
		if !want[filepath.Base(g)] {
			t.Errorf("%s has no samples/%s bundle", g, strings.TrimSuffix(filepath.Base(g), ".txt"))
		}
	}
}

// ticketSamples lists samples/ticket-* as DIR/manifest.json paths, the shape
// the sample tests take apart with filepath.Dir; a ticket has no manifest.
func ticketSamples(t *testing.T) []string {
	dirs, _ := filepath.Glob(filepath.Join(samplesDir(t), "ticket-*"))
	var out []string
	for _, d := range dirs {
		out = append(out, filepath.Join(d, "manifest.json"))
	}
	return out
}
