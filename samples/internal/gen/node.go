package main

import (
	"fmt"
	"strings"

	"github.com/memsnap/memsnap/bundle"
)

// writeNodeFiles writes node/: /proc/meminfo, /proc/stat, /proc/uptime,
// /proc/version (node/uname), /etc/os-release, /proc/cmdline and, on
// kernels with PSI, /proc/pressure/memory.
func writeNodeFiles(b *bundleFiles, n *nodeModel) {
	b.put(bundle.NodeMeminfo, []byte(meminfo(n)))
	b.put(bundle.NodeStat, []byte(procStat(n)))
	up := n.created.Sub(n.boot).Seconds()
	b.putf(bundle.NodeUptime, "%.2f %.2f\n", up, up*float64(n.cpus)*0.93)
	b.putf(bundle.NodeUname, "Linux version %s %s\n", n.kernel, n.kernelBuild)
	b.put(bundle.NodeOSRelease, []byte(n.osRelease))
	b.putf(bundle.NodeCmdline, "%s\n", n.cmdline)
	if n.v1Kernel == v1Upstream6 || n.cgroupV == 2 {
		b.putf(bundle.NodePressure, "some avg10=0.00 avg60=0.00 avg300=0.00 total=%d\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=%d\n",
			n.root.psiSomeTotal, n.root.psiFullTotal)
	}
}

func meminfo(n *nodeModel) string {
	t := n.root.total()
	kb := func(b int64) int64 { return b / 1024 }
	free := n.memFreeKB()
	inactAnon, actAnon := t.anonLRU()
	buffers := int64(88412)
	cached := kb(t.file()) - buffers
	slab, stack, ptables := n.kernelOtherKB*6/10, n.kernelOtherKB/20, n.kernelOtherKB/8
	if n.slabKB > 0 {
		// The rest of the kernel's own memory keeps the default shares.
		slab = n.slabKB
		rest := n.kernelOtherKB - slab
		stack, ptables = rest/8, rest*5/16
	}
	sRecl := slab * 45 / 100
	modern := n.v1Kernel == v1Upstream6 || n.cgroupV == 2
	avail := free + kb(t.inactiveFile) + kb(t.activeFile)/2 + sRecl/2
	rows := []struct {
		key string
		val int64
		ok  bool
	}{
		{"MemTotal", n.memTotalKB, true},
		{"MemFree", free, true},
		{"MemAvailable", avail, true},
		{"Buffers", buffers, true},
		{"Cached", cached, true},
		{"SwapCached", n.swapCachedKB, true},
		{"Active", kb(actAnon + t.activeFile), true},
		{"Inactive", kb(inactAnon + t.inactiveFile), true},
		{"Active(anon)", kb(actAnon), true},
		{"Inactive(anon)", kb(inactAnon), true},
		{"Active(file)", kb(t.activeFile), true},
		{"Inactive(file)", kb(t.inactiveFile), true},
		{"Unevictable", 0, true},
		{"Mlocked", 0, true},
		{"SwapTotal", n.swapTotalKB, true},
		{"SwapFree", n.swapFreeKB(), true},
		{"Zswap", 0, modern},
		{"Zswapped", 0, modern},
		{"Dirty", kb(t.dirty) + 212, true},
		{"Writeback", kb(t.writeback), true},
		{"AnonPages", kb(t.anon), true},
		{"Mapped", kb(t.mappedFile) + 61240, true},
		{"Shmem", kb(t.shmem) + 2884, true},
		{"KReclaimable", sRecl, modern},
		{"Slab", slab, true},
		{"SReclaimable", sRecl, true},
		{"SUnreclaim", slab - sRecl, true},
		{"KernelStack", stack, true},
		{"PageTables", ptables, true},
		{"SecPageTables", 0, modern},
		{"NFS_Unstable", 0, true},
		{"Bounce", 0, true},
		{"WritebackTmp", 0, true},
		{"CommitLimit", n.memTotalKB / 2, true},
		{"Committed_AS", kb(t.anon) * 3, true},
		{"VmallocTotal", 34359738367, true},
		{"VmallocUsed", 41236, true},
		{"VmallocChunk", 0, true},
		{"Percpu", int64(n.cpus) * 1536, true},
		{"HardwareCorrupted", 0, true},
		{"AnonHugePages", kb(t.anonTHP), true},
		{"ShmemHugePages", 0, true},
		{"ShmemPmdMapped", 0, true},
		{"FileHugePages", 0, modern},
		{"FilePmdMapped", 0, modern},
		{"Unaccepted", 0, modern},
	}
	var s strings.Builder
	for _, r := range rows {
		if r.ok {
			fmt.Fprintf(&s, "%-15s %8d kB\n", r.key+":", r.val)
		}
	}
	fmt.Fprintf(&s, "HugePages_Total: %7d\nHugePages_Free:  %7d\nHugePages_Rsvd:  %7d\nHugePages_Surp:  %7d\n", n.hugePages, n.hugePagesFree, 0, 0)
	fmt.Fprintf(&s, "Hugepagesize:   %8d kB\n", n.hugePageSizeKB())
	if modern {
		fmt.Fprintf(&s, "Hugetlb:        %8d kB\n", n.hugetlbKB())
	}
	direct1G := n.memTotalKB / (1 << 20) * (1 << 20)
	fmt.Fprintf(&s, "%-15s %8d kB\n%-15s %8d kB\n%-15s %8d kB\n", "DirectMap4k:", int64(210936),
		"DirectMap2M:", n.memTotalKB-direct1G-210936+2097152, "DirectMap1G:", direct1G-2097152)
	return s.String()
}

// procStat renders /proc/stat; btime turns printk stamps into wall time.
func procStat(n *nodeModel) string {
	up := int64(n.created.Sub(n.boot).Seconds())
	var s strings.Builder
	line := func(name string, share int64) {
		user := up * share * 21 / 100
		fmt.Fprintf(&s, "%s %d %d %d %d %d %d %d 0 0 0\n", name, user, user/90, user/3,
			up*share-user-user/3, user/400, 0, user/150)
	}
	line("cpu ", int64(n.cpus)*100)
	for i := 0; i < n.cpus; i++ {
		fmt.Fprintf(&s, "cpu%d", i)
		line("", 100)
	}
	fmt.Fprintf(&s, "intr %d 9 0 0 0 0 0 0 0 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n", up*2213)
	fmt.Fprintf(&s, "ctxt %d\n", up*4417)
	fmt.Fprintf(&s, "btime %d\n", n.boot.Unix())
	fmt.Fprintf(&s, "processes %d\n", int64(n.nextPID)+up/3)
	fmt.Fprintf(&s, "procs_running 2\nprocs_blocked 0\n")
	fmt.Fprintf(&s, "softirq %d 0 %d 1 %d 0 0 %d %d 0 %d\n", up*1500, up*400, up*90, up*7, up*300, up*600)
	return s.String()
}

// nodeInfo is the manifest's node block.
func (n *nodeModel) nodeInfo() bundle.NodeInfo {
	mode := "unified"
	if n.cgroupV == 1 {
		mode = "hybrid"
		if n.v1Kernel != v1Upstream6 {
			mode = "legacy"
		}
	}
	return bundle.NodeInfo{
		Hostname: n.hostname, NodeName: n.name, Kernel: n.kernel,
		CgroupMode: mode, CgroupVersion: n.cgroupV, CgroupDriver: n.driver,
		PageSize: pageSize, MemTotalBytes: n.memTotalKB * 1024,
		BootTime: n.boot.UTC().Format("2006-01-02T15:04:05Z07:00"),
	}
}
