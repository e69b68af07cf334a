package loose

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Wrapper names a log envelope around the lines a file really holds. A kernel
// or kubelet log often reaches a ticket inside one: copied from a node
// agent's container log under /var/log/pods (CRI format), from a docker
// json-file log, or exported with `journalctl -o json`. Classification looks
// through it and reading removes it, so the readers see the plain lines.
type Wrapper string

const (
	// CRI: "<RFC3339Nano> <stdout|stderr> <P|F> <text>", P marking a line
	// the runtime split (kubernetes/cri-api: pkg/apis/runtime/v1 "CRI
	// container log format"; kubelet pkg/kubelet/kuberuntime/logs).
	CRI Wrapper = "cri"
	// DockerJSON: one {"log":"…","stream":"…","time":"…"} per line; "log"
	// keeps its own "\n", and a line longer than 16 KiB arrives in pieces
	// without one (moby: daemon/logger/jsonfilelog).
	DockerJSON Wrapper = "docker-json"
	// JournalJSON: `journalctl -o json`, one object per entry with
	// __REALTIME_TIMESTAMP (µs since the epoch as a decimal string),
	// _HOSTNAME, SYSLOG_IDENTIFIER, _PID, _TRANSPORT and MESSAGE — a string,
	// or an array of bytes when the message is not valid UTF-8, or null
	// (systemd: docs/JOURNAL_EXPORT_FORMATS.md "Journal JSON Format").
	JournalJSON Wrapper = "journal-json"
)

// MaxWrappedLine bounds one line of a wrapped file; the rest of a longer
// line is dropped (a 2 GB single line must not be held in memory).
const MaxWrappedLine = 1 << 20

var criLine = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d) (?:stdout|stderr) [PF][^ ]* `)

// DetectWrapper says which envelope most of the prefix's lines are in, or "".
func DetectWrapper(prefix []byte) Wrapper {
	counts := map[Wrapper]int{}
	n := 0
	for line := range bytes.SplitSeq(prefix, []byte("\n")) {
		line = bytes.TrimRight(line, "\r")
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if n++; n > maxLines {
			break
		}
		if w := lineWrapper(line); w != "" {
			counts[w]++
		}
	}
	if n == 0 {
		return ""
	}
	for _, w := range []Wrapper{JournalJSON, DockerJSON, CRI} {
		// The last line of a prefix may be cut: allow one miss in four.
		if c := counts[w]; c >= 1 && c*4 >= n*3 {
			return w
		}
	}
	return ""
}

func lineWrapper(line []byte) Wrapper {
	if len(line) > 0 && line[0] == '{' {
		switch {
		case bytes.Contains(line, []byte(`"__REALTIME_TIMESTAMP"`)) && bytes.Contains(line, []byte(`"MESSAGE"`)):
			return JournalJSON
		case bytes.HasPrefix(line, []byte(`{"log":`)) && bytes.Contains(line, []byte(`"stream":`)):
			return DockerJSON
		}
		return ""
	}
	if len(line) > 24 && line[4] == '-' && criLine.Match(line) {
		return CRI
	}
	return ""
}

// Unwrap returns the plain lines of r, read through the envelope w. Lines are
// read one at a time (at most MaxWrappedLine bytes each); a line that is not
// in the envelope — a header a person added, a cut last line — passes through
// as it is, so nothing of the file is lost.
func Unwrap(w Wrapper, r io.Reader) io.Reader {
	if w == "" {
		return r
	}
	return &unwrapper{w: w, in: bufio.NewReaderSize(r, 64<<10)}
}

type unwrapper struct {
	w    Wrapper
	in   *bufio.Reader
	out  []byte // unwrapped bytes not yet returned
	line []byte // the line being read, reused
	err  error
}

func (u *unwrapper) Read(p []byte) (int, error) {
	for len(u.out) == 0 {
		if u.err != nil {
			return 0, u.err
		}
		line, err := u.readLine()
		if len(line) > 0 {
			u.out = u.unwrapLine(u.out[:0], line)
		}
		if err != nil {
			u.err = err
		}
	}
	n := copy(p, u.out)
	u.out = u.out[n:]
	return n, nil
}

// readLine returns the next line without its "\n", cut at MaxWrappedLine
// (the rest of the line is read and dropped).
func (u *unwrapper) readLine() ([]byte, error) {
	line := u.line[:0]
	defer func() { u.line = line[:0] }()
	for {
		frag, err := u.in.ReadSlice('\n')
		if len(line)+len(frag) <= MaxWrappedLine {
			line = append(line, frag...)
		} else if len(line) < MaxWrappedLine {
			line = append(line, frag[:MaxWrappedLine-len(line)]...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		line = bytes.TrimRight(line, "\r\n")
		return line, err
	}
}

func (u *unwrapper) unwrapLine(dst, line []byte) []byte {
	switch u.w {
	case CRI:
		if loc := criLine.FindIndex(line); loc != nil {
			fields := bytes.SplitN(line[:loc[1]], []byte(" "), 4) // stamp, stream, tag, ""
			dst = append(dst, line[loc[1]:]...)
			if fields[2][0] == 'P' {
				return dst // partial: the line goes on in the next record
			}
			return append(dst, '\n')
		}
	case DockerJSON:
		var rec struct {
			Log *string `json:"log"`
		}
		if json.Unmarshal(line, &rec) == nil && rec.Log != nil {
			return append(dst, *rec.Log...)
		}
	case JournalJSON:
		if s, ok := journalLine(line); ok {
			return append(append(dst, s...), '\n')
		}
	}
	return append(append(dst, line...), '\n')
}

// journalLine renders one journal JSON entry as journalctl -o short-iso-precise
// would print it: "<RFC 3339 µs stamp> <host> <ident>[<pid>]: <message>";
// kernel entries carry no PID ("… host kernel: …"), as journalctl prints them.
func journalLine(line []byte) (string, bool) {
	var rec map[string]json.RawMessage
	if json.Unmarshal(line, &rec) != nil {
		return "", false
	}
	msg, ok := journalField(rec["MESSAGE"])
	if !ok {
		return "", false
	}
	var b strings.Builder
	if us, err := strconv.ParseInt(strField(rec["__REALTIME_TIMESTAMP"]), 10, 64); err == nil {
		b.WriteString(time.UnixMicro(us).UTC().Format("2006-01-02T15:04:05.000000Z07:00"))
	} else {
		b.WriteString("-")
	}
	host := strField(rec["_HOSTNAME"])
	if host == "" {
		host = "localhost"
	}
	b.WriteString(" " + host + " ")
	ident := strField(rec["SYSLOG_IDENTIFIER"])
	if strField(rec["_TRANSPORT"]) == "kernel" {
		ident = "kernel"
	}
	if ident == "" {
		ident = strField(rec["_COMM"])
	}
	if ident == "" {
		ident = "unknown"
	}
	b.WriteString(ident)
	if pid := strField(rec["_PID"]); pid != "" && ident != "kernel" {
		b.WriteString("[" + pid + "]")
	}
	b.WriteString(": ")
	// A message of several lines stays on one, as journalctl's short
	// output continues them; our readers are line based.
	b.WriteString(strings.ReplaceAll(msg, "\n", " "))
	return b.String(), true
}

// journalField decodes a journal JSON value: a string, or an array of byte
// values (a message that is not valid UTF-8).
func journalField(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	var bs []int
	if json.Unmarshal(raw, &bs) == nil {
		out := make([]byte, 0, len(bs))
		for _, c := range bs {
			out = append(out, byte(c))
		}
		return string(out), true
	}
	return "", false
}

func strField(raw json.RawMessage) string {
	s, _ := journalField(raw)
	return s
}

// unwrapPrefix unwraps a classification prefix (bounded already).
func unwrapPrefix(w Wrapper, data []byte) []byte {
	out, _ := io.ReadAll(Unwrap(w, bytes.NewReader(data)))
	return out
}
