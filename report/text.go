package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/memsnap/memsnap/report/schema"
)

// textOOMCap bounds the OOM table in text and Markdown: a crash-looping pod
// can log thousands of kills; the JSON and HTML outputs keep the rest.
const textOOMCap = 50

// textOwnerCap bounds the workloads-by-owner list in text; Markdown shows
// fewer (mdOwnerCap), the JSON and HTML keep more.
const textOwnerCap = 50

// ownerName is "Deployment shop/web".
func ownerName(o schema.Owner) string {
	if o.Namespace == "" {
		return o.Kind + " " + o.Name
	}
	return o.Kind + " " + o.Namespace + "/" + o.Name
}

// ownerLimit is the summed limit, "unlimited" when a pod has none.
func ownerLimit(o schema.Owner) string {
	if o.Unlimited {
		return "unlimited"
	}
	return bytesOrDash(o.LimitBytes)
}

// rightsizingLine is one container's grouped limit-rightsizing verdict.
func rightsizingLine(r schema.Rightsizing) string {
	differ := ""
	if r.LimitsDiffer {
		differ = " (limits differ between pods)"
	}
	return fmt.Sprintf("%s: peak %s over %d pod(s) (%s on %s), limit %s%s, request %s: %s; suggested request %s, limit %s",
		r.Container, formatBytes(r.PeakBytes), r.Pods, r.PeakPod, r.PeakNode, bytesOrDash(r.LimitBytes), differ,
		bytesOrDash(r.RequestBytes), r.Verdict, formatBytes(r.SuggestedRequestBytes), formatBytes(r.SuggestedLimitBytes))
}

// ansi colours by severity; used only on a TTY without NO_COLOR.
var ansi = map[string]string{
	schema.Critical: "\x1b[1;31m",
	schema.Warning:  "\x1b[1;33m",
	schema.Info:     "\x1b[1;36m",
	"dim":           "\x1b[2m",
	"bold":          "\x1b[1m",
}

const ansiReset = "\x1b[0m"

// textWriter writes lines, colouring only when allowed, and passes every
// bundle-derived string through visible() so it cannot drive the terminal.
type textWriter struct {
	w      *bufio.Writer
	colour bool
}

func (t *textWriter) paint(style, s string) string {
	if !t.colour || ansi[style] == "" {
		return s
	}
	return ansi[style] + s + ansiReset
}

func (t *textWriter) line(format string, args ...any) {
	fmt.Fprintf(t.w, format+"\n", args...)
}

func renderText(w io.Writer, doc *schema.Document, opts Options) error {
	t := &textWriter{w: bufio.NewWriter(w), colour: opts.IsTTY && !opts.NoColor}
	all := countFindings(doc, -1)

	header := fmt.Sprintf("memsnap report: %d bundle(s)", len(doc.Bundles))
	if g := generated(doc, opts); g != "" {
		header += ", generated " + g
	}
	if doc.MemsnapVersion != "" {
		header += ", memsnap " + visible(doc.MemsnapVersion)
	}
	t.line("%s", t.paint("bold", header))
	verdict := "OK: no findings"
	if worst := all.Worst(); worst != "" {
		verdict = strings.ToUpper(worst) + ": " + all.String()
	} else if all.Suppressed > 0 {
		verdict = "OK: " + all.String()
	}
	t.line("%s", t.paint(all.Worst(), verdict))

	t.line("")
	t.line("%s", t.paint("bold", "Nodes"))
	for _, b := range doc.Bundles {
		c := countFindings(doc, b.Index)
		t.line("  [%d] %s  %s  (%s)", b.Index, visible(bundleName(b)), visible(b.Source), c)
		m := b.Memory
		t.line("      capacity %s, allocatable %s, %s, systemd limit %s",
			bytesOrDash(m.CapacityBytes), bytesOrDash(m.AllocatableBytes),
			kubepodsLimitText(m), bytesOrDash(m.SystemdLimitBytes))
		t.line("      used %s, working set %s, anon %s, available %s",
			bytesOrDash(m.UsedBytes), bytesOrDash(m.WorkingSetBytes),
			bytesOrDash(m.AnonBytes), bytesOrDash(m.AvailableBytes))
	}

	t.line("")
	if len(doc.FindingGroups) > 0 {
		// Several nodes: one entry per rule and workload, its first finding
		// in full, the nodes and pods it spans (the JSON has every finding).
		t.line("%s", t.paint("bold", fmt.Sprintf("Findings across nodes (%d findings in %d groups)", len(doc.Findings), len(doc.FindingGroups))))
		for _, g := range doc.FindingGroups {
			t.line("  %s %s  %s  on %d node(s): %s", t.paint(g.Severity, "["+strings.ToUpper(g.Severity)+"]"), visible(g.Rule),
				visible(g.Subject), len(g.Nodes), visible(capList(g.Nodes, 8)))
			if len(g.Pods) > 0 {
				t.line("      pods (%d): %s", len(g.Pods), visible(capList(g.Pods, 8)))
			}
			if g.Summary != "" {
				// The group speaks for all its pods (limit-rightsizing per owner).
				t.line("      %s", visible(g.Summary))
				for _, r := range g.Rightsizing {
					t.line("      %s", visible(rightsizingLine(r)))
				}
				if g.Remediation != "" {
					t.line("      fix: %s", visible(g.Remediation))
				}
				continue
			}
			if len(g.Findings) > 0 && g.Findings[0] < len(doc.Findings) {
				textFinding(t, doc.Findings[g.Findings[0]])
			}
		}
	} else {
		t.line("%s", t.paint("bold", "Findings"))
		if len(doc.Findings) == 0 {
			t.line("  none")
		}
		for _, f := range doc.Findings {
			textFinding(t, f)
		}
	}

	if len(doc.Owners) > 0 {
		t.line("")
		t.line("%s", t.paint("bold", fmt.Sprintf("Workloads by owner (%d)", len(doc.Owners))))
		for i, o := range doc.Owners {
			if i == textOwnerCap {
				t.line("  … %d more in the JSON or HTML report", len(doc.Owners)-textOwnerCap)
				break
			}
			sev := "-"
			if o.Severity != "" {
				sev = fmt.Sprintf("%s ×%d", o.Severity, o.Findings)
			}
			t.line("  %s  pods %d on %d node(s)  working set Σ %s max %s  usage Σ %s max %s  limit Σ %s max %s  request Σ %s max %s  OOM kills %d  restarts %d  worst %s",
				visible(ownerName(o)), o.Pods, len(o.Nodes), bytesOrDash(o.WorkingSetBytes), bytesOrDash(o.WorkingSetMaxBytes),
				bytesOrDash(o.UsageBytes), bytesOrDash(o.UsageMaxBytes), ownerLimit(o), bytesOrDash(o.LimitMaxBytes),
				bytesOrDash(o.RequestBytes), bytesOrDash(o.RequestMaxBytes), o.OOMKills, o.Restarts, sev)
		}
	}

	if len(doc.OOMEvents) > 0 {
		t.line("")
		t.line("%s", t.paint("bold", fmt.Sprintf("OOM kills (%d)", len(doc.OOMEvents))))
		for i, e := range doc.OOMEvents {
			if i == textOOMCap {
				t.line("  … %d more in the JSON or HTML report", len(doc.OOMEvents)-textOOMCap)
				break
			}
			t.line("  %s  %s  %s pid %d  scope %s  %s  filled by %s  usage %s / limit %s  (%s:%d)",
				visible(orDash(e.Time)), visible(e.Node), visible(e.Process), e.PID,
				visible(orDash(e.LimitScope)), visible(orDash(workloadName(e.Namespace, e.Pod, e.Container))),
				visible(orDash(e.FilledBy)), bytesOrDash(e.MemcgUsageBytes), bytesOrDash(e.MemcgLimitBytes),
				visible(e.File), e.Line)
		}
	}

	textSources(t, doc)
	return t.w.Flush()
}

func textFinding(t *textWriter, f schema.Finding) {
	label := strings.ToUpper(f.Severity)
	if f.Suppressed != nil {
		label = "SUPPRESSED " + label
		t.line("  %s %s  %s  (%s)", t.paint("dim", "["+label+"]"), visible(f.Rule), visible(findingSubject(f)), visible(f.Node))
		t.line("      suppressed: %s", visible(f.Suppressed.Reason))
	} else {
		t.line("  %s %s  %s  (%s)", t.paint(f.Severity, "["+label+"]"), visible(f.Rule), visible(findingSubject(f)), visible(f.Node))
	}
	if f.Title != "" {
		t.line("      %s", visible(f.Title))
	}
	if f.Summary != "" {
		t.line("      %s", visible(f.Summary))
	}
	for _, e := range f.Evidence {
		t.line("      evidence: %s", visible(evidenceLine(e)))
	}
	if len(f.Basis) > 0 {
		t.line("      basis: %s", visible(strings.Join(f.Basis, ", ")))
	}
	if f.Remediation != "" {
		t.line("      fix: %s", visible(f.Remediation))
	}
	if len(f.References) > 0 {
		t.line("      refs: %s", visible(strings.Join(f.References, ", ")))
	}
}

func textSources(t *textWriter, doc *schema.Document) {
	var lines []string
	for _, b := range doc.Bundles {
		name := visible(bundleName(b))
		if !b.Manifest {
			lines = append(lines, fmt.Sprintf("  %s: no manifest.json (analysed from the known paths)", name))
		}
		for _, s := range b.Sources {
			if s.Status != "ok" {
				lines = append(lines, fmt.Sprintf("  %s: source %s %s: %s", name, visible(s.Name), visible(s.Status), visible(s.Error)))
			}
		}
		for _, p := range b.Problems {
			lines = append(lines, fmt.Sprintf("  %s: %s", name, visible(p)))
		}
		if b.PartialOOMReports > 0 {
			lines = append(lines, fmt.Sprintf("  %s: %d partial OOM report(s) without a victim pid", name, b.PartialOOMReports))
		}
		for _, r := range doc.Rules {
			if r.Bundle == b.Index && r.Status != "ran" {
				lines = append(lines, fmt.Sprintf("  %s: rule %s %s: %s", name, visible(r.ID), visible(r.Status), visible(r.Reason)))
			}
		}
	}
	if len(lines) == 0 {
		return
	}
	t.line("")
	t.line("%s", t.paint("bold", "Sources, problems and skipped rules"))
	for _, l := range lines {
		t.line("%s", l)
	}
}

// evidenceLine is one evidence item as plain text.
func evidenceLine(e schema.Evidence) string {
	s := e.File
	if e.Key != "" {
		s += " " + e.Key
	}
	if e.Value != "" {
		s += " = " + evidenceValue(e)
	}
	if e.Text != "" {
		s += " — " + e.Text
	}
	return s
}

// evidenceValue is the exact value, with a human unit beside it when it is a
// byte count: evidence values are bytes unless they are counters (failcnt,
// oom_kill, pgmajfault, line numbers), which the key names.
func evidenceValue(e schema.Evidence) string {
	v := string(e.Value)
	if n, err := e.Value.Int64(); err == nil && (n >= 4096 || n <= -4096) && !counterKey(e.Key) {
		return v + " (" + formatBytes(n) + ")"
	}
	return v
}

func counterKey(key string) bool {
	k := strings.ToLower(key)
	for _, c := range []string{"cnt", "count", "oom", "line", "pid", "events", "pg", "seconds", "_ms", "restart"} {
		if strings.Contains(k, c) {
			return true
		}
	}
	return false
}

func workloadName(ns, pod, container string) string {
	var parts []string
	for _, p := range []string{ns, pod, container} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, "/")
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// capList joins at most n items and says how many more there are.
func capList(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:n], ", ") + fmt.Sprintf(", … %d more", len(items)-n)
}
