// Package rules holds memsnap's diagnoses, one file each, in the spirit of
// golang.org/x/tools/go/analysis: a rule is a value with an ID, a doc whose
// first line is its title, the data it needs and a Run over the snapshot. The
// driver takes the list in registry.go; rules hold no registration logic.
package rules

import (
	"fmt"
	"strings"

	"github.com/memsnap/memsnap/analyzer/internal/config"
	"github.com/memsnap/memsnap/analyzer/internal/snapshot"
	"github.com/memsnap/memsnap/report/schema"
)

// Rule is one diagnosis.
type Rule struct {
	// ID is stable kebab-case (DESIGN §3); it names the YAML threshold section too.
	ID string
	// Doc: first line the title; then paragraphs headed "What:", "Why:",
	// "Evidence:", "Fix:" and "References:" (memsnap rules / explain and
	// docs/rules.md all print this text).
	Doc string
	// Severity is the most severe level the rule reports.
	Severity string
	// Needs lists the inputs without which the rule cannot say anything; when
	// one is missing the rule is skipped and says so, it never guesses.
	Needs []snapshot.Data
	// NeedsAny lists inputs of which at least one must be present.
	NeedsAny []snapshot.Data
	// NeedsWith, when set, names inputs needed given what the snapshot
	// holds: a rule that decides from the cgroup tree with one more input,
	// and at partial depth from other evidence without it.
	NeedsWith func(*snapshot.Snapshot) []snapshot.Data
	Run       func(*Pass)
}

// Title is the doc's first line.
func (r *Rule) Title() string {
	title, _, _ := strings.Cut(r.Doc, "\n")
	return strings.TrimSpace(title)
}

// Pass is one rule's run over one snapshot.
type Pass struct {
	Rule   *Rule
	Snap   *snapshot.Snapshot
	Config *config.Config
	// Registry is the full rule list, for rules that describe others (missing-source).
	Registry []*Rule

	findings []schema.Finding
	skip     string
}

// Report records a finding. The driver fills rule, bundle and node and applies
// suppressions; the rule fills severity, subject, text and evidence.
func (p *Pass) Report(f schema.Finding) {
	f.Rule = p.Rule.ID
	if f.Title == "" {
		f.Title = p.Rule.Title()
	}
	if f.Basis == nil {
		f.Basis = basisOf(p.Snap, f.Evidence)
	}
	p.findings = append(p.findings, f)
}

// Skipf marks the run as skipped: the data the rule needs is not there.
func (p *Pass) Skipf(format string, args ...any) {
	p.skip = fmt.Sprintf(format, args...)
}

// Findings returns what the run reported.
func (p *Pass) Findings() []schema.Finding { return p.findings }

// Skipped returns the skip reason, or "".
func (p *Pass) Skipped() string { return p.skip }

// MissingNeeds returns why r cannot run on s, or "".
func (r *Rule) MissingNeeds(s *snapshot.Snapshot) string {
	var missing []string
	needs := r.Needs
	if r.NeedsWith != nil {
		needs = append(append([]snapshot.Data(nil), needs...), r.NeedsWith(s)...)
	}
	for _, d := range needs {
		if !s.Has(d) {
			missing = append(missing, string(d))
		}
	}
	if len(r.NeedsAny) > 0 {
		any := false
		for _, d := range r.NeedsAny {
			any = any || s.Has(d)
		}
		if !any {
			var names []string
			for _, d := range r.NeedsAny {
				names = append(names, string(d))
			}
			missing = append(missing, "one of "+strings.Join(names, ", "))
		}
	}
	if len(missing) == 0 {
		return ""
	}
	return "needs " + strings.Join(missing, "; ")
}

// Execute runs r over s, honouring Needs.
func Execute(r *Rule, s *snapshot.Snapshot, cfg *config.Config, registry []*Rule) *Pass {
	p := &Pass{Rule: r, Snap: s, Config: cfg, Registry: registry}
	if why := r.MissingNeeds(s); why != "" {
		p.skip = why
		return p
	}
	r.Run(p)
	if p.skip != "" {
		p.findings = nil
	}
	return p
}
