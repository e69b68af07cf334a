// Package report renders a schema.Document (DESIGN §4) in every output
// format memsnap writes: a self-contained offline HTML page, JSON, terminal
// text, Markdown for a PR comment, SARIF 2.1.0 and JUnit XML. All formats are
// rendered from the same Document so they tell one story, and every renderer
// is deterministic: the same Document and Options give byte-identical output
// (lists are sorted here, chart IDs are fixed, the clock is injected).
//
// Everything in a Document that came from a bundle is hostile: renderers
// escape it for their format (HTML, Markdown, XML, terminal control bytes).
package report

import (
	"fmt"
	"io"
	"time"

	"github.com/memsnap/memsnap/report/schema"
)

// Formats lists the output formats Render accepts, in the order the CLI
// documents them.
var Formats = []string{"html", "json", "text", "markdown", "sarif", "junit"}

// FailOnLevels lists the values --fail-on accepts.
var FailOnLevels = []string{"none", schema.Info, schema.Warning, schema.Critical}

// Options are the seams of every renderer.
type Options struct {
	// Formats are all formats written in this run (the CLI's --format
	// values). The CLI loops over them calling Render once per format; the
	// renderers themselves do not read it.
	Formats []string
	// FailOn is the --fail-on level: JUnit turns findings at or above it
	// into failures. Empty means "none".
	FailOn string
	// Now is the report's clock (--now / SOURCE_DATE_EPOCH). It is used when
	// the Document carries no Generated time; renderers never read the wall
	// clock themselves.
	Now time.Time
	// IsTTY says the text output goes to a terminal: colour is used only
	// then, and never when NoColor is set (the CLI sets it from NO_COLOR).
	IsTTY   bool
	NoColor bool
}

// Render writes doc in format to w.
func Render(w io.Writer, format string, doc *schema.Document, opts Options) error {
	if doc == nil {
		return fmt.Errorf("report: nil document")
	}
	if opts.FailOn != "" && failOnRank(opts.FailOn) < 0 {
		return fmt.Errorf("report: unknown --fail-on level %q (want none, info, warning or critical)", opts.FailOn)
	}
	d := normalize(doc)
	switch format {
	case "html":
		return renderHTML(w, d, opts)
	case "json":
		return renderJSON(w, d, opts)
	case "text":
		return renderText(w, d, opts)
	case "markdown":
		return renderMarkdown(w, d, opts)
	case "sarif":
		return renderSARIF(w, d, opts)
	case "junit":
		return renderJUnit(w, d, opts)
	}
	return fmt.Errorf("report: unknown format %q (want one of html, json, text, markdown, sarif, junit)", format)
}

// Extension returns the file name extension (without the dot) for format, or
// "" for an unknown format. The CLI names files memsnap-report.<ext>.
func Extension(format string) string {
	switch format {
	case "html":
		return "html"
	case "json":
		return "json"
	case "text":
		return "txt"
	case "markdown":
		return "md"
	case "sarif":
		return "sarif"
	case "junit":
		return "xml"
	}
	return ""
}

// ExitCode is memsnap analyze's exit status for doc under --fail-on (DESIGN
// §4): 1 when a finding that is not suppressed is at or above failOn, else 0.
// "none" or "" never fails. An unknown level is a usage error: 2.
func ExitCode(doc *schema.Document, failOn string) int {
	rank := failOnRank(failOn)
	if rank < 0 {
		return 2
	}
	if rank == 0 || doc == nil {
		return 0
	}
	for _, f := range doc.Findings {
		if f.Suppressed == nil && schema.SeverityRank(f.Severity) >= rank {
			return 1
		}
	}
	return 0
}

// failOnRank maps a --fail-on level to the lowest severity rank that fails:
// 0 for none, -1 for an unknown level.
func failOnRank(level string) int {
	switch level {
	case "", "none":
		return 0
	case schema.Info, schema.Warning, schema.Critical:
		return schema.SeverityRank(level)
	}
	return -1
}

// failing reports whether f fails the run under failOn.
func failing(f schema.Finding, failOn string) bool {
	rank := failOnRank(failOn)
	return rank > 0 && f.Suppressed == nil && schema.SeverityRank(f.Severity) >= rank
}

// generated is the report's timestamp: the Document's own, else the injected
// clock, else empty (never the wall clock: output must be reproducible).
func generated(doc *schema.Document, opts Options) string {
	if doc.Generated != "" {
		return doc.Generated
	}
	if !opts.Now.IsZero() {
		return opts.Now.UTC().Format(time.RFC3339)
	}
	return ""
}
