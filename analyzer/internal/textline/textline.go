// Package textline reads bundle text files line by line with a hard cap on
// line length, for the parsers of large logs and metrics.
package textline

import (
	"bufio"
	"bytes"
	"io"
)

// Reader hands out one line at a time with a hard cap on line length, so
// a 10 MB line in a hostile bundle costs a bounded buffer, not 10 MB.
// bufio.Scanner would stop the whole file at the first long line; this keeps
// going after it.
type Reader struct {
	r    *bufio.Reader
	max  int
	buf  []byte
	line int   // number of the line last returned, 1-based
	err  error // sticky: the underlying reader's first error
}

// New reads r with lines capped at max bytes.
func New(r io.Reader, max int) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// Next returns the next line without its line ending. tooLong reports a line
// longer than max, whose content is dropped. At the end of input it returns
// io.EOF, or the reader's error (a truncated gzip stream, say).
func (lr *Reader) Next() (line []byte, tooLong bool, err error) {
	if lr.err != nil {
		return nil, false, lr.err
	}
	lr.buf = lr.buf[:0]
	for {
		frag, err := lr.r.ReadSlice('\n')
		if err == nil && len(lr.buf) == 0 && !tooLong && len(frag) <= lr.max+1 {
			// Fast path: the whole line sits in the bufio buffer; no copy.
			lr.line++
			return trimEOL(frag), false, nil
		}
		if !tooLong {
			if len(lr.buf)+len(frag) > lr.max+1 {
				tooLong = true
				lr.buf = lr.buf[:0]
			} else {
				lr.buf = append(lr.buf, frag...)
			}
		}
		switch err {
		case bufio.ErrBufferFull:
			continue
		case nil:
			lr.line++
			return trimEOL(lr.buf), tooLong, nil
		}
		lr.err = err
		if len(lr.buf) > 0 || tooLong {
			lr.line++
			return trimEOL(lr.buf), tooLong, nil
		}
		return nil, false, err
	}
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

// Line is the 1-based number of the line Next last returned.
func (lr *Reader) Line() int { return lr.line }
