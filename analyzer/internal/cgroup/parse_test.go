package cgroup

import (
	"math"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

func TestParseStat(t *testing.T) {
	in := "cache 10\nrss -4096\n\nbig 18446744073709551615\nhuge 99999999999999999999999\nmapped_file 7 extra\n  dirty   3  \r\nweird! 1\n"
	got, probs := ParseStat(strings.NewReader(in), "f")
	want := map[string]int64{"cache": 10, "rss": 0, "big": math.MaxInt64, "huge": math.MaxInt64, "dirty": 3}
	if len(got) != len(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d", k, got[k], v)
		}
	}
	if len(probs) != 2 || probs[0].Line != 6 || probs[1].Line != 8 {
		t.Errorf("problems = %v, want lines 6 and 8", probs)
	}
}

func TestParseStatBounds(t *testing.T) {
	var b strings.Builder
	for i := range maxStatKeys + 10 {
		b.WriteString("k")
		b.WriteString(strings.Repeat("x", i%3))
		b.WriteString(string(rune('a' + i%26)))
		b.WriteString("_")
		b.WriteString(strings.Repeat("1", 1+i/26))
		b.WriteString(" 1\n")
	}
	got, probs := ParseStat(strings.NewReader(b.String()), "f")
	if len(got) != maxStatKeys {
		t.Errorf("kept %d keys, want the %d bound", len(got), maxStatKeys)
	}
	if len(probs) == 0 || !strings.Contains(probs[len(probs)-1].Message, "more than 512 keys") {
		t.Errorf("problems = %v", probs)
	}
	// A file of pure garbage reports a bounded number of problems.
	_, probs = ParseStat(strings.NewReader(strings.Repeat("?? ??\n", 100000)), "g")
	if len(probs) != maxProblemsPerFile+1 || !strings.Contains(probs[maxProblemsPerFile].Message, "99990 more") {
		t.Errorf("got %d problems, last %v", len(probs), probs[len(probs)-1])
	}
	// A read error is reported, keys before it kept.
	got, probs = ParseStat(iotest.TimeoutReader(iotest.OneByteReader(strings.NewReader("anon 5\nfile 6\n"))), "h")
	if len(probs) != 1 || probs[0].Error() != "h: read: timeout" {
		t.Errorf("read error: %v %v", got, probs)
	}
}

func TestParseSingle(t *testing.T) {
	for _, tc := range []struct {
		in    string
		n     int64
		isMax bool
		err   string
	}{
		{"962097152\n", 962097152, false, ""},
		{"max\n", math.MaxInt64, true, ""},
		{"9223372036854771712\n", 9223372036854771712, false, ""},
		{"-1\n", 0, false, ""},
		{"  42  ", 42, false, ""},
		{"", 0, false, "f: empty file"},
		{"1 2\n", 0, false, "f:1: more than one value"},
		{"maximum\n", 0, false, `f:1: invalid value "maximum"`},
		{strings.Repeat("9", 100), 0, false, "f:1: longer than a single value"},
	} {
		n, isMax, err := ParseSingle(strings.NewReader(tc.in), "f")
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("ParseSingle(%q) err = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || n != tc.n || isMax != tc.isMax {
			t.Errorf("ParseSingle(%q) = %d, %v, %v; want %d, %v", tc.in, n, isMax, err, tc.n, tc.isMax)
		}
	}
}

func TestParseFlatKeyedOOMControl(t *testing.T) {
	m, probs := ParseFlatKeyed(strings.NewReader("oom_kill_disable 0\nunder_oom 1\noom_kill 7\n"), "f")
	if len(probs) != 0 || m["oom_kill"] != 7 || m["under_oom"] != 1 || len(m) != 3 {
		t.Errorf("got %v, %v", m, probs)
	}
}

func TestParsePSI(t *testing.T) {
	p, err := ParsePSI(strings.NewReader("some avg10=1.25 avg60=0.50 avg300=0.10 total=123\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=7\n"), "f")
	if err != nil {
		t.Fatal(err)
	}
	want := PSI{Some: PSILine{1.25, 0.5, 0.1, 123}, Full: PSILine{0, 0, 0, 7}}
	if *p != want {
		t.Errorf("got %+v, want %+v", *p, want)
	}
	for _, tc := range []struct{ in, err string }{
		{"some avg10=1 avg60=1 avg300=1 total=1\n", `f: want both "some" and "full" lines`},
		{"some avg10=1 avg60=1 avg300=1\nfull avg10=0 avg60=0 avg300=0 total=0\n", "f:1: total missing"},
		{"some avg10=x avg60=1 avg300=1 total=1\n", `f:1: avg10: invalid percentage "x"`},
		{"some avg10=101 avg60=1 avg300=1 total=1\n", `f:1: avg10: invalid percentage "101"`},
		{"half avg10=1\n", `f:1: want a "some" or "full" line, got "half"`},
		{"some avg10=1 avg10=1 avg60=1 avg300=1 total=1\n", "f:1: avg10: repeated"},
		{"some avg10=1 avg60=1 avg300=1 total=-3\n", `f:1: total: invalid value "-3"`},
	} {
		if _, err := ParsePSI(strings.NewReader(tc.in), "f"); err == nil || err.Error() != tc.err {
			t.Errorf("ParsePSI(%q) = %v, want %q", tc.in, err, tc.err)
		}
	}
}

func TestParseProcs(t *testing.T) {
	pids, probs := ParseProcs(strings.NewReader("300\n12\n0\n12\nabc\n-5\n4194305\n\n7"), "cgroup/x/cgroup.procs")
	if !slices.Equal(pids, []int{7, 12, 300}) {
		t.Errorf("pids = %v", pids)
	}
	var lines []int
	for _, p := range probs {
		lines = append(lines, p.Line)
	}
	if !slices.Equal(lines, []int{5, 6, 7}) {
		t.Errorf("problem lines = %v (%v)", lines, probs)
	}
	if pids, probs := ParseProcs(strings.NewReader(""), "f"); len(pids) != 0 || len(probs) != 0 {
		t.Errorf("empty: %v %v", pids, probs)
	}
}

func TestLineScannerLongLines(t *testing.T) {
	in := "a 1\n" + strings.Repeat("x", 3*maxLine) + "\nb 2\n" + strings.Repeat("y", maxLine+1)
	sc := newLineScanner(strings.NewReader(in))
	var got []string
	for sc.scan() {
		if sc.tooLong {
			got = append(got, "<long>")
			continue
		}
		got = append(got, string(sc.line))
	}
	if want := []string{"a 1", "<long>", "b 2", "<long>"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if sc.n != 4 || sc.Err() != nil {
		t.Errorf("n=%d err=%v", sc.n, sc.Err())
	}
}
