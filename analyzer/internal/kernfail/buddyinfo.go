package kernfail

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ParseBuddyinfo reads /proc/buddyinfo: "Node N, zone NAME c0 c1 … c10",
// the free blocks of each order per zone (torvalds/linux:mm/vmstat.c
// frag_show_print). pageKB is the base page size in kB. Malformed lines are
// returned as errors naming the line; the rest is still read.
func ParseBuddyinfo(r io.Reader, pageKB int64) ([]FreeArea, []error) {
	var out []FreeArea
	var errs []error
	sc := bufio.NewScanner(io.LimitReader(r, 1<<20))
	sc.Buffer(make([]byte, 4096), 64<<10)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 5 || f[0] != "Node" || f[2] != "zone" || len(out) >= 1024 {
			errs = append(errs, fmt.Errorf("line %d: not \"Node N, zone NAME counts…\"", n))
			continue
		}
		node, err := strconv.Atoi(strings.TrimSuffix(f[1], ","))
		if err != nil {
			errs = append(errs, fmt.Errorf("line %d: node %q", n, f[1]))
			continue
		}
		fa := FreeArea{Line: n, Node: node, Zone: f[3], PageKB: pageKB}
		ok := true
		for _, c := range f[4:] {
			v, err := strconv.ParseInt(c, 10, 64)
			if err != nil || v < 0 || len(fa.Counts) >= 64 {
				errs = append(errs, fmt.Errorf("line %d: count %q", n, c))
				ok = false
				break
			}
			fa.Counts = append(fa.Counts, v)
		}
		if ok {
			out = append(out, fa)
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, err)
	}
	return out, errs
}

// FreeKB is the zone's free memory in kB.
func (fa FreeArea) FreeKB() int64 {
	var kb int64
	for order, c := range fa.Counts {
		if order < 62 {
			kb += c * (fa.PageKB << order)
		}
	}
	return kb
}

// FreeAtOrKB is the free memory in blocks of order ≥ order, in kB: what an
// allocation of that order can be served from without compaction.
func (fa FreeArea) FreeAtOrKB(order int) int64 {
	var kb int64
	for o, c := range fa.Counts {
		if o >= order && o < 62 {
			kb += c * (fa.PageKB << o)
		}
	}
	return kb
}

// ParseProcCgroups reads /proc/cgroups: "#subsys_name hierarchy num_cgroups
// enabled" (kernel/cgroup/cgroup-v1.c proc_cgroupstats_show). It returns
// num_cgroups by controller.
func ParseProcCgroups(r io.Reader) (map[string]int64, error) {
	out := map[string]int64{}
	sc := bufio.NewScanner(io.LimitReader(r, 1<<20))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 {
			return out, fmt.Errorf("line %d: want 4 columns, got %d", n, len(f))
		}
		v, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil || v < 0 {
			return out, fmt.Errorf("line %d: num_cgroups %q", n, f[2])
		}
		out[f[0]] = v
	}
	return out, sc.Err()
}

// ParseTHPMode returns the bracketed word of a transparent_hugepage sysfs
// file ("always [madvise] never" → "madvise"; mm/huge_memory.c
// enabled_show, defrag_show).
func ParseTHPMode(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, 4096))
	if err != nil {
		return "", err
	}
	s := string(b)
	i := strings.IndexByte(s, '[')
	j := strings.IndexByte(s, ']')
	if i < 0 || j < i {
		return "", fmt.Errorf("no [mode] in %q", strings.TrimSpace(s))
	}
	return s[i+1 : j], nil
}
