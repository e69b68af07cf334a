package config

import (
	"strings"
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	c := Default()
	if got := c.Rules.WorkingSetPageCache.WorkingSetRatio; got != 0.80 {
		t.Errorf("working_set_ratio = %v, want 0.80", got)
	}
	if got := c.Rules.PodOrphanedMemory.MinBytes; got != 64<<20 {
		t.Errorf("pod-orphaned-memory min_bytes = %d, want 64Mi", got)
	}
	if got := time.Duration(c.Rules.AgentScrapePileup.ScrapeInterval); got != 30*time.Second {
		t.Errorf("scrape_interval = %v", got)
	}
}

func TestOverrideKeepsOtherDefaults(t *testing.T) {
	c, err := Load(strings.NewReader("rules:\n  working-set-page-cache:\n    working_set_ratio: 0.9\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Rules.WorkingSetPageCache.WorkingSetRatio != 0.9 {
		t.Errorf("override not applied")
	}
	if c.Rules.WorkingSetPageCache.TopFiles != 3 || c.Rules.PodOrphanedMemory.MinBytes != 64<<20 {
		t.Errorf("other defaults lost: %+v", c.Rules)
	}
}

func TestUnknownKeyIsAnError(t *testing.T) {
	for _, in := range []string{
		"rules:\n  working-set-page-cache:\n    workingset_ratio: 0.9\n",
		"rulez: {}\n",
		"rules:\n  no-such-rule: {}\n",
	} {
		if _, err := Load(strings.NewReader(in)); err == nil {
			t.Errorf("Load(%q) accepted an unknown key", in)
		}
	}
}

func TestBadQuantity(t *testing.T) {
	_, err := Load(strings.NewReader("rules:\n  tmpfs-memory:\n    min_bytes: lots\n"))
	if err == nil || !strings.Contains(err.Error(), "quantity") {
		t.Fatalf("err = %v", err)
	}
}

func TestSuppress(t *testing.T) {
	c, err := Load(strings.NewReader(`suppress:
  - rule: oom-kill
    subject: "batch/*"
    reason: "batch jobs are sized to be killed"
`))
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := c.Suppressed("oom-kill", "batch/job-1/worker"); !ok || r == "" {
		t.Errorf("batch/job-1/worker not suppressed")
	}
	if _, ok := c.Suppressed("oom-kill", "default/web/app"); ok {
		t.Errorf("default/web/app suppressed")
	}
	if _, ok := c.Suppressed("tmpfs-memory", "batch/job-1/worker"); ok {
		t.Errorf("other rule suppressed")
	}
	if _, err := Load(strings.NewReader("suppress:\n  - rule: oom-kill\n    subject: x\n")); err == nil {
		t.Errorf("suppression without reason accepted")
	}
}
