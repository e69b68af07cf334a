// Package listing parses the TSV listings the collector writes itself
// (DESIGN §2): open files per process (proc/<pid>/fds.tsv) and tmpfs mounts
// under the kubelet pods directory (volumes/tmpfs.tsv). It also holds the
// line and TSV readers the other text parsers share, so every one of them
// bounds line length and record count the same way.
package listing

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Bounds for every listing. A path is at most PATH_MAX (4096) bytes and a
// Go-quoted byte takes at most 4, so a sane record never nears MaxLineBytes;
// MaxRecords is far above a 1,000-pod node (DESIGN §2 reader limits).
const (
	MaxLineBytes = 64 << 10
	MaxRecords   = 1 << 20
)

// Problem is one unreadable line (or the whole file, Line 0). Parsers of a
// fixed bundle path fill Path; for per-process files the caller sets it with
// InFile.
type Problem struct {
	Path string
	Line int
	Msg  string
}

func (p Problem) Error() string {
	loc := p.Path
	if loc == "" {
		loc = "<input>"
	}
	if p.Line > 0 {
		loc += ":" + strconv.Itoa(p.Line)
	}
	return loc + ": " + p.Msg
}

// InFile returns ps with Path set to path (for listings such as
// proc/<pid>/fds.tsv whose name the parser cannot know).
func InFile(path string, ps []Problem) []Problem {
	for i := range ps {
		ps[i].Path = path
	}
	return ps
}

// errTooLong marks a line cut at maxLine; the rest of it is discarded.
var errTooLong = errors.New("line too long")

// Lines calls fn for every line of r (without "\n" or a trailing "\r"),
// numbered from 1. A line longer than maxLine is not passed on: fn receives
// it with tooLong set and an empty line, and reading goes on with the next
// line, so one hostile line never hides the rest of a file. fn returns false
// to stop. The error is the reader's, never io.EOF.
func Lines(r io.Reader, maxLine int, fn func(n int, line []byte, tooLong bool) bool) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var buf []byte
	for n := 1; ; n++ {
		line, err := readLine(br, &buf, maxLine)
		tooLong := errors.Is(err, errTooLong)
		if err != nil && !tooLong && (err != io.EOF || len(line) == 0) {
			if err == io.EOF {
				return nil
			}
			return err
		}
		if !fn(n, line, tooLong) {
			return nil
		}
		if err == io.EOF {
			return nil
		}
	}
}

// readLine reads up to '\n'. It keeps at most maxLine bytes and drains the
// remainder of a longer line.
func readLine(br *bufio.Reader, buf *[]byte, maxLine int) ([]byte, error) {
	*buf = (*buf)[:0]
	tooLong := false
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			if len(*buf)+len(chunk) > maxLine+1 { // +1: the '\n' itself
				tooLong = true
				*buf = (*buf)[:0]
			} else {
				*buf = append(*buf, chunk...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if tooLong {
			if err != nil && err != io.EOF {
				return nil, err
			}
			return nil, errTooLong
		}
		line := *buf
		if len(line) > 0 && line[len(line)-1] == '\n' {
			line = line[:len(line)-1]
		}
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		return line, err
	}
}

// ScanTSV reads tab-separated records of exactly nfields fields, unquotes
// Go-quoted fields (DESIGN §2: a path holding a tab, newline, backslash or
// invalid UTF-8 is written with strconv.Quote) and calls fn for each. Blank
// lines are skipped. A malformed line, or an error fn returns, becomes a
// Problem naming path and line; reading continues. After MaxRecords records
// the rest of the file is skipped with one Problem.
func ScanTSV(r io.Reader, path string, nfields int, fn func(line int, fields []string) error) []Problem {
	return ScanTSVRange(r, path, nfields, nfields, fn)
}

// ScanTSVRange is ScanTSV for records of min to max fields: a listing may
// gain optional trailing columns without breaking older readers' files.
func ScanTSVRange(r io.Reader, path string, min, max int, fn func(line int, fields []string) error) []Problem {
	var problems []Problem
	records := 0
	fields := make([]string, 0, max)
	err := Lines(r, MaxLineBytes, func(n int, line []byte, tooLong bool) bool {
		if tooLong {
			problems = append(problems, Problem{path, n, fmt.Sprintf("line longer than %d bytes skipped", MaxLineBytes)})
			return true
		}
		if len(strings.TrimSpace(string(line))) == 0 {
			return true
		}
		if records == MaxRecords {
			problems = append(problems, Problem{path, n, fmt.Sprintf("more than %d records: the rest of the file is skipped", MaxRecords)})
			return false
		}
		records++
		fields = fields[:0]
		for f := range strings.SplitSeq(string(line), "\t") {
			fields = append(fields, f)
		}
		if len(fields) < min || len(fields) > max {
			want := fmt.Sprint(min)
			if max != min {
				want = fmt.Sprintf("%d to %d", min, max)
			}
			problems = append(problems, Problem{path, n, fmt.Sprintf("want %s tab-separated fields, got %d", want, len(fields))})
			return true
		}
		for i, f := range fields {
			u, err := unquoteField(f)
			if err != nil {
				problems = append(problems, Problem{path, n, fmt.Sprintf("field %d: %v", i+1, err)})
				return true
			}
			fields[i] = u
		}
		if err := fn(n, fields); err != nil {
			problems = append(problems, Problem{path, n, err.Error()})
		}
		return true
	})
	if err != nil {
		problems = append(problems, Problem{path, 0, "read: " + err.Error()})
	}
	return problems
}

// unquoteField undoes strconv.Quote for fields that start with '"'. Other
// fields are taken verbatim: the collector quotes only when it must.
func unquoteField(f string) (string, error) {
	if !strings.HasPrefix(f, `"`) {
		return f, nil
	}
	u, err := strconv.Unquote(f)
	if err != nil {
		return "", fmt.Errorf("bad Go-quoted string %.40q", f)
	}
	return u, nil
}
