// Package procfs parses the /proc files a bundle carries: node/stat (btime),
// node/uptime, node/mountinfo and, per process, proc/<pid>/status,
// smaps_rollup and cgroup (DESIGN §2). Each parser reads an io.Reader and
// never touches the host. Per-process parsers do not know their pid, so
// their errors say "line N: ..."; callers prefix the bundle path
// (fmt.Errorf("%s: %w", path, err)).
package procfs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// maxProblems bounds the errors one file yields; the rest are counted.
const maxProblems = 10

// eachLine calls fn for every line of at most maxLine bytes (without the
// newline). Longer lines are skipped, not buffered, and passed to fn with
// tooLong set; /proc/stat's "intr" line can run to tens of KiB on a large
// machine and must not stop the scan before "btime". fn returns false to
// stop early.
func eachLine(r io.Reader, maxLine int, fn func(n int, line []byte, tooLong bool) bool) error {
	br := bufio.NewReaderSize(r, maxLine)
	for n := 1; ; n++ {
		b, err := br.ReadSlice('\n')
		tooLong := false
		if errors.Is(err, bufio.ErrBufferFull) {
			tooLong, b = true, nil
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("line %d: %w", n, err)
		}
		if len(b) > 0 || tooLong {
			if !fn(n, bytes.TrimRight(b, "\r\n"), tooLong) {
				return nil
			}
		}
		if err != nil {
			return nil
		}
	}
}

// lineErrors collects "line N: ..." errors up to maxProblems.
type lineErrors struct {
	errs    []error
	dropped int
}

func (le *lineErrors) add(n int, format string, args ...any) {
	if len(le.errs) >= maxProblems {
		le.dropped++
		return
	}
	le.errs = append(le.errs, fmt.Errorf("line %d: %s", n, fmt.Sprintf(format, args...)))
}

func (le *lineErrors) err() error {
	if le.dropped > 0 {
		le.errs = append(le.errs, fmt.Errorf("%d more unreadable lines", le.dropped))
	}
	return errors.Join(le.errs...)
}
