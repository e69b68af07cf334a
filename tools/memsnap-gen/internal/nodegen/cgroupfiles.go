package nodegen

import (
	"fmt"
	"sort"
	"strings"
)

func sortCgroups(cs []*cgroup) {
	sort.Slice(cs, func(i, j int) bool { return cs[i].path < cs[j].path })
}

// cgroupFile is one file of one cgroup directory, relative to the mount.
type cgroupFile struct{ name, content string }

func procsFile(pids []int) string {
	var b strings.Builder
	for _, p := range pids {
		fmt.Fprintf(&b, "%d\n", p)
	}
	return b.String()
}

// cgroupFiles renders the memory files of c in the shape the kernel prints
// them (torvalds/linux:mm/memcontrol.c memcg_stat_format / memory_stat_format,
// Documentation/admin-guide/cgroup-v2.rst), in a fixed order.
func (n *node) cgroupFiles(c *cgroup) []cgroupFile {
	if n.opt.CgroupVersion == 2 {
		return n.cgroupV2Files(c)
	}
	return n.cgroupV1Files(c)
}

func (n *node) cgroupV1Files(c *cgroup) []cgroupFile {
	u := c.tree
	limit := c.limit
	if limit == 0 {
		limit = unlimitedV1
	}
	// v1 prints the cgroup's local counters first, then total_* ones; only
	// leaves hold charges of their own here (use_hierarchy=1).
	local := usage{}
	if c.leaf {
		local = c.own
	}
	stat := func(b *strings.Builder, prefix string, x usage) {
		fmt.Fprintf(b, "%scache %d\n%srss %d\n%srss_huge 0\n%sshmem %d\n%smapped_file %d\n%sdirty %d\n%swriteback 0\n%sswap 0\n"+
			"%spgpgin %d\n%spgpgout %d\n%spgfault %d\n%spgmajfault %d\n%sinactive_anon %d\n%sactive_anon %d\n%sinactive_file %d\n%sactive_file %d\n%sunevictable 0\n",
			prefix, x.file(), prefix, x.anon, prefix, prefix, x.shmem, prefix, x.file()/10&^4095, prefix, x.file()/200&^4095, prefix, prefix,
			prefix, x.total()/4096+1000, prefix, x.total()/8192+900, prefix, x.total()/2048+5000, prefix, x.total()>>24,
			prefix, x.shmem+x.anon/50&^4095, prefix, x.anon-x.anon/50&^4095, prefix, x.inactiveFile, prefix, x.activeFile, prefix)
	}
	var st strings.Builder
	stat(&st, "", local)
	fmt.Fprintf(&st, "hierarchical_memory_limit %d\nhierarchical_memsw_limit %d\n", limit, unlimitedV1)
	stat(&st, "total_", u)
	files := []cgroupFile{
		{"cgroup.procs", procsFile(c.pids)},
		{"memory.failcnt", fmt.Sprintf("%d\n", u.failcnt)},
		{"memory.kmem.usage_in_bytes", fmt.Sprintf("%d\n", u.kernel)},
		{"memory.limit_in_bytes", fmt.Sprintf("%d\n", limit)},
		{"memory.max_usage_in_bytes", fmt.Sprintf("%d\n", u.total()+u.total()/20&^4095)},
		{"memory.memsw.failcnt", "0\n"},
		{"memory.memsw.limit_in_bytes", fmt.Sprintf("%d\n", unlimitedV1)},
		{"memory.memsw.max_usage_in_bytes", fmt.Sprintf("%d\n", u.total()+u.total()/20&^4095)},
		{"memory.memsw.usage_in_bytes", fmt.Sprintf("%d\n", u.total())},
		{"memory.oom_control", fmt.Sprintf("oom_kill_disable 0\nunder_oom 0\noom_kill %d\n", u.oomKill)},
		{"memory.soft_limit_in_bytes", fmt.Sprintf("%d\n", unlimitedV1)},
		{"memory.stat", st.String()},
		{"memory.usage_in_bytes", fmt.Sprintf("%d\n", u.total())},
	}
	return files
}

func (n *node) cgroupV2Files(c *cgroup) []cgroupFile {
	u := c.tree
	slab := u.kernel / 2 &^ 4095
	var st strings.Builder
	fmt.Fprintf(&st, "anon %d\nfile %d\nkernel %d\nkernel_stack %d\npagetables %d\nsec_pagetables 0\npercpu %d\nsock 0\nvmalloc 0\nshmem %d\nzswap 0\nzswapped 0\n"+
		"file_mapped %d\nfile_dirty %d\nfile_writeback 0\nswapcached 0\nanon_thp 0\nfile_thp 0\nshmem_thp 0\n"+
		"inactive_anon %d\nactive_anon %d\ninactive_file %d\nactive_file %d\nunevictable 0\n"+
		"slab_reclaimable %d\nslab_unreclaimable %d\nslab %d\n"+
		"workingset_refault_anon 0\nworkingset_refault_file %d\nworkingset_activate_anon 0\nworkingset_activate_file %d\nworkingset_restore_anon 0\nworkingset_restore_file %d\nworkingset_nodereclaim 0\n"+
		"pgscan %d\npgsteal %d\npgscan_direct 0\npgscan_kswapd %d\npgscan_khugepaged 0\npgsteal_direct 0\npgsteal_kswapd %d\npgsteal_khugepaged 0\n"+
		"pgfault %d\npgmajfault %d\npgrefill %d\npgactivate %d\npgdeactivate %d\npglazyfree 0\npglazyfreed 0\nzswpin 0\nzswpout 0\nzswpwb 0\nthp_fault_alloc 0\nthp_collapse_alloc 0\n",
		u.anon, u.file(), u.kernel, u.kernel/8&^4095, u.kernel/4&^4095, u.kernel/16&^4095, u.shmem,
		u.file()/10&^4095, u.file()/200&^4095,
		u.shmem+u.anon/50&^4095, u.anon-u.anon/50&^4095, u.inactiveFile, u.activeFile,
		slab/2&^4095, slab-slab/2&^4095, slab,
		u.file()>>20, u.file()>>22, u.file()>>23,
		u.total()>>18, u.total()>>19, u.total()>>18, u.total()>>19,
		u.total()/2048+5000, u.total()>>24, u.total()>>19, u.total()>>18, u.total()>>20)
	desc := fmt.Sprintf("nr_descendants %d\nnr_dying_descendants 0\n", c.below)
	if c.path == "" {
		// The v2 root has no memory.current/max/events files at all.
		return []cgroupFile{{"cgroup.procs", procsFile(c.pids)}, {"cgroup.stat", desc}, {"memory.pressure", n.pressure(c)}, {"memory.stat", st.String()}}
	}
	maxv := "max\n"
	if c.limit > 0 {
		maxv = fmt.Sprintf("%d\n", c.limit)
	}
	events := fmt.Sprintf("low 0\nhigh 0\nmax %d\noom %d\noom_kill %d\noom_group_kill 0\n", u.failcnt, u.oomKill, u.oomKill)
	return []cgroupFile{
		{"cgroup.procs", procsFile(c.pids)},
		{"cgroup.stat", desc},
		{"memory.current", fmt.Sprintf("%d\n", u.total())},
		{"memory.events", events},
		{"memory.events.local", events},
		{"memory.high", "max\n"},
		{"memory.low", "0\n"},
		{"memory.max", maxv},
		{"memory.min", "0\n"},
		{"memory.peak", fmt.Sprintf("%d\n", u.total()+u.total()/20&^4095)},
		{"memory.pressure", n.pressure(c)},
		{"memory.stat", st.String()},
		{"memory.swap.current", "0\n"},
		{"memory.swap.events", "high 0\nmax 0\nfail 0\n"},
		{"memory.swap.max", "max\n"},
	}
}

func (n *node) pressure(c *cgroup) string {
	t := c.tree.total() >> 16
	return fmt.Sprintf("some avg10=0.00 avg60=0.00 avg300=0.00 total=%d\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=%d\n", t, t/2)
}
