// Package units formats and parses memory sizes in one place, so every
// report, rule message and chart says "1.5 GiB" the same way.
package units

import (
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"regexp"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

var binaryUnits = []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}

// Bytes formats n with binary units: "512 B", "1.5 GiB", "924 MiB". Values
// below 100 units keep at most one decimal (a trailing ".0" is dropped);
// larger ones are whole units. Rounding is half-up on exact integer
// arithmetic, so the same n always prints the same string on every platform
// (float formatting would let 0.05 boundaries depend on FMA fusion).
func Bytes(n int64) string {
	sign := ""
	u := uint64(n)
	if n < 0 {
		sign = "-"
		u = uint64(-(n + 1)) + 1 // |math.MinInt64| without overflow
	}
	if u < 1024 {
		return sign + strconv.FormatUint(u, 10) + " B"
	}
	exp := 1
	for exp < len(binaryUnits)-1 && u >= uint64(1)<<(10*(exp+1)) {
		exp++
	}
	for {
		unit := uint64(1) << (10 * exp)
		q, r := u/unit, u%unit
		// r < unit ≤ 2^60, so r*10 fits in uint64.
		tenths := q*10 + (r*10+unit/2)/unit
		if tenths >= 1024*10 && exp < len(binaryUnits)-1 {
			// 1023.96 MiB rounds to 1024 MiB: say 1 GiB instead.
			exp++
			continue
		}
		if tenths < 100*10 {
			s := strconv.FormatUint(tenths/10, 10)
			if d := tenths % 10; d != 0 {
				s += "." + strconv.FormatUint(d, 10)
			}
			return sign + s + " " + binaryUnits[exp]
		}
		whole := q + (r+unit/2)/unit
		if whole >= 1024 && exp < len(binaryUnits)-1 {
			exp++
			continue
		}
		return sign + strconv.FormatUint(whole, 10) + " " + binaryUnits[exp]
	}
}

// Percent formats part/whole as a percentage with one decimal ("81.3%").
// A zero or negative whole has no meaningful share and yields "n/a".
func Percent(part, whole int64) string {
	if whole <= 0 {
		return "n/a"
	}
	sign := ""
	p := uint64(part)
	if part < 0 {
		sign = "-"
		p = uint64(-(part + 1)) + 1
	}
	// per-mille = round(p*1000/whole), in 128-bit so huge byte counts
	// cannot overflow.
	hi, lo := bits.Mul64(p, 1000)
	w := uint64(whole)
	lo, carry := bits.Add64(lo, w/2, 0)
	hi += carry
	if hi >= w {
		// The share does not fit in 64 bits of per-mille (part ≫ whole).
		pm := new(big.Int).Mul(new(big.Int).SetUint64(p), big.NewInt(1000))
		pm.Add(pm, new(big.Int).SetUint64(w/2))
		pm.Quo(pm, new(big.Int).SetUint64(w))
		whole, tenth := new(big.Int).QuoRem(pm, big.NewInt(10), new(big.Int))
		return fmt.Sprintf("%s%s.%s%%", sign, whole, tenth)
	}
	permille, _ := bits.Div64(hi, lo, w)
	if permille == 0 {
		sign = ""
	}
	return fmt.Sprintf("%s%d.%d%%", sign, permille/10, permille%10)
}

// ParseQuantity parses a Kubernetes quantity ("100Mi", "1G" = 10^9,
// "1.5Gi") into bytes with k8s.io/apimachinery's own parser, so memsnap
// reads limits and thresholds exactly as the API server and kubelet do. A
// fractional byte count rounds up, as resource.Quantity.Value does, and a
// value beyond int64 saturates at math.MaxInt64 as the parser itself does
// for "8Ei" (and the API server stores it so). A suffix without digits
// ("Mi"), which the parser reads as 0, is refused: it is a typo, not a zero.
func ParseQuantity(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if !strings.ContainsAny(t, "0123456789") {
		return 0, fmt.Errorf("quantity %q: no digits", s)
	}
	// A plain integer is read exactly: apimachinery's parser misreads some
	// 19-digit integers ("-1000000000000000000" came back as 6930898828
	// under fuzzing); strconv saturates like the quantity path below.
	if n, err := strconv.ParseInt(t, 10, 64); err == nil {
		return n, nil
	} else if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
		if strings.HasPrefix(t, "-") {
			return math.MinInt64, nil
		}
		return math.MaxInt64, nil
	}
	if bad, ok := HugeExponent([]byte(t)); ok {
		return 0, fmt.Errorf("quantity %q: exponent of %s too large", s, bad)
	}
	q, err := resource.ParseQuantity(t)
	if err != nil {
		return 0, fmt.Errorf("quantity %q: %w", s, err)
	}
	if v, ok := q.AsInt64(); ok {
		return v, nil
	}
	if q.Cmp(*resource.NewQuantity(math.MaxInt64, resource.BinarySI)) > 0 {
		return math.MaxInt64, nil
	}
	if q.Cmp(*resource.NewQuantity(math.MinInt64, resource.BinarySI)) < 0 {
		return math.MinInt64, nil
	}
	return q.Value(), nil
}

// ParsePercentage parses a percentage such as an eviction threshold's
// "10%" (kubelet's memory.available<10%) into 10.0. The "%" is required so a
// bare quantity is never mistaken for a share.
func ParsePercentage(s string) (float64, error) {
	t := strings.TrimSpace(s)
	num, ok := strings.CutSuffix(t, "%")
	if !ok {
		return 0, fmt.Errorf("percentage %q: missing %%", s)
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > 100 {
		return 0, fmt.Errorf("percentage %q: want a number from 0 to 100", s)
	}
	return v, nil
}

// hugeExponent matches a number written with an exponent of seven or more
// significant digits (leading zeros do not count; the mantissa may be
// empty, as resource.ParseQuantity accepts), as a whole JSON/YAML scalar or
// string. Seven: below that the cost
// stays in milliseconds, and real label values (pod-template hashes avoid
// vowels) do not look like such numbers.
var hugeExponent = regexp.MustCompile(`(?:^|[\s\[,"'])([-+]?[0-9]*\.?[0-9]*[eE][-+]?0*[1-9][0-9]{6,})(?:$|[\s,\]}"'])`)

// HugeExponent finds a number like "1e-1000000000" in text. Kubernetes'
// resource.ParseQuantity takes time and memory that grow with the exponent
// (1e-1000000 already costs ~50 ms; 1e-1000000000 never returns), and every
// k8s type holding a Quantity parses it while decoding: a bundle file with
// such a number must be refused before it reaches a decoder.
func HugeExponent(data []byte) (string, bool) {
	if !exponentRun(data) {
		return "", false
	}
	m := hugeExponent.FindSubmatch(data)
	if m == nil {
		return "", false
	}
	s := string(m[1])
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return s, true
}

// ParseK8sQuantity is resource.ParseQuantity refusing numbers whose exponent
// would make it run without bound (see HugeExponent).
func ParseK8sQuantity(s string) (resource.Quantity, error) {
	if bad, ok := HugeExponent([]byte(s)); ok {
		return resource.Quantity{}, fmt.Errorf("quantity %q: exponent of %s too large", s, bad)
	}
	return resource.ParseQuantity(s)
}

// exponentRun reports whether data holds what every match of hugeExponent
// contains: [eE][-+]?0*[1-9][0-9]{6,}. It is a byte scan; the regexp, run
// over all of pods.json and summary.json only when this finds one, was 3 %
// of a 1,000-pod analysis. It only ever says yes more often than the
// regexp matches (FuzzHugeExponentScan).
func exponentRun(data []byte) bool {
	for i := 0; i < len(data); i++ {
		if c := data[i]; c != 'e' && c != 'E' {
			continue
		}
		j := i + 1
		if j < len(data) && (data[j] == '-' || data[j] == '+') {
			j++
		}
		for j < len(data) && data[j] == '0' {
			j++
		}
		if j >= len(data) || data[j] < '1' || data[j] > '9' {
			continue
		}
		k := j + 1
		for k < len(data) && data[k] >= '0' && data[k] <= '9' {
			k++
		}
		if k-j >= 7 && (k == len(data) || strings.IndexByte(" \t\n\v\f\r,]}\"'", data[k]) >= 0) && numberStart(data, i) {
			return true
		}
	}
	return false
}

// numberStart reports whether the mantissa before the exponent at i is
// [-+]?[0-9]*\.?[0-9]* starting the data or after one of the regexp's
// delimiters. Without it, hexadecimal container IDs ("…3e1234567…") sent
// every pods.json through the regexp.
func numberStart(data []byte, i int) bool {
	j := i - 1
	for j >= 0 && data[j] >= '0' && data[j] <= '9' {
		j--
	}
	if j >= 0 && data[j] == '.' {
		j--
		for j >= 0 && data[j] >= '0' && data[j] <= '9' {
			j--
		}
	}
	if j >= 0 && (data[j] == '-' || data[j] == '+') {
		j--
	}
	return j < 0 || strings.IndexByte(" \t\n\v\f\r[,\"'", data[j]) >= 0
}
