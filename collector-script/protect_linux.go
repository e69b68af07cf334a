package main

import (
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"syscall"
)

// memoryLimit is the Go runtime's soft limit. The peak RSS budget is 30 MB
// (DESIGN §5), and RSS also counts the binary's text pages and the
// runtime's own overhead, so the heap must stay well below it.
const memoryLimit = 12 << 20

// protectNode makes the collector the first thing to go when the node is
// short of memory, CPU or I/O — the opposite of seed 004's agent, which
// piled up work until it was OOMKilled itself.
func protectNode(log *slog.Logger) {
	// 1000 = killed first by the OOM killer (proc(5) oom_score_adj). This
	// is the collector's own process, not a host path.
	if err := os.WriteFile("/proc/self/oom_score_adj", []byte("1000"), 0); err != nil {
		log.Debug("cannot set oom_score_adj", "err", err)
	}
	debug.SetMemoryLimit(memoryLimit)
	// Collect before the heap doubles: the live set is small (buffers and
	// the manifest's file list), garbage is per-file and short-lived.
	debug.SetGCPercent(50)
	// One P: the collector is I/O bound and gzip is sequential anyway.
	runtime.GOMAXPROCS(1)
	// nice and ioprio are per thread on Linux (setpriority(2) NOTES), and
	// new threads inherit from their creator: set every existing thread.
	tasks, _ := os.ReadDir("/proc/self/task")
	for _, t := range tasks {
		var tid int
		for _, c := range t.Name() {
			tid = tid*10 + int(c-'0')
		}
		if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, 19); err != nil {
			log.Debug("cannot lower CPU priority", "tid", tid, "err", err)
		}
		setIdleIO(tid, log)
	}
}

// ioprio_set(2): IOPRIO_WHO_PROCESS = 1, class IDLE = 3 in bits 13..15.
const (
	ioprioWhoProcess = 1
	ioprioClassIdle  = 3
	ioprioClassShift = 13
)

func setIdleIO(tid int, log *slog.Logger) {
	if _, _, e := syscall.Syscall(syscall.SYS_IOPRIO_SET, ioprioWhoProcess, uintptr(tid), ioprioClassIdle<<ioprioClassShift); e != 0 {
		log.Debug("cannot lower I/O priority", "tid", tid, "err", e)
	}
}
