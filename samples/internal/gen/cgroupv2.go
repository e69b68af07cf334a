package main

import (
	"fmt"
	"strings"
)

// v2MemoryStat renders memory.stat in the order of memory_stats[] and
// memcg_vm_event_stat[] of a 6.8 kernel (torvalds/linux:mm/memcontrol.c,
// Ubuntu 24.04's kernel). v2 memory.stat is hierarchical, so it is built
// from the total charge. The kernel's OOM report prints the same lines.
func v2MemoryStat(t charge) []kv {
	inactAnon, actAnon := t.anonLRU()
	// Split "kernel" the way a busy container's usually is: slab first.
	slab := t.kernel * 55 / 100
	stack := pages(t.kernel * 12 / 100)
	ptables := pages(t.kernel * 25 / 100)
	percpu := t.kernel - slab - stack - ptables
	slabRecl := slab * 30 / 100
	pgscan := t.pgfault / 40
	return []kv{
		{"anon", t.anon}, {"file", t.file()}, {"kernel", t.kernel},
		{"kernel_stack", stack}, {"pagetables", ptables}, {"sec_pagetables", 0},
		{"percpu", percpu}, {"sock", t.sock}, {"vmalloc", 0}, {"shmem", t.shmem},
		{"zswap", 0}, {"zswapped", 0}, {"file_mapped", t.mappedFile}, {"file_dirty", t.dirty},
		{"file_writeback", t.writeback}, {"swapcached", 0}, {"anon_thp", t.anonTHP}, {"file_thp", 0},
		{"shmem_thp", 0}, {"inactive_anon", inactAnon}, {"active_anon", actAnon},
		{"inactive_file", t.inactiveFile}, {"active_file", t.activeFile}, {"unevictable", 0},
		{"slab_reclaimable", slabRecl}, {"slab_unreclaimable", slab - slabRecl}, {"slab", slab},
		{"workingset_refault_anon", 0}, {"workingset_refault_file", t.refaultFile},
		{"workingset_activate_anon", 0}, {"workingset_activate_file", t.refaultFile / 8},
		{"workingset_restore_anon", 0}, {"workingset_restore_file", t.refaultFile / 16},
		{"workingset_nodereclaim", 0},
		{"pgscan", pgscan}, {"pgsteal", pgscan * 9 / 10}, {"pgscan_direct", pgscan / 2},
		{"pgscan_kswapd", pgscan - pgscan/2}, {"pgscan_khugepaged", 0},
		{"pgsteal_direct", pgscan / 2 * 9 / 10}, {"pgsteal_kswapd", pgscan*9/10 - pgscan/2*9/10},
		{"pgsteal_khugepaged", 0}, {"pgfault", t.pgfault}, {"pgmajfault", t.pgmajfault},
		{"pgrefill", pgscan / 3}, {"pgactivate", t.pgfault / 25}, {"pgdeactivate", pgscan / 4},
		{"pglazyfree", 0}, {"pglazyfreed", 0}, {"zswpin", 0}, {"zswpout", 0}, {"zswpwb", 0},
		{"thp_fault_alloc", t.anonTHP / (2 << 20)}, {"thp_collapse_alloc", 0},
	}
}

func kvLines(kvs []kv) string {
	var b strings.Builder
	for _, e := range kvs {
		fmt.Fprintf(&b, "%s %d\n", e.key, e.val)
	}
	return b.String()
}

func v2Max(v int64) string {
	if v <= 0 {
		return "max"
	}
	return fmt.Sprint(v)
}

// writeV2Tree writes the memory files of every cgroup on the unified
// hierarchy. The root has no memory.current/max (cgroup-v2 doc: "exists
// on non-root cgroups"); runc emulates its usage from /proc/meminfo.
func writeV2Tree(b *bundleFiles, root *memcg) {
	root.walk(func(m *memcg) {
		d := m.dir()
		t := m.total()
		b.put(d+"/memory.stat", []byte(kvLines(v2MemoryStat(t))))
		b.putf(d+"/memory.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=%d\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=%d\n",
			m.psiSomeTotal, m.psiFullTotal)
		b.putf(d+"/cgroup.stat", "nr_descendants %d\nnr_dying_descendants %d\n", m.descendants(), m.dyingDescendants())
		b.put(d+"/cgroup.procs", procsFile(m.procs))
		if m.parent == nil {
			return
		}
		b.putf(d+"/memory.current", "%d\n", m.usage())
		b.putf(d+"/memory.peak", "%d\n", max(m.peakUsage(), m.usage()))
		b.putf(d+"/memory.max", "%s\n", v2Max(m.limit))
		b.putf(d+"/memory.high", "%s\n", v2Max(m.high))
		b.putf(d+"/memory.low", "0\n")
		b.putf(d+"/memory.min", "0\n")
		h, x, o, k := m.events()
		b.putf(d+"/memory.events", "low 0\nhigh %d\nmax %d\noom %d\noom_kill %d\noom_group_kill 0\n", h, x, o, k)
		b.putf(d+"/memory.events.local", "low 0\nhigh %d\nmax %d\noom %d\noom_kill %d\noom_group_kill 0\n",
			m.evHigh, m.evMax, m.evOOM, m.evOOMKill)
		b.putf(d+"/memory.swap.current", "%d\n", t.swap)
		if m.swapMax < 0 {
			b.putf(d+"/memory.swap.max", "max\n")
		} else {
			b.putf(d+"/memory.swap.max", "%d\n", m.swapMax)
		}
		b.putf(d+"/memory.swap.high", "max\n")
		b.putf(d+"/memory.swap.events", "high 0\nmax 0\nfail 0\n")
	})
}
