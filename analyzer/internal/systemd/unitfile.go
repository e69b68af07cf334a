package systemd

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/memsnap/memsnap/analyzer/internal/listing"
)

// UnitFile is a parsed unit file or drop-in: every assignment in order.
type UnitFile struct {
	Assignments []Assignment
}

// Assignment is one Key=Value line. Line is where it starts.
type Assignment struct {
	Section, Key, Value string
	Line                int
}

// resourceSections are the sections that take resource-control settings
// (systemd.resource-control(5)); a MemoryLimit= under [Unit] is ignored by
// systemd, so it is here too.
var resourceSections = map[string]bool{"Slice": true, "Scope": true, "Service": true, "Socket": true, "Mount": true, "Swap": true}

// ParseUnitFile parses a unit file or drop-in (systemd.syntax(7)): [Section]
// headers, Key=Value, '#'/';' comments, a trailing backslash continues the
// line. Malformed lines are reported in the error and otherwise skipped.
func ParseUnitFile(r io.Reader) (*UnitFile, error) {
	f := &UnitFile{}
	var bad []string
	section := ""
	var cont *strings.Builder
	contLine := 0
	n := 0
	err := listing.Lines(r, MaxLineBytes, func(ln int, line []byte, tooLong bool) bool {
		if tooLong {
			bad = append(bad, fmt.Sprintf("line %d: longer than %d bytes", ln, MaxLineBytes))
			return true
		}
		s := strings.TrimSpace(string(line))
		if cont != nil {
			// systemd drops comment lines inside a continuation.
			if !strings.HasPrefix(s, "#") && !strings.HasPrefix(s, ";") {
				cont.WriteString(" ")
				cont.WriteString(strings.TrimSuffix(s, `\`))
			}
			if strings.HasSuffix(s, `\`) && cont.Len() < MaxLineBytes {
				return true
			}
			s, ln = cont.String(), contLine
			cont = nil
		} else if strings.HasSuffix(s, `\`) && !strings.HasPrefix(s, "#") && !strings.HasPrefix(s, ";") {
			cont, contLine = &strings.Builder{}, ln
			cont.WriteString(strings.TrimSuffix(s, `\`))
			return true
		}
		switch {
		case s == "" || s[0] == '#' || s[0] == ';':
		case s[0] == '[':
			if !strings.HasSuffix(s, "]") {
				bad = append(bad, fmt.Sprintf("line %d: bad section header", ln))
				section = ""
				return true
			}
			section = s[1 : len(s)-1]
		default:
			k, v, ok := strings.Cut(s, "=")
			if !ok || strings.TrimSpace(k) == "" {
				bad = append(bad, fmt.Sprintf("line %d: not Key=Value", ln))
				return true
			}
			f.Assignments = append(f.Assignments, Assignment{section, strings.TrimSpace(k), strings.TrimSpace(v), ln})
			n++
		}
		return n < maxProperties
	})
	if err != nil {
		return f, fmt.Errorf("read: %w", err)
	}
	if len(bad) > 0 {
		if len(bad) > 5 {
			bad = append(bad[:5], fmt.Sprintf("and %d more", len(bad)-5))
		}
		return f, fmt.Errorf("%s", strings.Join(bad, "; "))
	}
	return f, nil
}

// Memory returns the effective value of a memory setting (MemoryLimit,
// MemoryMax, MemoryHigh, ...) in this file: later assignments override
// earlier ones, an empty assignment resets to unset, and an invalid value
// is ignored as systemd ignores it (see Invalid). ok is false when the file
// does not validly mention the key; set.Reset is true when its last word
// was a reset.
func (f *UnitFile) Memory(key string) (set Setting, ok bool) {
	for _, a := range f.Assignments {
		if a.Key != key || !resourceSections[a.Section] {
			continue
		}
		if s := ParseMemory(a.Value); !s.Invalid {
			set, ok = s, true
			set.Line = a.Line
		}
	}
	return set, ok
}

// Invalid returns the memory assignments of key that systemd would log
// and ignore.
func (f *UnitFile) Invalid(key string) []Setting {
	var out []Setting
	for _, a := range f.Assignments {
		if a.Key == key && resourceSections[a.Section] {
			if s := ParseMemory(a.Value); s.Invalid {
				s.Line = a.Line
				out = append(out, s)
			}
		}
	}
	return out
}

// Setting is a memory setting as written in a unit file.
type Setting struct {
	Raw       string
	Bytes     *uint64  // a size ("3973447680", "1.5G")
	Percent   *float64 // of physical memory ("50%", "5‰", "1‱" converted)
	Unlimited bool     // "infinity"
	Reset     bool     // empty assignment: back to the default (unlimited)
	Invalid   bool     // systemd logs and ignores such a line
	File      string   // set by EffectiveMemoryLimit
	Line      int
}

// Resolve returns the byte value against physical memory (MemTotal), and
// whether the setting means no limit.
func (s Setting) Resolve(memTotal uint64) (bytes uint64, unlimited bool) {
	switch {
	case s.Bytes != nil:
		return *s.Bytes, false
	case s.Percent != nil:
		return uint64(float64(memTotal) * *s.Percent / 100), false
	}
	return 0, true
}

// ParseMemory parses a memory limit value as systemd does
// (systemd/systemd:src/core/load-fragment.c config_parse_memory_limit):
// "" resets, "infinity", a percentage, permille or permyriad of physical
// memory, or a size with an optional K/M/G/T/P/E suffix, 1024-based
// (parse_size(…, 1024, …)), fractions allowed ("1.5G").
func ParseMemory(v string) Setting {
	s := Setting{Raw: v}
	switch {
	case v == "":
		s.Reset = true
	case v == "infinity":
		s.Unlimited = true
	case strings.HasSuffix(v, "%"), strings.HasSuffix(v, "‰"), strings.HasSuffix(v, "‱"):
		num, div := v, 1.0
		for suf, d := range map[string]float64{"%": 1, "‰": 10, "‱": 100} {
			if p, ok := strings.CutSuffix(v, suf); ok {
				num, div = p, d
			}
		}
		p, err := strconv.ParseFloat(num, 64)
		if err != nil || p < 0 || p/div > 100 || math.IsNaN(p) {
			s.Invalid = true
			break
		}
		p /= div
		s.Percent = &p
	default:
		b, err := parseSize(v)
		if err != nil {
			s.Invalid = true
			break
		}
		s.Bytes = &b
	}
	return s
}

var sizeSuffixes = map[byte]float64{
	'B': 1, 'K': 1 << 10, 'M': 1 << 20, 'G': 1 << 30, 'T': 1 << 40, 'P': 1 << 50, 'E': 1 << 60,
}

func parseSize(v string) (uint64, error) {
	num, mult := v, 1.0
	if m, ok := sizeSuffixes[v[len(v)-1]]; ok {
		num, mult = strings.TrimSpace(v[:len(v)-1]), m
	}
	if n, err := strconv.ParseUint(num, 10, 64); err == nil && mult == 1 {
		return n, nil
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 || math.IsNaN(f) || f*mult >= math.MaxUint64 || strings.ContainsAny(num, "eExXpP_") {
		return 0, fmt.Errorf("bad size %q", v)
	}
	return uint64(f * mult), nil
}
