package bundle

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// WriteText writes the report for a person: a header, then sources, files,
// redactions and problems as aligned tables. Every string from the bundle
// goes through shown, so a hostile name cannot drive the terminal.
func (r InspectReport) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(tw, format, args...) }

	p("bundle:\t%s\n", shown(r.Source))
	if r.Loose != nil {
		p("manifest:\tnone: loose files, each taken by its content (below)\n")
	} else if !r.Manifest {
		p("manifest:\tnone usable (see problems)\n")
	} else {
		c := r.Collector
		p("manifest:\tformat_version %d, created %s\n", r.FormatVersion, orDash(r.Created))
		p("collector:\t%s %s (%s)\n", orDash(c.Name), orDash(c.Version), orDash(c.Mode))
		n := r.Node
		p("node:\t%s (hostname %s)\n", orDash(n.NodeName), orDash(n.Hostname))
		p("kernel:\t%s\n", orDash(n.Kernel))
		p("cgroup:\tv%d, mode %s, driver %s\n", n.CgroupVersion, orDash(n.CgroupMode), orDash(n.CgroupDriver))
		p("memory:\t%d bytes, page size %d, boot %s\n", n.MemTotalBytes, n.PageSize, orDash(n.BootTime))
	}
	checks := make([]string, 0, len(r.Totals.Checks))
	for c, n := range r.Totals.Checks {
		checks = append(checks, fmt.Sprintf("%d %s", n, c))
	}
	sort.Strings(checks)
	p("files:\t%d, %d bytes (%s)\n", r.Totals.Files, r.Totals.Bytes, strings.Join(checks, ", "))
	if err := tw.Flush(); err != nil {
		return err
	}

	if r.Manifest {
		p("\nSOURCE\tSTATUS\tFILES\tBYTES\tDURATION\tTRUNCATED\tERROR\n")
		for _, s := range r.Sources {
			p("%s\t%s\t%d\t%d\t%dms\t%t\t%s\n", shown(s.Name), shown(s.Status), s.Files, s.Bytes,
				s.DurationMS, s.Truncated, orDash(s.Error))
		}
	}
	p("\nCHECK\tBYTES\tSHA256\tPATH\n")
	for _, f := range r.Files {
		sum := f.SHA256
		if len(sum) > 16 {
			sum = sum[:16] + "…"
		}
		p("%s\t%s\t%s\t%s\n", f.Check, orDashInt(f.Bytes), orDash(sum), shown(f.Path))
	}
	if len(r.Redactions) > 0 {
		p("\nREDACTED\tRULE\tCOUNT\n")
		for _, red := range r.Redactions {
			p("%s\t%s\t%d\n", shown(red.Path), shown(red.Rule), red.Count)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.Loose != nil {
		p("\nFILE\tTAKEN AS\tREAD AS\n")
		for _, lf := range r.Loose {
			what, as := lf.What, lf.Target
			if lf.Kind == "" {
				what, as = "ignored: "+lf.Reason, "-"
			} else if as == "" {
				as = "by kind (" + string(lf.Kind) + ")"
			} else if lf.Reason != "" {
				as = "ignored: " + lf.Reason
			}
			if lf.Compression != "" {
				what += " (" + lf.Compression + ")"
			}
			p("%s\t%s\t%s\n", shown(lf.Path), shown(what), shown(as))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	for _, warn := range r.Warnings {
		p("manifest warning: %s\n", shown(warn))
	}
	if len(r.Problems) > 0 {
		p("\nproblems:\n")
		for _, pr := range r.Problems {
			p("  %s: %s\n", orDash(pr.Path), shown(pr.Message))
		}
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return shown(s)
}

func orDashInt(n *int64) string {
	if n == nil {
		return "-"
	}
	return fmt.Sprint(*n)
}
