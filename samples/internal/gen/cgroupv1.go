package main

import (
	"fmt"
	"strings"
)

// v1Kernel selects the memory.stat key set and order a v1 kernel prints.
type v1Kernel int

const (
	// Upstream 6.x (memcg1_stat_names + swapcached, DOMAIN §1.2 [obs] on 6.18).
	v1Upstream6 v1Kernel = iota
	// Alibaba Cloud Linux 2, 4.19.91-*.al7: the key set and order quoted
	// verbatim in seed 003 (extra workingset_* keys after swap).
	v1Alinux419
	// RHEL/CentOS 7 3.10: no shmem/dirty/writeback lines, no oom_kill line in
	// memory.oom_control (it appeared in 4.13).
	v1RHEL7
)

type kv struct {
	key string
	val int64
}

// v1StatCounters is the first block of memory.stat for one charge (local
// or total). Values are bytes except the pg* event counts (pages/events).
func v1StatCounters(k v1Kernel, c charge, pgpgin, pgpgout int64) (stats, events, lru []kv) {
	inactAnon, actAnon := c.anonLRU()
	switch k {
	case v1Upstream6:
		stats = []kv{
			{"cache", c.file()}, {"rss", c.anon}, {"rss_huge", c.anonTHP}, {"shmem", c.shmem},
			{"mapped_file", c.mappedFile}, {"dirty", c.dirty}, {"writeback", c.writeback},
			{"workingset_refault_anon", 0}, {"workingset_refault_file", c.refaultFile},
			{"swap", c.swap}, {"swapcached", 0},
		}
	case v1Alinux419:
		stats = []kv{
			{"cache", c.file()}, {"rss", c.anon}, {"rss_huge", c.anonTHP}, {"shmem", c.shmem},
			{"mapped_file", c.mappedFile}, {"dirty", c.dirty}, {"writeback", c.writeback}, {"swap", c.swap},
			{"workingset_refault_anon", 0}, {"workingset_refault_file", c.refaultFile},
			{"workingset_activate_anon", 0}, {"workingset_activate_file", c.refaultFile / 8 / pageSize * pageSize},
			{"workingset_restore_anon", 0}, {"workingset_restore_file", 0}, {"workingset_nodereclaim", 0},
		}
	case v1RHEL7:
		stats = []kv{
			{"cache", c.file()}, {"rss", c.anon}, {"rss_huge", c.anonTHP},
			{"mapped_file", c.mappedFile}, {"swap", c.swap},
		}
	}
	events = []kv{{"pgpgin", pgpgin}, {"pgpgout", pgpgout}, {"pgfault", c.pgfault}, {"pgmajfault", c.pgmajfault}}
	lru = []kv{
		{"inactive_anon", inactAnon}, {"active_anon", actAnon},
		{"inactive_file", c.inactiveFile}, {"active_file", c.activeFile}, {"unevictable", 0},
	}
	return stats, events, lru
}

// pgpg derives plausible pgpgin/pgpgout page counts: everything charged now
// was paged in, plus churn that was paged out again.
func pgpg(c charge) (in, out int64) {
	out = c.pgfault/3 + c.file()/pageSize/2
	in = out + (c.anon+c.file())/pageSize
	return in, out
}

// v1MemoryStat renders memory.stat as a v1 kernel of kind k prints it.
func v1MemoryStat(k v1Kernel, m *memcg) string {
	local := m.local
	tot := m.total()
	li, lo := pgpg(local)
	ti, to := pgpg(tot)
	ls, le, ll := v1StatCounters(k, local, li, lo)
	ts, te, tl := v1StatCounters(k, tot, ti, to)
	var b strings.Builder
	for _, kv := range append(append(ls, le...), ll...) {
		fmt.Fprintf(&b, "%s %d\n", kv.key, kv.val)
	}
	fmt.Fprintf(&b, "hierarchical_memory_limit %d\n", v1Limit(m.hierLimit()))
	fmt.Fprintf(&b, "hierarchical_memsw_limit %d\n", v1Limit(m.hierMemswLimit()))
	for _, kv := range append(append(ts, te...), tl...) {
		fmt.Fprintf(&b, "total_%s %d\n", kv.key, kv.val)
	}
	return b.String()
}

func v1Limit(l int64) int64 {
	if l == 0 {
		return v1Unlimited
	}
	return l
}

// v1Usage is memory.usage_in_bytes. The root's is computed from the page
// counters without kernel memory (mm/memcontrol.c mem_cgroup_usage).
func v1Usage(m *memcg) int64 {
	if m.parent == nil {
		t := m.total()
		return t.anon + t.file()
	}
	return m.usage()
}

// writeV1Tree writes the memory controller files of every cgroup.
func writeV1Tree(b *bundleFiles, k v1Kernel, root *memcg) {
	root.walk(func(m *memcg) {
		d := m.dir()
		usage := v1Usage(m)
		b.putf(d+"/memory.usage_in_bytes", "%d\n", usage)
		b.putf(d+"/memory.limit_in_bytes", "%d\n", v1Limit(m.limit))
		b.putf(d+"/memory.soft_limit_in_bytes", "%d\n", v1Unlimited)
		b.putf(d+"/memory.max_usage_in_bytes", "%d\n", max(m.peakUsage(), usage))
		b.putf(d+"/memory.failcnt", "%d\n", m.failcnt)
		b.put(d+"/memory.stat", []byte(v1MemoryStat(k, m)))
		// v1 counts a kill only in the victim's own memcg: memcg_memory_event
		// stops at the first cgroup when not on the default hierarchy
		// (mm/memcontrol.c), and a restarted container's cgroup is new.
		oomKill := m.evOOMKill
		if k == v1RHEL7 {
			b.putf(d+"/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\n")
		} else {
			b.putf(d+"/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill %d\n", oomKill)
		}
		b.putf(d+"/memory.kmem.usage_in_bytes", "%d\n", m.total().kernel)
		b.putf(d+"/memory.memsw.usage_in_bytes", "%d\n", usage)
		b.putf(d+"/memory.memsw.limit_in_bytes", "%d\n", v1Limit(m.memswLimit))
		b.putf(d+"/memory.memsw.max_usage_in_bytes", "%d\n", max(m.peakUsage(), usage))
		b.putf(d+"/memory.memsw.failcnt", "%d\n", 0)
		b.put(d+"/cgroup.procs", procsFile(m.procs))
	})
}

func procsFile(pids []int) []byte {
	var b strings.Builder
	for _, p := range pids {
		fmt.Fprintf(&b, "%d\n", p)
	}
	return []byte(b.String())
}
