// Package kernfail finds the kernel's allocation-failure reports in a kernel
// log and reads the zone free lists: what fragmentation-oom and
// kmem-accounting-leak rest on.
//
// The line formats are the kernel's own:
//   - "<comm>: page allocation failure: order:%u, mode:%#x(%pGg)…" from
//     warn_alloc (torvalds/linux:mm/page_alloc.c; warn_alloc_failed on 3.10);
//   - "<comm> invoked oom-killer: gfp_mask=…, order=%d, oom_score_adj=…"
//     from dump_header (mm/oom_kill.c), which a dmesg wrapped at 80 columns
//     may split over lines;
//   - "Node %d %s: N*4kB (UME) … = NkB" free-area lines of show_free_areas
//     (mm/show_mem.c, mm/page_alloc.c before 6.1);
//   - "SLUB: Unable to allocate memory on node %d, gfp=%#x(%pGg)" (newer) or
//     "(gfp=0x%x)" (3.10) from slab_out_of_memory (mm/slub.c), followed by
//     "  cache: NAME, object size: …" — on a 3.10 memcg-kmem kernel the cache
//     name carries "(<memcg id>:<cgroup name>)".
//
// Lines are matched anywhere after their prefix (dmesg, dmesg -T, syslog,
// journal, indented copies), never anchored to one stamp format.
package kernfail

import (
	"errors"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/memsnap/memsnap/analyzer/internal/textline"
)

// AllocFailure is one failed higher-order (or any-order) allocation: a
// "page allocation failure" warning or an OOM kill invoked for it.
type AllocFailure struct {
	Line    int
	Process string
	Order   int
	Mode    string // gfp mode as printed, "" when absent
	OOM     bool   // an "invoked oom-killer" report rather than a warning
	Text    string
	// Free is the report's free-area dump, one entry per zone, when the
	// lines after the failure carry one.
	Free []FreeArea
}

// FreeArea is one zone's free list by order: Counts[i] free blocks of
// 2^i pages.
type FreeArea struct {
	Line   int
	Node   int
	Zone   string
	Counts []int64
	PageKB int64 // the size of an order-0 block in kB (4 on x86)
}

// SlubFailure is one "SLUB: Unable to allocate memory" warning.
type SlubFailure struct {
	Line  int
	Node  string
	GFP   string
	Cache string // the cache line's name, "" when not printed
	// Memcg is the "(id:name)" memcg part of a 3.10 per-memcg cache name.
	Memcg string
	Text  string
}

// Kmem is one "kmem: usage NkB, limit NkB, failcnt N" line of a v1 memcg
// OOM report (mm/memcontrol.c mem_cgroup_print_oom_meminfo).
type Kmem struct {
	Line                int
	UsageKB, LimitKB, N int64
}

// Result is what one log holds.
type Result struct {
	Allocs []AllocFailure
	Slub   []SlubFailure
	Kmem   []Kmem
	Lines  int
}

var (
	reAlloc   = regexp.MustCompile(`(?:^|\s)(\S+): page allocation failure: order:(\d+)(?:, mode:(\S+?))?(?:,|$|\s)`)
	reOOM     = regexp.MustCompile(`(?:^|\s)(\S+) invoked oom-killer:`)
	reOrder   = regexp.MustCompile(`(?:^|[\s,])order=(-?\d+)`)
	reFree    = regexp.MustCompile(`Node (\d+) (\w+): ((?:\d+\*\d+kB (?:\([A-Z]+\) )?)+)= \d+kB`)
	reFreeOne = regexp.MustCompile(`(\d+)\*(\d+)kB`)
	reSlub    = regexp.MustCompile(`SLUB: Unable to allocate memory on node (-?\d+)(?:[, (]+gfp=(\S+?))?\)?(?:\s|$)`)
	reCache   = regexp.MustCompile(`^\s*(?:\[[^\]]*\]\s*)*cache: ([^,]+),`)
	reKmem    = regexp.MustCompile(`kmem: usage (\d+)kB, limit (\d+)kB, failcnt (\d+)`)
)

// maxLine bounds one line; maxEntries bounds each list so a hostile log
// cannot grow memory without bound.
const (
	maxLine    = 64 << 10
	maxEntries = 10000
)

// Parse scans a kernel log. It never fails on content; a read error ends the
// scan with what was read.
func Parse(r io.Reader) (*Result, error) {
	res := &Result{}
	lr := textline.New(r, maxLine)
	var cur *AllocFailure // the failure whose free-area dump may follow
	pendingOOM := -1      // index of an OOM line whose order= is still to come
	sinceOOM := 0
	lastSlub := -1
	for {
		b, tooLong, err := lr.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return res, nil
			}
			return res, err
		}
		if tooLong {
			continue
		}
		res.Lines++
		n, s := lr.Line(), string(b)
		if pendingOOM >= 0 {
			sinceOOM++
			if m := reOrder.FindStringSubmatch(s); m != nil {
				res.Allocs[pendingOOM].Order, _ = strconv.Atoi(m[1])
				pendingOOM = -1
			} else if sinceOOM > 2 {
				pendingOOM = -1
			}
		}
		if len(res.Allocs) < maxEntries {
			if m := reAlloc.FindStringSubmatch(s); m != nil {
				o, _ := strconv.Atoi(m[2])
				res.Allocs = append(res.Allocs, AllocFailure{Line: n, Process: m[1], Order: o, Mode: m[3], Text: strings.TrimSpace(s)})
				cur = &res.Allocs[len(res.Allocs)-1]
				continue
			}
			if m := reOOM.FindStringSubmatch(s); m != nil {
				a := AllocFailure{Line: n, Process: m[1], Order: -1, OOM: true, Text: strings.TrimSpace(s)}
				if o := reOrder.FindStringSubmatch(s); o != nil {
					a.Order, _ = strconv.Atoi(o[1])
				}
				res.Allocs = append(res.Allocs, a)
				cur = &res.Allocs[len(res.Allocs)-1]
				if a.Order < 0 {
					pendingOOM, sinceOOM = len(res.Allocs)-1, 0
				}
				continue
			}
		}
		if m := reFree.FindStringSubmatch(s); m != nil {
			if cur != nil && len(cur.Free) < 64 {
				cur.Free = append(cur.Free, parseFreeLine(n, m))
			}
			continue
		}
		if m := reSlub.FindStringSubmatch(s); m != nil && len(res.Slub) < maxEntries {
			res.Slub = append(res.Slub, SlubFailure{Line: n, Node: m[1], GFP: strings.TrimSuffix(m[2], ")"), Text: strings.TrimSpace(s)})
			lastSlub = len(res.Slub) - 1
			continue
		}
		if lastSlub >= 0 && res.Slub[lastSlub].Cache == "" && res.Slub[lastSlub].Line >= n-2 {
			if m := reCache.FindStringSubmatch(stripStamp(s)); m != nil {
				name := strings.TrimSpace(m[1])
				sl := &res.Slub[lastSlub]
				sl.Cache = name
				if i := strings.IndexByte(name, '('); i > 0 && strings.HasSuffix(name, ")") {
					sl.Cache, sl.Memcg = name[:i], name[i+1:len(name)-1]
				}
				continue
			}
		}
		if m := reKmem.FindStringSubmatch(s); m != nil && len(res.Kmem) < maxEntries {
			u, _ := strconv.ParseInt(m[1], 10, 64)
			l, _ := strconv.ParseInt(m[2], 10, 64)
			f, _ := strconv.ParseInt(m[3], 10, 64)
			res.Kmem = append(res.Kmem, Kmem{Line: n, UsageKB: u, LimitKB: l, N: f})
		}
	}
}

// stripStamp drops a leading "[…]" stamp (dmesg, dmesg -T, relative).
func stripStamp(s string) string {
	t := strings.TrimSpace(s)
	for strings.HasPrefix(t, "[") {
		i := strings.IndexByte(t, ']')
		if i < 0 {
			break
		}
		t = strings.TrimSpace(t[i+1:])
	}
	return t
}

func parseFreeLine(n int, m []string) FreeArea {
	node, _ := strconv.Atoi(m[1])
	fa := FreeArea{Line: n, Node: node, Zone: m[2]}
	for i, p := range reFreeOne.FindAllStringSubmatch(m[3], 32) {
		c, _ := strconv.ParseInt(p[1], 10, 64)
		kb, _ := strconv.ParseInt(p[2], 10, 64)
		if i == 0 {
			fa.PageKB = kb
		}
		fa.Counts = append(fa.Counts, c)
	}
	return fa
}
