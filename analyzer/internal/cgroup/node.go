package cgroup

import "strings"

// Tree is the memory-controller hierarchy of one bundle.
type Tree struct {
	Version int              // 1 or 2; 0 when no file told
	Root    *Node            // "/", never nil (it has no fields when the bundle has no cgroup files)
	Nodes   map[string]*Node // by Path: "/", "/kubepods.slice", ...
}

// Sorted returns every node ordered by path (parents before children).
func (t *Tree) Sorted() []*Node {
	out := make([]*Node, 0, len(t.Nodes))
	var walk func(n *Node)
	walk = func(n *Node) {
		out = append(out, n)
		for _, c := range n.Children {
			walk(c)
		}
	}
	if t.Root != nil {
		walk(t.Root)
	}
	return out
}

// Value is one number read from the bundle, with where it came from so a rule
// can cite it ("cgroup/kubepods/memory.stat total_shmem").
type Value struct {
	N    int64
	File string // bundle path of the file
	Key  string // memory.stat / flat-keyed key; "" for single-value files
}

// Node is one cgroup. Every *Value is nil when the bundle does not hold it:
// missing is never zero. Amounts are bytes, counters are counts.
//
// On v1 the normalised fields use the hierarchical total_* keys of
// memory.stat (the cgroup and all its descendants, what cAdvisor reads with
// use_hierarchy=1, DOMAIN §2.1); the cgroup's own counters are reachable
// through Local. v2 memory.stat is hierarchical already and has no local
// form.
type Node struct {
	Path     string // "/" or "/kubepods.slice/kubepods-burstable.slice"
	Parent   *Node
	Children []*Node  // sorted by Path
	Dir      string   // bundle directory: "cgroup/" or "cgroup/kubepods.slice/"
	Files    []string // the known memory files read from Dir, sorted; empty for a bare intermediate directory

	Usage        *Value // v1 memory.usage_in_bytes, v2 memory.current (absent on the v2 root)
	WorkingSet   *Value // Usage − inactive_file, floored at 0, as cAdvisor's setMemoryStats; cites the usage file
	Anon         *Value // v1 total_rss, v2 anon
	File         *Value // page cache incl. tmpfs: v1 total_cache, v2 file
	ActiveFile   *Value
	InactiveFile *Value
	Shmem        *Value // tmpfs/shm: v1 total_shmem, v2 shmem
	MappedFile   *Value // v1 total_mapped_file, v2 file_mapped
	Kernel       *Value // v2 kernel (or the sum of its parts before 5.18), v1 memory.kmem.usage_in_bytes
	Sock         *Value // v2 sock
	Swap         *Value // v1 total_swap, v2 memory.swap.current

	Limit         *Value // v1 memory.limit_in_bytes, v2 memory.max ("max" → N = math.MaxInt64)
	Unlimited     bool   // Limit is set and means "no limit"; check before using Limit.N
	High          *Value // v2 memory.high
	HighUnlimited bool
	Min, Low      *Value // v2 protections
	SoftLimit     *Value // v1 memory.soft_limit_in_bytes (IsUnlimited tells the sentinel)
	SwapLimit     *Value // v2 memory.swap.max
	SwapUnlimited bool

	Failcnt           *Value // v1 memory.failcnt
	KmemLimit         *Value // v1 memory.kmem.limit_in_bytes
	KmemFailcnt       *Value // v1 memory.kmem.failcnt
	MaxUsage          *Value // v1 memory.max_usage_in_bytes, v2 memory.peak
	MemswUsage        *Value // v1 memory+swap counters
	MemswLimit        *Value
	MemswMaxUsage     *Value
	MemswFailcnt      *Value
	HierarchicalLimit *Value // v1 hierarchical_memory_limit: the lowest limit on the path to the root
	HierarchicalMemsw *Value // v1 hierarchical_memsw_limit

	OOMKill            *Value // v1 memory.oom_control oom_kill, v2 memory.events oom_kill (hierarchical)
	UnderOOM           *Value // v1 memory.oom_control under_oom
	OOMEvents          *Value // v2 memory.events oom
	MaxEvents          *Value // v2 memory.events max
	HighEvents         *Value // v2 memory.events high
	LocalOOMKill       *Value // v2 memory.events.local oom_kill
	SwapFailEvents     *Value // v2 memory.swap.events fail: swap allocation failed
	NrDyingDescendants *Value // v2 cgroup.stat: removed cgroups still holding charges
	NrDescendants      *Value // v2 cgroup.stat: live descendant cgroups
	PSI                *PSI   // v2 memory.pressure

	Procs []int            // cgroup.procs, sorted; nil when the file is absent
	Stat  map[string]int64 // raw memory.stat; nil when the file is absent

	version  int
	statFile string // what memory.stat values cite when not Dir+"memory.stat" (LoadCited)
}

// statPath is the file memory.stat values cite.
func (n *Node) statPath() string {
	if n.statFile != "" {
		return n.statFile
	}
	return n.Dir + "memory.stat"
}

// StatValue returns the raw memory.stat key, or nil when absent.
func (n *Node) StatValue(key string) *Value {
	v, ok := n.Stat[key]
	if !ok {
		return nil
	}
	return &Value{N: v, File: n.statPath(), Key: key}
}

// Local returns the cgroup's own (non-hierarchical) memory.stat counter on
// v1, e.g. Local("shmem"). v2 has no local memory.stat, so it returns nil
// there. After a child cgroup is removed its charges move to the parent's
// hierarchical totals while the parent's local counters stay 0 (DOMAIN §1.4,
// [obs] on 6.18): orphaned memory shows in Hierarchical, never in Local.
func (n *Node) Local(key string) *Value {
	if n.version != 1 || strings.HasPrefix(key, "total_") {
		return nil
	}
	return n.StatValue(key)
}

// Hierarchical returns the counter for the cgroup and all its descendants:
// v1 "total_<key>", v2 "<key>".
func (n *Node) Hierarchical(key string) *Value {
	switch n.version {
	case 1:
		return n.StatValue("total_" + key)
	case 2:
		return n.StatValue(key)
	}
	return nil
}

// LimitBytes returns the hard limit when one is set and not "unlimited".
func (n *Node) LimitBytes() (int64, bool) {
	if n.Limit == nil || n.Unlimited {
		return 0, false
	}
	return n.Limit.N, true
}

// unlimitedAbove is kubelet's isMemoryUnlimited threshold: v1 prints "no
// limit" as LONG_MAX rounded down to a page (9223372036854771712 with 4 KiB
// pages, 9223372036854710272 with 64 KiB), so anything above 1<<62 means
// unlimited (kubernetes/kubernetes:pkg/kubelet/stats/helper.go, DOMAIN §1.3).
const unlimitedAbove = int64(1) << 62

// IsUnlimited reports whether a v1 limit value is the kernel's "no limit"
// sentinel (or v2 "max", which ParseSingle returns as math.MaxInt64).
func IsUnlimited(n int64) bool {
	return n > unlimitedAbove
}
