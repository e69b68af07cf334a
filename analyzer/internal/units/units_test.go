package units

import (
	"math"
	"strconv"
	"strings"
	"testing"
)

func TestBytes(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{0, "0 B"},
		{512, "512 B"},
		{1023, "1023 B"},
		{1024, "1 KiB"},
		{1536, "1.5 KiB"},
		{1024*1024 + 51*1024, "1 MiB"}, // 1.0498 → 1.0 → "1"
		{1024*1024 + 52*1024, "1.1 MiB"},
		{924 * 1024 * 1024, "924 MiB"},
		{3 * 1024 * 1024 * 1024 / 2, "1.5 GiB"},
		{962097152, "918 MiB"},                // seed 000's usage_in_bytes (917.5 rounds up)
		{850477056, "811 MiB"},                // seed 000's working set
		{99*1024*1024 + 1023*1024, "100 MiB"}, // 99.999 rounds out of the decimal range
		{1024*1024*1024 - 1, "1 GiB"},         // 1023.999 MiB would print "1024 MiB"
		{1024*1024*1024 - 600*1024, "1023 MiB"},
		{-1536, "-1.5 KiB"},
		{math.MaxInt64, "8 EiB"},
		{math.MinInt64, "-8 EiB"},
		{9223372036854771712, "8 EiB"}, // v1 "unlimited"
	} {
		if got := Bytes(tc.n); got != tc.want {
			t.Errorf("Bytes(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

func TestPercent(t *testing.T) {
	for _, tc := range []struct {
		part, whole int64
		want        string
	}{
		{850477056, 1 << 30, "79.2%"},
		{1, 3, "33.3%"},
		{2, 3, "66.7%"},
		{0, 5, "0.0%"},
		{5, 0, "n/a"},
		{5, -1, "n/a"},
		{5, 2, "250.0%"},
		{-1, 3, "-33.3%"},
		{-1, 100000, "0.0%"},
		{math.MaxInt64, 1, "922337203685477580700.0%"},
		{math.MaxInt64, math.MaxInt64, "100.0%"},
	} {
		if got := Percent(tc.part, tc.whole); got != tc.want {
			t.Errorf("Percent(%d, %d) = %q, want %q", tc.part, tc.whole, got, tc.want)
		}
	}
}

func TestParseQuantity(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"100Mi", 100 << 20},
		{"1G", 1_000_000_000},
		{"1.5Gi", 3 << 29},
		{"128974848", 128974848},
		{"129e6", 129_000_000},
		{" 64Ki ", 64 << 10},
		{"0.5", 1},             // fractional bytes round up like Quantity.Value
		{"8Ei", math.MaxInt64}, // 2^63 saturates in apimachinery's parser
		{"1e30", math.MaxInt64},
	} {
		got, err := ParseQuantity(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseQuantity(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "abc", "10%", "1.5.5Gi", "Mi"} {
		if _, err := ParseQuantity(bad); err == nil {
			t.Errorf("ParseQuantity(%q): want error", bad)
		} else if !strings.Contains(err.Error(), "quantity") {
			t.Errorf("ParseQuantity(%q): error %q should name the quantity", bad, err)
		}
	}
}

func TestParsePercentage(t *testing.T) {
	if v, err := ParsePercentage("10%"); err != nil || v != 10 {
		t.Errorf("ParsePercentage(10%%) = %v, %v", v, err)
	}
	if v, err := ParsePercentage("7.5 %"); err != nil || v != 7.5 {
		t.Errorf("ParsePercentage(7.5 %%) = %v, %v", v, err)
	}
	for _, bad := range []string{"10", "%", "-1%", "101%", "NaN%", "Inf%"} {
		if _, err := ParsePercentage(bad); err == nil {
			t.Errorf("ParsePercentage(%q): want error", bad)
		}
	}
}

func FuzzParseQuantity(f *testing.F) {
	for _, s := range []string{"100Mi", "1G", "1.5Gi", "0.5", "8Ei", "-1Ki", "1e18", "9223372036854775807", "1n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseQuantity(s)
		if err != nil {
			return
		}
		// The byte count itself is a quantity and must read back unchanged.
		back, err := ParseQuantity(strconv.FormatInt(v, 10))
		if err != nil || back != v {
			t.Fatalf("ParseQuantity(%q) = %d, but %d reads back as %d, %v", s, v, v, back, err)
		}
		_ = Bytes(v)
	})
}

func FuzzBytes(f *testing.F) {
	for _, n := range []int64{0, 1, 1023, 1024, 1536, 962097152, math.MaxInt64, math.MinInt64, -1} {
		f.Add(n)
	}
	f.Fuzz(func(t *testing.T, n int64) {
		s := Bytes(n)
		num, unit, ok := strings.Cut(strings.TrimPrefix(s, "-"), " ")
		if !ok || unit == "" || num == "" {
			t.Fatalf("Bytes(%d) = %q: not \"<number> <unit>\"", n, s)
		}
		if len(num) > 4 && !strings.Contains(num, ".") && unit != "B" {
			t.Fatalf("Bytes(%d) = %q: more than 4 digits above bytes", n, s)
		}
		if strings.HasSuffix(num, ".0") {
			t.Fatalf("Bytes(%d) = %q: trailing .0", n, s)
		}
		_ = Percent(n, 1<<30)
		_ = Percent(n, n)
	})
}

// A quantity with a huge exponent would make resource.ParseQuantity run
// without bound (found by fuzzing): it is refused at once, and ordinary
// numbers, hex IDs and quantities pass.
func TestHugeExponentRefused(t *testing.T) {
	for _, s := range []string{"1e-1000000000", "1E1000000001", "-2.5e+12345678", "e0000002000000000", "E1000000001"} {
		if _, err := ParseQuantity(s); err == nil {
			t.Errorf("ParseQuantity(%q) accepted", s)
		}
		if _, ok := HugeExponent([]byte(`{"memory": "` + s + `"}`)); !ok {
			t.Errorf("HugeExponent misses %q in JSON", s)
		}
		if _, ok := HugeExponent([]byte("memory: " + s + "\n")); !ok {
			t.Errorf("HugeExponent misses %q in YAML", s)
		}
	}
	for _, s := range []string{`"1e18"`, `"100Mi"`, `"containerd://3e123456789abcdef"`, `{"x": 1.5e+10}`, `"sha256:1e2345678"`, `"66e031809"`, `"1e00000001"`, `"1e-999999"`} {
		if bad, ok := HugeExponent([]byte(s)); ok {
			t.Errorf("HugeExponent(%s) = %q, want no match", s, bad)
		}
	}
}

// The byte scan in front of the regexp may only skip inputs the regexp
// would not match.
func FuzzHugeExponentScan(f *testing.F) {
	for _, s := range []string{`{"m": "1e1000000"}`, `"1E+0001234567"`, `1e999999`, `x e-00000001000000 y`, `name`, `"ab3e1234567c"`, `[-.5e+1234567]`, `'1.e9999999'`, "\v1e1234567\v"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if hugeExponent.Match(data) && !exponentRun(data) {
			t.Fatalf("%q: the regexp matches but the scan skipped it", data)
		}
	})
}

// A hexadecimal ID with "e" and seven digits in it is not a number: the scan
// must not send such text to the regexp.
func TestExponentRunSkipsHexIDs(t *testing.T) {
	for _, s := range []string{`"containerID": "containerd://ab3e1234567cdef"`, `"id": "e12345678f"`} {
		if exponentRun([]byte(s)) {
			t.Errorf("exponentRun(%s) = true", s)
		}
	}
	for _, s := range []string{`"1e1234567"`, `[2.5E-01234567,`, `x: -e9999999`} {
		if !exponentRun([]byte(s)) {
			t.Errorf("exponentRun(%s) = false", s)
		}
	}
}
