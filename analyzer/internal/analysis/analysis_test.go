package analysis

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/memsnap/memsnap/bundle"
)

// inputs are every sample bundle plus one missing path and one file that is
// not a bundle, so the parts that fail to open are joined in order too.
func inputs(t *testing.T) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join("..", "..", "..", "samples", "*", "manifest.json"))
	if err != nil || len(dirs) < 5 {
		t.Fatalf("samples: %v (found %d)", err, len(dirs))
	}
	var in []string
	for _, m := range dirs {
		in = append(in, filepath.Dir(m))
	}
	junk := filepath.Join(t.TempDir(), "junk.tar.gz")
	if err := os.WriteFile(junk, []byte("not a bundle\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Broken inputs in the middle, so their order against readable ones shows.
	mid := len(in) / 2
	return append(in[:mid:mid], append([]string{filepath.Join(t.TempDir(), "missing"), junk}, in[mid:]...)...)
}

func analyzeToJSON(t *testing.T, in []string, jobs int) []byte {
	t.Helper()
	doc, err := Analyze(context.Background(), in, Options{Now: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC),
		Version: "test", Reader: bundle.DefaultOptions(), Jobs: jobs})
	if err != nil {
		t.Fatalf("jobs %d: %v", jobs, err)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestJobsDoNotChangeTheDocument: bundles analysed one at a time and several
// at once give the same document, byte for byte.
func TestJobsDoNotChangeTheDocument(t *testing.T) {
	in := inputs(t)
	one := analyzeToJSON(t, in, 1)
	for _, jobs := range []int{2, 3, len(in) + 5} {
		if got := analyzeToJSON(t, in, jobs); !bytes.Equal(got, one) {
			t.Errorf("jobs %d: document differs from jobs 1 (%d vs %d bytes)", jobs, len(got), len(one))
		}
	}
	var doc struct {
		Bundles []struct {
			Index    int
			Source   string
			Problems []string
		}
	}
	if err := json.Unmarshal(one, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Bundles) != len(in) {
		t.Fatalf("%d bundles in the document, want %d", len(doc.Bundles), len(in))
	}
	for i, b := range doc.Bundles {
		if b.Index != i || b.Source != in[i] {
			t.Errorf("bundle %d: index %d source %q, want %q", i, b.Index, b.Source, in[i])
		}
	}
}

// TestJobsRunAtOnce: with Jobs n, n bundles are open at the same time. Each
// open waits (up to a generous bound) for the others to arrive; a driver
// that opened them one by one would only ever have one in flight.
func TestJobsRunAtOnce(t *testing.T) {
	in := inputs(t)[:4]
	t.Cleanup(func() { openBundle = bundle.Open })
	for _, jobs := range []int{1, 2, 3} {
		var mu sync.Mutex
		inFlight, most, started := 0, 0, 0
		openBundle = func(ctx context.Context, path string, opts bundle.Options) (*bundle.Bundle, error) {
			mu.Lock()
			inFlight++
			started++
			most = max(most, inFlight)
			mu.Unlock()
			// Wait until jobs opens are in flight (or every open has begun,
			// for the last ones), or give up after the bound.
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
				mu.Lock()
				done := inFlight >= jobs || started == len(in)
				mu.Unlock()
				if done {
					break
				}
			}
			b, err := bundle.Open(ctx, path, opts)
			mu.Lock()
			inFlight--
			mu.Unlock()
			return b, err
		}
		analyzeToJSON(t, in, jobs)
		if started != len(in) {
			t.Errorf("jobs %d: %d opens, want %d", jobs, started, len(in))
		}
		if most != jobs {
			t.Errorf("jobs %d: at most %d bundles were open at once", jobs, most)
		}
	}
}

func TestDefaultJobs(t *testing.T) {
	if j := DefaultJobs(); j < 1 || j > 4 {
		t.Fatalf("DefaultJobs() = %d, want 1..4", j)
	}
}
