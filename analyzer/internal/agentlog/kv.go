package agentlog

import (
	"strconv"
	"strings"
)

// structured splits a klog structured message (kubelet ≥ 1.20,
// k8s.io/klog/v2 InfoS: `"Message text" key="value" key2=value2 obj={…}`)
// into its text and key/values. ok is false for printf-style messages.
func structured(msg string) (text string, kv map[string]string, ok bool) {
	if len(msg) == 0 || msg[0] != '"' {
		return msg, nil, false
	}
	end := quotedEnd(msg, 0)
	if end < 0 {
		return msg, nil, false
	}
	text = unquote(msg[:end+1])
	kv = map[string]string{}
	rest := msg[end+1:]
	for {
		rest = strings.TrimLeft(rest, " \t")
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 || strings.ContainsAny(rest[:eq], " \t\"") {
			return text, kv, true
		}
		key := rest[:eq]
		rest = rest[eq+1:]
		n := valueEnd(rest)
		val := rest[:n]
		if len(val) > 1 && val[0] == '"' {
			val = unquote(val)
		}
		kv[key] = val
		rest = rest[n:]
	}
}

// quotedEnd returns the index of the quote closing the string that opens at
// s[start], or -1.
func quotedEnd(s string, start int) int {
	for i := start + 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

// valueEnd returns the length of the value at the start of s: a quoted
// string, a bracketed {…} or […] group (nesting and quotes respected), or a
// bare word.
func valueEnd(s string) int {
	if s == "" {
		return 0
	}
	switch s[0] {
	case '"':
		if e := quotedEnd(s, 0); e >= 0 {
			return e + 1
		}
		return len(s)
	case '{', '[':
		depth := 0
		for i := 0; i < len(s); i++ {
			switch s[i] {
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			case '"':
				if e := quotedEnd(s, i); e >= 0 {
					i = e
				}
			}
		}
		return len(s)
	}
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		return i
	}
	return len(s)
}

func unquote(s string) string {
	if u, err := strconv.Unquote(s); err == nil {
		return u
	}
	return strings.Trim(s, `"`)
}
