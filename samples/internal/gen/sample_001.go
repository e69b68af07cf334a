package main

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// buildSeed001 reproduces seed 001: its leak program (a map of 1 KiB
// slices growing every Ticker ms, promhttp on :8000) grows anon memory to
// the container limit (256Mi, stated in samples/README.md) and the kernel
// OOM-kills it on cgroup v2. The restarted container is small again and
// shows usage ≥ working set ≥ rss, the seed's point.
func buildSeed001() *bundleFiles {
	kernel, build, tag, osr, cmd := ubuntu2204(false)
	n := newNodeModel(&nodeModel{
		name: "ip-10-0-7-102.ec2.internal", hostname: "ip-10-0-7-102", ip: "10.0.7.102",
		kernel: kernel, kernelBuild: build, buildTag: tag, osRelease: osr, cmdline: cmd,
		hardware: "Amazon EC2 m5.large/, BIOS 1.0 10/16/2017",
		cpus:     2, memTotalKB: 7958128, kernelOtherKB: 301000,
		boot: utc("2024-05-20T08:02:17Z"), created: utc("2024-05-21T10:41:05Z"),
		cgroupV: 2, driver: "systemd", runtime: "containerd", v1Kernel: v1Upstream6,
		kubeletVersion: "v1.29.4",
	})
	kubelet, _ := systemServices(n, kubeletFlags(n))
	systemPods(n, n.boot.Add(3*time.Minute))

	n.nextPID = 38902 // pids at this uptime; the killed attempt had 38211
	oomAt := n.created.Add(-14*time.Minute - 22*time.Second)
	started := oomAt.Add(2 * time.Second)
	prevID := hexID("leak-container-attempt-0")
	leak := &procModel{comm: "main", argv: []string{"./main"}, vmSizeKB: 1311240, anonKB: 99840, fileKB: 5120, threads: 7,
		fds: [][2]string{}}
	p := &podModel{ns: "default", name: "leak-6b8d9c7f4-q9vxz", ownerKind: "ReplicaSet", owner: "leak-6b8d9c7f4",
		created: utc("2024-05-21T10:14:51Z"), ip: "10.244.1.23"}
	c := &ctrModel{
		name: "leak", image: "registry.internal/demo/memleak:1.0", imageID: "registry.internal/demo/memleak@sha256:" + hexID("memleak:1.0"),
		req: rl("100m", "128Mi"), lim: rl("500m", "256Mi"), started: started, restarts: 1,
		last:  oomKilled(n, prevID, utc("2024-05-21T10:14:55Z"), oomAt.Add(time.Second)),
		ports: []corev1.ContainerPort{{Name: "metrics", ContainerPort: 8000, Protocol: corev1.ProtocolTCP}},
		procs: []*procModel{leak},
	}
	p.containers = []*ctrModel{c}
	n.addPod(p, map[string]charge{"leak": {
		anon: mib(97) + 368640, activeFile: mib(9), inactiveFile: mib(31), kernel: 1699840, sock: 8192,
		mappedFile: mib(5), activeAnonPct: 35, pgfault: 61882, pgmajfault: 17, refaultFile: 0,
	}})
	// The OOM-killed attempt's scope is gone; its events stay counted in
	// the ancestors' hierarchical memory.events (cgroup-v2 doc).
	for m := p.cg; m != n.root; m = m.parent {
		m.goneMax, m.goneOOM, m.goneOOMKill = 5012, 1, 1
	}
	p.cg.psiSomeTotal, p.cg.psiFullTotal = 4812277, 4511092
	c.cg.psiSomeTotal, c.cg.psiFullTotal = 912, 455

	// The kernel's report of the kill, cgroup v2 on 6.8.
	victim := oomTask{pid: 38211, uid: 0, totalVM: 328810, anon: 65306, file: 1412, shmem: 0, pgtables: 659456, adj: n.oomScoreAdj(p, c), comm: "main"}
	atOOM := charge{anon: 263495680, activeFile: 1441792, inactiveFile: 1347584, kernel: 2150400, sock: 0,
		mappedFile: 5783552, activeAnonPct: 2, pgfault: 163121, pgmajfault: 21, refaultFile: 211}
	prevPath := p.cg.path() + "/" + n.ctrCgroupName(prevID)
	usageKB := (atOOM.anon + atOOM.file() + atOOM.kernel) / 1024
	r := oomReport{
		trigger: victim, victim: victim, cpu: 1, gfp: "0xcc0(GFP_KERNEL)",
		oomMemcg: prevPath, taskMemcg: prevPath, cpusetLeaf: n.ctrCgroupName(prevID),
		usageKB: usageKB, limitKB: 262144, failcnt: 5012,
		memcgStat: v2MemoryStat(atOOM), tasks: []oomTask{victim}, stack: stackAnon68,
	}
	if usageKB != 262144 {
		panic(fmt.Sprintf("seed 001: usage at OOM %d kB, want the limit", usageKB))
	}
	klog := &kernLog{n: n, style: styleDmesg}
	klog.bootNoise()
	at := klog.block(klog.since(oomAt), r.modern(n))
	klog.add(at+6331*time.Microsecond, "%s", reaper(victim, 0))

	b := newBundle(n.created, n.nodeInfo())
	cfg := baseKubeletConfig("systemd")
	cfg.KubeReserved = map[string]string{"cpu": "80m", "memory": "574Mi"}
	n.kubepods.limit = pages(n.memTotalKB*1024 - mib(574))
	writeCommon(b, n, klog, cfg, kubeletFlags(n), leak, kubelet)
	standardSources(b, false, false, false)
	return b
}
