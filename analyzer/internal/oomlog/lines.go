package oomlog

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// isInvoked matches dump_header's first line, "<comm> invoked oom-killer:
// gfp_mask=…". A comm is at most TASK_COMM_LEN (16) bytes; kernel threads
// print longer names like "kworker/0:0", so allow some slack, but not a line
// that merely quotes the phrase somewhere in its middle.
func isInvoked(msg string) bool {
	i := strings.Index(msg, " invoked oom-killer:")
	return i > 0 && i <= 64
}

// parseSummary reads dump_oom_summary's line (torvalds/linux:mm/oom_kill.c,
// mem_cgroup_print_oom_context in mm/memcontrol.c):
// oom-kill:constraint=…,nodemask=…[,cpuset=…,mems_allowed=…](,oom_memcg=…|,global_oom),task_memcg=…,task=…,pid=…,uid=…
// nodemask and mems_allowed are printed with %*pbl and may themselves hold
// commas ("0,2-3"), so a piece that does not start a known key continues the
// previous value.
func parseSummary(r *report, msg string, n int, st stamp) {
	r.hasSummary = true
	r.summary = victim{line: n, st: st}
	fields := map[string]string{}
	last := ""
	for piece := range strings.SplitSeq(strings.TrimPrefix(msg, "oom-kill:"), ",") {
		key, val, hasEq := strings.Cut(piece, "=")
		switch {
		case piece == "global_oom":
			r.globalOOM, last = true, ""
		case hasEq && summaryKeys[key]:
			fields[key], last = val, key
		case last != "":
			fields[last] += "," + piece
		}
	}
	r.constraint = fields["constraint"]
	if v, ok := fields["oom_memcg"]; ok {
		r.oomMemcg = v
	}
	if v, ok := fields["task_memcg"]; ok {
		r.taskMemcg = v
	}
	r.summary.process = fields["task"]
	if pid, err := strconv.Atoi(fields["pid"]); err == nil && pid > 0 {
		r.summary.pid = pid
	}
	if uid, err := strconv.Atoi(fields["uid"]); err == nil {
		r.summary.uid = ptr(uid)
	}
}

var summaryKeys = map[string]bool{
	"constraint": true, "nodemask": true, "cpuset": true, "mems_allowed": true,
	"oom_memcg": true, "task_memcg": true, "task": true, "pid": true, "uid": true,
}

// parseTaskIn reads the pre-5.0 "Task in <task memcg> killed as a result of
// limit of <oom memcg>" (mem_cgroup_print_oom_info; cAdvisor's legacy regex).
func parseTaskIn(msg string) (task, limit string, ok bool) {
	rest := strings.TrimPrefix(msg, "Task in ")
	task, limit, ok = strings.Cut(rest, " killed as a result of limit of ")
	return task, limit, ok && task != "" && limit != ""
}

// parseCounter reads "%llukB, limit %llukB, failcnt %lu" (the part after
// "<name>: usage ") into bytes. v1's unlimited sentinel (2^54-1 kB on old
// kernels) would overflow int64 bytes and saturates instead.
func parseCounter(s string) (counter, bool) {
	usage, s, ok1 := cutKB(s)
	s, ok2 := strings.CutPrefix(s, ", limit ")
	limit, s, ok3 := cutKB(s)
	s, ok4 := strings.CutPrefix(s, ", failcnt ")
	failcnt, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if !ok1 || !ok2 || !ok3 || !ok4 || err != nil {
		return counter{}, false
	}
	return counter{usage: usage, limit: limit, failcnt: failcnt, ok: true}, true
}

// cutKB reads "<digits>kB" at the start of s, in bytes.
func cutKB(s string) (int64, string, bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || !strings.HasPrefix(s[i:], "kB") {
		return 0, s, false
	}
	v, ok := kib(s[:i])
	return v, s[i+2:], ok
}

// kib converts a decimal count of KiB into bytes, saturating.
func kib(digits string) (int64, bool) {
	v, err := strconv.ParseUint(digits, 10, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, false
	}
	if err != nil || v > math.MaxInt64/1024 {
		return math.MaxInt64, true
	}
	return int64(v) * 1024, true
}

// parseStatsLine reads the pre-~5.x single-line dump
// "<path>: cache:32KB rss:980KB rss_huge:0KB …" (mem_cgroup_print_oom_info).
func parseStatsLine(rest string) (string, map[string]int64, bool) {
	path, list, ok := strings.Cut(rest, ": ")
	if !ok {
		return "", nil, false
	}
	kv := map[string]int64{}
	for tok := range strings.FieldsSeq(list) {
		k, v, ok := strings.Cut(tok, ":")
		if !ok || k == "" || len(kv) >= maxStatKeys {
			continue
		}
		if digits, isKB := strings.CutSuffix(v, "KB"); isKB {
			if b, ok := kib(digits); ok {
				kv[k] = b
			}
		} else if c, err := strconv.ParseInt(v, 10, 64); err == nil {
			kv[k] = c
		}
	}
	return path, kv, true
}

// statLine reads one line of a memory.stat-format dump: "anon 534147072".
func statLine(s string) (string, int64, bool) {
	k, v, ok := strings.Cut(s, " ")
	if !ok || k == "" || len(k) > 64 || v == "" {
		return "", 0, false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return "", 0, false
		}
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return "", 0, false
	}
	return k, int64(min(n, math.MaxInt64)), true
}

// taskHeader recognises the task table header of every generation
// ("[ pid ]   uid  tgid total_vm      rss nr_ptes swapents oom_score_adj name",
// "… rss pgtables_bytes …", ≥6.8 "… rss rss_anon rss_file rss_shmem …") and
// returns its columns after the pid.
func taskHeader(msg string) ([]string, bool) {
	end := strings.IndexByte(msg, ']')
	if end < 0 || strings.TrimSpace(msg[1:end]) != "pid" {
		return nil, false
	}
	cols := strings.Fields(msg[end+1:])
	if len(cols) < 3 || len(cols) > 32 || cols[0] != "uid" || cols[len(cols)-1] != "name" {
		return nil, false
	}
	return cols, true
}

// taskRow reads "[ 181505] 65535 181505      243        1    28672        0          -998 pause"
// by the header's columns; the name is the rest of the line (it may hold
// spaces, e.g. "tmux: client").
func taskRow(msg string, cols []string) (Task, bool) {
	end := strings.IndexByte(msg, ']')
	if end < 0 {
		return Task{}, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(msg[1:end]))
	if err != nil {
		return Task{}, false
	}
	t := Task{PID: pid}
	rest := msg[end+1:]
	for _, col := range cols[:len(cols)-1] {
		rest = strings.TrimLeft(rest, " ")
		i := strings.IndexByte(rest, ' ')
		if i < 0 {
			return Task{}, false
		}
		v, err := strconv.ParseInt(rest[:i], 10, 64)
		if err != nil {
			return Task{}, false
		}
		rest = rest[i:]
		switch col {
		case "uid":
			t.UID = int(v)
		case "total_vm":
			t.TotalVMPages = v
		case "rss":
			t.RSSPages = v
		case "rss_anon":
			t.RSSAnonPages = ptr(v)
		case "rss_file":
			t.RSSFilePages = ptr(v)
		case "rss_shmem":
			t.RSSShmemPages = ptr(v)
		case "oom_score_adj":
			t.OOMScoreAdj = int(v)
		}
	}
	t.Name = strings.TrimLeft(rest, " ")
	return t, true
}
