package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/memsnap/memsnap/report/schema"
)

// mdFindingCap keeps a PR comment under GitHub's 65,536-character limit
// even for a noisy cluster; the remaining findings are counted, not dropped
// silently.
const mdFindingCap = 40

// mdOwnerCap bounds the workloads-by-owner table and the grouped verdicts.
const mdOwnerCap = 25

// mdEscaper makes bundle strings inert in GitHub-flavoured Markdown: markup
// characters are backslash-escaped and HTML metacharacters become entities
// (GitHub renders inline HTML in comments), so `<img onerror>` or
// `[x](javascript:…)` are shown as text, never as markup or links.
var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", `*`, `\*`, `_`, `\_`, `{`, `\{`, `}`, `\}`,
	`[`, `\[`, `]`, `\]`, `#`, `\#`,
	`!`, `\!`, `|`, `\|`, `~`, `\~`, `:`, `\:`,
	`<`, "&lt;", `>`, "&gt;", `&`, "&amp;", `"`, "&quot;",
)

// md escapes a bundle-derived string for a Markdown paragraph or table cell.
func md(s string) string {
	return mdEscaper.Replace(visible(s))
}

var mdSeverity = map[string]string{
	schema.Critical: "🔴 critical",
	schema.Warning:  "🟠 warning",
	schema.Info:     "🔵 info",
}

func renderMarkdown(w io.Writer, doc *schema.Document, opts Options) error {
	b := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(b, format+"\n", args...) }
	all := countFindings(doc, -1)

	verdict := "✅ no findings"
	if worst := all.Worst(); worst != "" {
		verdict = mdSeverity[worst]
	}
	p("## memsnap: %s", verdict)
	p("")
	meta := fmt.Sprintf("%d bundle(s), %s", len(doc.Bundles), all)
	if g := generated(doc, opts); g != "" {
		meta += ", generated " + md(g)
	}
	if doc.MemsnapVersion != "" {
		meta += ", memsnap " + md(doc.MemsnapVersion)
	}
	p("%s", meta)
	p("")

	p("| Node | Critical | Warning | Info | Suppressed | OOM kills |")
	p("|---|---:|---:|---:|---:|---:|")
	for _, bu := range worstBundlesFirst(doc) {
		c := countFindings(doc, bu.Index)
		p("| %s | %d | %d | %d | %d | %d |", md(bundleName(bu)), c.Critical, c.Warning, c.Info, c.Suppressed, oomCount(doc, bu.Index))
	}
	p("")

	if len(doc.FindingGroups) > 0 {
		// Several nodes: the same rule on the same workload is one row.
		p("### Findings across nodes")
		p("")
		p("| Severity | Rule | Workload | Nodes | Pods | Findings |")
		p("|---|---|---|---|---|---:|")
		for _, g := range doc.FindingGroups {
			sev := mdSeverity[g.Severity]
			if sev == "" {
				sev = md(g.Severity)
			}
			p("| %s | %s | %s | %s | %s | %d |", sev, md(g.Rule), md(g.Subject), md(capList(g.Nodes, 5)), md(capList(g.Pods, 5)), len(g.Findings))
		}
		p("")
		// Groups that speak for all their pods (limit-rightsizing per owner).
		n := 0
		for _, g := range doc.FindingGroups {
			if g.Summary == "" {
				continue
			}
			if n == mdOwnerCap {
				p("_…and more grouped verdicts: see the HTML or JSON report._")
				p("")
				break
			}
			n++
			p("#### %s · %s · %s", md(mdSeverity[g.Severity]), md(g.Rule), md(g.Subject))
			p("")
			p("%s", md(g.Summary))
			p("")
			for _, r := range g.Rightsizing {
				p("- %s", md(rightsizingLine(r)))
			}
			if len(g.Rightsizing) > 0 {
				p("")
			}
			if g.Remediation != "" {
				p("**Fix:** %s", md(g.Remediation))
				p("")
			}
		}
	}
	if len(doc.Owners) > 0 {
		p("### Workloads by owner")
		p("")
		p("| Owner | Pods | Nodes | Σ working set | Max working set | Σ limit | Σ request | OOM kills | Restarts | Worst |")
		p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
		for i, o := range doc.Owners {
			if i == mdOwnerCap {
				p("")
				p("_…and %d more owners: see the HTML or JSON report._", len(doc.Owners)-mdOwnerCap)
				break
			}
			sev := "—"
			if o.Severity != "" {
				sev = mdSeverity[o.Severity]
				if sev == "" {
					sev = md(o.Severity)
				}
			}
			p("| %s | %d | %d | %s | %s | %s | %s | %d | %d | %s |", md(ownerName(o)), o.Pods, len(o.Nodes),
				bytesOrDash(o.WorkingSetBytes), bytesOrDash(o.WorkingSetMaxBytes), ownerLimit(o), bytesOrDash(o.RequestBytes),
				o.OOMKills, o.Restarts, sev)
		}
		p("")
	}
	// Findings a group speaks for (its Summary) are not repeated one by one.
	told := map[int]bool{}
	for _, g := range doc.FindingGroups {
		if g.Summary != "" {
			for _, fi := range g.Findings {
				told[fi] = true
			}
		}
	}
	if len(told) > 0 {
		p("_%d per-pod findings are told once per owner above; the JSON report has each of them._", len(told))
		p("")
	}
	if len(doc.Findings) > len(told) {
		p("### Findings")
		p("")
	}
	shown := 0
	for i, f := range doc.Findings {
		if told[i] {
			continue
		}
		if shown == mdFindingCap {
			p("_…and %d more findings: see the HTML or JSON report._", len(doc.Findings)-len(told)-mdFindingCap)
			p("")
			break
		}
		shown++
		sev := mdSeverity[f.Severity]
		if sev == "" {
			sev = md(f.Severity)
		}
		if f.Suppressed != nil {
			sev = "~~" + sev + "~~ suppressed"
		}
		p("#### %s · %s · %s", sev, md(f.Rule), md(findingSubject(f)))
		p("")
		if f.Title != "" {
			p("**%s** (node %s)", md(f.Title), md(f.Node))
			p("")
		}
		if f.Suppressed != nil {
			p("> Suppressed by config: %s", md(f.Suppressed.Reason))
			p("")
		}
		if f.Summary != "" {
			p("%s", md(f.Summary))
			p("")
		}
		for _, e := range f.Evidence {
			line := "- " + md(e.File)
			if e.Key != "" {
				line += " " + md(e.Key)
			}
			if e.Value != "" {
				line += " = " + md(evidenceValue(e))
			}
			if e.Text != "" {
				line += ": " + md(e.Text)
			}
			p("%s", line)
		}
		if len(f.Evidence) > 0 {
			p("")
		}
		if len(f.Basis) > 0 {
			p("**Rests on:** %s", md(strings.Join(f.Basis, ", ")))
			p("")
		}
		if f.Remediation != "" {
			p("**Fix:** %s", md(f.Remediation))
			p("")
		}
		if len(f.References) > 0 {
			refs := make([]string, len(f.References))
			for i, r := range f.References {
				refs[i] = md(r)
			}
			p("References: %s", strings.Join(refs, ", "))
			p("")
		}
	}

	if len(doc.OOMEvents) > 0 {
		p("### OOM kills")
		p("")
		p("| Time | Node | Victim | Scope | Workload | Filled by | Usage / limit |")
		p("|---|---|---|---|---|---|---|")
		for i, e := range doc.OOMEvents {
			if i == textOOMCap {
				p("")
				p("_…and %d more kills: see the HTML or JSON report._", len(doc.OOMEvents)-textOOMCap)
				break
			}
			p("| %s | %s | %s (pid %d) | %s | %s | %s | %s / %s |", md(orDash(e.Time)), md(e.Node), md(e.Process), e.PID,
				md(orDash(e.LimitScope)), md(orDash(workloadName(e.Namespace, e.Pod, e.Container))), md(orDash(e.FilledBy)),
				bytesOrDash(e.MemcgUsageBytes), bytesOrDash(e.MemcgLimitBytes))
		}
		p("")
	}

	var skipped []string
	for _, r := range doc.Rules {
		if r.Status != "ran" {
			skipped = append(skipped, fmt.Sprintf("- %s: %s %s: %s", md(bundleNameByIndex(doc, r.Bundle)), md(r.ID), md(r.Status), md(r.Reason)))
		}
	}
	for _, bu := range doc.Bundles {
		for _, pr := range bu.Problems {
			skipped = append(skipped, fmt.Sprintf("- %s: %s", md(bundleName(bu)), md(pr)))
		}
	}
	if len(skipped) > 0 {
		p("<details><summary>Skipped rules and unreadable files (%d)</summary>", len(skipped))
		p("")
		for _, s := range skipped {
			p("%s", s)
		}
		p("")
		p("</details>")
	}
	return b.Flush()
}

func bundleNameByIndex(doc *schema.Document, index int) string {
	for _, b := range doc.Bundles {
		if b.Index == index {
			return bundleName(b)
		}
	}
	return fmt.Sprintf("bundle %d", index)
}

func oomCount(doc *schema.Document, bundle int) int {
	n := 0
	for _, e := range doc.OOMEvents {
		if e.Bundle == bundle {
			n++
		}
	}
	return n
}
