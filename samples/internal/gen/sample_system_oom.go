package main

import (
	"fmt"

	"time"
)

// buildSystemOOM is a seed-002-like ACK node (Alibaba Cloud Linux 2,
// 4.19.91, cgroup v1, kubelet v1.20) after its operator lowered the
// reservations to 50Mi + 50Mi: kubepods may then fill the node to within
// 100Mi of MemTotal, the system daemons' own memory is not kept out of the
// pods' reach, and memory ran out between two eviction polls. The kernel's
// global OOM killer chose containerd: every pod here is Guaranteed
// (oom_score_adj -997, pkg/kubelet/qos/policy.go), kubelet runs at -999,
// sshd at -1000, and the node image's own containerd.service dropped the
// upstream unit's OOMScoreAdjust=-999, so containerd at 0 scored highest
// (torvalds/linux:mm/oom_kill.c oom_badness adds adj × totalpages / 1000).
// systemd restarted it (Restart=always); it still runs at 0.
func buildSystemOOM() *bundleFiles {
	kernel, build, tag, osr, cmd := alinux2()
	n := newNodeModel(&nodeModel{
		name: "cn-hangzhou.10.0.5.42", hostname: "iZbp1c8d2k7m4x9q0vz3wsZ", ip: "10.0.5.42",
		kernel: kernel, kernelBuild: build, buildTag: tag, osRelease: osr, cmdline: cmd,
		hardware: "Alibaba Cloud Alibaba Cloud ECS, BIOS 8c24b4c 04/01/2014",
		cpus:     16, memTotalKB: 32408772, kernelOtherKB: 412000,
		boot: utc("2021-12-02T08:14:27Z"), created: utc("2021-12-03T06:31:00Z"),
		cgroupV: 1, driver: "systemd", runtime: "containerd", v1Kernel: v1Alinux419,
		kubeletVersion: "v1.20.11-aliyun.1",
	})
	oomAt := n.created.Add(-26 * time.Minute)

	kubeletArgv := kubeletFlags(n, "--container-runtime=remote", "--container-runtime-endpoint=/var/run/containerd/containerd.sock",
		"--cgroup-driver=systemd", "--kube-reserved=cpu=100m,memory=50Mi", "--system-reserved=cpu=100m,memory=50Mi",
		"--eviction-hard=imagefs.available<15%,memory.available<100Mi,nodefs.available<10%,nodefs.inodesFree<5%",
		"--enforce-node-allocatable=pods", "--pod-infra-container-image=registry-vpc.cn-hangzhou.aliyuncs.com/acs/pause:3.2")
	kubelet, containerd := systemServices(n, kubeletArgv)
	kubelet.pid, kubelet.threads = 2871, 34
	n.unit("kubelet.service").procs = []int{2871}
	// The node image's containerd unit has no OOMScoreAdjust=; the running
	// one is systemd's restart after the kill.
	killedContainerd := taskOf(containerd)
	killedContainerd.pid, killedContainerd.adj = 1187, 0
	killedContainerd.anon, killedContainerd.totalVM = pages(mib(611))/pageSize, 1961021
	containerd.oomScoreAdj, containerd.started, containerd.pid = 0, oomAt.Add(5*time.Second), 1873302
	n.unit("containerd.service").procs = []int{containerd.pid}
	// sshd lowers its listener to -1000 itself (openssh-portable
	// openbsd-compat/port-linux.c oom_adjust_setup); systemd-journald.service
	// carries OOMScoreAdjust=-250 (systemd units/systemd-journald.service.in).
	for _, q := range n.procs {
		switch q.comm {
		case "sshd -D [listen":
			q.oomScoreAdj = -1000
		case "systemd-journal":
			q.oomScoreAdj = -250
		}
	}
	// Every container has CPU and memory limits (the cluster's policy), so
	// requests default to them and every pod is Guaranteed.
	systemPodsGuaranteed(n, n.boot.Add(90*time.Second))

	n.nextPID = 1602211
	p := &podModel{ns: "ranking", name: "ranker-5f7d9b8c6-w8v4n", ownerKind: "ReplicaSet", owner: "ranker-5f7d9b8c6",
		created: n.boot.Add(3 * time.Minute), ip: "10.0.5.140"}
	c := &ctrModel{name: "ranker-service", image: "registry-vpc.cn-hangzhou.aliyuncs.com/search/ranker:4.8.2",
		imageID: "registry-vpc.cn-hangzhou.aliyuncs.com/search/ranker@sha256:" + hexID("ranker:4.8.2"),
		req:     rl("15", "29.5Gi"), lim: rl("15", "29.5Gi"), started: n.boot.Add(3*time.Minute + 5*time.Second),
		args: []string{"--conf=/opt/ranker/conf/ranker.conf"}}
	p.containers = []*ctrModel{c}
	ranker := &procModel{comm: "ranker_service", argv: []string{"/opt/ranker/bin/ranker_service", "--conf=/opt/ranker/conf/ranker.conf"},
		vmSizeKB: 31881140, anonKB: 27904312, fileKB: 13640, threads: 96}
	c.procs = []*procModel{ranker}
	n.addPod(p, map[string]charge{"ranker-service": {
		anon: 28573106176, activeFile: mib(14), inactiveFile: mib(6), mappedFile: mib(13),
		activeAnonPct: 0, pgfault: 9022331, pgmajfault: 412,
	}})
	n.noKmem()
	n.kubepods.limit = pages(n.memTotalKB*1024 - mib(100))

	// At the kill the node had no page cache left to reclaim and the
	// ranker's index rebuild held what the node had left above the free
	// pages' min watermark: its anon then is what fills MemTotal.
	n.squeezeCaches(40)
	tot := n.root.total()
	kernelKB := n.kernelOtherKB*6/10 + n.kernelOtherKB/8 + n.kernelOtherKB/20 // slab, page tables, stacks
	freeAtOOM := int64(globalOOMFreeKB) * 1024
	// containerd then held killedContainerd's anon, not its restart's.
	containerdGrowth := killedContainerd.anon*pageSize - n.unit("containerd.service").local.anon
	atOOMAnon := c.cg.local.anon + pages(n.memTotalKB*1024-tot.anon-containerdGrowth-tot.file()-kernelKB*1024-freeAtOOM)
	// The peak the kernel recorded is that moment.
	c.cg.peak = c.cg.usage() - c.cg.local.anon + atOOMAnon
	var tasks []oomTask
	for _, q := range n.procs {
		t := taskOf(q)
		switch q {
		case containerd:
			t = killedContainerd
		case ranker:
			t.anon = atOOMAnon / pageSize
		}
		tasks = append(tasks, t)
	}
	r := globalOOM{trigger: tasks[len(tasks)-1], victim: killedContainerd, cpu: 11, gfp: "0x6280ca(GFP_HIGHUSER_MOVABLE|__GFP_ZERO)",
		tasks: tasks, memTotalKB: n.memTotalKB, anonKB: (tot.anon + containerdGrowth - c.cg.local.anon + atOOMAnon) / 1024,
		fileKB: tot.file() / 1024, slabKB: n.kernelOtherKB * 6 / 10, pageTablesKB: n.kernelOtherKB / 8}

	klog := &kernLog{n: n, style: styleDmesg}
	klog.bootNoise()
	at := klog.since(oomAt)
	r.render(klog, at, n)
	klog.add(at+31*time.Millisecond, "%s", reaper(killedContainerd, 0))

	b := newBundle(n.created, n.nodeInfo())
	cfg := baseKubeletConfig("systemd")
	cfg.KubeReserved = map[string]string{"cpu": "100m", "memory": "50Mi"}
	cfg.SystemReserved = map[string]string{"cpu": "100m", "memory": "50Mi"}
	cfg.ClusterDNS = []string{"172.21.0.10"}
	writeCommon(b, n, klog, cfg, kubeletArgv, ranker, kubelet, containerd)
	standardSources(b, false, false, false)
	return b
}

// systemPodsGuaranteed adds the node's DaemonSets with CPU and memory
// limits and no requests: the API server defaults requests to limits, so
// they are Guaranteed (kubernetes/website:content/en/docs/concepts/workloads/pods/pod-qos.md).
func systemPodsGuaranteed(n *nodeModel, base time.Time) {
	systemPodsLimited(n, base, true)
	for _, p := range n.pods {
		for _, c := range p.containers {
			mem := c.lim["memory"]
			c.lim = rl("200m", mem.String())
			c.req = c.lim
		}
	}
}

// globalOOM is a node-wide (not memcg) OOM report as 4.19's dump_header
// prints it: the Mem-Info block of show_mem, the task table of every
// process, then "Out of memory: Kill process … or sacrifice child"
// (torvalds/linux v4.19:mm/oom_kill.c, mm/page_alloc.c show_free_areas).
type globalOOM struct {
	trigger, victim        oomTask
	cpu                    int
	gfp                    string
	tasks                  []oomTask
	memTotalKB             int64
	anonKB, fileKB, slabKB int64
	pageTablesKB           int64
}

// The zones' free pages at the kill: DMA's untouchable 15904 kB, DMA32
// and Normal each just above their min watermark (vm.min_free_kbytes
// 67584, which the ACK image sets on 32G nodes).
const (
	globalOOMMinKB    = 67584
	globalOOMNormalKB = globalOOMMinKB*15/16 + 1204
	globalOOMFreeKB   = globalOOMNormalKB + 15904 + 61240
)

func (r globalOOM) render(k *kernLog, at time.Duration, n *nodeModel) {
	t := r.trigger
	minKB, normalFree, free := int64(globalOOMMinKB), int64(globalOOMNormalKB), int64(globalOOMFreeKB)
	lines := []string{
		fmt.Sprintf("%s invoked oom-killer: gfp_mask=%s, nodemask=(null), order=0, oom_score_adj=%d", t.comm, r.gfp, t.adj),
		fmt.Sprintf("%s cpuset=/ mems_allowed=0", t.comm),
		fmt.Sprintf("CPU: %d PID: %d Comm: %s Tainted: G           OE     %s #1", r.cpu, t.pid, t.comm, n.kernel),
		"Hardware name: " + n.hardware,
		"Call Trace:",
		" dump_stack+0x66/0x8b", " dump_header+0x4a/0x1d4", " oom_kill_process+0x219/0x310",
		" out_of_memory+0xf7/0x4c0", " __alloc_pages_slowpath+0xc24/0xd40", " __alloc_pages_nodemask+0x245/0x280",
		" alloc_pages_vma+0x79/0x1e0", " do_anonymous_page+0x10a/0x5b0", " __handle_mm_fault+0x665/0xa20",
		" handle_mm_fault+0x106/0x1c0", " __do_page_fault+0x1b7/0x470", " do_page_fault+0x32/0x140",
		" async_page_fault+0x1e/0x30", "RIP: 0033:0x7f3b0e67a164", "Code: Bad RIP value.",
		"RSP: 002b:00007f3a9d5b69c0 EFLAGS: 00010206",
		"Mem-Info:",
	}
	at = k.block(at, lines)
	anonP, fileP, slabP := r.anonKB/4, r.fileKB/4, r.slabKB/4
	k.add(at, "active_anon:%d inactive_anon:%d isolated_anon:0", anonP*97/100, anonP*3/100)
	k.cont(fmt.Sprintf(" active_file:%d inactive_file:%d isolated_file:0", fileP*3/4, fileP-fileP*3/4))
	k.cont(" unevictable:0 dirty:14 writeback:0 unstable:0")
	k.cont(fmt.Sprintf(" slab_reclaimable:%d slab_unreclaimable:%d", slabP*45/100, slabP-slabP*45/100))
	k.cont(fmt.Sprintf(" mapped:%d shmem:721 pagetables:%d bounce:0", fileP/3, r.pageTablesKB/4))
	k.cont(fmt.Sprintf(" free:%d free_pcp:211 free_cma:0", free/4))
	normalPresent := r.memTotalKB + 262144 - 3129184 - 15992
	lines = []string{
		fmt.Sprintf("Node 0 active_anon:%dkB inactive_anon:%dkB active_file:%dkB inactive_file:%dkB unevictable:0kB isolated(anon):0kB isolated(file):0kB mapped:%dkB dirty:56kB writeback:0kB shmem:2884kB shmem_thp: 0kB shmem_pmdmapped: 0kB anon_thp: %dkB writeback_tmp:0kB unstable:0kB all_unreclaimable? yes",
			anonP*97/100*4, anonP*3/100*4, fileP*3/4*4, (fileP-fileP*3/4)*4, fileP/3*4, r.anonKB*95/100/2048*2048),
		"Node 0 DMA free:15904kB min:32kB low:40kB high:48kB active_anon:0kB inactive_anon:0kB active_file:0kB inactive_file:0kB unevictable:0kB writepending:0kB present:15992kB managed:15904kB mlocked:0kB kernel_stack:0kB pagetables:0kB bounce:0kB free_pcp:0kB local_pcp:0kB free_cma:0kB",
		"lowmem_reserve[]: 0 2955 31578 31578 31578",
		fmt.Sprintf("Node 0 DMA32 free:61240kB min:6324kB low:7904kB high:9484kB active_anon:2904116kB inactive_anon:0kB active_file:412kB inactive_file:96kB unevictable:0kB writepending:0kB present:3129184kB managed:3063604kB mlocked:0kB kernel_stack:0kB pagetables:1208kB bounce:0kB free_pcp:0kB local_pcp:0kB free_cma:0kB"),
		"lowmem_reserve[]: 0 0 28623 28623 28623",
		fmt.Sprintf("Node 0 Normal free:%dkB min:%dkB low:%dkB high:%dkB active_anon:%dkB inactive_anon:%dkB active_file:%dkB inactive_file:%dkB unevictable:0kB writepending:56kB present:%dkB managed:%dkB mlocked:0kB kernel_stack:%dkB pagetables:%dkB bounce:0kB free_pcp:844kB local_pcp:0kB free_cma:0kB",
			normalFree, minKB-6324-32, (minKB-6324-32)*5/4, (minKB-6324-32)*3/2, anonP*97/100*4-2904116, anonP*3/100*4, fileP*3/4*4-412, (fileP-fileP*3/4)*4-96, normalPresent, normalPresent-526888, r.pageTablesKB*2/5, r.pageTablesKB-1208),
		"lowmem_reserve[]: 0 0 0 0 0",
		"Node 0 DMA: 0*4kB 0*8kB 0*16kB 1*32kB (U) 2*64kB (U) 1*128kB (U) 1*256kB (U) 0*512kB 1*1024kB (U) 1*2048kB (M) 3*4096kB (M) = 15904kB",
		"Node 0 DMA32: 310*4kB (UM) 221*8kB (UME) 140*16kB (UME) 92*32kB (UME) 51*64kB (UME) 30*128kB (UME) 17*256kB (UM) 12*512kB (UM) 6*1024kB (M) 3*2048kB (M) 6*4096kB (M) = 61240kB",
		fmt.Sprintf("Node 0 Normal: %d*4kB (UME) 1872*8kB (UME) 602*16kB (UME) 141*32kB (UME) 22*64kB (UM) 3*128kB (U) 0*256kB 0*512kB 0*1024kB 0*2048kB 0*4096kB = %dkB", (normalFree-1872*8-602*16-141*32-22*64-3*128)/4, normalFree),
		"Node 0 hugepages_total=0 hugepages_free=0 hugepages_surp=0 hugepages_size=1048576kB",
		"Node 0 hugepages_total=0 hugepages_free=0 hugepages_surp=0 hugepages_size=2048kB",
		fmt.Sprintf("%d total pagecache pages", fileP),
		"0 pages in swap cache",
		"Swap cache stats: add 0, delete 0, find 0/0",
		"Free swap  = 0kB",
		"Total swap = 0kB",
		fmt.Sprintf("%d pages RAM", (r.memTotalKB+262144)/4),
		"0 pages HighMem/MovableOnly",
		"131722 pages reserved",
		"0 pages hwpoisoned",
		"Tasks state (memory values in pages):",
		"[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name",
	}
	for _, t := range r.tasks {
		lines = append(lines, fmt.Sprintf("[%7d] %5d %5d %8d %8d %8d %8d         %5d %s", t.pid, t.uid, t.pid, t.totalVM, t.rss(), t.pgtables, 0, t.adj, t.comm))
	}
	v := r.victim
	// oom_badness: rss + page tables + adj × totalpages / 1000; the report
	// prints it × 1000 / totalpages (v4.19 mm/oom_kill.c oom_kill_process).
	total := r.memTotalKB / 4
	score := (v.rss()+v.pgtables/pageSize)*1000/total + int64(v.adj)
	lines = append(lines,
		fmt.Sprintf("Out of memory: Kill process %d (%s) score %d or sacrifice child", v.pid, v.comm, score),
		fmt.Sprintf("Killed process %d (%s) total-vm:%dkB, anon-rss:%dkB, file-rss:%dkB, shmem-rss:%dkB", v.pid, v.comm, kB(v.totalVM), kB(v.anon), kB(v.file), kB(v.shmem)))
	k.block(at+2*time.Microsecond, lines)
}
