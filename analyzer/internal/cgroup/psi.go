package cgroup

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strconv"
)

// PSI is a memory pressure file: v2 memory.pressure or the node's
// /proc/pressure/memory (same format, torvalds/linux:Documentation/accounting/psi.rst).
// Both lines are always present for memory.
type PSI struct {
	Some PSILine // at least one task stalled on memory
	Full PSILine // all non-idle tasks stalled at once ("thrashing")
}

// PSILine is one "some"/"full" line: running averages in percent of wall
// time over 10, 60 and 300 s, and the cumulative stall time.
type PSILine struct {
	Avg10, Avg60, Avg300 float64
	TotalMicros          int64 // "total=" is in microseconds
}

// ParsePSI reads a PSI file. A file missing either line, or with a malformed
// one, is an error naming file and line: a half-read PSI would pass for "no
// pressure".
func ParsePSI(r io.Reader, file string) (*PSI, error) {
	var p PSI
	var haveSome, haveFull bool
	sc := newLineScanner(r)
	defer sc.release()
	for sc.scan() {
		if sc.tooLong {
			return nil, Problem{File: file, Line: sc.n, Message: fmt.Sprintf("line longer than %d bytes", maxLine)}
		}
		f := bytes.Fields(sc.line)
		if len(f) == 0 {
			continue
		}
		var dst *PSILine
		switch string(f[0]) {
		case "some":
			dst, haveSome = &p.Some, true
		case "full":
			dst, haveFull = &p.Full, true
		default:
			return nil, Problem{File: file, Line: sc.n, Message: fmt.Sprintf("want a \"some\" or \"full\" line, got %.20q", f[0])}
		}
		if err := parsePSILine(f[1:], dst); err != nil {
			return nil, Problem{File: file, Line: sc.n, Message: err.Error()}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, Problem{File: file, Message: "read: " + err.Error()}
	}
	if !haveSome || !haveFull {
		return nil, Problem{File: file, Message: "want both \"some\" and \"full\" lines"}
	}
	return &p, nil
}

func parsePSILine(fields [][]byte, dst *PSILine) error {
	var seen [4]bool
	for _, kv := range fields {
		k, v, ok := bytes.Cut(kv, []byte("="))
		if !ok {
			return fmt.Errorf("want key=value, got %.20q", kv)
		}
		var idx int
		switch string(k) {
		case "avg10":
			idx = 0
		case "avg60":
			idx = 1
		case "avg300":
			idx = 2
		case "total":
			idx = 3
		default:
			continue // a future field; the four we need are checked below
		}
		if seen[idx] {
			return fmt.Errorf("%s: repeated", k)
		}
		seen[idx] = true
		if idx == 3 {
			n, err := strconv.ParseInt(string(v), 10, 64)
			if err != nil || n < 0 {
				return fmt.Errorf("total: invalid value %.20q", v)
			}
			dst.TotalMicros = n
			continue
		}
		x, err := strconv.ParseFloat(string(v), 64)
		if err != nil || math.IsNaN(x) || x < 0 || x > 100 {
			return fmt.Errorf("%s: invalid percentage %.20q", k, v)
		}
		switch idx {
		case 0:
			dst.Avg10 = x
		case 1:
			dst.Avg60 = x
		case 2:
			dst.Avg300 = x
		}
	}
	for i, name := range []string{"avg10", "avg60", "avg300", "total"} {
		if !seen[i] {
			return fmt.Errorf("%s missing", name)
		}
	}
	return nil
}
