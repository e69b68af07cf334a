package cgroup

import (
	"bytes"
	"errors"
	"io"
	"math"
	"slices"
	"strconv"
)

// Bounds for hostile input. A v1 memory.stat has ~70 keys on kernel 6.x and a
// v2 one ~50 (DOMAIN §1.2); memory.events and friends fewer than ten.
const (
	maxStatKeys  = 512
	maxFlatKeys  = 64
	maxKeyLen    = 64
	maxProcs     = 1 << 20 // above any real cgroup; pid_max tops out at 2^22
	maxPID       = 1 << 22 // PID_MAX_LIMIT on 64-bit, torvalds/linux:include/linux/threads.h
	maxSingleLen = 64
)

// ParseStat reads a memory.stat file ("key value" lines, values in bytes
// except the pg* event counters). Every readable key is kept; a garbage line
// becomes a Problem naming file and line. Keys are never assumed present:
// kernels add and drop them ("new entries can show up in the middle",
// torvalds/linux:Documentation/admin-guide/cgroup-v2.rst) and old ones lack
// shmem (kubernetes/kubernetes#56891). A negative value is clamped to 0 as
// runc's ParseUint does for kernel accounting bugs
// (opencontainers/runc:libcontainer/cgroups/fscommon/utils.go).
func ParseStat(r io.Reader, file string) (map[string]int64, []Problem) {
	return parseKeyed(r, file, maxStatKeys)
}

// ParseFlatKeyed reads the small "key value" files: v2 memory.events,
// memory.events.local, memory.swap.events, cgroup.stat and v1
// memory.oom_control ("oom_kill_disable 0 / under_oom 0 / oom_kill 3").
func ParseFlatKeyed(r io.Reader, file string) (map[string]int64, []Problem) {
	return parseKeyed(r, file, maxFlatKeys)
}

func parseKeyed(r io.Reader, file string, maxKeys int) (map[string]int64, []Problem) {
	out := make(map[string]int64)
	ps := &problems{file: file}
	sc := newLineScanner(r)
	defer sc.release()
	for sc.scan() {
		if sc.tooLong {
			ps.add(sc.n, "line longer than %d bytes skipped", maxLine)
			continue
		}
		k, v, nf := twoFields(sc.line)
		if nf == 0 {
			continue
		}
		if nf != 2 {
			ps.add(sc.n, "want \"key value\", got %d fields", nf)
			continue
		}
		f := [2][]byte{k, v}
		if !validKey(f[0]) {
			ps.add(sc.n, "invalid key %.40q", f[0])
			continue
		}
		key := keys.intern(f[0])
		n, err := parseCounter(f[1])
		if err != nil {
			ps.add(sc.n, "%s: invalid value %.40q", key, f[1])
			continue
		}
		if _, dup := out[key]; dup {
			ps.add(sc.n, "%s: duplicate key (the first value is kept)", key)
			continue
		}
		if len(out) >= maxKeys {
			ps.add(sc.n, "more than %d keys; the rest of the file is ignored", maxKeys)
			break
		}
		out[key] = n
	}
	if err := sc.Err(); err != nil {
		ps.add(0, "read: %v", err)
	}
	return out, ps.done()
}

func validKey(b []byte) bool {
	if len(b) == 0 || len(b) > maxKeyLen {
		return false
	}
	for _, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

// parseCounter reads a kernel counter. The kernel prints u64; memsnap keeps
// int64 so differences stay signed: values beyond MaxInt64 saturate, and
// negative ones clamp to 0 (runc's ParseUint: "due to kernel bugs").
func parseCounter(b []byte) (int64, error) {
	s := string(b)
	if len(s) > 1 && s[0] == '-' {
		if _, err := strconv.ParseInt(s, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
			return 0, nil
		}
		return 0, strconv.ErrSyntax
	}
	u, err := strconv.ParseUint(s, 10, 64)
	switch {
	case errors.Is(err, strconv.ErrRange):
		return math.MaxInt64, nil
	case err != nil:
		return 0, err
	case u > math.MaxInt64:
		return math.MaxInt64, nil
	}
	return int64(u), nil
}

// ParseSingle reads a one-value file: memory.current, memory.usage_in_bytes,
// memory.max, memory.limit_in_bytes, ... The literal "max" (v2's unlimited,
// torvalds/linux:Documentation/admin-guide/cgroup-v2.rst) returns
// (math.MaxInt64, true), as runc and cAdvisor map it to MaxUint64. The error
// is a Problem naming file and line.
func ParseSingle(r io.Reader, file string) (n int64, isMax bool, err error) {
	b, rerr := io.ReadAll(io.LimitReader(r, maxSingleLen+1))
	if rerr != nil {
		return 0, false, Problem{File: file, Message: "read: " + rerr.Error()}
	}
	if len(b) > maxSingleLen {
		return 0, false, Problem{File: file, Line: 1, Message: "longer than a single value"}
	}
	f := bytes.Fields(b)
	switch {
	case len(f) == 0:
		return 0, false, Problem{File: file, Message: "empty file"}
	case len(f) > 1:
		return 0, false, Problem{File: file, Line: 1, Message: "more than one value"}
	case string(f[0]) == "max":
		return math.MaxInt64, true, nil
	}
	n, cerr := parseCounter(f[0])
	if cerr != nil {
		return 0, false, Problem{File: file, Line: 1, Message: "invalid value " + strconv.QuoteToASCII(string(f[0]))}
	}
	return n, false, nil
}

// ParseProcs reads cgroup.procs: one pid per line. The kernel does not
// promise order or uniqueness ("not guaranteed to be sorted or free of
// duplicates", torvalds/linux:Documentation/admin-guide/cgroup-v1/cgroups.rst),
// so the result is sorted and deduplicated. A 0 is a process outside the
// collector's pid namespace (the kernel prints its pid in the reader's
// namespace) and carries no usable pid: it is skipped.
func ParseProcs(r io.Reader, file string) ([]int, []Problem) {
	var pids []int
	ps := &problems{file: file}
	sc := newLineScanner(r)
	defer sc.release()
	for sc.scan() {
		if sc.tooLong {
			ps.add(sc.n, "line longer than %d bytes skipped", maxLine)
			continue
		}
		s := string(bytes.TrimSpace(sc.line))
		if s == "" {
			continue
		}
		pid, err := strconv.Atoi(s)
		if err != nil || pid < 0 || pid > maxPID {
			ps.add(sc.n, "invalid pid %.40q", s)
			continue
		}
		if pid == 0 {
			continue
		}
		if len(pids) >= maxProcs {
			ps.add(sc.n, "more than %d pids; the rest are ignored", maxProcs)
			break
		}
		pids = append(pids, pid)
	}
	if err := sc.Err(); err != nil {
		ps.add(0, "read: %v", err)
	}
	slices.Sort(pids)
	return slices.Compact(pids), ps.done()
}
