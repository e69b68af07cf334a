package snapshot

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/memsnap/memsnap/analyzer/internal/kernfail"
	"github.com/memsnap/memsnap/analyzer/internal/runtimeopts"
	"github.com/memsnap/memsnap/bundle"
)

// buildCatalogue2 reads the node files rule catalogue II added: free lists,
// /proc/cgroups, THP policy, and the kernel log's allocation failures.
func (s *Snapshot) buildCatalogue2() {
	pageKB := int64(4)
	if s.Node.PageSize > 0 {
		pageKB = s.Node.PageSize / 1024
	}
	s.parse(bundle.NodeBuddyinfo, func(r io.Reader) error {
		zones, errs := kernfail.ParseBuddyinfo(r, pageKB)
		s.Buddyinfo = zones
		for _, e := range errs {
			s.Problemf("%s: %v (the line is skipped)", bundle.NodeBuddyinfo, e)
		}
		return nil
	})
	s.parse(bundle.NodeCgroups, func(r io.Reader) error {
		m, err := kernfail.ParseProcCgroups(r)
		s.ProcCgroups = m
		return err
	})
	s.parse(bundle.NodeTHPEnabled, func(r io.Reader) error {
		m, err := kernfail.ParseTHPMode(r)
		s.THPEnabled = m
		return err
	})
	s.parse(bundle.NodeTHPDefrag, func(r io.Reader) error {
		m, err := kernfail.ParseTHPMode(r)
		s.THPDefrag = m
		return err
	})
	s.parse(bundle.NodeCmdline, func(r io.Reader) error {
		b, err := io.ReadAll(io.LimitReader(r, 64<<10))
		s.KernelCmdline = strings.TrimSpace(string(b))
		return err
	})
	s.parse(bundle.KernelLog, func(r io.Reader) error {
		res, err := kernfail.Parse(r)
		s.KernelFailures = res
		return err
	})
}

// parseProcExtra reads proc/<pid>/environ and oom_score_adj.
func (s *Snapshot) parseProcExtra(pr *Proc, p, file string) {
	s.parse(p, func(r io.Reader) error {
		b, err := io.ReadAll(io.LimitReader(r, 1<<20))
		if err != nil {
			return err
		}
		switch file {
		case bundle.ProcEnvironFile:
			pr.Env = runtimeopts.ParseEnviron(b)
		case "oom_score_adj":
			v, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil || v < -1000 || v > 1000 {
				return fmt.Errorf("oom_score_adj %q is not an integer in [-1000, 1000]", clipText(string(b), 40))
			}
			pr.OOMScoreAdj = &v
		}
		return nil
	})
}

func splitArgv(b []byte) []string {
	b = bytes.TrimRight(b, "\x00\n")
	if len(b) == 0 {
		return nil
	}
	if bytes.IndexByte(b, 0) < 0 {
		return strings.Fields(string(b))
	}
	var out []string
	for _, a := range bytes.Split(b, []byte{0}) {
		out = append(out, string(a))
	}
	return out
}

func clipText(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
