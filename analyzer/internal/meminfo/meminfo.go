// Package meminfo parses the node's /proc/meminfo (bundle path node/meminfo),
// the source of kubelet's memory.available (MemTotal − root working set,
// DOMAIN §2.4) and of the node-level view in the report.
package meminfo

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/memsnap/memsnap/bundle"
)

// Meminfo holds the fields memsnap uses, in bytes (the kernel prints kB =
// KiB, torvalds/linux:fs/proc/meminfo.c show_val_kb), except the HugePages_*
// counts. A nil field was not in the file: kernels differ (no MemAvailable
// before 3.14, no Hugetlb before 4.17).
type Meminfo struct {
	MemTotal, MemFree, MemAvailable *int64
	Buffers, Cached, Shmem          *int64
	ActiveFile, InactiveFile        *int64 // "Active(file)", "Inactive(file)"
	SwapTotal, SwapFree             *int64
	Slab, SReclaimable, SUnreclaim  *int64
	HugePagesTotal                  *int64 // a count of pages
	Hugepagesize                    *int64 // bytes per huge page
	Hugetlb                         *int64 // bytes in all huge page sizes

	// Fields has every readable line: bytes for kB values, the bare number
	// otherwise.
	Fields map[string]int64
}

const (
	maxLine     = 4096
	maxFields   = 512
	maxProblems = 10
)

// Parse reads /proc/meminfo. The result is never nil: unreadable lines are
// skipped and reported together in the error (naming node/meminfo and the
// line), so one bad line does not lose the rest.
func Parse(r io.Reader) (*Meminfo, error) {
	m := &Meminfo{Fields: map[string]int64{}}
	var errs []error
	bad := func(line int, format string, args ...any) {
		if len(errs) < maxProblems {
			errs = append(errs, fmt.Errorf("%s:%d: %s", bundle.NodeMeminfo, line, fmt.Sprintf(format, args...)))
		}
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 512), maxLine)
	n := 0
	for sc.Scan() {
		n++
		key, rest, ok := bytes.Cut(sc.Bytes(), []byte(":"))
		if !ok {
			if len(bytes.TrimSpace(sc.Bytes())) > 0 {
				bad(n, "want \"Key: value\"")
			}
			continue
		}
		f := bytes.Fields(rest)
		if len(key) == 0 || len(f) == 0 || len(f) > 2 || len(f) == 2 && string(f[1]) != "kB" {
			bad(n, "%.40q: want a number and optional kB", key)
			continue
		}
		v, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil || v < 0 {
			bad(n, "%.40q: invalid value %.40q", key, f[0])
			continue
		}
		if len(f) == 2 {
			if v > math.MaxInt64/1024 {
				bad(n, "%.40q: %d kB overflows", key, v)
				continue
			}
			v *= 1024
		}
		k := string(key)
		if _, dup := m.Fields[k]; dup {
			bad(n, "%.40q: duplicate (the first is kept)", k)
			continue
		}
		if len(m.Fields) >= maxFields {
			bad(n, "more than %d fields; the rest is ignored", maxFields)
			break
		}
		m.Fields[k] = v
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("%s:%d: %w", bundle.NodeMeminfo, n+1, err))
	}
	for name, dst := range map[string]**int64{
		"MemTotal": &m.MemTotal, "MemFree": &m.MemFree, "MemAvailable": &m.MemAvailable,
		"Buffers": &m.Buffers, "Cached": &m.Cached, "Shmem": &m.Shmem,
		"Active(file)": &m.ActiveFile, "Inactive(file)": &m.InactiveFile,
		"SwapTotal": &m.SwapTotal, "SwapFree": &m.SwapFree,
		"Slab": &m.Slab, "SReclaimable": &m.SReclaimable, "SUnreclaim": &m.SUnreclaim,
		"HugePages_Total": &m.HugePagesTotal, "Hugepagesize": &m.Hugepagesize, "Hugetlb": &m.Hugetlb,
	} {
		if v, ok := m.Fields[name]; ok {
			*dst = &v
		}
	}
	return m, errors.Join(errs...)
}
