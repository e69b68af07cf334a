// Package oomlog finds kernel OOM-killer reports in a kernel log (dmesg,
// dmesg -T, journalctl, syslog, raw /dev/kmsg) and turns each killed process
// into an Event: who was killed, whose limit fired, which counter, and what
// filled the cgroup.
//
// The report's line sequence and its variants across kernel generations are
// DOMAIN §4; the strings come from torvalds/linux:mm/oom_kill.c (dump_header,
// dump_oom_summary, __oom_kill_process, oom_reap_task_mm) and mm/memcontrol.c
// (mem_cgroup_print_oom_context, mem_cgroup_print_oom_meminfo,
// mem_cgroup_print_oom_group). Semantics follow DESIGN §4: one event per
// process the kernel killed, never one for a line that merely quotes a kill.
package oomlog

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"time"
)

// Options carry what the log itself cannot say.
type Options struct {
	// File names the log in problems and errors, e.g. "logs/kernel.log".
	File string
	// Year completes syslog/journal stamps that carry no year (usually the
	// year of the bundle's manifest "created"); 0 = unknown.
	Year int
	// BootTime turns printk stamps (seconds since boot) into wall time; it is
	// node/stat's btime. Zero = unknown.
	BootTime time.Time
	// Location is the zone of stamps that carry none; nil = UTC.
	Location *time.Location
	// MaxLineBytes skips longer lines with a problem; 0 = 1 MiB.
	MaxLineBytes int
	// MaxTasks caps the task rows kept per report; 0 = 100,000.
	MaxTasks int
}

// Result is everything found in one log.
type Result struct {
	Events []Event
	// PartialReports counts OOM reports that name no killed process (the log
	// was cut, or the kill line and its reaper line were lost).
	PartialReports int
	// Problems are non-fatal: skipped over-long lines, capped tables.
	Problems []string
}

// Event is one process killed by the OOM killer.
type Event struct {
	StartLine int // first line of the report (1-based)
	Line      int // the kill line, else the oom-kill: summary, else the oom_reaper line
	EndLine   int // last line attributed to the report

	Time     time.Time // zero if unknown
	TimeNote string    // how Time was derived when it involved an assumption
	Uptime   *float64  // printk seconds since boot, when printed

	Process string
	PID     int
	UID     *int

	// Constraint is what the kernel printed in oom-kill:constraint=…; for
	// kernels without that line, CONSTRAINT_MEMCG when the report is a memcg
	// one, else "".
	Constraint string
	OOMMemcg   string // the cgroup whose limit fired ("" when global or unknown)
	TaskMemcg  string // the victim's cgroup
	Global     bool   // a global (node-wide, cpuset or mempolicy) OOM

	// LimitCounter is the counter that hit its limit: "memory", "memsw"
	// (v1 memory+swap) or "swap" (v2); Usage, Limit and Failcnt are that
	// counter's, in bytes. Empty and nil for a global OOM.
	LimitCounter string
	Usage        *int64
	Limit        *int64
	Failcnt      *int64
	KmemUsage    *int64 // v1 kmem: usage line

	// From the kill line, in bytes; nil when not printed.
	AnonRSS  *int64
	FileRSS  *int64
	ShmemRSS *int64

	// Stats is the report's own Memory cgroup stats dump for OOMMemcg, keyed
	// by memory.stat name: the hierarchical total_* values (prefix dropped)
	// when printed, else the sum over the cgroups the dump lists. Sizes are
	// bytes; event counters (pgfault, …) are as printed. Nil if no dump.
	// Events of one report share the map: treat it as read-only.
	Stats map[string]int64

	FilledBy string // "anon" | "shmem" | "file" | "kernel" | "unknown"

	// Tasks is the report's task table (shared by the events of one report).
	Tasks []Task
}

// Task is one row of the "Tasks state" table. Memory values are pages, as
// the kernel prints them.
type Task struct {
	PID           int
	UID           int
	TotalVMPages  int64
	RSSPages      int64
	RSSAnonPages  *int64 // ≥ 6.8 only
	RSSFilePages  *int64 // ≥ 6.8 only
	RSSShmemPages *int64 // ≥ 6.8 only
	OOMScoreAdj   int
	Name          string
}

const (
	defaultMaxLine  = 1 << 20
	defaultMaxTasks = 100_000
	// maxTotalTasks bounds the task rows kept across all reports, so a log
	// made of nothing but task tables cannot grow memory without bound.
	maxTotalTasks = 200_000
	maxProblems   = 100
	// A memcg dump lists the OOM memcg's subtree (one block per cgroup on
	// old kernels) with ~50 keys each; these caps only stop hostile input.
	maxStatBlocks = 1024
	maxStatKeys   = 128
)

// Parse reads a kernel log and returns its OOM events. It returns an error
// only when reading fails; the result then holds what was read before.
func Parse(r io.Reader, opts Options) (*Result, error) {
	if opts.MaxLineBytes <= 0 {
		opts.MaxLineBytes = defaultMaxLine
	}
	if opts.MaxTasks <= 0 {
		opts.MaxTasks = defaultMaxTasks
	}
	p := newParser(opts)
	br := bufio.NewReaderSize(r, 64<<10)
	var buf []byte
	for lineNo := 1; ; lineNo++ {
		line, tooLong, err := readLine(br, &buf, opts.MaxLineBytes)
		if tooLong {
			p.problem(lineNo, fmt.Sprintf("line longer than %d bytes skipped", opts.MaxLineBytes))
		} else if len(line) > 0 || err == nil {
			p.line(lineNo, line)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			p.flushLine()
			p.finish()
			return p.res, fmt.Errorf("%sline %d: %w", p.filePrefix(), lineNo, err)
		}
	}
	p.flushLine()
	p.finish()
	return p.res, nil
}

// readLine returns the next line without its end of line. A line longer than
// max is consumed and reported as tooLong instead of being buffered.
func readLine(br *bufio.Reader, buf *[]byte, max int) (line string, tooLong bool, err error) {
	*buf = (*buf)[:0]
	for {
		frag, err := br.ReadSlice('\n')
		if !tooLong {
			if len(*buf)+len(frag) > max+2 { // +2: the line ending
				tooLong = true
				*buf = (*buf)[:0]
			} else {
				*buf = append(*buf, frag...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if tooLong {
			return "", true, err
		}
		b := *buf
		if n := len(b); n > 0 && b[n-1] == '\n' {
			b = b[:n-1]
		}
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
		return string(b), false, err
	}
}

func (p *parser) filePrefix() string {
	if p.opts.File == "" {
		return ""
	}
	return p.opts.File + ": "
}

func (p *parser) problem(lineNo int, msg string) {
	switch n := len(p.res.Problems); {
	case n < maxProblems:
		p.res.Problems = append(p.res.Problems, fmt.Sprintf("%sline %d: %s", p.filePrefix(), lineNo, msg))
	case n == maxProblems:
		p.res.Problems = append(p.res.Problems, p.filePrefix()+"further problems not listed")
	}
}
