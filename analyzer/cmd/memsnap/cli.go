package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/memsnap/memsnap/analyzer/internal/analysis"
	"github.com/memsnap/memsnap/analyzer/internal/config"
	"github.com/memsnap/memsnap/bundle"
	"github.com/memsnap/memsnap/internal/cliexit"
	"github.com/memsnap/memsnap/report"
	"github.com/memsnap/memsnap/report/schema"
)

// Streams are the CLI's seams, so tests capture output.
type Streams struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// IsTTY reports whether stdout is a terminal (colour in text output).
	IsTTY bool
}

func run(ctx context.Context, args []string, st Streams) int {
	return cliexit.Run(newRoot(ctx, st), "memsnap", args, st.Stdin, st.Stdout, st.Stderr)
}

func newRoot(ctx context.Context, st Streams) *cobra.Command {
	root := &cobra.Command{
		Use:   "memsnap",
		Short: "Offline diagnosis of Kubernetes memory incidents from memsnap bundles",
		Long: `memsnap reads bundles written by memsnap-collect (or any tarball / directory with the same
layout) and explains where a node's or a pod's memory went: OOM kills and which limit fired,
page cache counted as working set, memory left behind by restarted containers, kubepods
limits that drifted from allocatable, monitoring agents that pile up scrapes.
It never touches the network.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newAnalyze(ctx, st), newRules(st), newExplain(st), newInspect(ctx, st), newVersion(st))
	return root
}

func newVersion(st Streams) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print memsnap's version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			fmt.Fprintf(st.Stdout, "memsnap %s\n", version)
			return nil
		},
	}
}

type analyzeFlags struct {
	output  string
	formats []string
	failOn  string
	config  string
	now     string
	jobs    int
}

func newAnalyze(ctx context.Context, st Streams) *cobra.Command {
	var f analyzeFlags
	cmd := &cobra.Command{
		Use:   "analyze [flags] BUNDLE...",
		Short: "Run every rule over one or more bundles and write a report",
		Long: `Run every rule over one or more bundles (archives or directories; "-" reads an archive from
stdin) and write a report. Several bundles are several nodes in one report.

Exit codes: 0 = nothing at or above --fail-on; 1 = findings at or above it;
2 = usage error, or no bundle readable at all. A partly broken bundle is not an
error: what is readable is analysed and the report says what was not.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return analyze(ctx, st, f, args) },
	}
	cmd.Flags().StringVarP(&f.output, "output", "o", "", `output path (default memsnap-report.<ext>; "-" = stdout; a directory with several --format values)`)
	cmd.Flags().StringArrayVar(&f.formats, "format", nil, "html (default) | json | text | markdown | sarif | junit; repeatable")
	cmd.Flags().StringVar(&f.failOn, "fail-on", "none", "exit 1 when a finding is at or above: none | info | warning | critical")
	cmd.Flags().StringVar(&f.config, "config", "", "YAML file with thresholds and suppressions")
	cmd.Flags().StringVar(&f.now, "now", "", "the report's clock, RFC 3339 (default SOURCE_DATE_EPOCH, else now)")
	cmd.Flags().IntVar(&f.jobs, "jobs", 0, "bundles analysed at once; each holds its bundle in memory (default: one per CPU, at most 4)")
	return cmd
}

func analyze(ctx context.Context, st Streams, f analyzeFlags, args []string) error {
	formats := f.formats
	if len(formats) == 0 {
		formats = []string{"html"}
	}
	seen := map[string]bool{}
	for _, fm := range formats {
		if !slices.Contains(report.Formats, fm) {
			return cliexit.Usage("unknown --format %q (want one of %s)", fm, strings.Join(report.Formats, ", "))
		}
		if seen[fm] {
			return cliexit.Usage("--format %s given twice", fm)
		}
		seen[fm] = true
	}
	if !slices.Contains(report.FailOnLevels, f.failOn) {
		return cliexit.Usage("unknown --fail-on %q (want none, info, warning or critical)", f.failOn)
	}
	if f.jobs < 0 {
		return cliexit.Usage("--jobs %d: want 1 or more (0 = default)", f.jobs)
	}
	now, err := reportClock(f.now)
	if err != nil {
		return cliexit.Usage("%v", err)
	}
	cfg := config.Default()
	if f.config != "" {
		fh, err := os.Open(f.config)
		if err != nil {
			return cliexit.Usage("--config: %v", err)
		}
		cfg, err = config.Load(fh)
		fh.Close()
		if err != nil {
			return cliexit.Usage("--config %s: %v", f.config, err)
		}
	}
	stdinUsed := 0
	for _, a := range args {
		if a == "-" {
			stdinUsed++
		}
	}
	if stdinUsed > 1 {
		return cliexit.Usage(`"-" (stdin) may be given once`)
	}
	doc, err := analysis.Analyze(ctx, args, analysis.Options{Config: cfg, Now: now, Version: version,
		Stdin: st.Stdin, Reader: bundle.DefaultOptions(), Jobs: f.jobs})
	for _, b := range doc.Bundles {
		for _, p := range b.Problems {
			fmt.Fprintf(st.Stderr, "memsnap: %s: %s\n", b.Source, p)
		}
	}
	if err != nil {
		return &cliexit.Error{Code: 2, Err: err}
	}
	ropts := report.Options{Formats: formats, FailOn: f.failOn, Now: now, IsTTY: st.IsTTY, NoColor: os.Getenv("NO_COLOR") != ""}
	if err := writeReports(st, f.output, formats, doc, ropts); err != nil {
		return &cliexit.Error{Code: 2, Err: err}
	}
	if code := report.ExitCode(doc, f.failOn); code != 0 {
		return &cliexit.Error{Code: code}
	}
	return nil
}

// writeReports writes one file per format. With several formats the output
// path is a directory receiving memsnap-report.<ext> for each.
func writeReports(st Streams, out string, formats []string, d *schema.Document, ropts report.Options) error {
	if len(formats) == 1 {
		fm := formats[0]
		if out == "-" {
			return report.Render(st.Stdout, fm, d, ropts)
		}
		if out == "" {
			out = "memsnap-report." + report.Extension(fm)
		}
		return writeFile(out, func(w io.Writer) error { return report.Render(w, fm, d, ropts) })
	}
	if out == "-" {
		return fmt.Errorf("-o - takes a single --format")
	}
	if out == "" {
		out = "."
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for _, fm := range formats {
		fm := fm
		p := filepath.Join(out, "memsnap-report."+report.Extension(fm))
		if err := writeFile(p, func(w io.Writer) error { return report.Render(w, fm, d, ropts) }); err != nil {
			return err
		}
	}
	return nil
}

// writeFile writes through a temporary file beside the target and renames it,
// so the output path never holds a half-written report.
func writeFile(path string, render func(io.Writer) error) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".memsnap-report-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := render(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// reportClock: --now, else SOURCE_DATE_EPOCH, else the wall clock.
func reportClock(flag string) (time.Time, error) {
	if flag != "" {
		t, err := time.Parse(time.RFC3339, flag)
		if err != nil {
			return time.Time{}, fmt.Errorf("--now %q is not RFC 3339 (e.g. 2024-01-17T08:49:00Z)", flag)
		}
		return t.UTC(), nil
	}
	if e := os.Getenv("SOURCE_DATE_EPOCH"); e != "" {
		n, err := strconv.ParseInt(e, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q is not a number of seconds", e)
		}
		return time.Unix(n, 0).UTC(), nil
	}
	return time.Now().UTC().Truncate(time.Second), nil
}
