// Package analysis is the driver: it opens bundles, builds one snapshot each,
// runs the rules and assembles the report document every renderer draws from.
package analysis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/memsnap/memsnap/analyzer/internal/config"
	"github.com/memsnap/memsnap/analyzer/internal/snapshot"
	"github.com/memsnap/memsnap/analyzer/rules"
	"github.com/memsnap/memsnap/bundle"
	"github.com/memsnap/memsnap/report"
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
	// Jobs is how many bundles are read and analysed at once; 0 means
	// DefaultJobs. Each one in flight holds its bundle in memory (up to
	// Reader's limits), so peak memory grows with it.
	Jobs int
}

// DefaultJobs is one bundle per CPU, at most four: CI runs hand memsnap a
// bundle per node, and a bundle is parsed on one goroutine, so more bundles
// at once is what uses a second core. Four keeps peak memory near four
// bundles' worth (about 130 MB each for a 250-pod node, docs/performance.md).
func DefaultJobs() int {
	return min(runtime.GOMAXPROCS(0), 4)
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
	// Every bundle is analysed into its own part, then the parts are joined
	// in argument order, so the document is the same for any Jobs.
	parts := make([]part, len(inputs))
	jobs := opts.Jobs
	if jobs <= 0 {
		jobs = DefaultJobs()
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(jobs, len(inputs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				parts[i] = analyzeOne(ctx, i, inputs[i], opts)
			}
		}()
	}
	for i := range inputs {
		next <- i
	}
	close(next)
	wg.Wait()

	var openErrs []error
	readable := 0
	for _, p := range parts {
		if p.openErr != nil {
			openErrs = append(openErrs, p.openErr)
		} else {
			readable++
		}
		doc.Findings = append(doc.Findings, p.doc.Findings...)
		doc.Rules = append(doc.Rules, p.doc.Rules...)
		doc.Bundles = append(doc.Bundles, p.doc.Bundles...)
		doc.OOMEvents = append(doc.OOMEvents, p.doc.OOMEvents...)
		doc.Workloads = append(doc.Workloads, p.doc.Workloads...)
		doc.HeapProfiles = append(doc.HeapProfiles, p.doc.HeapProfiles...)
		doc.Excerpts = append(doc.Excerpts, p.doc.Excerpts...)
	}
	if readable == 0 {
		return doc, fmt.Errorf("%w: %v", ErrNoBundle, errors.Join(openErrs...))
	}
	catalog(doc, opts.Rules)
	finish(doc)
	if len(doc.Bundles) > 1 {
		groupRightsizing(doc, opts.Config)
		doc.Owners = report.Owners(doc)
	}
	return doc, nil
}

// openBundle is bundle.Open; a test replaces it to watch how many bundles
// are open at once.
var openBundle = bundle.Open

// part is one bundle's share of the document.
type part struct {
	doc     schema.Document
	openErr error // the bundle could not be opened at all
}

// analyzeOne opens one bundle, builds its snapshot and runs the rules. The
// bundle is closed (its spill files removed) before it returns.
func analyzeOne(ctx context.Context, i int, in string, opts Options) part {
	var p part
	ropts := opts.Reader
	ropts.Stdin = opts.Stdin
	b, err := openBundle(ctx, in, ropts)
	if err != nil {
		p.openErr = fmt.Errorf("%s: %w", in, err)
		p.doc.Bundles = []schema.Bundle{{Index: i, Source: in, Node: in,
			Problems: []string{fmt.Sprintf("%s: cannot be read: %v", in, err)}}}
		return p
	}
	defer b.Close()
	snap := snapshot.Build(b, snapshot.Options{Index: i, Source: in})
	addSnapshot(&p.doc, snap, opts)
	// The reader's problems last: reading files during the analysis adds
	// sha256 mismatches.
	last := &p.doc.Bundles[len(p.doc.Bundles)-1]
	for _, pr := range b.Problems() {
		last.Problems = append(last.Problems, pr.Path+": "+pr.Message)
	}
	sort.Strings(last.Problems)
	return p
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
			f.OwnerKind, f.Owner = findingOwner(snap, &f)
			if f.Evidence == nil {
				f.Evidence = []schema.Evidence{}
			}
			if f.References == nil {
				f.References = []string{}
			}
			if f.Basis == nil {
				f.Basis = []string{}
			}
			if reason, ok := opts.Config.Suppressed(f.Rule, f.Subject); ok {
				f.Suppressed = &schema.Suppression{Reason: reason}
			}
			findings = append(findings, f)
		}
	}
	looseEvidence(findings, snap.View)
	doc.Findings = append(doc.Findings, findings...)
	doc.Bundles = append(doc.Bundles, bundleEntry(snap))
	doc.OOMEvents = append(doc.OOMEvents, oomEvents(snap)...)
	ws := workloads(snap)
	looseWorkloads(ws, snap.View)
	doc.Workloads = append(doc.Workloads, ws...)
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
	if len(doc.Bundles) > 1 {
		doc.FindingGroups = groupFindings(doc.Findings)
	}
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

// looseEvidence names, in evidence read from a loose input, the file the
// customer sent instead of the bundle path it was read as.
func looseEvidence(findings []schema.Finding, v any) {
	lv, ok := v.(interface{ LooseSource(string) (string, bool) })
	if !ok {
		return
	}
	for i := range findings {
		for j := range findings[i].Evidence {
			e := &findings[i].Evidence[j]
			if src, ok := lv.LooseSource(e.File); ok {
				e.File = src
			}
		}
	}
}

// looseWorkloads does for workloads' sources what looseEvidence does for evidence.
func looseWorkloads(ws []schema.Workload, v any) {
	lv, ok := v.(interface{ LooseSource(string) (string, bool) })
	if !ok {
		return
	}
	for i := range ws {
		for k, src := range ws[i].Sources {
			file, key, _ := strings.Cut(src, " ")
			if orig, ok := lv.LooseSource(file); ok {
				ws[i].Sources[k] = orig + " " + key
			}
		}
	}
}
