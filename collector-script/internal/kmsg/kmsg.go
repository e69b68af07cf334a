// Package kmsg turns the kernel's /dev/kmsg records into dmesg-style lines
// ("[ 5.140900] msg"), which the analyzer's kernel log parser reads.
//
// Record format (torvalds/linux:Documentation/ABI/testing/dev-kmsg):
//
//	<prio>,<seq>,<µs since boot>,<flags>[,more];<message>\n
//	 KEY=value\n            (optional dictionary lines, leading space)
//
// A read(2) of the character device returns exactly one record, fails with
// EINVAL when the buffer is too small for it, EAGAIN when opened O_NONBLOCK
// and nothing is left, and EPIPE when the record we were about to read was
// overwritten in the ring buffer (reading again continues with the oldest
// record still there). A regular file holding records (a fixture, a saved
// copy) is read as a stream of lines; both end up in the same loop.
package kmsg

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"syscall"
)

// readSize holds any record: printk caps a message at 1 KiB of text
// (PRINTKRB_RECORD_MAX), escaped at most 4×, plus its dictionary.
const readSize = 16 << 10

// maxCarry bounds an unterminated line in a regular file.
const maxCarry = 64 << 10

// Reader converts records from src into dmesg-style lines.
type Reader struct {
	src      io.Reader
	minUsec  uint64
	buf      []byte
	carry    []byte
	out      []byte
	outPos   int
	lastUsec uint64
	haveLast bool
	skipping bool // the current record is older than minUsec
	done     bool
	err      error
	Records  int // records converted
	Dropped  int // records older than minUsec
	Lost     int // EPIPE: records overwritten before we read them
}

// NewReader returns a Reader; records stamped before minUsec µs since boot
// (the --since window) are dropped with their dictionary lines.
func NewReader(src io.Reader, minUsec uint64) *Reader {
	return &Reader{src: src, minUsec: minUsec, buf: make([]byte, readSize)}
}

func (r *Reader) Read(p []byte) (int, error) {
	for r.outPos == len(r.out) {
		if r.done {
			return 0, r.endErr()
		}
		r.out, r.outPos = r.out[:0], 0
		r.fill()
	}
	n := copy(p, r.out[r.outPos:])
	r.outPos += n
	return n, nil
}

func (r *Reader) endErr() error {
	if r.err != nil {
		return r.err
	}
	return io.EOF
}

func (r *Reader) fill() {
	n, err := r.src.Read(r.buf)
	data := r.buf[:n]
	if len(r.carry) > 0 {
		data = append(r.carry, data...)
		r.carry = r.carry[:0]
	}
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			if len(data) <= maxCarry {
				r.carry = append(r.carry[:0], data...)
			}
			break
		}
		r.line(data[:i])
		data = data[i+1:]
	}
	switch {
	case err == nil:
	case errors.Is(err, syscall.EPIPE):
		r.Lost++
	case errors.Is(err, syscall.EAGAIN), err == io.EOF:
		if len(r.carry) > 0 {
			r.line(r.carry)
			r.carry = r.carry[:0]
		}
		r.done = true
	default:
		r.done, r.err = true, err
	}
}

// line converts one line of a record.
func (r *Reader) line(l []byte) {
	if len(l) > 0 && l[0] == ' ' {
		// A dictionary line belongs to the record before it.
		if r.haveLast && !r.skipping {
			r.stamp(r.lastUsec)
			r.out = append(r.out, bytes.TrimLeft(l, " ")...)
			r.out = append(r.out, '\n')
		}
		return
	}
	usec, msg, ok := parseHeader(l)
	if !ok {
		// Not a record: keep it verbatim, it is evidence of something.
		r.skipping = false
		r.haveLast = false
		if len(l) > 0 {
			r.out = append(r.out, l...)
			r.out = append(r.out, '\n')
		}
		return
	}
	r.lastUsec, r.haveLast = usec, true
	if usec < r.minUsec {
		r.skipping = true
		r.Dropped++
		return
	}
	r.skipping = false
	r.Records++
	r.stamp(usec)
	r.out = append(r.out, msg...)
	r.out = append(r.out, '\n')
}

// stamp writes "[%5d.%06d] " as dmesg(1) does.
func (r *Reader) stamp(usec uint64) {
	sec := strconv.FormatUint(usec/1e6, 10)
	frac := strconv.FormatUint(usec%1e6, 10)
	r.out = append(r.out, '[')
	for i := len(sec); i < 5; i++ {
		r.out = append(r.out, ' ')
	}
	r.out = append(r.out, sec...)
	r.out = append(r.out, '.')
	for i := len(frac); i < 6; i++ {
		r.out = append(r.out, '0')
	}
	r.out = append(r.out, frac...)
	r.out = append(r.out, "] "...)
}

// parseHeader splits "<prio>,<seq>,<usec>,<flags>...;msg".
func parseHeader(l []byte) (usec uint64, msg []byte, ok bool) {
	semi := bytes.IndexByte(l, ';')
	if semi < 0 {
		return 0, nil, false
	}
	fields := bytes.Split(l[:semi], []byte{','})
	if len(fields) < 3 {
		return 0, nil, false
	}
	for _, f := range fields[:2] {
		if _, err := strconv.ParseUint(string(f), 10, 64); err != nil {
			return 0, nil, false
		}
	}
	usec, err := strconv.ParseUint(string(fields[2]), 10, 64)
	if err != nil {
		return 0, nil, false
	}
	return usec, l[semi+1:], true
}
