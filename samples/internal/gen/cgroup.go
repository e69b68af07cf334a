package main

import (
	"strings"
)

const (
	pageSize = 4096
	// v1 "unlimited" on 4 KiB-page kernels: LONG_MAX rounded down to a page
	// (DOMAIN §1.3; kubernetes/kubernetes#104289 shows the same value).
	v1Unlimited int64 = 9223372036854771712
	// The same sentinel as printed in kB by the kernel OOM report.
	v1UnlimitedKB int64 = 9007199254740988
)

// charge is memory charged to one cgroup, in bytes. anon includes anonTHP.
// shmem sits on the anon LRU (v1 doc, v2 doc); file pages on the file LRU.
type charge struct {
	anon, anonTHP, shmem     int64
	activeFile, inactiveFile int64
	kernel                   int64 // v1: memory.kmem.usage_in_bytes; v2: "kernel"
	sock                     int64 // v2 only, part of memory.current
	mappedFile, dirty        int64
	writeback                int64 // dirty pages under I/O, not yet clean
	swap                     int64 // swapped out: not resident, so in no other field
	activeAnonPct            int64 // share of anon+shmem on the active anon list
	pgfault, pgmajfault      int64 // event counters
	refaultFile              int64 // workingset_refault_file (pages on v2, bytes on v1 alinux dumps)
	lruSet                   bool  // a sum of parts: inactAnon/actAnon are exact
	inactAnon, actAnon       int64
}

func (c charge) add(o charge) charge {
	c.anon += o.anon
	c.anonTHP += o.anonTHP
	c.shmem += o.shmem
	c.activeFile += o.activeFile
	c.inactiveFile += o.inactiveFile
	c.kernel += o.kernel
	c.sock += o.sock
	c.mappedFile += o.mappedFile
	c.dirty += o.dirty
	c.writeback += o.writeback
	c.swap += o.swap
	c.pgfault += o.pgfault
	c.pgmajfault += o.pgmajfault
	c.refaultFile += o.refaultFile
	return c
}

// file is the page cache including tmpfs: v1 "cache", v2 "file".
func (c charge) file() int64 { return c.shmem + c.activeFile + c.inactiveFile }

// anonLRU splits anon+shmem into inactive and active anon pages.
func (c charge) anonLRU() (inactive, active int64) {
	if c.lruSet {
		return c.inactAnon, c.actAnon
	}
	total := c.anon + c.shmem
	pct := c.activeAnonPct
	active = total * pct / 100 / pageSize * pageSize
	return total - active, active
}

// memcg is one cgroup of the memory controller. Local charges are what
// the cgroup's own pages are; orphan charges were left by removed
// children: they count in usage and in the hierarchical (total_*) stats
// but not in the local counters (DOMAIN §1.4 [obs] on 6.18: the parent's
// local shmem stayed 0 while total_shmem kept the dead child's tmpfs).
type memcg struct {
	name     string
	parent   *memcg
	children []*memcg

	local, orphan charge

	limit      int64 // 0 = unlimited
	high       int64 // v2 memory.high, 0 = max
	swapMax    int64 // v2 memory.swap.max, -1 = max
	memswLimit int64 // v1 memory.memsw.limit_in_bytes, 0 = unlimited
	failcnt    int64
	peak       int64 // memory.max_usage_in_bytes / memory.peak; 0 = usage + 1.5 %
	dying      int   // v2 cgroup.stat nr_dying_descendants, counted here only

	// v2 memory.events.local counters of this cgroup; memory.events adds the
	// descendants' (hierarchical, cgroup-v2 doc).
	evHigh, evMax, evOOM, evOOMKill int64
	// Events of removed children: hierarchical memory.events keeps them,
	// memory.events.local never had them.
	goneHigh, goneMax, goneOOM, goneOOMKill int64
	procs                                   []int
	psiSomeTotal, psiFullTotal              int64
}

func newRoot() *memcg { return &memcg{name: "", swapMax: -1} }

// child adds a sub-cgroup.
func (m *memcg) child(name string) *memcg {
	c := &memcg{name: name, parent: m, swapMax: -1}
	m.children = append(m.children, c)
	return c
}

// path is the cgroup path relative to the controller mount, "/" for root.
func (m *memcg) path() string {
	if m.parent == nil {
		return "/"
	}
	var parts []string
	for c := m; c.parent != nil; c = c.parent {
		parts = append([]string{c.name}, parts...)
	}
	return "/" + strings.Join(parts, "/")
}

// dir is the bundle directory of this cgroup's files.
func (m *memcg) dir() string {
	if m.parent == nil {
		return "cgroup"
	}
	return "cgroup" + m.path()
}

// total is the hierarchical charge: local + orphan + all descendants.
func (m *memcg) total() charge {
	t := m.local.add(m.orphan)
	t.activeAnonPct = 0
	for _, c := range m.children {
		t = t.add(c.total())
	}
	// The hierarchy's LRU lists are the sum of its parts'.
	t.inactAnon, t.actAnon = m.lruSums()
	t.lruSet = true
	return t
}

func (m *memcg) lruSums() (inactive, active int64) {
	i, a := m.local.anonLRU()
	oi, oa := m.orphan.anonLRU()
	inactive, active = i+oi, a+oa
	for _, c := range m.children {
		ci, ca := c.lruSums()
		inactive += ci
		active += ca
	}
	return inactive, active
}

// usage is memory.usage_in_bytes (v1) / memory.current (v2): every page
// charged to the hierarchy, kernel memory included.
func (m *memcg) usage() int64 {
	t := m.total()
	return t.anon + t.file() + t.kernel + t.sock
}

// workingSet is cAdvisor's usage − inactive_file (DOMAIN §2.1).
func (m *memcg) workingSet() int64 {
	return m.usage() - m.total().inactiveFile
}

func (m *memcg) peakUsage() int64 {
	if m.peak > 0 {
		return m.peak
	}
	u := m.usage()
	return (u + u*15/1000) / pageSize * pageSize
}

// hierLimit is the smallest limit on the way to the root (v1
// hierarchical_memory_limit), 0 when none.
func (m *memcg) hierLimit() int64 {
	var l int64
	for c := m; c != nil; c = c.parent {
		if c.limit > 0 && (l == 0 || c.limit < l) {
			l = c.limit
		}
	}
	return l
}

func (m *memcg) hierMemswLimit() int64 {
	var l int64
	for c := m; c != nil; c = c.parent {
		if c.memswLimit > 0 && (l == 0 || c.memswLimit < l) {
			l = c.memswLimit
		}
	}
	return l
}

// walk visits m and its descendants, parents first.
func (m *memcg) walk(f func(*memcg)) {
	f(m)
	for _, c := range m.children {
		c.walk(f)
	}
}

func (m *memcg) descendants() int {
	n := 0
	for _, c := range m.children {
		n += 1 + c.descendants()
	}
	return n
}

func (m *memcg) dyingDescendants() int {
	n := m.dying
	for _, c := range m.children {
		n += c.dyingDescendants()
	}
	return n
}

func (m *memcg) events() (high, max, oom, oomKill int64) {
	high, max, oom, oomKill = m.evHigh+m.goneHigh, m.evMax+m.goneMax, m.evOOM+m.goneOOM, m.evOOMKill+m.goneOOMKill
	for _, c := range m.children {
		h, x, o, k := c.events()
		high, max, oom, oomKill = high+h, max+x, oom+o, oomKill+k
	}
	return
}

// pages rounds a byte count down to whole pages.
func pages(b int64) int64 { return b / pageSize * pageSize }

// mib is n MiB in bytes.
func mib(n int64) int64 { return n << 20 }
