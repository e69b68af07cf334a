package procfs

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/memsnap/memsnap/bundle"
)

// statMaxLine is generous because of /proc/stat's "intr" line (one counter
// per interrupt number); eachLine skips anything longer.
const statMaxLine = 64 << 10

// ParseStatBtime returns the boot time from /proc/stat's "btime" line
// (seconds since the epoch, torvalds/linux:fs/proc/stat.c). With
// node/uptime it turns printk's seconds-since-boot stamps into wall time.
func ParseStatBtime(r io.Reader) (time.Time, error) {
	var btime int64
	found := false
	var lineErr error
	err := eachLine(r, statMaxLine, func(n int, line []byte, tooLong bool) bool {
		rest, ok := bytes.CutPrefix(line, []byte("btime "))
		if tooLong || !ok {
			return true
		}
		v, err := strconv.ParseInt(string(bytes.TrimSpace(rest)), 10, 64)
		// 0 or a date past 9999 is not a boot time this tool can use.
		if err != nil || v <= 0 || v > 253402300799 {
			lineErr = fmt.Errorf("%s:%d: invalid btime %.40q", bundle.NodeStat, n, rest)
			return false
		}
		btime, found = v, true
		return false
	})
	switch {
	case lineErr != nil:
		return time.Time{}, lineErr
	case err != nil:
		return time.Time{}, fmt.Errorf("%s: %w", bundle.NodeStat, err)
	case !found:
		return time.Time{}, fmt.Errorf("%s: no btime line", bundle.NodeStat)
	}
	return time.Unix(btime, 0).UTC(), nil
}

// ParseUptime returns the first number of /proc/uptime: seconds since boot
// (the second is the summed idle time of all CPUs).
func ParseUptime(r io.Reader) (float64, error) {
	b, err := io.ReadAll(io.LimitReader(r, 256))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", bundle.NodeUptime, err)
	}
	f := bytes.Fields(b)
	if len(f) == 0 {
		return 0, fmt.Errorf("%s: empty file", bundle.NodeUptime)
	}
	v, err := strconv.ParseFloat(string(f[0]), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return 0, fmt.Errorf("%s:1: invalid uptime %.40q", bundle.NodeUptime, f[0])
	}
	return v, nil
}
