// Package promtext reads the memory families out of Prometheus text
// expositions in a bundle (kubelet/metrics-cadvisor.prom,
// kubelet/metrics-resource.prom, cadvisor/metrics.prom).
//
// A 250-pod node's cAdvisor scrape is ~40 MB of which memsnap needs a few
// families, so a line prefilter drops every other family before anything is
// parsed; the kept lines go through a small parser of the text format that a
// differential fuzz test holds to github.com/prometheus/common/expfmt's reading
// (expfmt itself ran at 120–200 MB/s here, over the analyzer's budget).
package promtext

import (
	"bytes"
	"fmt"
	"io"

	"github.com/memsnap/memsnap/analyzer/internal/textline"
)

const (
	// MaxSeries caps the samples kept per input. A million distinct series
	// (a label-cardinality explosion, google/cadvisor#2856) would otherwise
	// cost gigabytes; 200,000 is ~15× a 1,000-pod node's memory series.
	MaxSeries = 200_000
	// MaxLineBytes skips lines longer than this with a problem.
	MaxLineBytes = 1 << 20
	// maxProblems bounds the problem list; the rest are counted.
	maxProblems = 100
)

// Parse reads a Prometheus text exposition and keeps the samples of families
// for which keep returns true (MemoryFamilies for memsnap's rules). Lines of
// other families are dropped before parsing. It never fails as a whole: what
// it cannot read becomes a Problem and the rest is kept.
func Parse(r io.Reader, keep func(family string) bool) (*Metrics, []Problem) {
	return parse(r, keep, MaxSeries)
}

type parser struct {
	keep      func(string) bool
	maxSeries int
	m         *Metrics
	problems  []Problem
	more      int // problems beyond maxProblems

	lastName   []byte // the prefilter's one-entry cache: families arrive in runs
	lastKeep   bool
	lastFamily *Family

	intern    map[string]string
	sets      map[string]Labels // label sets handed out, see labelSet
	setKey    []byte
	scratch   Labels // labels of the line being parsed
	unescaped []byte // a label value with escapes resolved

	junk      int // lines that are not exposition syntax at all
	junkFirst int
}

func parse(r io.Reader, keep func(string) bool, maxSeries int) (*Metrics, []Problem) {
	p := &parser{
		keep:      keep,
		maxSeries: maxSeries,
		m:         &Metrics{Families: map[string]*Family{}},
		intern:    map[string]string{},
		sets:      map[string]Labels{},
	}
	lr := textline.New(r, MaxLineBytes)
	for {
		line, tooLong, err := lr.Next()
		if err != nil {
			if err != io.EOF {
				p.problem(lr.Line()+1, fmt.Sprintf("read error, rest of input lost: %v", err))
			}
			break
		}
		if tooLong {
			p.problem(lr.Line(), fmt.Sprintf("line longer than %d bytes skipped", MaxLineBytes))
			continue
		}
		p.line(lr.Line(), line)
	}
	if p.junk > 0 {
		p.problem(p.junkFirst, fmt.Sprintf("%d line(s) are not Prometheus text format (first here), skipped", p.junk))
	}
	if p.m.Dropped > 0 {
		p.problem(0, fmt.Sprintf("more than %d series: %d samples beyond the cap were dropped", p.maxSeries, p.m.Dropped))
	}
	if p.more > 0 {
		p.problems = append(p.problems, Problem{Msg: fmt.Sprintf("%d more problems not listed", p.more)})
	}
	for _, f := range p.m.Families {
		f.index()
	}
	return p.m, p.problems
}

func (p *parser) problem(line int, msg string) {
	if len(p.problems) >= maxProblems {
		p.more++
		return
	}
	p.problems = append(p.problems, Problem{Line: line, Msg: msg})
}

// line is the prefilter: it looks only at the metric name and hands kept
// sample lines to the chunk.
func (p *parser) line(n int, line []byte) {
	line = bytes.TrimLeft(line, " \t")
	if len(line) == 0 {
		return
	}
	if line[0] == '#' {
		p.comment(n, line)
		return
	}
	name := metricName(line)
	if name == nil {
		// A quoted UTF-8 name (`{"name",…}`) is valid syntax, but none of
		// the families memsnap reads needs quoting; anything else is junk.
		if line[0] != '{' {
			p.junkLine(n)
		}
		return
	}
	if !p.kept(name) {
		return
	}
	if p.m.Series >= p.maxSeries {
		p.m.Dropped++
		return
	}
	s, err := p.parseSample(line, name)
	if err != nil {
		p.problem(n, "unreadable sample: "+err.Error())
		return
	}
	if p.lastFamily == nil {
		p.lastFamily = p.family(string(name))
	}
	p.lastFamily.Samples = append(p.lastFamily.Samples, s)
	p.m.Series++
}

func (p *parser) junkLine(n int) {
	if p.junk == 0 {
		p.junkFirst = n
	}
	p.junk++
}

// kept asks keep about a metric name, remembering the last answer. A
// histogram's or summary's _bucket/_sum/_count lines belong to the base
// family.
func (p *parser) kept(name []byte) bool {
	if bytes.Equal(name, p.lastName) && p.lastName != nil {
		return p.lastKeep
	}
	p.lastName = append(p.lastName[:0], name...)
	p.lastFamily = nil
	s := string(name)
	k := p.keep(s)
	if !k {
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := cutSuffix(s, suffix); ok && p.keep(base) {
				k = true
				break
			}
		}
	}
	p.lastKeep = k
	return k
}

func cutSuffix(s, suffix string) (string, bool) {
	if len(s) > len(suffix) && s[len(s)-len(suffix):] == suffix {
		return s[:len(s)-len(suffix)], true
	}
	return s, false
}

// metricName returns the leading metric name of a sample line, or nil when
// the line does not start with one followed by '{', a blank or a tab.
func metricName(line []byte) []byte {
	for i, c := range line {
		switch {
		case c == '_' || c == ':' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		case (c == '{' || c == ' ' || c == '\t') && i > 0:
			return line[:i]
		default:
			return nil
		}
	}
	return nil // a name alone has no value
}

// comment records # HELP and # TYPE of kept families; other comments are
// free text in the format and ignored.
func (p *parser) comment(n int, line []byte) {
	fields := bytes.SplitN(bytes.TrimLeft(line[1:], " \t"), []byte(" "), 3)
	if len(fields) < 2 {
		return
	}
	kw := string(fields[0])
	if kw != "HELP" && kw != "TYPE" {
		return
	}
	name := fields[1]
	if !p.kept(name) {
		return
	}
	f := p.family(string(name))
	text := ""
	if len(fields) == 3 {
		text = string(bytes.TrimSpace(fields[2]))
	}
	if kw == "HELP" {
		f.Help = unescapeHelp(text)
		return
	}
	switch text {
	case "counter", "gauge", "histogram", "summary", "untyped", "gaugehistogram", "info", "stateset", "unknown":
		f.Type = text
	default:
		p.problem(n, fmt.Sprintf("# TYPE %s has unknown type %q", name, text))
	}
}

func unescapeHelp(s string) string {
	if !bytes.ContainsRune([]byte(s), '\\') {
		return s
	}
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			switch s[i+1] {
			case 'n':
				b = append(b, '\n')
				i++
				continue
			case '\\':
				b = append(b, '\\')
				i++
				continue
			}
		}
		b = append(b, s[i])
	}
	return string(b)
}

func (p *parser) family(name string) *Family {
	f := p.m.Families[name]
	if f == nil {
		f = &Family{Name: name}
		p.m.Families[name] = f
	}
	return f
}

func (p *parser) str(b []byte) string {
	if v, ok := p.intern[string(b)]; ok {
		return v
	}
	s := string(b)
	p.intern[s] = s
	return s
}

// sortLabels orders a label set by name; sets are small, so insertion sort
// beats sort.Slice's allocation.
func sortLabels(ls Labels) {
	for i := 1; i < len(ls); i++ {
		for j := i; j > 0 && ls[j].Name < ls[j-1].Name; j-- {
			ls[j], ls[j-1] = ls[j-1], ls[j]
		}
	}
}
