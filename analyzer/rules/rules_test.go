package rules_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/memsnap/memsnap/analyzer/rules"
	"github.com/memsnap/memsnap/analyzer/rules/rulestest"
	"github.com/memsnap/memsnap/internal/testcorpus"
	"github.com/memsnap/memsnap/report/schema"
)

func TestRules(t *testing.T) {
	for _, r := range rules.All {
		r := r
		t.Run(r.ID, func(t *testing.T) { rulestest.Run(t, "testdata", r) })
	}
}

var kebab = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)

// TestRegistry validates the catalogue: IDs, docs, severities and fixtures.
func TestRegistry(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range rules.All {
		if !kebab.MatchString(r.ID) {
			t.Errorf("rule ID %q is not kebab-case", r.ID)
		}
		if seen[r.ID] {
			t.Errorf("duplicate rule ID %q", r.ID)
		}
		seen[r.ID] = true
		if rules.ByID(r.ID) != r {
			t.Errorf("ByID(%q) does not return the rule", r.ID)
		}
		if r.Title() == "" || r.Run == nil {
			t.Errorf("%s: empty title or nil Run", r.ID)
		}
		for _, section := range []string{"What:", "Why:", "Evidence:", "Fix:", "References:"} {
			if !strings.Contains(r.Doc, section) {
				t.Errorf("%s: doc lacks %q", r.ID, section)
			}
		}
		if schema.SeverityRank(r.Severity) == 0 {
			t.Errorf("%s: severity %q", r.ID, r.Severity)
		}
		positive, negative := 0, 0
		for _, f := range rulestest.Fixtures(t, "testdata", r.ID) {
			c := rulestest.Load(t, f)
			findings := 0
			for _, w := range c.Want {
				if w.Skipped == nil {
					findings++
				}
			}
			switch {
			case findings > 0:
				positive++
			case len(c.Want) == 0:
				negative++ // the rule ran (the harness fails a skip without a want) and found nothing
			}
		}
		if positive < 2 || negative < 1 {
			t.Errorf("%s: %d positive and %d negative fixtures; want ≥ 2 and ≥ 1", r.ID, positive, negative)
		}
	}
}

// TestDocsRulesMD fails when docs/rules.md is stale.
func TestDocsRulesMD(t *testing.T) {
	path := filepath.Join(testcorpus.RepoRoot(t), "docs", "rules.md")
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run make docs)", err)
	}
	if string(got) != rules.Markdown(rules.All) {
		t.Errorf("docs/rules.md is stale: run `make docs` (bin/memsnap rules --format markdown > docs/rules.md)")
	}
}

// TestCatalogue: the founding twelve rules and catalogue II's twelve (#16)
// are all registered; other branches add more, so the total is not fixed.
func TestCatalogue(t *testing.T) {
	for _, id := range []string{
		"oom-kill", "working-set-page-cache", "pod-orphaned-memory", "tmpfs-memory", "kubepods-limit-drift",
		"node-memory-pressure", "agent-scrape-pileup", "heap-profile-top", "memory-high-throttling",
		"no-memory-limit", "kernel-memory-high", "missing-source",
		"runtime-heap-vs-limit", "eviction-order", "node-overcommit", "limit-rightsizing",
		"system-oom-before-eviction", "node-daemon-oom", "swap-and-hugepages", "dying-memcgs",
		"thp-inflation", "fragmentation-oom", "kmem-accounting-leak", "dirty-writeback-oom",
	} {
		if rules.ByID(id) == nil {
			t.Errorf("rule %s is not registered", id)
		}
	}
	if len(rules.All) < 24 {
		t.Errorf("%d rules, want at least 24", len(rules.All))
	}
}
