package report

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/jstemmer/go-junit-report/v2/junit"

	"github.com/memsnap/memsnap/report/schema"
)

// renderJUnit writes one testsuite per bundle and one testcase per rule. A
// rule fails when it has a finding at or above --fail-on that is not
// suppressed; other findings (below the level, or suppressed with their
// reason) are listed in the testcase's system-out so CI shows them without
// failing. A rule skipped for missing data is a skipped testcase.
func renderJUnit(w io.Writer, doc *schema.Document, opts Options) error {
	suites := junit.Testsuites{Name: "memsnap"}
	ids := ruleIDs(doc)
	for _, b := range doc.Bundles {
		suite := junit.Testsuite{
			Name:      xmlText(fmt.Sprintf("memsnap %s (bundle %d)", bundleName(b), b.Index)),
			ID:        b.Index,
			Package:   "memsnap",
			Hostname:  xmlText(b.Node),
			Time:      "0",
			Timestamp: generated(doc, opts),
			File:      xmlText(b.Source),
		}
		for _, id := range ids {
			status, ran := ruleStatus(doc, b.Index, id)
			var findings []schema.Finding
			for _, f := range doc.Findings {
				if f.Bundle == b.Index && f.Rule == id {
					findings = append(findings, f)
				}
			}
			if !ran && len(findings) == 0 {
				continue // the rule is unknown to this bundle
			}
			suite.AddTestcase(junitCase(id, b, status, findings, opts.FailOn))
		}
		suites.AddSuite(suite)
	}
	if _, err := io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"); err != nil {
		return err
	}
	return suites.WriteXML(w)
}

// ruleStatus finds the rule's status on a bundle.
func ruleStatus(doc *schema.Document, bundle int, id string) (schema.RuleStatus, bool) {
	for _, r := range doc.Rules {
		if r.Bundle == bundle && r.ID == id {
			return r, true
		}
	}
	return schema.RuleStatus{}, false
}

func junitCase(id string, b schema.Bundle, status schema.RuleStatus, findings []schema.Finding, failOn string) junit.Testcase {
	tc := junit.Testcase{Name: xmlText(id), Classname: xmlText("memsnap." + bundleName(b)), Time: "0"}
	var failed, other []string
	worst := ""
	for _, f := range findings {
		line := junitFinding(f)
		if failing(f, failOn) {
			failed = append(failed, line)
			if schema.SeverityRank(f.Severity) > schema.SeverityRank(worst) {
				worst = f.Severity
			}
		} else {
			other = append(other, line)
		}
	}
	switch {
	case len(failed) > 0:
		msg := fmt.Sprintf("%d finding(s) at or above %s", len(failed), failOn)
		if len(failed) == 1 {
			msg = firstLineOf(failed[0])
		}
		tc.Failure = &junit.Result{Message: xmlText(msg), Type: worst, Data: xmlText(strings.Join(failed, "\n\n"))}
	case status.Status == "skipped" || status.Status == "disabled":
		tc.Skipped = &junit.Result{Message: xmlText(status.Status + ": " + status.Reason)}
	}
	if len(other) > 0 {
		tc.SystemOut = &junit.Output{Data: xmlText(strings.Join(other, "\n\n"))}
	}
	return tc
}

// junitFinding is one finding as the plain text CI shows in a failure.
func junitFinding(f schema.Finding) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%s] %s: %s", f.Severity, findingSubject(f), f.Title)
	if f.Suppressed != nil {
		fmt.Fprintf(&b, " (suppressed: %s)", f.Suppressed.Reason)
	}
	if f.Summary != "" {
		b.WriteString("\n" + f.Summary)
	}
	for _, e := range f.Evidence {
		b.WriteString("\nevidence: " + evidenceLine(e))
	}
	if f.Remediation != "" {
		b.WriteString("\nfix: " + f.Remediation)
	}
	if len(f.References) > 0 {
		b.WriteString("\nrefs: " + strings.Join(f.References, ", "))
	}
	return b.String()
}

func firstLineOf(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// xmlText drops what XML 1.0 cannot carry at all (most C0 controls, invalid
// UTF-8, U+FFFE/U+FFFF); encoding/xml writes CDATA sections verbatim, so a
// hostile log line would otherwise make the whole file unparsable.
func xmlText(s string) string {
	ok := true
	for _, r := range s {
		if !xmlChar(r) {
			ok = false
			break
		}
	}
	if ok && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case !xmlChar(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func xmlChar(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' ||
		(r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}
