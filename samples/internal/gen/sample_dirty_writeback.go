package main

import (
	"fmt"
	"time"
)

// buildDirtyWriteback is a cgroup v2 node (Ubuntu 22.04 HWE 6.8) where an
// export job writes a large CSV through the page cache to a PVC on a
// throughput-optimised EBS HDD volume (st1). Dirty pages are charged to
// the writer's memcg (torvalds/linux:Documentation/admin-guide/cgroup-v2.rst
// "Writeback"); the disk drains them slower than the job writes, so at the
// limit most of the container's file pages are dirty or under writeback,
// which reclaim cannot free at once, and the charge of the next page-cache
// folio in the write path ends in a memcg OOM kill. The restarted job is
// at it again.
func buildDirtyWriteback() *bundleFiles {
	kernel, build, tag, osr, cmd := ubuntu2204(false)
	n := newNodeModel(&nodeModel{
		name: "ip-10-0-9-77.eu-west-1.compute.internal", hostname: "ip-10-0-9-77", ip: "10.0.9.77",
		kernel: kernel, kernelBuild: build, buildTag: tag, osRelease: osr, cmdline: cmd,
		hardware: "Amazon EC2 m5.xlarge/, BIOS 1.0 10/16/2017",
		cpus:     4, memTotalKB: 16070036, kernelOtherKB: 388000,
		boot: utc("2024-09-02T06:11:40Z"), created: utc("2024-09-03T01:20:12Z"),
		cgroupV: 2, driver: "systemd", runtime: "containerd", v1Kernel: v1Upstream6,
		kubeletVersion: "v1.29.6",
	})
	kubelet, _ := systemServices(n, kubeletFlags(n))
	systemPods(n, n.boot.Add(3*time.Minute))
	addApps(n, n.boot.Add(20*time.Minute), ordinaryApps()[:5])

	n.nextPID = 1212311
	oomAt := n.created.Add(-9*time.Minute - 41*time.Second)
	prevID := hexID("etl-export-attempt-0")
	exporter := &procModel{comm: "python3", argv: []string{"python3", "/app/export.py", "--out=/data/export/orders-2024-09-02.csv"},
		vmSizeKB: 612440, anonKB: 289120, fileKB: 10240, threads: 4,
		fds: [][2]string{{"/data/export/orders-2024-09-02.csv", "2861563904"}}}
	p := &podModel{ns: "data", name: "etl-export-28753920-fz4kq", ownerKind: "Job", owner: "etl-export-28753920",
		created: utc("2024-09-03T00:00:04Z"), ip: "10.244.3.61"}
	c := &ctrModel{
		name: "exporter", image: "registry.internal/data/etl-export:2.3.0", imageID: "registry.internal/data/etl-export@sha256:" + hexID("etl-export:2.3.0"),
		req: rl("500m", "512Mi"), lim: rl("2", "1Gi"), started: oomAt.Add(3 * time.Second), restarts: 1,
		last:  oomKilled(n, prevID, p.created.Add(6*time.Second), oomAt.Add(time.Second)),
		procs: []*procModel{exporter},
	}
	p.containers = []*ctrModel{c}
	// Nine minutes into the second attempt: 2.7 GiB written, a third of
	// the container's page cache still dirty or in flight.
	n.addPod(p, map[string]charge{"exporter": {
		anon: mib(282) + 139264, activeFile: mib(96), inactiveFile: mib(371), dirty: mib(147), writeback: mib(58),
		kernel: mib(9) + 401408, sock: 4096, mappedFile: mib(10), activeAnonPct: 80, pgfault: 412331, pgmajfault: 12, refaultFile: 3120,
	}})
	for m := p.cg; m != n.root; m = m.parent {
		m.goneMax, m.goneOOM, m.goneOOMKill = 183412, 1, 1
	}

	// The kill: 1Gi charged, 672 MiB of it dirty or under writeback.
	victim := oomTask{pid: 1190477, uid: 0, totalVM: 153110, anon: 74211, file: 2560, pgtables: 974848, adj: n.oomScoreAdj(p, c), comm: "python3"}
	atOOM := charge{anon: victim.anon * pageSize, dirty: mib(468), writeback: mib(204), kernel: mib(10) + 155648,
		mappedFile: mib(10), activeAnonPct: 85, pgfault: 402311, pgmajfault: 9, refaultFile: 5712}
	atOOM.activeFile = mib(41)
	atOOM.inactiveFile = 1<<30 - atOOM.anon - atOOM.kernel - atOOM.activeFile
	prevPath := p.cg.path() + "/" + n.ctrCgroupName(prevID)
	usageKB := (atOOM.anon + atOOM.file() + atOOM.kernel) / 1024
	if usageKB != 1<<20 {
		panic(fmt.Sprintf("dirty writeback: usage at OOM %d kB, want the limit", usageKB))
	}
	r := oomReport{
		trigger: victim, victim: victim, cpu: 2, gfp: "0x101cca(GFP_HIGHUSER_MOVABLE|__GFP_WRITE)",
		oomMemcg: prevPath, taskMemcg: prevPath, cpusetLeaf: n.ctrCgroupName(prevID),
		usageKB: usageKB, limitKB: 1 << 20, failcnt: 183412,
		memcgStat: v2MemoryStat(atOOM), tasks: []oomTask{victim}, stack: stackWrite68,
	}
	klog := &kernLog{n: n, style: styleDmesg}
	klog.bootNoise()
	at := klog.block(klog.since(oomAt), r.modern(n))
	klog.add(at+4112*time.Microsecond, "%s", reaper(victim, 0))

	b := newBundle(n.created, n.nodeInfo())
	cfg := baseKubeletConfig("systemd")
	cfg.KubeReserved = map[string]string{"cpu": "80m", "memory": "893Mi"}
	n.kubepods.limit = pages(n.memTotalKB*1024 - mib(893))
	writeCommon(b, n, klog, cfg, kubeletFlags(n), exporter, kubelet)
	standardSources(b, false, false, false)
	return b
}

// stackWrite68 is a 6.8 buffered write on ext4 whose new page-cache folio
// cannot be charged (mm/filemap.c __filemap_add_folio → mem_cgroup_charge).
var stackWrite68 = []string{
	"  dump_stack_lvl+0x76/0xa0", "  dump_stack+0x10/0x20", "  dump_header+0x47/0x1f0",
	"  oom_kill_process+0x118/0x280", "  out_of_memory+0x103/0x350", "  mem_cgroup_out_of_memory+0x145/0x170",
	"  try_charge_memcg+0x6d6/0x7d0", "  __mem_cgroup_charge+0x45/0xb0", "  __filemap_add_folio+0x35c/0x440",
	"  ? __pfx_workingset_update_node+0x10/0x10", "  filemap_add_folio+0x3e/0xb0", "  __filemap_get_folio+0x16b/0x320",
	"  ext4_da_write_begin+0x134/0x300", "  generic_perform_write+0xdd/0x270", "  ext4_buffered_write_iter+0x6b/0x120",
	"  ext4_file_write_iter+0x3e/0x70", "  vfs_write+0x2a1/0x460", "  ksys_write+0x73/0x100",
	"  __x64_sys_write+0x19/0x30", "  x64_sys_call+0x1d4f/0x25c0", "  do_syscall_64+0x7f/0x180",
	"  entry_SYSCALL_64_after_hwframe+0x78/0x80", " RIP: 0033:0x7f1c2e714887",
	" RSP: 002b:00007ffd4a3e1b08 EFLAGS: 00000246 ORIG_RAX: 0000000000000001",
	" RAX: ffffffffffffffda RBX: 0000000000100000 RCX: 00007f1c2e714887",
	" RDX: 0000000000100000 RSI: 00007f1c2c0ff010 RDI: 0000000000000003",
}
