package main

import (
	"context"
	"fmt"
	"time"

	"github.com/memsnap/memsnap/bundle"
)

// Watch mode (issue #15, docs/series.md): a first snapshot, samples every
// --every until --watch has passed or a signal arrives, then a final
// snapshot. The first snapshot's node/ and cgroup/ files go under
// series/first/; the final snapshot's are at the usual paths, so every
// snapshot rule runs on the last sample. The kernel log is read once, at
// the end, so OOM kills during the window are in it.

type passFunc func(ctx context.Context, list []source, prefix string) ([]bundle.Source, error)

// watchReserve is kept free of samples for the final snapshot on top of
// the first snapshot's size (kernel log tail, a few cgroups more).
const watchReserve = 4 << 20

func runWatch(sigCtx context.Context, c *collection, m *bundle.Manifest, w *bundle.Writer, spoolDir string, pass passFunc) ([]bundle.Source, error) {
	opt := c.opt
	var local, others, final []source
	for _, s := range sources {
		switch s.name {
		case bundle.SourceNode, bundle.SourceCgroup:
			local = append(local, s)
			final = append(final, s)
		case bundle.SourceLogs:
			final = append(final, s)
		default:
			others = append(others, s)
		}
	}
	started := time.Now()
	series := bundle.Source{Name: bundle.SourceSeries, Paths: []string{bundle.SeriesDir}, Started: opt.Now().UTC().Format(time.RFC3339)}

	dctx, cancel := context.WithTimeoutCause(sigCtx, opt.Deadline, errDeadline)
	firsts, err := pass(dctx, local, bundle.SeriesFirstDir)
	var firstBytes int64
	var problems []string
	for _, f := range firsts {
		series.Files += f.Files
		series.Bytes += f.Bytes
		firstBytes += f.Bytes
		if f.Error != "" {
			problems = append(problems, "first snapshot "+f.Name+": "+f.Error)
		}
	}
	if err != nil {
		cancel()
		return nil, err
	}
	out, err := pass(dctx, others, "")
	cancel()
	if err != nil {
		return out, err
	}

	rec, err := newRecorder(c.host, spoolDir, opt.Now)
	if err != nil {
		series.Status, series.Error = bundle.StatusPartial, fmt.Sprintf("no samples: %v", err)
	} else {
		if opt.KubeletURL != "off" && c.dry == nil {
			if rec.kubelet, err = newSummarySampler(c, spoolDir); err != nil {
				rec.problem("%v", err)
			}
		}
		stoppedBy := rec.loop(sigCtx, opt, func() bool {
			rem := w.Remaining()
			return rem >= 0 && rec.bytes()+firstBytes+watchReserve >= rem
		})
		files, bytes, cerr := rec.commit(w)
		series.Files += files
		series.Bytes += bytes
		problems = append(problems, rec.problems...)
		if cerr != nil {
			if w.Err() != nil {
				return out, w.Err()
			}
			problems = append(problems, cerr.Error())
		}
		m.Watch = &bundle.Watch{
			Started: rec.first.UTC().Format(time.RFC3339), Ended: rec.last.UTC().Format(time.RFC3339),
			EveryMS: opt.Every.Milliseconds(), Samples: rec.samples, StoppedBy: stoppedBy,
		}
		if stoppedBy == "max-bytes" {
			series.Truncated = true
			problems = append(problems, "sampling stopped early: --max-bytes would have left no room for the final snapshot")
		}
		opt.Log.Info("watch ended", "samples", rec.samples, "stopped_by", stoppedBy, "series_bytes", bytes)
	}
	series.DurationMS = time.Since(started).Milliseconds()
	switch {
	case series.Status != "":
	case len(problems) > 0 || series.Truncated:
		series.Status = bundle.StatusPartial
	default:
		series.Status = bundle.StatusOK
	}
	if len(problems) > 0 {
		series.Error = joinCapped(problems)
	}

	// The final snapshot runs even after the signal that ended the watch: a
	// second signal exits at once (main.go).
	fctx, cancel := context.WithTimeoutCause(context.WithoutCancel(sigCtx), opt.Deadline, errDeadline)
	defer cancel()
	finals, err := pass(fctx, final, "")
	out = append(out, finals...)
	out = append(out, series)
	return out, err
}

func joinCapped(parts []string) string {
	msg := ""
	for i, p := range parts {
		if i > 0 {
			msg += "; "
		}
		msg += p
		if len(msg) > 4096 {
			return msg[:4096] + "…"
		}
	}
	return msg
}
