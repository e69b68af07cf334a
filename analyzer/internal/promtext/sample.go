package promtext

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// parseSample reads one sample line of the text format (version 0.0.4, as
// kubelet and cAdvisor serve it): name, optional {label="value",…}, value,
// optional timestamp in milliseconds. It accepts what
// github.com/prometheus/common/expfmt's TextParser accepts for an untyped
// sample (FuzzSampleMatchesExpfmt checks that) but works on the line in place
// and interns label strings; see the package comment for the measurement.
func (p *parser) parseSample(line, name []byte) (Sample, error) {
	rest := skipBlank(line[len(name):])
	p.scratch = p.scratch[:0]
	if len(rest) > 0 && rest[0] == '{' {
		var err error
		if rest, err = p.parseLabels(rest[1:]); err != nil {
			return Sample{}, err
		}
		rest = skipBlank(rest)
	}
	tok, rest := token(rest)
	if len(tok) == 0 {
		return Sample{}, errors.New("missing value")
	}
	v, err := parseFloat(tok)
	if err != nil {
		return Sample{}, fmt.Errorf("expected float as value, got %q", tok)
	}
	s := Sample{Value: v}
	if tok, rest = token(skipBlank(rest)); len(tok) > 0 {
		ts, err := strconv.ParseInt(string(tok), 10, 64)
		if err != nil {
			return Sample{}, fmt.Errorf("expected integer as timestamp, got %q", tok)
		}
		s.TimestampMs = &ts
	}
	if rest = skipBlank(rest); len(rest) > 0 {
		return Sample{}, fmt.Errorf("spurious text after the sample: %q", clip(rest))
	}
	if len(p.scratch) > 0 {
		s.Labels = p.labelSet()
	}
	return s, nil
}

// labelSet returns p.scratch sorted, as a slice shared with every earlier
// sample of this parse that has the same label set: cAdvisor writes each
// container's identity labels on ~20 memory families, and one copy of the
// set is enough (at 1,000 pods the per-sample copies were 16 MB of the live
// heap). Label strings come from p.str, so equal sets hold the same string
// data; the key is those strings' addresses and lengths, which are equal
// only for equal contents. Sets are never modified once returned.
func (p *parser) labelSet() Labels {
	sortLabels(p.scratch)
	k := p.setKey[:0]
	for _, l := range p.scratch {
		k = appendStringID(k, l.Name)
		k = appendStringID(k, l.Value)
	}
	p.setKey = k
	if ls, ok := p.sets[string(k)]; ok {
		return ls
	}
	ls := make(Labels, len(p.scratch))
	copy(ls, p.scratch)
	if p.sets == nil {
		p.sets = map[string]Labels{}
	}
	p.sets[string(k)] = ls
	return ls
}

// appendStringID appends the address and length of s's bytes.
func appendStringID(k []byte, s string) []byte {
	k = binary.LittleEndian.AppendUint64(k, uint64(uintptr(unsafe.Pointer(unsafe.StringData(s)))))
	return binary.LittleEndian.AppendUint64(k, uint64(len(s)))
}

// parseLabels reads `name="value",…}` into p.scratch and returns what
// follows the closing brace.
func (p *parser) parseLabels(b []byte) ([]byte, error) {
	for {
		b = skipBlank(b)
		if len(b) == 0 {
			return nil, errors.New("unterminated label set")
		}
		if b[0] == '}' {
			return b[1:], nil
		}
		var name string
		var err error
		if b[0] == '"' { // UTF-8 label names are quoted (text format with UTF-8 names)
			var raw []byte
			if raw, b, err = p.quoted(b[1:]); err != nil {
				return nil, err
			}
			if !utf8.Valid(raw) {
				return nil, errors.New("label name is not valid UTF-8")
			}
			name = p.str(raw)
		} else {
			n := labelNameLen(b)
			if n == 0 {
				return nil, fmt.Errorf("invalid label name at %q", clip(b))
			}
			name, b = p.str(b[:n]), b[n:]
		}
		if name == "__name__" || name == "" {
			return nil, fmt.Errorf("label name %q is reserved", name)
		}
		for _, l := range p.scratch {
			if l.Name == name {
				return nil, fmt.Errorf("duplicate label name %q", name)
			}
		}
		if b = skipBlank(b); len(b) == 0 || b[0] != '=' {
			return nil, fmt.Errorf("expected '=' after label name %q", name)
		}
		if b = skipBlank(b[1:]); len(b) == 0 || b[0] != '"' {
			return nil, fmt.Errorf("expected '\"' at start of the value of label %q", name)
		}
		var raw []byte
		if raw, b, err = p.quoted(b[1:]); err != nil {
			return nil, err
		}
		if !utf8.Valid(raw) {
			return nil, fmt.Errorf("label %q has an invalid UTF-8 value", name)
		}
		p.scratch = append(p.scratch, Label{Name: name, Value: p.str(raw)})
		switch b = skipBlank(b); {
		case len(b) > 0 && b[0] == ',':
			b = b[1:]
		case len(b) > 0 && b[0] == '}':
			return b[1:], nil
		default:
			return nil, fmt.Errorf("expected ',' or '}' after the value of label %q", name)
		}
	}
}

// quoted reads a string body after its opening quote, resolving the three
// escapes the format has (\\, \", \n). The result is valid until the next call.
func (p *parser) quoted(b []byte) (val, rest []byte, err error) {
	end := bytes.IndexByte(b, '"')
	if end < 0 {
		return nil, nil, errors.New("unterminated quoted string")
	}
	if bytes.IndexByte(b[:end], '\\') < 0 {
		return b[:end], b[end+1:], nil // the common case: no escapes, no copy
	}
	p.unescaped = p.unescaped[:0]
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '"':
			return p.unescaped, b[i+1:], nil
		case '\\':
			if i+1 == len(b) {
				return nil, nil, errors.New("unterminated quoted string")
			}
			i++
			switch b[i] {
			case '\\', '"':
				p.unescaped = append(p.unescaped, b[i])
			case 'n':
				p.unescaped = append(p.unescaped, '\n')
			default:
				return nil, nil, fmt.Errorf("invalid escape sequence '\\%c'", b[i])
			}
		default:
			p.unescaped = append(p.unescaped, c)
		}
	}
	return nil, nil, errors.New("unterminated quoted string")
}

func labelNameLen(b []byte) int {
	for i, c := range b {
		if c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' && i > 0 {
			continue
		}
		return i
	}
	return len(b)
}

// parseFloat follows expfmt: Go float syntax without hex mantissas or digit
// separators.
func parseFloat(b []byte) (float64, error) {
	if bytes.ContainsAny(b, "pP_") {
		return 0, errors.New("unsupported character in float")
	}
	return strconv.ParseFloat(string(b), 64)
}

func skipBlank(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	return b
}

func token(b []byte) (tok, rest []byte) {
	for i, c := range b {
		if c == ' ' || c == '\t' {
			return b[:i], b[i:]
		}
	}
	return b, nil
}

func clip(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}
