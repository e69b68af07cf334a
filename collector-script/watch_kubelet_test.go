package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/memsnap/memsnap/internal/testcorpus"
)

// TestSummaryRowsCorpus reduces a real kubelet summary (k8s 1.28, from
// newrelic/nri-kubernetes; ../shared/corpus/SOURCES.md) to its rows:
// one node row, one per pod and container, numbers as the JSON gives them.
func TestSummaryRowsCorpus(t *testing.T) {
	b, err := os.ReadFile(testcorpus.Path(t, "kubelet-summary", "nri-kubernetes-k8s-1_28-stats-summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc summaryDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	rows := summaryRows(&doc)
	// 18 pods with 23 containers between them (read off the file).
	if len(rows) != 1+41 {
		t.Fatalf("%d rows, want 42", len(rows))
	}
	cells := func(r [][]byte) string {
		s := make([]string, len(r))
		for i, c := range r {
			s[i] = string(c)
		}
		return strings.Join(s, "|")
	}
	// Cells after ts_ms: stat_ms node namespace pod pod_uid container ws usage rss available error.
	if got, want := cells(rows[0]), "1699597252000|datagen-1-28|||||884572160|2467389440|653905920|7348043776|"; got != want {
		t.Errorf("node row %s, want %s", got, want)
	}
	if got, want := cells(rows[1]), "1699597248000|datagen-1-28|scraper|e2e-statefulset-0|455a4d7f-0df9-4536-8371-9eb4b89b7268||11169792|11169792|9596928||"; got != want {
		t.Errorf("pod row %s, want %s", got, want)
	}
	if got, want := cells(rows[2]), "1699597243000|datagen-1-28|scraper|e2e-statefulset-0|455a4d7f-0df9-4536-8371-9eb4b89b7268|compute-pi-digits|10407936|10407936|9867264|21049344|"; got != want {
		t.Errorf("container row %s, want %s", got, want)
	}
}
