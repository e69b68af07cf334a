package kube

import (
	"bufio"
	"io"
	"regexp"
	"strings"
)

// ParseEventsText reads events as kubectl prints them for a person: `kubectl
// get events [-A]` (LAST SEEN TYPE REASON OBJECT MESSAGE, with or without its
// header) and the Events section of `kubectl describe pod|node` (Type Reason
// Age From Message, aligned by tabwriter: columns are taken at the header's
// offsets because Age may read "2m13s (x16 over 3m50s)"). involved names the
// object a describe section belongs to ("" when unknown). Lines it cannot
// read are skipped.
func ParseEventsText(r io.Reader, path, involved string) []Event {
	sc := bufio.NewScanner(io.LimitReader(r, MaxJSONBytes))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var out []Event
	var describeCols []int // offsets of Type, Reason, Age, From, Message
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		body := strings.TrimLeft(unquoteLine(line), " \t")
		indent := len(line) - len(body)
		if m := describeHeader.FindStringIndex(body); m != nil {
			describeCols = columnStarts(body, "Type", "Reason", "Age", "From", "Message")
			continue
		}
		if describeCols != nil {
			if ev, ok := describeRow(line[min(indent, len(line)):], describeCols); ok {
				ev.File, ev.Line, ev.Object = path, n, involved
				out = append(out, ev)
				continue
			}
		}
		if m := getRow.FindStringSubmatch(body); m != nil {
			out = append(out, Event{Namespace: strings.TrimSpace(m[1]), Type: m[2], Reason: m[3], Object: m[4],
				Message: strings.TrimSpace(m[5]), File: path, Line: n})
		}
	}
	return out
}

var (
	describeHeader = regexp.MustCompile(`^Type\s+Reason\s+Age\s+From\s+Message`)
	// [namespace] last-seen type reason kind/name message
	getRow = regexp.MustCompile(`^(?:(\S+)\s+)?\S+\s+(Normal|Warning)\s+(\S+)\s+([a-zA-Z.]+/\S+)\s+(.*)$`)
)

func unquoteLine(s string) string {
	t := strings.TrimLeft(s, " \t")
	for strings.HasPrefix(t, ">") {
		t = strings.TrimLeft(t[1:], " ")
	}
	return t
}

func columnStarts(header string, names ...string) []int {
	var out []int
	off := 0
	for _, n := range names {
		i := strings.Index(header[off:], n)
		if i < 0 {
			return nil
		}
		out = append(out, off+i)
		off += i + len(n)
	}
	return out
}

func describeRow(line string, cols []int) (Event, bool) {
	if len(cols) != 5 || len(line) <= cols[4] {
		return Event{}, false
	}
	field := func(i int) string {
		end := len(line)
		if i+1 < len(cols) {
			end = min(cols[i+1], len(line))
		}
		if cols[i] >= end {
			return ""
		}
		return strings.TrimSpace(line[cols[i]:end])
	}
	typ := field(0)
	if typ != "Normal" && typ != "Warning" {
		return Event{}, false
	}
	return Event{Type: typ, Reason: field(1), Source: field(3), Message: field(4)}, true
}
