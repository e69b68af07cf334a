package rules_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/memsnap/memsnap/analyzer/internal/config"
	"github.com/memsnap/memsnap/analyzer/internal/series"
	"github.com/memsnap/memsnap/analyzer/rules"
	"github.com/memsnap/memsnap/analyzer/rules/rulestest"
)

// TestPageCacheGrowthSeed000 checks the time-to-limit of seed 000 as its
// Prometheus saw it, against the arithmetic of the export's own numbers: the
// working set rises linearly from 100 MiB to 81 % of 1 GiB over 6 h, so it
// reaches 1 GiB (1 GiB − 0.81 GiB) / slope after the last sample.
func TestPageCacheGrowthSeed000(t *testing.T) {
	c := rulestest.Load(t, "testdata/page-cache-growth/prometheus-seed-000.txtar")
	snap := c.Snapshot()
	if snap.Series == nil || len(snap.Series.Tracks) != 1 {
		t.Fatalf("series: %+v, problems %v", snap.Series, snap.Problems())
	}
	tr := snap.Series.Tracks[0]
	ws := tr.Get(series.WorkingSet)
	first, last := ws[0], ws[len(ws)-1]
	if got := time.Duration(last.T-first.T) * time.Millisecond; got != 6*time.Hour {
		t.Fatalf("export spans %s, want 6h", got)
	}
	const gib = 1 << 30
	slope := (last.V - first.V) / float64(last.T-first.T) // bytes/ms
	want := time.UnixMilli(last.T + int64((gib-last.V)/slope)).UTC()

	cfg := config.Default()
	var err error
	p := rules.Execute(rules.PageCacheGrowth, snap, cfg, rules.All)
	if len(p.Findings()) != 1 {
		t.Fatalf("findings %v, skipped %q", p.Findings(), p.Skipped())
	}
	f := p.Findings()[0]
	var predicted time.Time
	for _, e := range f.Evidence {
		if _, at, ok := strings.Cut(e.Text, "predicted to reach it at "); ok {
			predicted, err = time.Parse("2006-01-02 15:04:05Z", at)
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if predicted.IsZero() {
		t.Fatalf("no predicted time in the evidence: %+v", f.Evidence)
	}
	if d := predicted.Sub(want); math.Abs(d.Seconds()) > 60 {
		t.Errorf("working set predicted to reach the limit at %s, want %s (off by %s)", predicted, want, d)
	}
	t.Logf("seed 000: limit reached at %s (%s after the last sample); %s", predicted, predicted.Sub(time.UnixMilli(last.T)), f.Summary)
	if f.Severity != "warning" || f.Subject != "monitor/selfmon-0/selfmon" {
		t.Errorf("severity %s subject %s", f.Severity, f.Subject)
	}
}
