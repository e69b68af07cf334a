package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/memsnap/memsnap/bundle"
	"github.com/memsnap/memsnap/internal/redact"
)

// Exit codes (DESIGN §4).
const (
	exitOK      = 0
	exitUsage   = 2
	exitNoWrite = 3
)

// Options is everything a run depends on, seams included (pprof's driver
// habit): tests set Stdout/Stderr/Now and point HostRoot at a fixture.
type Options struct {
	Output             string
	HostRoot           string
	NodeName           string
	KubeletURL         string
	KubeletTokenFile   string
	KubeletCA          string
	Insecure           bool
	APIServer          string // "auto" (in a pod), "off" or a base URL
	APIServerTokenFile string
	APIServerCA        string
	CadvisorURL        string // "" = probe the usual ports, "off" = do not
	Pprof              []pprofTarget
	Since              time.Duration
	Timeout            time.Duration
	Deadline           time.Duration
	MaxBytes           int64
	MinFree            int64
	SpoolDir           string
	NoProc             bool
	NoRedact           bool
	DryRun             bool
	Watch              time.Duration // > 0: watch mode (watch.go)
	Every              time.Duration // sampling interval in watch mode
	Progress           bool          // per-source lines on Stderr (set when it is a TTY)

	Version string
	Stdout  io.Writer
	Stderr  io.Writer
	Log     *slog.Logger
	Now     func() time.Time
}

// collection is what every source sees of the run.
type collection struct {
	opt   *Options
	host  Host
	tools *tools
	now   time.Time
	dry   *dryRun

	mu           sync.Mutex
	node         bundle.NodeInfo
	kubeletArgv  []string
	kubeletOK    bool // the kubelet API answered at least once
	kubeletHTTP  *http.Client
	kubeletToken string
	kubeletErr   error
}

func (c *collection) setNode(f func(n *bundle.NodeInfo)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f(&c.node)
}

var (
	errInterrupted = errors.New("interrupted by signal")
	errDeadline    = errors.New("--deadline reached")
)

// Run collects one bundle and returns the exit code. Cancelling ctx with
// cause errInterrupted (SIGINT/SIGTERM) ends the current source, skips the
// rest and still writes a valid bundle.
func Run(ctx context.Context, opt *Options) int {
	log := opt.Log
	now := opt.Now()
	c := &collection{opt: opt, host: Host{Root: opt.HostRoot}, now: now}
	c.tools = &tools{host: c.host, timeout: opt.Timeout, dry: opt.DryRun}
	c.node.PageSize = int64(os.Getpagesize())
	if opt.DryRun {
		c.dry = &dryRun{}
	}

	var (
		out       io.Writer
		partial   string
		final     string
		outFile   *os.File
		writer    *bundle.Writer
		spoolDir  = opt.SpoolDir
		redactors = !opt.NoRedact
	)
	if !opt.DryRun {
		if opt.Output == "-" {
			out = opt.Stdout
		} else {
			final = opt.Output
			if final == "" {
				final = defaultOutput(c.host, now)
			}
			dir := filepath.Dir(final)
			if err := checkFreeSpace(dir, opt.MinFree); err != nil {
				log.Error("no bundle written", "err", err)
				return exitNoWrite
			}
			partial = final + ".partial"
			f, err := os.OpenFile(partial, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
			if err != nil {
				log.Error("no bundle written", "err", err)
				return exitNoWrite
			}
			outFile, out = f, f
			if spoolDir == "" {
				spoolDir = dir
			}
		}
		var err error
		writer, err = bundle.NewWriter(out, bundle.WriterOptions{MaxBytes: opt.MaxBytes, SpoolDir: spoolDir, ModTime: now})
		if err != nil {
			log.Error("no bundle written", "err", err)
			return exitNoWrite
		}
	}
	abort := func(err error) int {
		log.Error("no bundle written", "err", err)
		if outFile != nil {
			outFile.Close()
			os.Remove(partial)
		}
		return exitNoWrite
	}

	sigCtx := ctx // watch mode bounds each snapshot by --deadline, not the whole watch
	ctx, cancelDeadline := context.WithTimeoutCause(ctx, opt.Deadline, errDeadline)
	defer cancelDeadline()

	m := &bundle.Manifest{
		Collector: bundle.Collector{Name: "memsnap-collect", Version: opt.Version, Mode: "binary"},
		Created:   now.UTC().Format(time.RFC3339),
	}
	if opt.NoRedact {
		// The sender must know: tokens and passwords may now be in the bundle.
		const warning = "redaction turned off by --no-redact: the bundle may hold tokens, passwords and other secrets"
		log.Warn(warning)
		m.Warnings = append(m.Warnings, warning)
	}
	runPass := func(ctx context.Context, list []source, prefix string) ([]bundle.Source, error) {
		var out []bundle.Source
		for _, src := range list {
			if src.name == bundle.SourceProc && opt.NoProc {
				out = append(out, bundle.Source{Name: src.name, Paths: src.paths, Status: bundle.StatusSkipped, Error: "turned off by --no-proc"})
				continue
			}
			s := &sink{name: src.name, prefix: prefix, w: writer, dry: c.dry, red: redactors}
			ms := runSource(ctx, c, src, s)
			if s.outputErr != nil {
				return out, s.outputErr
			}
			out = append(out, ms)
			m.Redactions = append(m.Redactions, s.redactions...)
			if opt.Progress {
				fmt.Fprintf(opt.Stderr, "memsnap-collect: %-8s %-7s %5d files %10d bytes %6d ms %s\n", prefix+ms.Name, ms.Status, ms.Files, ms.Bytes, ms.DurationMS, ms.Error)
			}
			log.Debug("source done", "source", prefix+ms.Name, "status", ms.Status, "files", ms.Files, "bytes", ms.Bytes, "ms", ms.DurationMS, "error", ms.Error)
		}
		return out, nil
	}
	if opt.Watch > 0 && !opt.DryRun {
		srcs, err := runWatch(sigCtx, c, m, writer, spoolDir, runPass)
		m.Sources = append(m.Sources, srcs...)
		if err != nil {
			return abort(err)
		}
	} else {
		srcs, err := runPass(ctx, sources, "")
		m.Sources = append(m.Sources, srcs...)
		if err != nil {
			return abort(err)
		}
	}

	c.mu.Lock()
	m.Node = c.node
	c.mu.Unlock()
	if opt.NodeName != "" {
		m.Node.NodeName = opt.NodeName
	}
	// Errors are text the collector writes itself: they can quote URLs
	// with credentials or argv, so they pass through the same redaction.
	if redactors {
		mc := redact.Counts{}
		for i := range m.Sources {
			var cc redact.Counts
			m.Sources[i].Error, cc = redact.String(m.Sources[i].Error)
			mc.Add(cc)
		}
		for _, rule := range mc.Names() {
			m.Redactions = append(m.Redactions, bundle.Redaction{Path: bundle.ManifestPath, Rule: rule, Count: mc[rule]})
		}
	}
	sort.SliceStable(m.Redactions, func(i, j int) bool {
		a, b := m.Redactions[i], m.Redactions[j]
		return a.Path < b.Path || a.Path == b.Path && a.Rule < b.Rule
	})

	if opt.DryRun {
		c.dry.print(opt.Stdout, m)
		return exitOK
	}
	if err := writer.Close(m); err != nil {
		return abort(err)
	}
	if outFile != nil {
		if err := outFile.Sync(); err != nil {
			return abort(err)
		}
		if err := outFile.Close(); err != nil {
			outFile = nil
			os.Remove(partial)
			log.Error("no bundle written", "err", err)
			return exitNoWrite
		}
		if err := os.Rename(partial, final); err != nil {
			os.Remove(partial)
			log.Error("no bundle written", "err", err)
			return exitNoWrite
		}
		log.Info("bundle written", "path", final, "files", writer.FileCount())
	}
	return exitOK
}

// runSource runs one source under its own timeout. A source that does not
// return in time is abandoned: its sink is closed so nothing it does later
// reaches the archive.
func runSource(ctx context.Context, c *collection, src source, s *sink) bundle.Source {
	started := time.Now()
	ms := bundle.Source{Name: src.name, Paths: src.paths, Started: c.opt.Now().UTC().Format(time.RFC3339)}
	var err error
	if cause := context.Cause(ctx); cause != nil {
		s.close()
		ms.Status, ms.Error = bundle.StatusSkipped, "not started: "+cause.Error()
		return ms
	}
	sctx, cancel := context.WithTimeoutCause(ctx, c.opt.Timeout, fmt.Errorf("timed out after %s (--timeout)", c.opt.Timeout))
	defer cancel()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Errorf("internal error: %v", p)
			}
		}()
		done <- src.run(sctx, c, s)
	}()
	select {
	case err = <-done:
		if err == nil && sctx.Err() != nil {
			err = context.Cause(sctx)
		}
	case <-sctx.Done():
		// Let a source that watches ctx wind down and say so itself.
		select {
		case <-done:
		case <-time.After(200 * time.Millisecond):
		}
		err = context.Cause(sctx)
	}
	s.close()
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		err = context.Cause(sctx)
	}
	ms.Status, ms.Error = s.status(err)
	s.mu.Lock()
	ms.Files, ms.Bytes, ms.Truncated = s.files, s.bytes, s.truncated
	s.mu.Unlock()
	ms.DurationMS = time.Since(started).Milliseconds()
	return ms
}

// defaultOutput is memsnap-<node>-<YYYYMMDDTHHMMSSZ>.tar.gz (DESIGN §4).
func defaultOutput(h Host, now time.Time) string {
	name, _ := h.ReadString("/proc/sys/kernel/hostname")
	if name == "" {
		name, _ = os.Hostname()
	}
	name = strings.Map(func(r rune) rune {
		if r == '/' || r == 0 || r == ' ' {
			return '_'
		}
		return r
	}, name)
	if name == "" {
		name = "node"
	}
	return fmt.Sprintf("memsnap-%s-%s.tar.gz", name, now.UTC().Format("20060102T150405Z"))
}

// checkFreeSpace refuses to start on a nearly full file system: a node
// whose disk is full is usually in enough trouble already.
func checkFreeSpace(dir string, minFree int64) error {
	if minFree <= 0 {
		return nil
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	if avail := int64(st.Bavail) * int64(st.Bsize); avail < minFree {
		return fmt.Errorf("%s: only %d bytes free, need %d (--min-free)", dir, avail, minFree)
	}
	return nil
}

// isGone reports errors that mean "not there (any more)": a process or
// cgroup that vanished mid-walk is normal, not a failure.
func isGone(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) || errors.Is(err, syscall.ENODEV)
}
