package oomlog

import (
	"fmt"
	"strings"
)

// Phases of a report in the order the kernel prints them (dump_header, then
// oom_kill_process). Old kernels print "Task in …" first and the chosen
// "Kill process … or sacrifice child" line; from ~4.19 the oom-kill: summary
// follows the task table (torvalds/linux ef8444ea01d7, "mm, oom: reorganize
// the oom report in dump_header"). A line whose phase lies before what the
// current report has reached belongs to a new report whose "invoked
// oom-killer" line was lost or rate-limited away.
const (
	phaseStart   = iota
	phaseContext // Task in … killed as a result of limit of …
	phaseCounters
	phaseStats
	phaseTasks
	phaseSummary // oom-kill:constraint=…
	phaseChosen  // Kill process N (x) score S or sacrifice child
	phaseKilled  // Killed process N (x) …
	phaseReaped  // oom_reaper: reaped process N (x) …
)

type parser struct {
	opts       Options
	res        *Result
	cur        *report
	phase      int
	seq        int
	killed     map[int]int // pid → report seq of its kill line
	prevKmsg   bool
	kmsgIndent int
	pend       pendingLine
	totalTasks int
}

func newParser(opts Options) *parser {
	return &parser{opts: opts, res: &Result{}, killed: map[int]int{}}
}

// pendingLine is a kernel line held back until the next line shows whether it
// was hard-wrapped (messy.go).
type pendingLine struct {
	n       int
	msg     string
	st      stamp
	rawLen  int  // physical length of the last piece, for joinWrapped
	ok      bool // a kernel line is held
	stamped bool // the last line carried a stamp or source prefix
	other   bool // the last line was another program's
}

func (p *parser) line(n int, raw string) {
	s, indent := unquote(raw)
	if isFence(s) || isPrompt(s) {
		p.flushLine()
		p.pend, p.prevKmsg = pendingLine{}, false
		return
	}
	// A /dev/kmsg record's dictionary lines are indented one blank deeper
	// than the record (torvalds/linux:Documentation/ABI/testing/dev-kmsg).
	if p.prevKmsg && indent > p.kmsgIndent && s != "" {
		return
	}
	msg, st, kind, kmsg := p.splitPrefix(s, false)
	p.prevKmsg = kmsg
	if kmsg {
		p.kmsgIndent = indent
	}
	prefixed := kmsg || kind != kindKernel || len(msg) != len(s)
	if !prefixed && p.pend.stamped && isContinuation(s) {
		switch {
		case p.pend.other:
			// the rest of another program's wrapped line
		case p.pend.ok:
			p.pend.msg = joinWrapped(p.pend.msg, p.pend.rawLen, s)
			p.pend.rawLen = len(raw)
		}
		return
	}
	p.flushLine()
	p.pend = pendingLine{stamped: prefixed, other: kind != kindKernel}
	if kind != kindKernel {
		return
	}
	// /dev/kmsg escapes the newlines of a multi-line printk (the memory.stat
	// dump, Mem-Info) as \x0a instead of starting new lines.
	if kmsg {
		p.pend.stamped = false // kmsg records are never wrapped
		for part := range strings.SplitSeq(msg, `\x0a`) {
			p.message(n, part, st)
		}
		return
	}
	p.pend.n, p.pend.msg, p.pend.st, p.pend.rawLen, p.pend.ok = n, msg, st, len(raw), true
}

// flushLine hands the held kernel line to the report machinery.
func (p *parser) flushLine() {
	if p.pend.ok {
		p.pend.ok = false
		p.message(p.pend.n, p.pend.msg, p.pend.st)
	}
}

func (p *parser) finish() {
	if p.cur != nil {
		p.finishReport(p.cur)
		p.cur = nil
	}
}

func (p *parser) begin(n int) *report {
	p.finish()
	p.seq++
	p.cur = &report{start: n, end: n}
	p.phase = phaseStart
	return p.cur
}

// at returns the report a line of the given phase belongs to, starting a new
// one when the line cannot continue the current report.
func (p *parser) at(n, phase int) *report {
	r := p.cur
	switch {
	case r == nil:
		r = p.begin(n)
	case phase == phaseKilled && r.group:
		// every member of a memory.oom.group is killed in turn
	case phase < p.phase,
		phase == phaseSummary && r.hasSummary,
		phase == phaseKilled && p.phase >= phaseKilled:
		r = p.begin(n)
	}
	if phase > p.phase {
		p.phase = phase
	}
	r.end = n
	return r
}

func (p *parser) message(n int, msg string, st stamp) {
	if r := p.cur; r != nil && r.inStats {
		if k, v, ok := statLine(msg); ok {
			r.addStat(k, v)
			r.end = n
			return
		}
		r.inStats = false
	}
	switch {
	case isInvoked(msg):
		p.begin(n)

	case strings.HasPrefix(msg, "oom-kill:"):
		parseSummary(p.at(n, phaseSummary), msg, n, st)

	case strings.HasPrefix(msg, "Task in "):
		if task, limit, ok := parseTaskIn(msg); ok {
			r := p.at(n, phaseContext)
			r.taskMemcg, r.oomMemcg, r.memcgKill = task, limit, true
		}

	case strings.HasPrefix(msg, "memory: usage "),
		strings.HasPrefix(msg, "memory+swap: usage "),
		strings.HasPrefix(msg, "swap: usage "),
		strings.HasPrefix(msg, "kmem: usage "):
		name, rest, _ := strings.Cut(msg, ": usage ")
		if c, ok := parseCounter(rest); ok {
			r := p.at(n, phaseCounters)
			switch name {
			case "memory":
				r.mem = c
			case "memory+swap":
				r.memsw = c
			case "swap":
				r.swap = c
			case "kmem":
				r.kmem = c
			}
		}

	case strings.HasPrefix(msg, "Memory cgroup stats for "):
		p.stats(p.at(n, phaseStats), strings.TrimPrefix(msg, "Memory cgroup stats for "))

	case strings.HasPrefix(msg, "Tasks state (memory values in pages)"):
		p.at(n, phaseTasks)

	case strings.HasPrefix(msg, "["):
		if cols, ok := taskHeader(msg); ok {
			r := p.at(n, phaseTasks)
			r.taskCols = cols
		} else if r := p.cur; r != nil && r.taskCols != nil && p.phase == phaseTasks {
			if t, ok := taskRow(msg, r.taskCols); ok {
				r.end = n
				p.addTask(n, r, t)
			}
		}

	case strings.HasPrefix(msg, "oom_reaper: reaped process "):
		if v, ok := parseReaped(msg, n, st); ok {
			r := p.cur
			if r == nil {
				r = p.begin(n)
			}
			r.end = n
			r.reaped = append(r.reaped, v)
			p.phase = max(p.phase, phaseReaped)
		}

	case strings.HasPrefix(msg, "Tasks in ") && strings.HasSuffix(msg, " are going to be killed due to memory.oom.group set"):
		if r := p.cur; r != nil {
			r.group, r.end = true, n
		}

	default:
		if v, kind, ok := parseKilled(msg, n, st); ok {
			r := p.at(n, phaseKilled)
			r.victims = append(r.victims, v)
			r.noteKill(kind)
		} else if kind, ok := parseChosen(msg); ok {
			p.at(n, phaseChosen).noteKill(kind)
		}
	}
}

func (r *report) noteKill(k killKind) {
	switch k {
	case killMemcg:
		r.memcgKill = true
	case killGlobal:
		r.globalKill = true
	}
}

func (p *parser) stats(r *report, rest string) {
	if len(r.stats) >= maxStatBlocks {
		return
	}
	if path, ok := strings.CutSuffix(rest, ":"); ok {
		r.stats = append(r.stats, statBlock{path: path, kv: map[string]int64{}})
		r.inStats = true
		return
	}
	path, kv, ok := parseStatsLine(rest)
	if ok {
		r.stats = append(r.stats, statBlock{path: path, kv: kv})
	}
}

func (r *report) addStat(k string, v int64) {
	if b := &r.stats[len(r.stats)-1]; len(b.kv) < maxStatKeys {
		b.kv[k] = v
	}
}

func (p *parser) addTask(n int, r *report, t Task) {
	if r.tasksFull {
		return
	}
	if len(r.tasks) >= p.opts.MaxTasks || p.totalTasks >= maxTotalTasks {
		r.tasksFull = true
		p.problem(n, fmt.Sprintf("task table capped at %d rows (report from line %d)", len(r.tasks), r.start))
		return
	}
	r.tasks = append(r.tasks, t)
	p.totalTasks++
}
