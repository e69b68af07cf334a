package oomlog

import (
	"strconv"
	"strings"
)

// parseKilled reads __oom_kill_process's line:
// "<message>: Killed process %d (%s) total-vm:%lukB, anon-rss:%lukB, file-rss:%lukB, shmem-rss:%lukB, UID:%u pgtables:%lukB oom_score_adj:%hd"
// with <message> "Memory cgroup out of memory" or "Out of memory" (and
// older kernels print the bare "Killed process …" after a "Kill process"
// line). A line that only quotes this text (node-problem-detector, kubelet)
// has other text before it and is refused.
func parseKilled(msg string, n int, st stamp) (victim, killKind, bool) {
	i := strings.Index(msg, "Killed process ")
	if i < 0 {
		return victim{}, killBare, false
	}
	kind, ok := killPrefix(msg[:i])
	if !ok {
		return victim{}, killBare, false
	}
	pid, comm, tail, ok := pidComm(msg[i+len("Killed process "):], ") total-vm:")
	if !ok {
		return victim{}, killBare, false
	}
	v := victim{pid: pid, process: comm, line: n, st: st}
	for tok := range strings.FieldsFuncSeq(tail, func(r rune) bool { return r == ' ' || r == ',' }) {
		k, val, ok := strings.Cut(tok, ":")
		if !ok {
			continue
		}
		if k == "UID" {
			if u, err := strconv.Atoi(val); err == nil {
				v.uid = ptr(u)
			}
			continue
		}
		digits, isKB := strings.CutSuffix(val, "kB")
		b, ok := kib(digits)
		if !isKB || !ok {
			continue
		}
		switch k {
		case "anon-rss":
			v.anon = ptr(b)
		case "file-rss":
			v.file = ptr(b)
		case "shmem-rss":
			v.shmem = ptr(b)
		}
	}
	return v, kind, true
}

// parseChosen reads the pre-~4.19 "<message>: Kill process %d (%s) score %u
// or sacrifice child": the process chosen, not necessarily the one killed.
func parseChosen(msg string) (killKind, bool) {
	i := strings.Index(msg, "Kill process ")
	if i < 0 || !strings.Contains(msg[i:], " score ") {
		return killBare, false
	}
	return killPrefix(msg[:i])
}

// killKind is what a kill line's message says about the OOM.
type killKind int

const (
	killBare   killKind = iota // no message: old kernels' "Killed process" after "Kill process"
	killMemcg                  // "Memory cgroup out of memory"
	killGlobal                 // "Out of memory", "Out of memory (oom_kill_allocating_task)"
)

// killPrefix accepts "" or "<message>: " where message is one of the
// kernel's (oom_kill_process callers in torvalds/linux:mm/oom_kill.c).
func killPrefix(pre string) (killKind, bool) {
	if pre == "" {
		return killBare, true
	}
	m, ok := strings.CutSuffix(pre, ": ")
	if !ok || len(m) > 64 || strings.Contains(m, ":") || !strings.Contains(strings.ToLower(m), "out of memory") {
		return killBare, false
	}
	if strings.HasPrefix(m, "Memory cgroup") {
		return killMemcg, true
	}
	return killGlobal, true
}

// parseReaped reads "oom_reaper: reaped process %d (%s), now anon-rss:…".
func parseReaped(msg string, n int, st stamp) (victim, bool) {
	pid, comm, _, ok := pidComm(strings.TrimPrefix(msg, "oom_reaper: reaped process "), "), now ")
	if !ok {
		return victim{}, false
	}
	return victim{pid: pid, process: comm, line: n, st: st}, true
}

// pidComm reads "%d (%s)<after>…". A comm may contain ')' itself, so the
// closing parenthesis is the one followed by after, else the last one.
func pidComm(s, after string) (pid int, comm, tail string, ok bool) {
	num, rest, found := strings.Cut(s, " (")
	if !found {
		return 0, "", "", false
	}
	pid, err := strconv.Atoi(num)
	if err != nil || pid <= 0 {
		return 0, "", "", false
	}
	j := strings.Index(rest, after)
	if j < 0 {
		j = strings.LastIndexByte(rest, ')')
	}
	if j < 0 || j > 256 {
		return 0, "", "", false
	}
	return pid, rest[:j], rest[j+1:], true
}
