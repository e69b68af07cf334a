package report

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/memsnap/memsnap/report/schema"
)

// formatBytes renders a byte count in binary units ("1.5 GiB"), the way
// kubectl and the kernel documentation talk about memory. Exact values stay
// available next to it wherever a claim depends on them.
func formatBytes(n int64) string {
	const unit = 1024
	neg := n < 0
	u := uint64(n)
	if neg {
		u = uint64(-n)
	}
	sign := ""
	if neg {
		sign = "-"
	}
	if u < unit {
		return sign + strconv.FormatUint(u, 10) + " B"
	}
	div, exp := uint64(unit), 0
	for v := u / unit; v >= unit && exp < 5; v /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%s%.1f %ciB", sign, float64(u)/float64(div), "KMGTPE"[exp])
}

// bytesOrDash renders an optional byte count: "—" for absent (nil), which is
// not the same as a measured 0.
func bytesOrDash(p *int64) string {
	if p == nil {
		return "—"
	}
	return formatBytes(*p)
}

// kubepodsLimit says what the kubepods cgroup's limit is, telling "no such
// cgroup" and "no limit" apart from "not in the bundle" (—).
func kubepodsLimit(m schema.NodeMemory) string {
	switch {
	case m.KubepodsAbsent:
		return "no kubepods cgroup"
	case m.KubepodsUnlimited:
		return "unlimited"
	}
	return ""
}

func kubepodsLimitText(m schema.NodeMemory) string {
	if s := kubepodsLimit(m); s != "" {
		if m.KubepodsAbsent {
			return s
		}
		return "kubepods limit " + s
	}
	return "kubepods limit " + bytesOrDash(m.KubepodsLimitBytes)
}

// truncateRunes shortens s to at most max runes, marking the cut with "…".
// Bundle strings can be arbitrarily long (10 MB log lines).
func truncateRunes(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	i, n := 0, 0
	for i = range s {
		if n == max {
			break
		}
		n++
	}
	return s[:i] + "…"
}

// visible replaces control characters (ANSI escapes, carriage returns, bidi
// overrides would let bundle content rewrite a terminal or a CI log) and
// invalid UTF-8 with visible escapes. Newlines and tabs become spaces.
func visible(s string) string {
	if !needsVisible(s) {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n' || r == '\t':
			b.WriteByte(' ')
		case unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r):
			b.WriteString(strings.Trim(strconv.QuoteRune(r), "'"))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func needsVisible(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	for _, r := range s {
		if r == '\n' || r == '\t' || unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return true
		}
	}
	return false
}
