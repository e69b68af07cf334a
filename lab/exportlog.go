package lab

import (
	"bufio"
	"bytes"
	"strconv"
	"strings"
	"time"

	"github.com/memsnap/memsnap/bundle"
)

// The kernel log is the one file of a lab bundle that is shared with the
// whole machine: the collector keeps up to a day of it, with every OOM kill
// of every other run and session. The export keeps the lines logged since
// the lab started and, of the OOM reports, only the lab's own — whole, as
// the kernel printed them.

// logClock turns kernel.log stamps into wall time, as the analyzer does
// (analyzer/internal/oomlog): printk stamps are seconds since boot, journal
// stamps carry no year.
type logClock struct {
	Boot time.Time // zero when unknown
	Year int
}

// kernelLogClock takes the boot time from the manifest, else from
// node/stat's btime, and the year from the manifest's created.
func kernelLogClock(v bundle.View, m *bundle.Manifest) logClock {
	var c logClock
	if t, err := time.Parse(time.RFC3339, m.Node.BootTime); err == nil {
		c.Boot = t
	}
	if c.Boot.IsZero() {
		if b, _, err := bundle.ReadFile(v, bundle.NodeStat, 1<<20); err == nil {
			sc := bufio.NewScanner(bytes.NewReader(b))
			for sc.Scan() {
				if rest, ok := strings.CutPrefix(sc.Text(), "btime "); ok {
					if s, err := strconv.ParseInt(strings.TrimSpace(rest), 10, 64); err == nil {
						c.Boot = time.Unix(s, 0).UTC()
					}
				}
			}
		}
	}
	if t, err := time.Parse(time.RFC3339, m.Created); err == nil {
		c.Year = t.Year()
	}
	return c
}

// split strips a line's stamp: dmesg "[ 5.140900] " (what the collector
// writes from /dev/kmsg), "dmesg -T" "[Thu Dec  7 00:05:14 2017] ", a raw
// /dev/kmsg record "6,1234,5140900,-;", or a journal/syslog prefix
// "Nov 23 16:33:48.123456 host kernel: " / "2026-11-23T16:33:48.123456+0000
// host kernel: " (journalctl -k, UTC assumed as the analyzer does). It
// returns the kernel's message and when it was logged, if the line says
// and the clock can place it.
func (c logClock) split(line string) (msg string, at time.Time, ok bool) {
	s := strings.TrimRight(line, "\r\n")
	if len(s) > 3 && s[0] == '<' {
		if end := strings.IndexByte(s, '>'); end > 1 && end < 5 {
			if _, err := strconv.Atoi(s[1:end]); err == nil {
				s = s[end+1:]
			}
		}
	}
	if head, rest, found := strings.Cut(s, ";"); found && len(head) < 64 {
		f := strings.Split(head, ",")
		if len(f) >= 4 {
			if usec, err := strconv.ParseInt(f[2], 10, 64); err == nil && usec >= 0 && !c.Boot.IsZero() {
				return rest, c.Boot.Add(time.Duration(usec) * time.Microsecond), true
			}
		}
	}
	if strings.HasPrefix(s, "[") {
		if end := strings.IndexByte(s, ']'); end > 0 {
			inner := strings.TrimSpace(s[1:end])
			rest := strings.TrimPrefix(s[end+1:], " ")
			// CONFIG_PRINTK_CALLER adds "[T1234] " after the stamp.
			if len(rest) > 3 && rest[0] == '[' && (rest[1] == 'T' || rest[1] == 'C') {
				if e := strings.IndexByte(rest, ']'); e > 0 {
					rest = strings.TrimPrefix(rest[e+1:], " ")
				}
			}
			if up, err := strconv.ParseFloat(inner, 64); err == nil && up >= 0 {
				if c.Boot.IsZero() {
					return rest, time.Time{}, false
				}
				return rest, c.Boot.Add(time.Duration(up * float64(time.Second))), true
			}
			if t, err := time.Parse("Mon Jan _2 15:04:05 2006", inner); err == nil {
				return rest, t, true
			}
		}
	}
	if len(s) >= 20 && s[4] == '-' && s[7] == '-' && s[10] == 'T' {
		tok, rest, _ := strings.Cut(s, " ")
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700"} {
			if t, err := time.Parse(layout, tok); err == nil {
				return kernelTag(rest), t, true
			}
		}
	}
	if len(s) > 16 && c.Year != 0 {
		if t, err := time.Parse("Jan _2 15:04:05", s[:15]); err == nil {
			rest := s[15:]
			if strings.HasPrefix(rest, ".") {
				i := 1
				for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
					i++
				}
				if frac, err := strconv.ParseFloat("0"+rest[:i], 64); err == nil {
					t = t.Add(time.Duration(frac * float64(time.Second)))
				}
				rest = rest[i:]
			}
			return kernelTag(strings.TrimPrefix(rest, " ")), t.AddDate(c.Year, 0, 0), true
		}
	}
	return s, time.Time{}, false
}

// kernelTag drops "host kernel: " from a journal line.
func kernelTag(s string) string {
	if rest, ok := strings.CutPrefix(s, "kernel: "); ok {
		return rest
	}
	if i := strings.Index(s, " kernel: "); i >= 0 && !strings.Contains(s[:i], " ") {
		return s[i+len(" kernel: "):]
	}
	return s
}

// startSlack is how far before the lab's start a kept line may be stamped.
// Placing a printk stamp on the wall clock needs the boot time, which the
// manifest and /proc/stat's btime give in whole seconds (btime is
// truncated, so a stamp converts up to 1 s early); short journal stamps
// have seconds too. Erring early keeps every line of the run; the lines of
// that second which are not the lab's are no OOM report (those are kept
// or dropped by their cgroup, never by time).
const startSlack = time.Second

// oomReport is one OOM-killer report: the lines from "invoked oom-killer"
// to the kill line(s), and the cgroups and pids it names.
type oomReport struct {
	lines     []string
	taskMemcg string   // the victim's cgroup (oom-kill: task_memcg=, "Task in …")
	memcgs    []string // other cgroups it names: oom_memcg, "Memory cgroup stats for"
	pids      []int    // victims
	killed    bool     // a "Killed process" line has been seen
}

// ownedBy decides by the victim's cgroup when the report names it, else by
// any cgroup it names, else (a report cut down to its kill line) by the
// victim's pid.
func (r *oomReport) ownedBy(sc exportScope) bool {
	if r.taskMemcg != "" {
		return sc.ownsCgroup(r.taskMemcg)
	}
	for _, cg := range r.memcgs {
		if sc.ownsCgroup(cg) {
			return true
		}
	}
	if len(r.memcgs) > 0 {
		return false
	}
	for _, pid := range r.pids {
		if sc.PIDs[pid] {
			return true
		}
	}
	return false
}

func (r *oomReport) add(line, msg string) {
	r.lines = append(r.lines, line)
	switch {
	case strings.HasPrefix(msg, "oom-kill:"):
		// oom-kill:constraint=…,oom_memcg=…,task_memcg=…,task=…,pid=…,uid=…
		for piece := range strings.SplitSeq(strings.TrimPrefix(msg, "oom-kill:"), ",") {
			k, val, _ := strings.Cut(piece, "=")
			switch k {
			case "task_memcg":
				r.taskMemcg = val
			case "oom_memcg":
				r.memcgs = append(r.memcgs, val)
			case "pid":
				if pid, err := strconv.Atoi(val); err == nil {
					r.pids = append(r.pids, pid)
				}
			}
		}
	case strings.HasPrefix(msg, "Task in "):
		task, limit, ok := strings.Cut(strings.TrimPrefix(msg, "Task in "), " killed as a result of limit of ")
		if ok {
			r.taskMemcg = task
			r.memcgs = append(r.memcgs, limit)
		}
	case strings.HasPrefix(msg, "Memory cgroup stats for "):
		rest := strings.TrimPrefix(msg, "Memory cgroup stats for ")
		if p, ok := strings.CutSuffix(rest, ":"); ok {
			r.memcgs = append(r.memcgs, p) // ≥ 5.x: the stats follow on their own lines
		} else if p, _, ok := strings.Cut(rest, ": "); ok {
			r.memcgs = append(r.memcgs, p) // older: "<path>: cache:…KB rss:…KB …"
		}
	default:
		if pid, ok := pidAfter(msg, "Killed process "); ok {
			r.pids = append(r.pids, pid)
			r.killed = true
		} else if pid, ok := pidAfter(msg, "Kill process "); ok {
			r.pids = append(r.pids, pid)
		}
	}
}

// pidAfter reads the pid following marker in msg ("Killed process 123 (x)").
func pidAfter(msg, marker string) (int, bool) {
	i := strings.Index(msg, marker)
	if i < 0 {
		return 0, false
	}
	rest := msg[i+len(marker):]
	end := strings.IndexByte(rest, ' ')
	if end < 0 {
		end = len(rest)
	}
	pid, err := strconv.Atoi(rest[:end])
	return pid, err == nil && pid > 0
}

// isInvoked is dump_header's first line, "<comm> invoked oom-killer: …".
func isInvoked(msg string) bool {
	i := strings.Index(msg, " invoked oom-killer:")
	return i > 0 && i <= 64
}

// isReportLine is a line that only an OOM report prints: one seen outside
// a report (its "invoked" line was overwritten in the ring buffer or lost)
// still starts one, so it is kept or dropped with its cgroup too, never
// left behind for the analyzer to count as a kill.
func isReportLine(msg string) bool {
	for _, p := range []string{"oom-kill:", "Task in ", "memory: usage ", "memory+swap: usage ", "swap: usage ",
		"kmem: usage ", "Memory cgroup stats for ", "Tasks state (memory values in pages)"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	_, killed := pidAfter(msg, "Killed process ")
	_, chosen := pidAfter(msg, "Kill process ")
	return killed || chosen
}

// trimKernelLog keeps the lab's own OOM reports whole and, of every other
// line, those stamped from the lab's start on. Another cgroup's report is
// dropped whatever its time (another session's lab runs alongside); so is
// an oom_reaper line about a process whose report was dropped or is not in
// the log. A line without a stamp goes with the line before it.
func trimKernelLog(b []byte, sc exportScope, clock logClock, st *trimStats) []byte {
	cutoff := sc.Started.Add(-startSlack)
	var out strings.Builder
	var cur *oomReport
	victims := map[int]bool{} // pid → its report was kept
	flush := func() {
		if cur == nil {
			return
		}
		owned := cur.ownedBy(sc)
		if owned {
			st.OOMReportsKept++
			for _, l := range cur.lines {
				out.WriteString(l)
			}
		} else {
			st.OOMReportsDropped++
		}
		for _, pid := range cur.pids {
			victims[pid] = owned
		}
		cur = nil
	}
	var last time.Time
	placed := false
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line == "" {
			continue
		}
		st.LogLinesBefore++
		msg, at, ok := clock.split(line)
		if ok {
			last, placed = at, true
		}
		if strings.HasPrefix(msg, "oom_reaper: reaped process ") {
			// The reaper reports after the kill, often after other lines.
			if cur != nil && cur.killed {
				flush()
			}
			if pid, ok := pidAfter(msg, "reaped process "); ok && victims[pid] {
				out.WriteString(line)
			}
			continue
		}
		switch {
		case isInvoked(msg):
			flush()
			cur = &oomReport{}
		case cur != nil && cur.killed:
			// After the kill line only more kill lines (memory.oom.group
			// kills every member) continue the report.
			if _, more := pidAfter(msg, "Killed process "); !more && !strings.HasPrefix(msg, "Tasks in ") {
				flush()
			}
		}
		if cur == nil && isReportLine(msg) {
			cur = &oomReport{}
		}
		if cur != nil {
			cur.add(line, msg)
			continue
		}
		if placed && !last.Before(cutoff) {
			out.WriteString(line)
		}
	}
	flush()
	st.LogLinesAfter = strings.Count(out.String(), "\n")
	if s := out.String(); s != "" && !strings.HasSuffix(s, "\n") {
		st.LogLinesAfter++
	}
	return []byte(out.String())
}
