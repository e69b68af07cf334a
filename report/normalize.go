package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/memsnap/memsnap/report/schema"
)

// normalize returns a copy of doc whose lists are in one canonical order, so
// every renderer is deterministic whatever order the analyzer produced. The
// input is not modified (slices are cloned before sorting).
func normalize(doc *schema.Document) *schema.Document {
	d := *doc
	d.Bundles = slices.Clone(doc.Bundles)
	slices.SortStableFunc(d.Bundles, func(a, b schema.Bundle) int { return cmp.Compare(a.Index, b.Index) })

	d.Rules = slices.Clone(doc.Rules)
	slices.SortStableFunc(d.Rules, func(a, b schema.RuleStatus) int {
		return cmp.Or(cmp.Compare(a.Bundle, b.Bundle), cmp.Compare(a.ID, b.ID))
	})

	d.Findings = slices.Clone(doc.Findings)
	slices.SortStableFunc(d.Findings, compareFindings)

	d.OOMEvents = slices.Clone(doc.OOMEvents)
	slices.SortStableFunc(d.OOMEvents, func(a, b schema.OOMEvent) int {
		return cmp.Or(cmp.Compare(a.Bundle, b.Bundle), cmp.Compare(a.Time, b.Time),
			compareFloatPtr(a.UptimeSeconds, b.UptimeSeconds), cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.PID, b.PID))
	})

	d.Workloads = slices.Clone(doc.Workloads)
	slices.SortStableFunc(d.Workloads, func(a, b schema.Workload) int {
		return cmp.Or(cmp.Compare(a.Bundle, b.Bundle), cmp.Compare(a.Namespace, b.Namespace),
			cmp.Compare(a.Pod, b.Pod), cmp.Compare(a.PodUID, b.PodUID),
			cmp.Compare(a.Container, b.Container), cmp.Compare(a.Cgroup, b.Cgroup))
	})

	d.HeapProfiles = slices.Clone(doc.HeapProfiles)
	slices.SortStableFunc(d.HeapProfiles, func(a, b schema.HeapProfile) int {
		return cmp.Or(cmp.Compare(a.Bundle, b.Bundle), cmp.Compare(a.Target, b.Target), cmp.Compare(a.File, b.File))
	})

	d.Excerpts = slices.Clone(doc.Excerpts)
	slices.SortStableFunc(d.Excerpts, func(a, b schema.Excerpt) int {
		return cmp.Or(cmp.Compare(a.Bundle, b.Bundle), cmp.Compare(a.File, b.File), cmp.Compare(firstLine(a), firstLine(b)))
	})

	d.Catalog = slices.Clone(doc.Catalog)
	slices.SortStableFunc(d.Catalog, func(a, b schema.RuleDoc) int { return cmp.Compare(a.ID, b.ID) })
	fillEmptyLists(&d)
	return &d
}

// fillEmptyLists turns absent lists into empty ones: JSON consumers get [],
// never null, for "nothing found" (null is reserved for absent numbers).
func fillEmptyLists(d *schema.Document) {
	d.Bundles = orEmpty(d.Bundles)
	d.Rules = orEmpty(d.Rules)
	d.Findings = orEmpty(d.Findings)
	d.OOMEvents = orEmpty(d.OOMEvents)
	d.Workloads = orEmpty(d.Workloads)
	d.HeapProfiles = orEmpty(d.HeapProfiles)
	d.Excerpts = orEmpty(d.Excerpts)
	for i := range d.Bundles {
		d.Bundles[i].Sources = orEmpty(d.Bundles[i].Sources)
		d.Bundles[i].Problems = orEmpty(d.Bundles[i].Problems)
	}
	for i := range d.Findings {
		d.Findings[i].Evidence = orEmpty(d.Findings[i].Evidence)
		d.Findings[i].References = orEmpty(d.Findings[i].References)
	}
	for i := range d.HeapProfiles {
		d.HeapProfiles[i].TopInuse = orEmpty(d.HeapProfiles[i].TopInuse)
		d.HeapProfiles[i].TopAlloc = orEmpty(d.HeapProfiles[i].TopAlloc)
	}
	for i := range d.Excerpts {
		d.Excerpts[i].Lines = orEmpty(d.Excerpts[i].Lines)
	}
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// compareFindings puts the worst first, then groups by bundle, rule and subject.
func compareFindings(a, b schema.Finding) int {
	return cmp.Or(
		cmp.Compare(suppressedRank(a), suppressedRank(b)), // active findings first
		-cmp.Compare(schema.SeverityRank(a.Severity), schema.SeverityRank(b.Severity)),
		cmp.Compare(a.Bundle, b.Bundle), cmp.Compare(a.Rule, b.Rule),
		cmp.Compare(a.Subject, b.Subject), cmp.Compare(a.Title, b.Title), cmp.Compare(a.Summary, b.Summary))
}

func suppressedRank(f schema.Finding) int {
	if f.Suppressed != nil {
		return 1
	}
	return 0
}

func compareFloatPtr(a, b *float64) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	return cmp.Compare(*a, *b)
}

func firstLine(e schema.Excerpt) int {
	if len(e.Lines) == 0 {
		return 0
	}
	return e.Lines[0].N
}

// tally counts findings by severity; suppressed ones separately.
type tally struct {
	Critical, Warning, Info, Suppressed int
}

func (t tally) Active() int { return t.Critical + t.Warning + t.Info }

// Worst is the most severe active severity, or "" when there is none.
func (t tally) Worst() string {
	switch {
	case t.Critical > 0:
		return schema.Critical
	case t.Warning > 0:
		return schema.Warning
	case t.Info > 0:
		return schema.Info
	}
	return ""
}

func (t tally) String() string {
	s := fmt.Sprintf("%d critical, %d warning, %d info", t.Critical, t.Warning, t.Info)
	if t.Suppressed > 0 {
		s += fmt.Sprintf(" (%d suppressed)", t.Suppressed)
	}
	return s
}

func (t *tally) add(f schema.Finding) {
	if f.Suppressed != nil {
		t.Suppressed++
		return
	}
	switch f.Severity {
	case schema.Critical:
		t.Critical++
	case schema.Warning:
		t.Warning++
	case schema.Info:
		t.Info++
	}
}

// countFindings tallies findings, for bundle >= 0 only that bundle's.
func countFindings(doc *schema.Document, bundle int) tally {
	var t tally
	for _, f := range doc.Findings {
		if bundle < 0 || f.Bundle == bundle {
			t.add(f)
		}
	}
	return t
}

// bundleName is how a bundle is named to a reader: the node, else its source.
func bundleName(b schema.Bundle) string {
	if b.Node != "" {
		return b.Node
	}
	if b.Source != "" {
		return b.Source
	}
	return fmt.Sprintf("bundle %d", b.Index)
}

// findingSubject is the subject, or what can be built from the finding's names.
func findingSubject(f schema.Finding) string {
	if f.Subject != "" {
		return f.Subject
	}
	parts := []string{}
	for _, p := range []string{f.Namespace, f.Pod, f.Container} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) > 0 {
		return strings.Join(parts, "/")
	}
	if f.Cgroup != "" {
		return "cgroup:" + f.Cgroup
	}
	return "node:" + f.Node
}

// ruleIDs returns every rule ID the document mentions, sorted.
func ruleIDs(doc *schema.Document) []string {
	seen := map[string]bool{}
	for _, r := range doc.Catalog {
		seen[r.ID] = true
	}
	for _, r := range doc.Rules {
		seen[r.ID] = true
	}
	for _, f := range doc.Findings {
		seen[f.Rule] = true
	}
	ids := make([]string, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// ruleDoc returns the catalogue entry for id, if the document has one.
func ruleDoc(doc *schema.Document, id string) (schema.RuleDoc, bool) {
	for _, r := range doc.Catalog {
		if r.ID == id {
			return r, true
		}
	}
	return schema.RuleDoc{}, false
}

// worstBundlesFirst orders bundles for the cluster summary: most critical,
// then warning, then info findings, then OOM kills, then bundle order.
func worstBundlesFirst(doc *schema.Document) []schema.Bundle {
	bs := slices.Clone(doc.Bundles)
	slices.SortStableFunc(bs, func(a, b schema.Bundle) int {
		ta, tb := countFindings(doc, a.Index), countFindings(doc, b.Index)
		return cmp.Or(-cmp.Compare(ta.Critical, tb.Critical), -cmp.Compare(ta.Warning, tb.Warning),
			-cmp.Compare(ta.Info, tb.Info), -cmp.Compare(oomCount(doc, a.Index), oomCount(doc, b.Index)),
			cmp.Compare(a.Index, b.Index))
	})
	return bs
}
