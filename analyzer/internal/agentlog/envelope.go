package agentlog

import (
	"encoding/json"
	"regexp"
	"strconv"
	"time"
)

// entry is one log line with its envelopes removed: the time it carries and
// the klog message.
type entry struct {
	time     time.Time
	severity byte   // I, W, E, F; 0 when the line has no klog header
	source   string // "fsHandler.go:135"
	msg      string // the message after the klog header (or the whole text)
}

var (
	// CRI log files under /var/log/pods: "<RFC3339Nano> <stream> <P|F> <text>"
	// (kubernetes/cri-api: pkg/apis/runtime/v1 "CRI container log format").
	criPrefix = regexp.MustCompile(`^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)) (?:stdout|stderr) [PF] `)
	// journalctl short / syslog: "Nov 07 18:46:45 host kubelet[514]: …"
	syslogPrefix = regexp.MustCompile(`^([A-Z][a-z]{2}) +(\d{1,2}) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))? \S+ [^\s:\[]+(?:\[\d+\])?: `)
	// journalctl -o short-iso: "2023-11-07T18:46:45+0000 host kubelet[514]: …"
	isoSyslogPrefix = regexp.MustCompile(`^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)) \S+ [^\s:\[]+(?:\[\d+\])?: `)
	// klog: "I0328 13:41:29.716552       1 fsHandler.go:135] …"
	// (k8s.io/klog/v2: klog.go formatHeader: Lmmdd hh:mm:ss.uuuuuu threadid file:line]).
	klogHeader = regexp.MustCompile(`^([IWEF])(\d\d)(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{6}) +\d+ ([^\s:\]]+:\d+)\] `)
)

var months = map[string]time.Month{"Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "May": 5, "Jun": 6, "Jul": 7, "Aug": 8, "Sep": 9, "Oct": 10, "Nov": 11, "Dec": 12}

// unwrap strips the envelopes a kubelet or cAdvisor line arrives in: a
// docker json-file record, a CRI log prefix, a journal/syslog prefix, then
// the klog header. A stamp with a year and zone (CRI, docker, short-iso)
// wins over klog's yearless local-time one.
func (p *parser) unwrap(line string) entry {
	var e entry
	weak := false
	if len(line) > 0 && line[0] == '{' {
		// docker json-file: {"log":"…\n","stream":"stderr","time":"…"}
		var rec struct {
			Log  *string   `json:"log"`
			Time time.Time `json:"time"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Log != nil {
			line, e.time = trimNewline(*rec.Log), rec.Time
		}
	}
	// Cheap byte checks keep the regular expressions off lines that cannot
	// match: a 50,000-line log is mostly plain klog lines.
	digitFirst := len(line) > 20 && line[0] >= '0' && line[0] <= '9' && line[4] == '-'
	if m := matchIf(digitFirst, criPrefix, line); m != nil {
		if t, err := time.Parse(time.RFC3339Nano, m[1]); err == nil && e.time.IsZero() {
			e.time = t
		}
		line = line[len(m[0]):]
	} else if m := matchIf(digitFirst, isoSyslogPrefix, line); m != nil {
		if t, err := parseISO(m[1]); err == nil && e.time.IsZero() {
			e.time = t
		}
		line = line[len(m[0]):]
	} else if m := matchIf(len(line) > 16 && line[0] >= 'A' && line[0] <= 'Z' && line[3] == ' ', syslogPrefix, line); m != nil {
		if e.time.IsZero() {
			e.time = p.yearless(months[m[1]], atoi(m[2]), atoi(m[3]), atoi(m[4]), atoi(m[5]), fraction(m[6]))
			weak = true // klog's own stamp, if any, has microseconds
		}
		line = line[len(m[0]):]
	}
	klogFirst := len(line) > 22 && (line[0] == 'I' || line[0] == 'W' || line[0] == 'E' || line[0] == 'F') && line[1] >= '0' && line[1] <= '9'
	if m := matchIf(klogFirst, klogHeader, line); m != nil {
		e.severity, e.source = m[1][0], m[8]
		if e.time.IsZero() || weak {
			e.time = p.yearless(time.Month(atoi(m[2])), atoi(m[3]), atoi(m[4]), atoi(m[5]), atoi(m[6]), fraction(m[7]))
		}
		line = line[len(m[0]):]
	}
	e.msg = line
	return e
}

func matchIf(ok bool, re *regexp.Regexp, s string) []string {
	if !ok {
		return nil
	}
	return re.FindStringSubmatch(s)
}

func trimNewline(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	return s
}

func parseISO(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999-0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Parse(time.RFC3339, s)
}

// yearless completes a stamp that has no year and no zone. The year comes
// from Options (DESIGN §4: the manifest's created time); the zone is assumed
// UTC and the Log says so.
func (p *parser) yearless(mon time.Month, day, hour, min, sec, nsec int) time.Time {
	if mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60 {
		return time.Time{}
	}
	year := p.opts.Year
	ref := p.opts.Reference
	if !ref.IsZero() {
		year = ref.Year()
	}
	if year <= 0 {
		return time.Time{}
	}
	t := time.Date(year, mon, day, hour, min, sec, nsec, time.UTC)
	if !ref.IsZero() && t.After(ref.Add(48*time.Hour)) {
		// A December line in a bundle made in January.
		t = time.Date(year-1, mon, day, hour, min, sec, nsec, time.UTC)
	}
	p.log.TimeZoneAssumed = true
	return t
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// fraction turns the digits after a decimal point into nanoseconds.
func fraction(digits string) int {
	if digits == "" {
		return 0
	}
	n := atoi(digits)
	for i := len(digits); i < 9; i++ {
		n *= 10
	}
	return n
}
