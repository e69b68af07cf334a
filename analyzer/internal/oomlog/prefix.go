package oomlog

import (
	"strconv"
	"strings"
	"time"
)

// stamp is what a line's prefix says about when it was logged.
type stamp struct {
	wall     time.Time // a complete wall-clock time, zero if none
	wallNote string    // the assumption behind wall, if any
	uptime   float64   // printk / kmsg seconds since boot
	hasUp    bool
}

// kind of line, from its prefix.
const (
	kindKernel   = iota // a kernel message (or a line without any prefix)
	kindOther           // another program's line in a syslog/journal/kmsg stream
	kindKmsgCont        // a /dev/kmsg continuation (dictionary) line
)

// splitPrefix strips the timestamp and source prefixes DOMAIN §4.4 lists and
// returns the kernel message. prevKmsg says whether the previous line was a
// /dev/kmsg record, whose continuation lines start with a space
// (torvalds/linux:Documentation/ABI/testing/dev-kmsg).
func (p *parser) splitPrefix(s string, prevKmsg bool) (msg string, st stamp, kind int, kmsg bool) {
	if prevKmsg && strings.HasPrefix(s, " ") {
		return "", st, kindKmsgCont, true
	}
	if m, us, fac, ok := cutKmsg(s); ok {
		st.uptime, st.hasUp = float64(us)/1e6, true
		if fac != 0 { // facility 0 is the kernel; systemd & co. write to kmsg too
			return m, st, kindOther, true
		}
		return m, st, kindKernel, true
	}
	s = cutLevel(s)
	if t, rest, ok := p.cutDmesgT(s); ok {
		st.wall, st.wallNote = t, p.zoneNote("dmesg -T prints local time")
		s = rest
	} else if t, note, rest, ok := p.cutSyslogTime(s); ok {
		st.wall, st.wallNote = t, note
		tag, rest, ok := cutTag(rest)
		if !ok || tag != "kernel" {
			return rest, st, kindOther, false
		}
		s = cutLevel(rest)
	}
	if up, rest, ok := cutPrintk(s); ok {
		st.uptime, st.hasUp = up, true
		s = rest
		// journalctl -o short-monotonic: "[ 7063.247407] host kernel: msg".
		if tag, after, ok := cutTag(s); ok && tag == "kernel" {
			s = after
		}
	}
	return s, st, kindKernel, false
}

// cutKmsg parses a raw /dev/kmsg record "prio,seq,usec,flags[,…];message".
func cutKmsg(s string) (msg string, usec int64, facility int, ok bool) {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return "", 0, 0, false
	}
	head, msg, ok := strings.Cut(s, ";")
	if !ok || len(head) > 64 {
		return "", 0, 0, false
	}
	f := strings.Split(head, ",")
	if len(f) < 4 {
		return "", 0, 0, false
	}
	prio, err1 := strconv.Atoi(f[0])
	_, err2 := strconv.ParseUint(f[1], 10, 64)
	us, err3 := strconv.ParseInt(f[2], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || prio < 0 || us < 0 {
		return "", 0, 0, false
	}
	return msg, us, prio >> 3, true
}

// cutLevel drops a "<6>" syslog level prefix (vmware/photon#1535).
func cutLevel(s string) string {
	if len(s) < 3 || s[0] != '<' {
		return s
	}
	end := strings.IndexByte(s, '>')
	if end < 2 || end > 4 {
		return s
	}
	for i := 1; i < end; i++ {
		if s[i] < '0' || s[i] > '9' {
			return s
		}
	}
	return s[end+1:]
}

// cutPrintk drops "[ 7063.247407] " and a CONFIG_PRINTK_CALLER id
// "[ T6736] " after it, returning the seconds since boot.
func cutPrintk(s string) (float64, string, bool) {
	if len(s) < 3 || s[0] != '[' {
		return 0, s, false
	}
	end := strings.IndexByte(s, ']')
	if end < 0 || end > 32 {
		return 0, s, false
	}
	num := strings.TrimLeft(s[1:end], " ")
	if num == "" || strings.IndexByte(num, '.') < 0 {
		return 0, s, false
	}
	up, err := strconv.ParseFloat(num, 64)
	if err != nil || up < 0 || num[0] < '0' || num[0] > '9' {
		return 0, s, false
	}
	rest := s[end+1:]
	if r, ok := cutCaller(rest); ok {
		rest = r
	}
	return up, strings.TrimPrefix(rest, " "), true
}

func cutCaller(s string) (string, bool) {
	if len(s) < 4 || s[0] != '[' {
		return s, false
	}
	end := strings.IndexByte(s, ']')
	if end < 0 || end > 16 {
		return s, false
	}
	id := strings.TrimLeft(s[1:end], " ")
	if len(id) < 2 || (id[0] != 'T' && id[0] != 'C') {
		return s, false
	}
	if _, err := strconv.Atoi(id[1:]); err != nil {
		return s, false
	}
	return s[end+1:], true
}

// cutTag splits "host tag[pid]: rest" or "tag[pid]: rest" (syslog without
// a hostname, as in google/cadvisor's containerOomExampleLog.txt).
func cutTag(s string) (tag, rest string, ok bool) {
	for range 2 {
		tok, after, found := strings.Cut(s, " ")
		if !found {
			return "", s, false
		}
		if strings.HasSuffix(tok, ":") {
			tag = strings.TrimSuffix(tok, ":")
			if i := strings.IndexByte(tag, '['); i > 0 {
				tag = tag[:i]
			}
			return tag, after, true
		}
		s = after
	}
	return "", s, false
}

var months = map[string]time.Month{
	"Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "May": 5, "Jun": 6,
	"Jul": 7, "Aug": 8, "Sep": 9, "Oct": 10, "Nov": 11, "Dec": 12,
}

func (p *parser) loc() *time.Location {
	if p.opts.Location != nil {
		return p.opts.Location
	}
	return time.UTC
}

func (p *parser) zoneNote(what string) string {
	if p.opts.Location != nil {
		return what + "; time zone " + p.opts.Location.String() + " assumed"
	}
	return what + "; time zone UTC assumed"
}

// cutSyslogTime parses the journal/syslog stamp: "Jun 29 07:24:44 ",
// "Aug 30 06:58:55.050705 " (short-precise) or an ISO 8601 / RFC 3339 stamp
// (short-iso, short-iso-precise, rsyslog) whose zone may be "+0000".
func (p *parser) cutSyslogTime(s string) (time.Time, string, string, bool) {
	if len(s) >= 20 && s[4] == '-' && s[7] == '-' && s[10] == 'T' {
		tok, rest, ok := strings.Cut(s, " ")
		if !ok {
			return time.Time{}, "", "", false
		}
		for _, layout := range [...]string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700"} {
			if t, err := time.Parse(layout, tok); err == nil {
				return t, "", rest, true
			}
		}
		if t, err := time.ParseInLocation("2006-01-02T15:04:05.999999999", tok, p.loc()); err == nil {
			return t, p.zoneNote("no zone in the stamp"), rest, true
		}
		return time.Time{}, "", "", false
	}
	if len(s) < 16 || s[3] != ' ' || s[6] != ' ' || s[9] != ':' || s[12] != ':' {
		return time.Time{}, "", "", false
	}
	mon, ok := months[s[:3]]
	if !ok {
		return time.Time{}, "", "", false
	}
	day, err := strconv.Atoi(strings.TrimLeft(s[4:6], " "))
	hh, err2 := strconv.Atoi(s[7:9])
	mm, err3 := strconv.Atoi(s[10:12])
	ss, err4 := strconv.Atoi(s[13:15])
	if err != nil || err2 != nil || err3 != nil || err4 != nil {
		return time.Time{}, "", "", false
	}
	i, nsec := 15, 0
	if s[i] == '.' {
		j := i + 1
		for j < len(s) && j < i+10 && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		frac := s[i+1 : j]
		n, _ := strconv.Atoi(frac)
		for k := len(frac); k < 9; k++ {
			n *= 10
		}
		nsec, i = n, j
	}
	if i >= len(s) || s[i] != ' ' {
		return time.Time{}, "", "", false
	}
	rest := s[i+1:]
	if p.opts.Year == 0 {
		return time.Time{}, "", rest, true // a syslog line, but no year to place it
	}
	t := time.Date(p.opts.Year, mon, day, hh, mm, ss, nsec, p.loc())
	return t, p.zoneNote("year taken from the bundle's creation date"), rest, true
}

// cutDmesgT parses "[Thu Dec  7 00:05:14 2017] ".
func (p *parser) cutDmesgT(s string) (time.Time, string, bool) {
	if len(s) < 26 || s[0] != '[' || s[4] != ' ' {
		return time.Time{}, "", false
	}
	end := strings.IndexByte(s, ']')
	if end < 20 || end > 40 {
		return time.Time{}, "", false
	}
	t, err := time.ParseInLocation("Mon Jan _2 15:04:05 2006", s[1:end], p.loc())
	if err != nil {
		return time.Time{}, "", false
	}
	return t, strings.TrimPrefix(s[end+1:], " "), true
}
