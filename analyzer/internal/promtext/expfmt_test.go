package promtext

import (
	"math"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// plainLine is the shape real exporters write: legacy label names, quoted
// values. expfmt also accepts odd hybrids such as `A""="v"` (a label name
// with an empty quoted tail, read as "A"); we need not.
var plainLine = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*[ \t]*(\{([ \t]*[a-zA-Z_][a-zA-Z0-9_]*[ \t]*=[ \t]*"([^"\\]|\\.)*"[ \t]*,?)*[ \t]*\})?[ \t]*[^ \t{}"]+([ \t]+[-+]?[0-9]+)?$`)

// FuzzSampleMatchesExpfmt holds our sample-line parser to the ecosystem's:
// whatever we read from one sample line, expfmt's TextParser reads
// identically, and every plainLine expfmt reads, we read too. Ours is
// deliberately more lenient in one way only: blanks after the value or
// timestamp (expfmt wants the line to end there).
func FuzzSampleMatchesExpfmt(f *testing.F) {
	for _, s := range []string{
		`container_memory_rss{id="/a",pod="p"} 100 1700000000000`,
		`container_memory_rss 1e3`,
		`container_memory_rss { id = "/a" , } -Inf`,
		`container_memory_rss{id="a\"b\\c\nd"} NaN`,
		`container_memory_rss{"quoted.name"="v"} 1`,
		`container_memory_rss{id="/a"} 0x1p3`,
		`container_memory_rss{id="/a"} 1_000`,
		`container_memory_rss{id="/a",id="/b"} 1`,
		`container_memory_rss{__name__="x"} 1`,
		`container_memory_rss{id="/a"} 1 2 3`,
		"container_memory_rss{id=\"\xff\"} 1",
		`container_memory_rss{id="/a\q"} 1`,
		`container_memory_rss{0a="x"} 1`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		if i := strings.IndexAny(line, "\n\r"); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimLeft(line, " \t")
		name := metricName([]byte(line))
		if name == nil {
			return
		}
		p := &parser{intern: map[string]string{}}
		got, err := p.parseSample([]byte(line), name)

		tp := expfmt.NewTextParser(model.UTF8Validation)
		fams, xerr := tp.TextToMetricFamilies(strings.NewReader(line + "\n"))
		if xerr != nil {
			trimmed := strings.TrimRight(line, " \t")
			if err == nil && trimmed == line {
				t.Fatalf("we accept what expfmt rejects (%v): %q -> %+v", xerr, line, got)
			}
			return
		}
		if err != nil {
			if !plainLine.MatchString(line) {
				return
			}
			t.Fatalf("expfmt accepts, we reject (%v): %q", err, line)
		}
		mf := fams[string(name)]
		if len(fams) != 1 || mf == nil || len(mf.GetMetric()) != 1 {
			t.Fatalf("expfmt read %d families from %q", len(fams), line)
		}
		m := mf.GetMetric()[0]
		want := math.Float64bits(m.GetUntyped().GetValue())
		if math.Float64bits(got.Value) != want && !(math.IsNaN(got.Value) && math.IsNaN(m.GetUntyped().GetValue())) {
			t.Errorf("value %v, expfmt %v", got.Value, m.GetUntyped().GetValue())
		}
		if (got.TimestampMs == nil) != (m.TimestampMs == nil) || got.TimestampMs != nil && *got.TimestampMs != *m.TimestampMs {
			t.Errorf("timestamp %v, expfmt %v", got.TimestampMs, m.TimestampMs)
		}
		if len(got.Labels) != len(m.GetLabel()) {
			t.Fatalf("labels %v, expfmt %v", got.Labels, m.GetLabel())
		}
		for _, lp := range m.GetLabel() {
			if v, ok := got.Labels.Get(lp.GetName()); !ok || v != lp.GetValue() {
				t.Errorf("label %q = %q, expfmt %q", lp.GetName(), v, lp.GetValue())
			}
		}
	})
}
