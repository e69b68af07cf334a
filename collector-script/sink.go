package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/memsnap/memsnap/bundle"
	"github.com/memsnap/memsnap/internal/redact"
)

// Per-file caps: a source never puts more than this of one file into the
// bundle, whatever the node holds.
const (
	capSmall   = 4 << 20   // procfs, sysfs, configs, unit files
	capLog     = 16 << 20  // log tails
	capMetrics = 256 << 20 // /metrics/cadvisor of a very large node
	capProfile = 64 << 20  // one heap profile
)

// sink is one source's handle on the bundle. When the runner gives up on a
// source (timeout, signal) it closes the sink: a goroutine still stuck in a
// read can no longer add anything, so the manifest written afterwards
// describes exactly what is in the archive.
type sink struct {
	name string
	// prefix goes before every path the source writes: watch mode puts the
	// first snapshot's node/ and cgroup/ under series/first/.
	prefix string
	w      *bundle.Writer // nil in --dry-run
	dry    *dryRun
	red    bool // redact text files

	mu         sync.Mutex
	closed     bool
	files      int
	bytes      int64
	truncated  bool
	failures   []string // what went wrong; makes the source partial
	skips      []string // what was deliberately not done
	redactions []bundle.Redaction
	outputErr  error // the archive itself failed (full disk)
	last       bundle.FileEntry
	lastCut    bool
}

// lastFile reports the size of the last file added and whether it was cut.
func (s *sink) lastFile() (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last.Bytes, s.lastCut
}

// kind says how a file is treated on its way into the bundle.
type kind int

const (
	text   kind = iota // redacted unless --no-redact
	binary             // byte-exact: heap profiles, and kernel-made numbers
	// (cgroup files, /proc/<pid>/status) that cannot hold a secret and
	// would only cost the redactor CPU time.
)

// copy spools r into the bundle as name, keeping at most limit bytes.
func (s *sink) copy(name string, r io.Reader, k kind, limit int64) error {
	name = s.prefix + name
	var rr *redact.Reader
	if s.red && k == text {
		rr = redact.NewReader(r)
		r = rr
	}
	if s.w == nil {
		n, err := io.Copy(io.Discard, io.LimitReader(r, limit))
		s.mu.Lock()
		defer s.mu.Unlock()
		if err == nil && !s.closed {
			s.files++
			s.bytes += n
			s.dry.file(s.name, name, n)
		}
		return err
	}
	sp, err := s.w.Spool(r, limit)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		sp.Release()
		return errors.New("source was stopped")
	}
	fe, err := s.w.Commit(name, sp)
	if err != nil {
		if s.w.Err() != nil {
			s.outputErr = s.w.Err()
		}
		return err
	}
	s.files++
	s.bytes += fe.Bytes
	s.last, s.lastCut = fe, sp.Truncated
	if sp.Truncated {
		s.truncated = true
	}
	if rr != nil {
		for _, rule := range rr.Counts().Names() {
			s.redactions = append(s.redactions, bundle.Redaction{Path: name, Rule: rule, Count: rr.Counts()[rule]})
		}
	}
	return nil
}

// write adds content the collector produced itself (flags.txt, target.json).
func (s *sink) write(name string, b []byte, k kind) error {
	return s.copy(name, bytes.NewReader(b), k, capMetrics)
}

// hostFile copies a host file; a file that does not exist is not an error
// (the caller decides whether its absence matters).
func (s *sink) hostFile(h Host, name, hostPath string, k kind, limit int64) (bool, error) {
	f, err := h.Open(hostPath)
	if err != nil {
		if isGone(err) {
			return false, nil
		}
		return false, err
	}
	defer f.Close()
	if err := s.copy(name, f, k, limit); err != nil {
		return false, err
	}
	return true, nil
}

func (s *sink) fail(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, fmt.Sprintf(format, args...))
}

func (s *sink) skip(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.skips = append(s.skips, fmt.Sprintf(format, args...))
}

func (s *sink) markTruncated() {
	s.mu.Lock()
	s.truncated = true
	s.mu.Unlock()
}

func (s *sink) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}

// status turns what happened into the manifest's verdict: a source that
// wrote nothing because there was nothing to do is skipped, one that hit
// errors is partial (something written) or failed (nothing written).
func (s *sink) status(runErr error) (status, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var parts []string
	if runErr != nil {
		parts = append(parts, runErr.Error())
	}
	parts = append(parts, s.failures...)
	for _, sk := range s.skips {
		parts = append(parts, "skipped: "+sk)
	}
	msg = strings.Join(parts, "; ")
	if len(msg) > 4096 {
		msg = msg[:4096] + "…"
	}
	switch {
	case runErr != nil || len(s.failures) > 0:
		if s.files > 0 {
			return bundle.StatusPartial, msg
		}
		return bundle.StatusFailed, msg
	case s.files == 0:
		return bundle.StatusSkipped, msg
	case s.truncated:
		return bundle.StatusPartial, msg
	}
	return bundle.StatusOK, msg
}
