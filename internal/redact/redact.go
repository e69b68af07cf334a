package redact

import (
	"bytes"
	"io"
	"maps"
	"slices"
)

// maxSegment bounds the bytes processed at once. kubelet answers are one
// JSON line of several MB; such lines are cut near maxSegment at a '{' (so
// an env entry stays whole), else at a ',' or blank.
const maxSegment = 64 << 10

// Counts maps a rule name to the number of spans it replaced.
type Counts map[string]int

// Add merges o into c.
func (c Counts) Add(o Counts) {
	for k, v := range o {
		c[k] += v
	}
}

// Names returns the rule names in c, sorted.
func (c Counts) Names() []string { return slices.Sorted(maps.Keys(c)) }

// Reader redacts a stream. Lines end at '\n' or NUL (argv in
// /proc/<pid>/cmdline is NUL-separated); separators are kept.
type Reader struct {
	src    io.Reader
	in     []byte // unprocessed input
	out    []byte // redacted output not yet returned
	outPos int
	err    error
	state  state
	counts Counts
	lower  []byte // scratch for case-insensitive triggers
}

// state carries what one line tells about the next.
type state struct {
	nextIsFlagValue bool // previous argument was a bare "--token"
	inPEM           bool // inside a multi-line private key
}

// NewReader returns a Reader redacting src.
func NewReader(src io.Reader) *Reader {
	return &Reader{src: src, counts: Counts{}}
}

// Counts reports the replacements made so far (complete at EOF).
func (r *Reader) Counts() Counts { return r.counts }

func (r *Reader) Read(p []byte) (int, error) {
	for r.outPos == len(r.out) {
		if r.err != nil {
			if len(r.in) > 0 {
				r.emit(r.in)
				r.in = r.in[:0]
				continue
			}
			return 0, r.err
		}
		r.out, r.outPos = r.out[:0], 0
		r.fill()
	}
	n := copy(p, r.out[r.outPos:])
	r.outPos += n
	return n, nil
}

// fill reads once from src and processes every complete segment.
func (r *Reader) fill() {
	// Start small: most files are a few hundred bytes of procfs, and the
	// collector makes one Reader per file.
	if room := cap(r.in) - len(r.in); room < 1024 || room < len(r.in)/2 {
		r.in = slices.Grow(r.in, max(4096, 2*len(r.in)))
	}
	n, err := r.src.Read(r.in[len(r.in):cap(r.in)])
	r.in = r.in[:len(r.in)+n]
	r.err = err
	start := 0
	for {
		rest := r.in[start:]
		i := bytes.IndexAny(rest, "\n\x00")
		if i < 0 {
			if len(rest) < maxSegment {
				break
			}
			i = cutPoint(rest[:maxSegment]) - 1
		}
		r.emit(rest[:i+1])
		start += i + 1
	}
	r.in = append(r.in[:0], r.in[start:]...)
}

// cutPoint picks where to split an over-long line: after the last '{' in
// its second half, else after the last ',' or blank, else at the end.
func cutPoint(b []byte) int {
	half := len(b) / 2
	for _, set := range []string{"{", ", \t"} {
		if i := bytes.LastIndexAny(b[half:], set); i >= 0 {
			return half + i + 1
		}
	}
	return len(b)
}

// emit appends the redacted segment (with its separator, if any) to out.
func (r *Reader) emit(seg []byte) {
	body, sep := seg, []byte(nil)
	if n := len(seg); n > 0 && (seg[n-1] == '\n' || seg[n-1] == 0) {
		body, sep = seg[:n-1], seg[n-1:]
	}
	r.out = append(r.out, r.line(body)...)
	r.out = append(r.out, sep...)
}

// line redacts one line (without its separator), updating the state.
func (r *Reader) line(b []byte) []byte {
	if r.state.inPEM {
		if bytes.Contains(b, []byte(pemEnd)) {
			r.state.inPEM = false
			return b
		}
		if len(bytes.TrimSpace(b)) == 0 {
			return b
		}
		r.counts["private-key-block"]++
		return []byte(Replacement)
	}
	if r.state.nextIsFlagValue {
		r.state.nextIsFlagValue = false
		if len(b) > 0 && b[0] != '-' {
			r.counts["flag-secret-argument"]++
			return []byte(Replacement)
		}
	}
	out := line(b, r.counts, &r.lower)
	// Both state regexps need a literal the line rarely has: test for it
	// before running them on every line.
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '-' {
		if m := bareSecretFlag.FindSubmatchIndex(t); m != nil {
			r.state.nextIsFlagValue = !harmlessKey(string(t[m[2]:m[3]]))
		}
	}
	if bytes.Contains(b, []byte("-----BEGIN ")) && pemBegin.Match(b) && !bytes.Contains(b, []byte(pemEnd)) {
		r.state.inPEM = true
	}
	return out
}

// Line redacts one line with every rule and adds to counts. It keeps no
// state between lines; use a Reader for files.
func Line(b []byte, counts Counts) []byte {
	var scratch []byte
	return line(b, counts, &scratch)
}

func line(b []byte, counts Counts, scratch *[]byte) []byte {
	lower := asciiLower(b, scratch)
	// Rules that share a trigger list (the five secret-key rules share
	// secretTriggers) share one search for it per version of the line: on
	// 40 MB of metrics this search is most of redaction's cost.
	var lastTriggers *string
	lastHit := false
	for i := range rules {
		ru := &rules[i]
		if len(ru.triggers) == 0 {
			lastTriggers, lastHit = nil, true // no literal to look for: always try
		} else if t := &ru.triggers[0]; t != lastTriggers {
			lastTriggers, lastHit = t, triggered(lower, ru.triggers)
		}
		if !lastHit {
			continue
		}
		if nb, changed := apply(ru, b, counts); changed {
			b, lower = nb, asciiLower(nb, scratch)
			lastTriggers = nil
		}
	}
	return b
}

func asciiLower(b []byte, scratch *[]byte) []byte {
	out := append((*scratch)[:0], b...)
	for i, c := range out {
		if 'A' <= c && c <= 'Z' {
			out[i] = c + 'a' - 'A'
		}
	}
	*scratch = out
	return out
}

func triggered(lower []byte, triggers []string) bool {
	for _, t := range triggers {
		if bytes.Contains(lower, []byte(t)) {
			return true
		}
	}
	return false
}

// apply replaces every "v" group of every match of ru in b.
func apply(ru *rule, b []byte, counts Counts) ([]byte, bool) {
	matches := ru.re.FindAllSubmatchIndex(b, -1)
	if matches == nil {
		return b, false
	}
	names := ru.re.SubexpNames()
	var out []byte
	last := 0
	for _, m := range matches {
		if k := ru.re.SubexpIndex("k"); k > 0 && m[2*k] >= 0 && harmlessKey(string(b[m[2*k]:m[2*k+1]])) {
			continue
		}
		for g, name := range names {
			s, e := m[2*g], m[2*g+1]
			if name != "v" || s < 0 || e <= s || s < last {
				continue
			}
			if string(b[s:e]) == Replacement {
				continue // already redacted: keep Line idempotent and counts honest
			}
			out = append(out, b[last:s]...)
			out = append(out, Replacement...)
			last = e
			counts[ru.name]++
		}
	}
	if out == nil {
		return b, false
	}
	return append(out, b[last:]...), true
}

// String redacts a short text (an error message, a URL) and returns the
// counts, for values the collector writes itself.
func String(s string) (string, Counts) {
	c := Counts{}
	r := NewReader(bytes.NewReader([]byte(s)))
	b, _ := io.ReadAll(r)
	c.Add(r.Counts())
	return string(b), c
}
