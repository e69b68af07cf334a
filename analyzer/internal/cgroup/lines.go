package cgroup

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"sync"
)

// maxLine bounds one line of a cgroup file. Real lines are short (the
// longest memory.stat key is ~30 bytes, a PSI line ~60); a hostile bundle
// may hold a 10 MB line, which is skipped and reported instead of buffered.
const maxLine = 4096

// lineScanner yields lines of at most maxLine bytes, skipping (and flagging)
// longer ones without buffering them, so memory stays bounded whatever the
// input. Unlike bufio.Scanner it keeps going after an overlong line.
type lineScanner struct {
	r       *bufio.Reader
	line    []byte
	n       int  // 1-based number of the current line
	tooLong bool // the current line exceeded maxLine and was discarded
	err     error
}

// readers recycles the 4 KiB buffers: Load opens ~7 files per cgroup, and a
// fresh buffer each was most of its allocation on a 1,000-cgroup node.
var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, maxLine) }}

func newLineScanner(r io.Reader) *lineScanner {
	br := readers.Get().(*bufio.Reader)
	br.Reset(r)
	return &lineScanner{r: br}
}

// release returns the buffer to the pool; the scanner is unusable after.
func (s *lineScanner) release() {
	if s.r != nil {
		s.r.Reset(nil)
		readers.Put(s.r)
		s.r = nil
	}
}

// scan advances to the next line; it returns false at EOF or on a read error
// (see Err).
func (s *lineScanner) scan() bool {
	if s.err != nil {
		return false
	}
	s.tooLong = false
	b, err := s.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		s.tooLong = true
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = s.r.ReadSlice('\n')
		}
		b = nil
	}
	if err != nil && !errors.Is(err, io.EOF) {
		s.err = err
		return false
	}
	if len(b) == 0 && !s.tooLong && errors.Is(err, io.EOF) {
		s.err = io.EOF
		return false
	}
	if errors.Is(err, io.EOF) {
		s.err = io.EOF // this is the last, unterminated line
	}
	s.n++
	s.line = bytes.TrimRight(b, "\r\n")
	return true
}

// Err returns the read error that stopped scanning, nil at a clean EOF.
func (s *lineScanner) Err() error {
	if errors.Is(s.err, io.EOF) {
		return nil
	}
	return s.err
}
