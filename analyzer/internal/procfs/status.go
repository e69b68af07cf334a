package procfs

import (
	"bytes"
	"io"
	"math"
	"strconv"
)

// Status is what memsnap reads from /proc/<pid>/status. Sizes are bytes (the
// kernel prints kB = KiB); a nil field was absent (kernel threads have no
// Vm* lines; RssAnon/RssFile/RssShmem exist since Linux 4.5).
type Status struct {
	Name     string // comm, at most 15 bytes, as the kernel escaped it
	Pid      int    // 0 when absent
	VmRSS    *int64 // RssAnon + RssFile + RssShmem
	VmHWM    *int64 // peak RSS
	VmSwap   *int64
	RssAnon  *int64
	RssFile  *int64
	RssShmem *int64 // tmpfs/shm pages mapped by the process

	Fields map[string]int64 // every "Key: N kB" line, in bytes
}

// SmapsRollup is /proc/<pid>/smaps_rollup (Linux 4.14+): the process's
// mappings summed. Pss splits shared pages among their sharers, so the Pss
// of a pod's processes adds up where their Rss double-counts.
type SmapsRollup struct {
	Rss, Pss                   *int64
	PssAnon, PssFile, PssShmem *int64 // Linux 5.7+
	SharedClean, SharedDirty   *int64
	PrivateClean, PrivateDirty *int64
	Anonymous                  *int64
	Swap, SwapPss              *int64

	Fields map[string]int64 // every "Key: N kB" line, in bytes
}

const (
	kvMaxLine   = 4096
	kvMaxFields = 256
)

// ParseStatus reads /proc/<pid>/status. The result is never nil; unreadable
// lines are listed in the error.
func ParseStatus(r io.Reader) (*Status, error) {
	s := &Status{}
	var name, pid []byte
	var havePid bool
	fields, err := parseKB(r, func(key, val []byte) {
		switch string(key) {
		case "Name":
			name = append([]byte(nil), bytes.TrimLeft(val, " \t")...)
		case "Pid":
			pid, havePid = bytes.TrimSpace(val), true
		}
	})
	s.Fields = fields
	s.Name = string(name)
	if havePid {
		if p, perr := strconv.Atoi(string(pid)); perr == nil && p > 0 {
			s.Pid = p
		}
	}
	for key, dst := range map[string]**int64{
		"VmRSS": &s.VmRSS, "VmHWM": &s.VmHWM, "VmSwap": &s.VmSwap,
		"RssAnon": &s.RssAnon, "RssFile": &s.RssFile, "RssShmem": &s.RssShmem,
	} {
		*dst = lookup(fields, key)
	}
	return s, err
}

// ParseSmapsRollup reads /proc/<pid>/smaps_rollup. The first line is the
// "[rollup]" pseudo-mapping header and is skipped.
func ParseSmapsRollup(r io.Reader) (*SmapsRollup, error) {
	s := &SmapsRollup{}
	fields, err := parseKB(r, nil)
	s.Fields = fields
	for key, dst := range map[string]**int64{
		"Rss": &s.Rss, "Pss": &s.Pss, "Pss_Anon": &s.PssAnon, "Pss_File": &s.PssFile, "Pss_Shmem": &s.PssShmem,
		"Shared_Clean": &s.SharedClean, "Shared_Dirty": &s.SharedDirty,
		"Private_Clean": &s.PrivateClean, "Private_Dirty": &s.PrivateDirty,
		"Anonymous": &s.Anonymous, "Swap": &s.Swap, "SwapPss": &s.SwapPss,
	} {
		*dst = lookup(fields, key)
	}
	return s, err
}

func lookup(m map[string]int64, key string) *int64 {
	if v, ok := m[key]; ok {
		return &v
	}
	return nil
}

// parseKB reads "Key:<space/tab>N kB" lines into bytes. Lines of another
// shape (Name, State, Uid, Cpus_allowed, the smaps header) go to other if
// set and are otherwise ignored: status has many non-size lines and kernels
// add more. A malformed size line is an error.
func parseKB(r io.Reader, other func(key, val []byte)) (map[string]int64, error) {
	fields := map[string]int64{}
	var le lineErrors
	err := eachLine(r, kvMaxLine, func(n int, line []byte, tooLong bool) bool {
		if tooLong {
			le.add(n, "longer than %d bytes", kvMaxLine)
			return true
		}
		key, val, ok := bytes.Cut(line, []byte(":"))
		if !ok || len(key) == 0 || bytes.ContainsAny(key, " \t") {
			return true // the smaps_rollup header, or noise
		}
		num, isKB := bytes.CutSuffix(bytes.TrimSpace(val), []byte(" kB"))
		// A process may name itself "12 kB": Name is text whatever it says.
		if !isKB || string(key) == "Name" {
			if other != nil {
				other(key, val)
			}
			return true
		}
		v, err := strconv.ParseInt(string(bytes.TrimSpace(num)), 10, 64)
		if err != nil || v < 0 || v > math.MaxInt64/1024 {
			le.add(n, "%.40q: invalid size %.40q", key, num)
			return true
		}
		if _, dup := fields[string(key)]; dup {
			le.add(n, "%.40q: duplicate (the first is kept)", key)
			return true
		}
		if len(fields) >= kvMaxFields {
			le.add(n, "more than %d size fields; the rest is ignored", kvMaxFields)
			return false
		}
		fields[string(key)] = v * 1024
		return true
	})
	if err != nil {
		le.errs = append(le.errs, err)
	}
	return fields, le.err()
}
