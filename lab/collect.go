package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/memsnap/memsnap/bundle"
	"github.com/memsnap/memsnap/report/schema"
)

// Binaries are the programs a lab run uses, built once per test binary.
type Binaries struct {
	Workload, Collector, Analyzer, ScrapeAgent string
}

// buildBinaries builds the lab's programs into dir with the go command
// (its build cache makes an unchanged tree cheap), or takes them from
// MEMSNAP_LAB_BIN (a directory holding memsnap, memsnap-collect,
// workload and scrapeagent), for CI that builds once.
func buildBinaries(ctx context.Context, repo, dir string) (Binaries, error) {
	if pre := os.Getenv("MEMSNAP_LAB_BIN"); pre != "" {
		b := Binaries{Workload: filepath.Join(pre, "workload"), Collector: filepath.Join(pre, "memsnap-collect"),
			Analyzer: filepath.Join(pre, "memsnap"), ScrapeAgent: filepath.Join(pre, "scrapeagent")}
		for _, p := range []string{b.Workload, b.Collector, b.Analyzer, b.ScrapeAgent} {
			if _, err := os.Stat(p); err != nil {
				return Binaries{}, fmt.Errorf("MEMSNAP_LAB_BIN: %w", err)
			}
		}
		return b, nil
	}
	b := Binaries{Workload: filepath.Join(dir, "workload"), Collector: filepath.Join(dir, "memsnap-collect"),
		Analyzer: filepath.Join(dir, "memsnap"), ScrapeAgent: filepath.Join(dir, "scrapeagent")}
	for _, t := range []struct{ out, pkg string }{
		{b.Workload, "./lab/workload"}, {b.Collector, "./collector-script"},
		{b.Analyzer, "./analyzer/cmd/memsnap"}, {b.ScrapeAgent, "./lab/scrapeagent"},
	} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", t.out, t.pkg)
		cmd.Dir = repo
		// The collector ships static (DESIGN §2); build it the same way.
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return Binaries{}, fmt.Errorf("go build %s: %v\n%s", t.pkg, err, out)
		}
	}
	return b, nil
}

// Result is one collection and its analysis.
type Result struct {
	BundlePath string
	Bundle     *bundle.Bundle
	Report     *schema.Document
	ReportJSON []byte
}

// collect runs the real collector against the real host (through the
// lab's host root) with its ordinary flags, then memsnap analyze --format
// json on the bundle.
func (l *Lab) collect(ctx context.Context, kubeletURL string, extra ...string) (*Result, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	r := &Result{BundlePath: filepath.Join(l.Dir, "bundle.tar.gz")}
	args := append([]string{"-o", r.BundlePath, "--host-root", l.HostRoot, "--kubelet", kubeletURL}, extra...)
	if _, err := run(ctx, l.logf, l.Bin.Collector, args...); err != nil {
		return nil, err
	}
	b, err := bundle.Open(ctx, r.BundlePath, bundle.Options{})
	if err != nil {
		return nil, err
	}
	r.Bundle = b
	out, err := run(ctx, l.logf, l.Bin.Analyzer, "analyze", "--format", "json", "-o", "-", r.BundlePath)
	if err != nil {
		// Exit 1 means findings at --fail-on, which defaults to none; any
		// non-zero exit is a failure here.
		return r, err
	}
	r.ReportJSON = out
	var doc schema.Document
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return r, fmt.Errorf("memsnap analyze: JSON report: %w", err)
	}
	r.Report = &doc
	return r, nil
}

// Close releases the bundle's temp area.
func (r *Result) Close() {
	if r != nil && r.Bundle != nil {
		r.Bundle.Close()
	}
}

// file reads one bundle file.
func (r *Result) file(name string) ([]byte, bool) {
	b, cut, err := bundle.ReadFile(r.Bundle, name, 64<<20)
	return b, err == nil && !cut
}

// findings returns the report's findings of one rule for one pod UID
// ("" = any subject).
func (r *Result) findings(rule, podUID string) []schema.Finding {
	var out []schema.Finding
	for _, f := range r.Report.Findings {
		if f.Rule == rule && (podUID == "" || f.PodUID == podUID) {
			out = append(out, f)
		}
	}
	return out
}

// oomEvents selects the lab's own OOM events: the kernel log is shared
// with everything else on the machine, so events count only when they
// name a pod UID this run generated.
func (r *Result) oomEvents(podUID string) []schema.OOMEvent {
	var out []schema.OOMEvent
	for _, e := range r.Report.OOMEvents {
		if e.PodUID == podUID {
			out = append(out, e)
		}
	}
	return out
}

// workload returns the report's row for a pod ("" container) or container.
func (r *Result) workload(podUID, container string) *schema.Workload {
	for i, w := range r.Report.Workloads {
		if w.PodUID == podUID && w.Container == container {
			return &r.Report.Workloads[i]
		}
	}
	return nil
}

// exportSample writes the trimmed export of the bundle (export.go) to
// dir/lab-<scenario>/ for make samples-from-lab (MEMSNAP_LAB_SAMPLES=<samples
// dir>) and returns where it went.
func (r *Result) exportSample(dir, scenario string, sc exportScope) (string, trimStats, error) {
	files, st, err := trimBundle(r.Bundle, r.Bundle.Manifest(), sc)
	if err != nil {
		return "", st, err
	}
	dst := filepath.Join(dir, "lab-"+scenario)
	return dst, st, writeSample(dst, files)
}
