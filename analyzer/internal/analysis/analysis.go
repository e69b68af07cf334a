// Package analysis is the driver: it opens bundles, builds one snapshot each,
// runs the rules and assembles the report document every renderer draws from.
package analysis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"time"

	"github.com/memsnap/memsnap/analyzer/internal/config"
	"github.com/memsnap/memsnap/analyzer/internal/snapshot"
	"github.com/memsnap/memsnap/analyzer/rules"
	"github.com/memsnap/memsnap/bundle"
	"github.com/memsnap/memsnap/report/schema"
)

// Options are the driver's seams.
type Options struct {
	Config  *config.Config // nil = defaults
	Rules   []*rules.Rule  // nil = rules.All
	Now     time.Time      // the report's clock
	Version string
	Stdin   io.Reader // for the "-" input
	Reader  bundle.Options
}

// ErrNoBundle means no input could be read at all (exit code 2).
var ErrNoBundle = errors.New("no bundle could be read")

// Analyze opens every input and returns the report. Inputs that cannot be
// opened are listed as bundles with a problem; only when none can be read is
// the error ErrNoBundle.
func Analyze(ctx context.Context, inputs []string, opts Options) (*schema.Document, error) {
	if opts.Config == nil {
		opts.Config = config.Default()
	}
	if opts.Rules == nil {
		opts.Rules = rules.All
	}
	doc := &schema.Document{
		Schema:         schema.ID,
		Generated:      opts.Now.UTC().Format(time.RFC3339),
		MemsnapVersion: opts.Version,
	}
	var openErrs []error
	readable := 0
	for i, in := range inputs {
		ropts := opts.Reader
		ropts.Stdin = opts.Stdin
		b, err := bundle.Open(ctx, in, ropts)
		if err != nil {
			openErrs = append(openErrs, fmt.Errorf("%s: %w", in, err))
			doc.Bundles = append(doc.Bundles, schema.Bundle{Index: i, Source: in, Node: in,
				Problems: []string{fmt.Sprintf("%s: cannot be read: %v", in, err)}})
			continue
		}
		readable++
		snap := snapshot.Build(b, snapshot.Options{Index: i, Source: in})
		addSnapshot(doc, snap, opts)
		// The reader's problems last: reading files during the analysis adds
		// sha256 mismatches.
		last := &doc.Bundles[len(doc.Bundles)-1]
		for _, p := range b.Problems() {
			last.Problems = append(last.Problems, p.Path+": "+p.Message)
		}
		sort.Strings(last.Problems)
		b.Close()
	}
	if readable == 0 {
		return doc, fmt.Errorf("%w: %v", ErrNoBundle, errors.Join(openErrs...))
	}
	catalog(doc, opts.Rules)
	finish(doc)
	return doc, nil
}

func addSnapshot(doc *schema.Document, snap *snapshot.Snapshot, opts Options) {
	var findings []schema.Finding
	for _, r := range opts.Rules {
		pass := rules.Execute(r, snap, opts.Config, opts.Rules)
		st := schema.RuleStatus{ID: r.ID, Bundle: snap.Index, Status: "ran"}
		if why := pass.Skipped(); why != "" {
			st.Status, st.Reason = "skipped", why
		}
		doc.Rules = append(doc.Rules, st)
		for _, f := range pass.Findings() {
			f.Bundle, f.Node = snap.Index, snap.NodeName
			if f.Evidence == nil {
				f.Evidence = []schema.Evidence{}
			}
			if f.References == nil {
				f.References = []string{}
			}
			if reason, ok := opts.Config.Suppressed(f.Rule, f.Subject); ok {
				f.Suppressed = &schema.Suppression{Reason: reason}
			}
			findings = append(findings, f)
		}
	}
	doc.Findings = append(doc.Findings, findings...)
	doc.Bundles = append(doc.Bundles, bundleEntry(snap))
	doc.OOMEvents = append(doc.OOMEvents, oomEvents(snap)...)
	doc.Workloads = append(doc.Workloads, workloads(snap)...)
	doc.HeapProfiles = append(doc.HeapProfiles, heapProfiles(snap)...)
	doc.Excerpts = append(doc.Excerpts, excerpts(snap, findings)...)
}

// catalog copies the rules' own docs into the report (SARIF rules, JUnit cases).
func catalog(doc *schema.Document, list []*rules.Rule) {
	for _, r := range list {
		doc.Catalog = append(doc.Catalog, schema.RuleDoc{ID: r.ID, Title: r.Title(), Doc: r.Doc, Severity: r.Severity})
	}
}

// finish sorts every list so output is byte-stable, and makes every string valid UTF-8.
func finish(doc *schema.Document) {
	validUTF8(reflect.ValueOf(doc))
	sort.SliceStable(doc.Bundles, func(i, j int) bool { return doc.Bundles[i].Index < doc.Bundles[j].Index })
	sort.SliceStable(doc.Findings, func(i, j int) bool {
		a, b := doc.Findings[i], doc.Findings[j]
		if a.Bundle != b.Bundle {
			return a.Bundle < b.Bundle
		}
		if ra, rb := schema.SeverityRank(a.Severity), schema.SeverityRank(b.Severity); ra != rb {
			return ra > rb
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		return a.Subject < b.Subject
	})
	sort.SliceStable(doc.Rules, func(i, j int) bool {
		if doc.Rules[i].Bundle != doc.Rules[j].Bundle {
			return doc.Rules[i].Bundle < doc.Rules[j].Bundle
		}
		return doc.Rules[i].ID < doc.Rules[j].ID
	})
	ensure(&doc.Findings)
	ensure(&doc.OOMEvents)
	ensure(&doc.Workloads)
	ensure(&doc.HeapProfiles)
	ensure(&doc.Excerpts)
	ensure(&doc.Rules)
	ensure(&doc.Bundles)
	for i := range doc.Bundles {
		ensure(&doc.Bundles[i].Problems)
		ensure(&doc.Bundles[i].Sources)
	}
}

func ensure[T any](s *[]T) {
	if *s == nil {
		*s = []T{}
	}
}
