package main

import (
	"fmt"
	"strings"
	"time"
)

// buildFragmentation is a CentOS 7.6 node (3.10.0-957, docker, cgroupfs,
// kubelet v1.15) 71 days after boot, booted without cgroup.memory=nokmem.
// runc enables kernel memory accounting for every container, and on 3.10
// each memcg with kmem accounting gets its own copy of every slab cache it
// touches; the copies of removed containers stay behind
// (kubernetes/kubernetes#61937). Months of CronJob pods have left 10 GiB
// of slab spread over the Normal zone: its free memory is plenty but sits
// in 4 KiB and 8 KiB blocks between unmovable slab pages.
//
// Each new pod sandbox makes runc unshare a network namespace;
// nf_conntrack_init_net (torvalds/linux v3.10 net/netfilter/
// nf_conntrack_core.c) then creates the namespace's own "nf_conntrack_%p"
// slab cache, and with kmem accounting active memcg_register_cache
// (mm/memcontrol.c) kzallocs the root cache's memcg_caches array, one
// pointer per kmem-limited memcg ID (memcg_limited_groups_array_size):
// tens of thousands of IDs make it 256 KiB, a physically contiguous
// order-6 request (kmalloc_order_trace on SLUB). Orders above
// PAGE_ALLOC_COSTLY_ORDER (3) never invoke the OOM killer
// (mm/page_alloc.c __alloc_pages_may_oom), so the allocation fails with
// warn_alloc_failed's report, kmem_cache_create_memcg logs the failure
// (mm/slab_common.c), and "Unable to create nf_conn slab cache" ends the
// namespace: the sandbox is not created and kubelet retries.
func buildFragmentation() *bundleFiles {
	kernel, build, tag, osr, cmd := centos7()
	n := newNodeModel(&nodeModel{
		name: "k8s-node-023", hostname: "k8s-node-023", ip: "10.2.0.23",
		kernel: kernel, kernelBuild: build, buildTag: tag, osRelease: osr, cmdline: cmd,
		hardware: "VMware, Inc. VMware Virtual Platform/440BX Desktop Reference Platform, BIOS 6.00 12/12/2018",
		cpus:     8, memTotalKB: 32779340, kernelOtherKB: 11540000, slabKB: 10485760,
		boot: utc("2020-08-03T04:12:51Z"), created: utc("2020-10-13T09:47:30Z"),
		cgroupV: 1, driver: "cgroupfs", runtime: "docker", v1Kernel: v1RHEL7,
		kubeletVersion: "v1.15.12",
	})
	kubeletArgv := kubeletFlags(n, "--cgroup-driver=cgroupfs", "--network-plugin=cni", "--pod-infra-container-image=k8s.gcr.io/pause:3.1")
	kubelet, _ := systemServices(n, kubeletArgv)
	systemPods(n, n.boot.Add(3*time.Minute))
	addApps(n, n.boot.Add(2*time.Hour), ordinaryApps())
	// dockerd writes every container's json-file log: 15 GiB of page cache
	// in docker.service leave MemFree at about 920 MiB, as reclaim keeps it
	// a little above the high watermarks.
	logs := pages((n.memFreeKB() - 941212) * 1024)
	d := n.unit("docker.service")
	d.local.activeFile += pages(logs * 3 / 5)
	d.local.inactiveFile += logs - pages(logs*3/5)

	// Three sandboxes of one CronJob run failed 2 h 41 min before
	// collection, kubelet's retries 1 and 4 minutes apart; the fourth
	// attempt found an order-6 block (kcompactd had made one) and the Job
	// ran and finished, so its pod is gone from kubelet's pod list.
	klog := &kernLog{n: n, style: styleDmesg}
	klog.bootNoise()
	first := n.created.Add(-2*time.Hour - 41*time.Minute)
	fails := []struct {
		after time.Duration
		pid   int
		netns string // the new struct net's address, in the cache name
		free  frag
	}{
		{0, 28811, "ffff9a3c5e7b0000", frag{normal0: 131072 + 2211, normal1: 20118, normal2: 1412, normal3: 215, normal4: 31, normal5: 4, dma32_0: 41236, dma32_1: 6346, dma32_2: 335, dma32_3: 27}},
		{63*time.Second + 412*time.Millisecond, 29260, "ffff9a3b0e2a4000", frag{normal0: 129655, normal1: 19980, normal2: 1398, normal3: 210, normal4: 30, normal5: 3, dma32_0: 41102, dma32_1: 6340, dma32_2: 333, dma32_3: 27}},
		{5*time.Minute + 9*time.Second + 77*time.Millisecond, 30977, "ffff9a3d11c86000", frag{normal0: 133910, normal1: 20302, normal2: 1440, normal3: 219, normal4: 33, normal5: 5, dma32_0: 41377, dma32_1: 6351, dma32_2: 338, dma32_3: 28}},
	}
	for _, f := range fails {
		at := klog.since(first.Add(f.after))
		at = klog.block(at, allocFailure310(n, "runc:[1:CHILD]", f.pid, 5, 6, "0x10c0d0", stackNetnsMemcgCache310))
		at = showMem310(klog, n, at, f.free)
		at = klog.block(at, append([]string{
			fmt.Sprintf("kmem_cache_create(nf_conntrack_%s) failed with error -12", f.netns),
			fmt.Sprintf("CPU: 5 PID: %d Comm: runc:[1:CHILD] Kdump: loaded Tainted: G               ------------ T %s #1", f.pid, n.kernel),
			"Hardware name: " + n.hardware,
			"Call Trace:",
		}, stackNetnsCreate310...))
		klog.add(at, "Unable to create nf_conn slab cache")
	}

	b := newBundle(n.created, n.nodeInfo())
	cfg := baseKubeletConfig("cgroupfs")
	cfg.KubeReserved = map[string]string{"cpu": "500m", "memory": "1Gi"}
	cfg.SystemReserved = map[string]string{"cpu": "500m", "memory": "1Gi"}
	cfg.ResolverConfig = ptr("/etc/resolv.conf")
	n.kubepods.limit = pages(n.memTotalKB*1024 - 2<<30)
	writeCommon(b, n, klog, cfg, kubeletArgv, kubelet)
	// /proc/buddyinfo at collection: still no block of order 6 or more in
	// Normal or DMA32 (mm/vmstat.c frag_show_print).
	b.put("node/buddyinfo", []byte(buddyinfo(n)))
	standardSources(b, false, false, false)
	return b
}

// frag is the free blocks of DMA32 and Normal by order at one moment (DMA
// is the untouched 15908 kB every x86 node keeps).
type frag struct {
	normal0, normal1, normal2, normal3, normal4, normal5 int64
	dma32_0, dma32_1, dma32_2, dma32_3                   int64
}

func (f frag) normalKB() int64 {
	return f.normal0*4 + f.normal1*8 + f.normal2*16 + f.normal3*32 + f.normal4*64 + f.normal5*128
}
func (f frag) dma32KB() int64 { return f.dma32_0*4 + f.dma32_1*8 + f.dma32_2*16 + f.dma32_3*32 }

const dmaFreeKB = 15908

// Zone sizes of a 32 GB VM in kB: DMA below 16 MiB, DMA32 up to 4 GiB.
const (
	dmaPresentKB   = 15992
	dma32PresentKB = 3129212
	dma32ManagedKB = 3063676
)

// allocFailure310 is the head of 3.10's warn_alloc_failed report: the
// message, dump_stack's CPU and hardware lines, the call trace.
func allocFailure310(n *nodeModel, comm string, pid, cpu, order int, mode string, stack []string) []string {
	l := []string{
		fmt.Sprintf("%s: page allocation failure: order:%d, mode:%s", comm, order, mode),
		fmt.Sprintf("CPU: %d PID: %d Comm: %s Kdump: loaded Tainted: G               ------------ T %s #1", cpu, pid, comm, n.kernel),
		"Hardware name: " + n.hardware,
		"Call Trace:",
	}
	return append(l, stack...)
}

// showMem310 prints 3.10's show_mem: the Mem-Info counters (one printk
// with embedded newlines), each zone's watermarks and counters, the
// lowmem reserves, the free lists by order and the page totals
// (torvalds/linux v3.10 mm/page_alloc.c show_free_areas, lib/show_mem.c).
// Free memory is f's; the rest is the node model at collection time,
// with the page cache holding what is free now but was not then.
func showMem310(k *kernLog, n *nodeModel, at time.Duration, f frag) time.Duration {
	t := n.root.total()
	freeKB := dmaFreeKB + f.dma32KB() + f.normalKB()
	fileP := (t.file()/1024 + n.memFreeKB() - freeKB) / 4
	inactAnon, actAnon := t.anonLRU()
	aa, ia := actAnon/pageSize, inactAnon/pageSize
	slabP := n.slabKB / 4
	sRecl := slabP * 45 / 100
	rest := n.kernelOtherKB - n.slabKB
	ptP, stackKB := rest*5/16/4, rest/8
	af, inf := fileP*3/5, fileP-fileP*3/5
	k.add(at, "Mem-Info:")
	k.add(at+2*time.Microsecond, "active_anon:%d inactive_anon:%d isolated_anon:0", aa, ia)
	k.cont(fmt.Sprintf(" active_file:%d inactive_file:%d isolated_file:0", af, inf))
	k.cont(" unevictable:0 dirty:311 writeback:0 unstable:0")
	k.cont(fmt.Sprintf(" slab_reclaimable:%d slab_unreclaimable:%d", sRecl, slabP-sRecl))
	k.cont(fmt.Sprintf(" mapped:%d shmem:721 pagetables:%d bounce:0", fileP/9, ptP))
	k.cont(fmt.Sprintf(" free:%d free_pcp:187 free_cma:0", freeKB/4))
	normalPresent := n.memTotalKB + 262144 - dma32PresentKB - dmaPresentKB
	normalManaged := n.memTotalKB - dma32ManagedKB - dmaFreeKB
	// min_free_kbytes 67584 (khugepaged's recommendation for three zones,
	// mm/huge_memory.c set_recommended_min_free_kbytes) split by managed
	// size; low = min + min/4, high = min + min/2 (__setup_per_zone_wmarks).
	const minFree = 67584
	zmin := func(managed int64) int64 { return minFree * managed / n.memTotalKB }
	zone := func(name string, free, min, present, managed, anonA, anonI, fA, fI, slabR, slabU, stack, pt int64) string {
		// Dirty pages, shmem and per-CPU free pages are all in Normal.
		dirty, shmem, pcp, unrecl := int64(0), int64(0), int64(0), "no"
		switch name {
		case "Normal":
			dirty, shmem, pcp = 1244, 2884, 748
		case "DMA":
			unrecl = "yes"
		}
		return fmt.Sprintf("Node 0 %s free:%dkB min:%dkB low:%dkB high:%dkB active_anon:%dkB inactive_anon:%dkB active_file:%dkB inactive_file:%dkB unevictable:0kB isolated(anon):0kB isolated(file):0kB present:%dkB managed:%dkB mlocked:0kB dirty:%dkB writeback:0kB mapped:%dkB shmem:%dkB slab_reclaimable:%dkB slab_unreclaimable:%dkB kernel_stack:%dkB pagetables:%dkB unstable:0kB bounce:0kB free_pcp:%dkB local_pcp:0kB free_cma:0kB writeback_tmp:0kB pages_scanned:0 all_unreclaimable? %s",
			name, free, min, min+min/4, min+min/2, anonA, anonI, fA, fI, present, managed, dirty, (fA+fI)/9, shmem, slabR, slabU, stack, pt, pcp, unrecl)
	}
	// DMA32 holds a tenth of each kind, Normal the rest.
	d32 := func(v int64) int64 { return v / 10 }
	lines := []string{
		zone("DMA", dmaFreeKB, zmin(dmaFreeKB), dmaPresentKB, dmaFreeKB, 0, 0, 0, 0, 0, 0, 0, 0),
		fmt.Sprintf("lowmem_reserve[]: 0 %d %d %d", dma32ManagedKB/4/256, (dma32ManagedKB+normalManaged)/4/256, (dma32ManagedKB+normalManaged)/4/256),
		zone("DMA32", f.dma32KB(), zmin(dma32ManagedKB), dma32PresentKB, dma32ManagedKB, d32(aa*4), d32(ia*4), d32(af*4), d32(inf*4), d32(sRecl*4), d32((slabP-sRecl)*4), 1536, d32(ptP*4)),
		fmt.Sprintf("lowmem_reserve[]: 0 0 %d %d", normalManaged/4/256, normalManaged/4/256),
		zone("Normal", f.normalKB(), zmin(normalManaged), normalPresent, normalManaged, aa*4-d32(aa*4), ia*4-d32(ia*4), af*4-d32(af*4), inf*4-d32(inf*4), sRecl*4-d32(sRecl*4), (slabP-sRecl)*4-d32((slabP-sRecl)*4), stackKB-1536, ptP*4-d32(ptP*4)),
		"lowmem_reserve[]: 0 0 0 0",
		fmt.Sprintf("Node 0 DMA: 1*4kB (U) 0*8kB 0*16kB 1*32kB (U) 2*64kB (U) 1*128kB (U) 1*256kB (U) 0*512kB 1*1024kB (U) 1*2048kB (M) 3*4096kB (M) = %dkB", dmaFreeKB),
		fmt.Sprintf("Node 0 DMA32: %d*4kB (UEM) %d*8kB (UEM) %d*16kB (EM) %d*32kB (E) 0*64kB 0*128kB 0*256kB 0*512kB 0*1024kB 0*2048kB 0*4096kB = %dkB", f.dma32_0, f.dma32_1, f.dma32_2, f.dma32_3, f.dma32KB()),
		fmt.Sprintf("Node 0 Normal: %d*4kB (UEM) %d*8kB (UEM) %d*16kB (UEM) %d*32kB (UEM) %d*64kB (EM) %d*128kB (M) 0*256kB 0*512kB 0*1024kB 0*2048kB 0*4096kB = %dkB", f.normal0, f.normal1, f.normal2, f.normal3, f.normal4, f.normal5, f.normalKB()),
		"Node 0 hugepages_total=0 hugepages_free=0 hugepages_surp=0 hugepages_size=1048576kB",
		"Node 0 hugepages_total=0 hugepages_free=0 hugepages_surp=0 hugepages_size=2048kB",
		fmt.Sprintf("%d total pagecache pages", fileP),
		"0 pages in swap cache",
		"Swap cache stats: add 0, delete 0, find 0/0",
		"Free swap  = 0kB",
		"Total swap = 0kB",
		fmt.Sprintf("%d pages RAM", (n.memTotalKB+262144)/4),
		"0 pages HighMem/MovableOnly",
		fmt.Sprintf("%d pages reserved", (262144+31000)/4),
	}
	return k.block(at+5*time.Microsecond, lines)
}

// buddyinfo renders /proc/buddyinfo for the node's MemFree at collection:
// DMA untouched, DMA32 and Normal with nothing above order 5. What is
// free beyond the listed higher orders sits in order-0 pages; a few pages
// are on the per-CPU lists and in no free list.
func buddyinfo(n *nodeModel) string {
	const pcpKB = 748
	d32 := frag{dma32_0: 40118, dma32_1: 6212, dma32_2: 329, dma32_3: 26}
	nor := frag{normal1: 21877, normal2: 1511, normal3: 236, normal4: 35, normal5: 6}
	left := n.memFreeKB() - pcpKB - dmaFreeKB - d32.dma32KB() - nor.normalKB()
	nor.normal0 = left / 4
	row := func(zone string, c ...int64) string {
		var s strings.Builder
		fmt.Fprintf(&s, "Node 0, zone %8s", zone)
		for _, v := range c {
			fmt.Fprintf(&s, " %6d", v)
		}
		return s.String() + " \n"
	}
	return row("DMA", 1, 0, 0, 1, 2, 1, 1, 0, 1, 1, 3) +
		row("DMA32", d32.dma32_0, d32.dma32_1, d32.dma32_2, d32.dma32_3, 0, 0, 0, 0, 0, 0, 0) +
		row("Normal", nor.normal0, nor.normal1, nor.normal2, nor.normal3, nor.normal4, nor.normal5, 0, 0, 0, 0, 0)
}

// Stacks of 3.10.0-957 for runc unsharing a network namespace: the order-6
// kzalloc of the memcg cache array, and kmem_cache_create_memcg's own
// dump_stack when it gives up.
var (
	stackNetnsMemcgCache310 = []string{
		" [<ffffffffa8763107>] dump_stack+0x19/0x1b",
		" [<ffffffffa81bce00>] warn_alloc_failed+0x110/0x180",
		" [<ffffffffa875e87c>] __alloc_pages_slowpath+0x6b6/0x724",
		" [<ffffffffa81c1494>] __alloc_pages_nodemask+0x404/0x420",
		" [<ffffffffa820e148>] alloc_pages_current+0x98/0x110",
		" [<ffffffffa81bb63e>] __get_free_pages+0xe/0x40",
		" [<ffffffffa821a40e>] kmalloc_order_trace+0x2e/0xa0",
		" [<ffffffffa821e501>] __kmalloc+0x211/0x230",
		" [<ffffffffa822e2c9>] memcg_register_cache+0xb9/0xe0",
		" [<ffffffffa81dad70>] kmem_cache_create_memcg+0x110/0x230",
		" [<ffffffffa81daebb>] kmem_cache_create+0x2b/0x30",
	}
	stackNetnsCreate310 = []string{
		" [<ffffffffa8763107>] dump_stack+0x19/0x1b",
		" [<ffffffffa81dadc2>] kmem_cache_create_memcg+0x162/0x230",
		" [<ffffffffa81daebb>] kmem_cache_create+0x2b/0x30",
	}
)

func init() {
	tail := []string{
		" [<ffffffffc06b1a21>] nf_conntrack_init_net+0x101/0x250 [nf_conntrack]",
		" [<ffffffffc06b22f4>] nf_conntrack_pernet_init+0x14/0x150 [nf_conntrack]",
		" [<ffffffffa8633f7c>] ops_init+0x3c/0x100",
		" [<ffffffffa863415e>] setup_net+0xae/0x160",
		" [<ffffffffa86349bd>] copy_net_ns+0x8d/0x140",
		" [<ffffffffa80c7c99>] create_new_namespaces+0xf9/0x180",
		" [<ffffffffa80c7eea>] unshare_nsproxy_namespaces+0x5a/0xc0",
		" [<ffffffffa8098efb>] SyS_unshare+0x1cb/0x340",
		" [<ffffffffa8775ddb>] system_call_fastpath+0x22/0x27",
	}
	stackNetnsMemcgCache310 = append(stackNetnsMemcgCache310, tail...)
	stackNetnsCreate310 = append(stackNetnsCreate310, tail...)
}
