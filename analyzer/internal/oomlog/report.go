package oomlog

import (
	"math"
	"strings"
	"time"
)

// counter is one "memory: usage …kB, limit …kB, failcnt N" line, in bytes.
type counter struct {
	usage, limit, failcnt int64
	ok                    bool
}

func (c counter) atLimit() bool { return c.ok && c.usage >= c.limit }

// victim is a killed process as one line names it.
type victim struct {
	pid     int
	process string
	uid     *int
	anon    *int64
	file    *int64
	shmem   *int64
	line    int
	st      stamp
}

type statBlock struct {
	path string
	kv   map[string]int64
}

// report accumulates one OOM report, from "invoked oom-killer" (or the first
// line of a report whose start was lost) to the next report.
type report struct {
	start, end int

	memcgKill  bool // "Memory cgroup out of memory" or "Task in … killed as a result of limit of"
	globalKill bool // "Out of memory: Kill(ed) process"
	constraint string
	hasSummary bool
	globalOOM  bool
	oomMemcg   string
	taskMemcg  string
	summary    victim // from oom-kill:…,task=,pid=,uid=
	group      bool   // memory.oom.group: every member is killed

	mem, memsw, swap, kmem counter

	stats     []statBlock
	inStats   bool // inside a multi-line (memory.stat format) dump
	taskCols  []string
	tasks     []Task
	tasksFull bool

	victims []victim // from "Killed process" lines
	reaped  []victim // from "oom_reaper: reaped process" lines
}

// finish turns the report into events, or counts it as partial.
func (p *parser) finishReport(r *report) {
	victims := r.victims
	if len(victims) == 0 && r.hasSummary && r.summary.pid > 0 {
		// The kill line was lost but dump_oom_summary named the victim,
		// and __oom_kill_process follows it directly.
		victims = []victim{r.summary}
	}
	var standalone []victim
	for _, v := range r.reaped {
		if containsPID(victims, v.pid) || p.recentlyKilled(v.pid) {
			continue
		}
		if len(r.victims) == 0 && !r.hasSummary {
			victims = append(victims, v) // the kill line was lost; the reaper names the victim
		} else {
			standalone = append(standalone, v) // a kill from a report lost entirely
		}
	}
	if len(victims) == 0 {
		p.res.PartialReports++
		return
	}
	base := p.reportEvent(r)
	for i, v := range victims {
		if containsPID(victims[:i], v.pid) {
			continue // a group kill lists every victim once
		}
		ev := base
		ev.Line = v.line
		ev.PID, ev.Process = v.pid, v.process
		ev.UID = v.uid
		if ev.UID == nil && r.hasSummary && r.summary.pid == v.pid {
			ev.UID = r.summary.uid
		}
		ev.AnonRSS, ev.FileRSS, ev.ShmemRSS = v.anon, v.file, v.shmem
		p.setTime(&ev, v.st)
		p.res.Events = append(p.res.Events, ev)
		p.killed[v.pid] = p.seq
	}
	for _, v := range standalone {
		ev := Event{StartLine: v.line, Line: v.line, EndLine: v.line, PID: v.pid, Process: v.process, FilledBy: FilledUnknown}
		p.setTime(&ev, v.st)
		p.res.Events = append(p.res.Events, ev)
		p.killed[v.pid] = p.seq
	}
}

// recentlyKilled says whether an earlier report's kill line named pid: the
// oom_reaper works asynchronously, so its line may land inside the next report.
// Older reports do not count, as pids are reused.
func (p *parser) recentlyKilled(pid int) bool {
	seq, ok := p.killed[pid]
	return ok && seq >= p.seq-1
}

func containsPID(vs []victim, pid int) bool {
	for _, v := range vs {
		if v.pid == pid {
			return true
		}
	}
	return false
}

// reportEvent fills what all victims of a report share.
func (p *parser) reportEvent(r *report) Event {
	ev := Event{
		StartLine: r.start, EndLine: r.end,
		OOMMemcg: r.oomMemcg, TaskMemcg: r.taskMemcg,
		Constraint: r.constraint,
		Tasks:      r.tasks,
	}
	if !r.hasSummary && r.memcgKill {
		ev.Constraint = "CONSTRAINT_MEMCG"
	}
	if ev.OOMMemcg == "" && !r.globalOOM && len(r.stats) > 0 {
		// mem_cgroup_print_oom_meminfo dumps the OOM memcg first (v1's
		// for_each_mem_cgroup_tree starts at it), so the first dump names it.
		ev.OOMMemcg = r.stats[0].path
	}
	switch ev.Constraint {
	case "CONSTRAINT_NONE":
		// Early 5.x kernels print CONSTRAINT_NONE for a memcg OOM too; the
		// summary then names oom_memcg= instead of global_oom
		// (torvalds/linux:mm/oom_kill.c dump_oom_summary prints one or the
		// other from oc->memcg), which is what decides.
		ev.Global = r.globalOOM || r.oomMemcg == ""
	case "CONSTRAINT_CPUSET", "CONSTRAINT_MEMORY_POLICY":
		ev.Global = true
	case "":
		ev.Global = r.globalOOM || (r.globalKill && !r.memcgKill && ev.OOMMemcg == "")
	}
	if r.globalOOM {
		ev.Global = true
	}
	if r.kmem.ok {
		ev.KmemUsage = ptr(r.kmem.usage)
	}
	// Only a report that shows it is a memcg one gets a counter: a lone
	// reaper line or a bare "Killed process" says neither way.
	memcgReport := !ev.Global && (r.memcgKill || ev.Constraint == "CONSTRAINT_MEMCG" || ev.OOMMemcg != "" || r.mem.ok)
	if memcgReport {
		c := r.mem
		ev.LimitCounter = "memory"
		switch {
		case r.memsw.atLimit() && !r.mem.atLimit():
			c, ev.LimitCounter = r.memsw, "memsw"
		case r.swap.limit > 0 && r.swap.atLimit() && !r.mem.atLimit():
			// A zero swap.max is how kubelet disables swap for a container
			// (NoSwap), so "usage 0kB, limit 0kB" says nothing about the OOM.
			c, ev.LimitCounter = r.swap, "swap"
		}
		if c.ok {
			ev.Usage, ev.Limit, ev.Failcnt = ptr(c.usage), ptr(c.limit), ptr(c.failcnt)
		}
	}
	ev.Stats = mergeStats(r.stats)
	ev.FilledBy = FilledUnknown
	if memcgReport {
		ev.FilledBy = FilledByFromStats(ev.Stats, ev.KmemUsage)
	}
	return ev
}

// mergeStats applies DESIGN §4: the total_* keys when the dump printed them
// (v1's hierarchical values), else the sum over the cgroups it lists (old
// kernels print one local line per cgroup of the OOM memcg's subtree).
func mergeStats(blocks []statBlock) map[string]int64 {
	if len(blocks) == 0 {
		return nil
	}
	for _, b := range blocks {
		totals := map[string]int64{}
		for k, v := range b.kv {
			if name, ok := strings.CutPrefix(k, "total_"); ok {
				totals[name] = v
			}
		}
		if len(totals) > 0 {
			return totals
		}
	}
	sum := map[string]int64{}
	for _, b := range blocks {
		for k, v := range b.kv {
			if _, ok := sum[k]; ok || len(sum) < maxStatKeys {
				sum[k] = satAdd(sum[k], v)
			}
		}
	}
	if len(sum) == 0 {
		return nil
	}
	return sum
}

func (p *parser) setTime(ev *Event, st stamp) {
	if st.hasUp {
		ev.Uptime = ptr(st.uptime)
	}
	switch {
	case !st.wall.IsZero():
		ev.Time, ev.TimeNote = st.wall, st.wallNote
	case st.hasUp && !p.opts.BootTime.IsZero() && st.uptime < 1e10:
		// printk stamps have microsecond resolution; round so that float
		// error does not show up as …999ns.
		ev.Time = p.opts.BootTime.Add(time.Duration(math.Round(st.uptime*1e6)) * time.Microsecond)
		ev.TimeNote = "printk time added to the node's boot time (node/stat btime); wrong if the log is from an earlier boot"
	}
}

func ptr[T any](v T) *T { return &v }

func satAdd(a, b int64) int64 {
	if b > 0 && a > math.MaxInt64-b {
		return math.MaxInt64
	}
	if b < 0 && a < math.MinInt64-b {
		return math.MinInt64
	}
	return a + b
}
