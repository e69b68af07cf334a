package main

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	statsapi "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
)

// buildSwapHugepages is a cgroup v2 node (Ubuntu 22.04 HWE 6.8, kubelet
// v1.30) where the node image both turned on NodeSwap and reserved static
// huge pages:
//
//   - an 8 GiB /swapfile, failSwapOn false and memorySwap.swapBehavior
//     LimitedSwap. kubelet then gives each Burstable container
//     memory.swap.max = its memory request / the node's memory × the
//     swap size, and Guaranteed, BestEffort and node-critical pods no swap
//     (kubernetes/enhancements:keps/sig-node/2400-node-swap/README.md
//     "Steps to Calculate Swap Limit"; memory.swap.max is rounded down to
//     pages by the kernel, mm/memcontrol.c swap_max_write).
//   - vm.nr_hugepages=4096 (8 GiB of 2 MiB pages) for one PostgreSQL pod
//     that requests 2Gi of them. The pool counts in MemTotal but is never
//     free to anything else (Documentation/admin-guide/mm/hugetlbpage.rst);
//     kubelet subtracts the pool from allocatable memory
//     (kubernetes/website:content/en/docs/tasks/manage-hugepages/scheduling-hugepages.md).
//
// A reporting JVM with a 6Gi request has 1.3 GiB of cold heap in swap;
// shop's worker 71 MiB. Swapped pages are in no anon counter and in no
// memory.available kubelet computes.
func buildSwapHugepages() *bundleFiles {
	kernel, build, tag, osr, cmd := ubuntu2204(false)
	n := newNodeModel(&nodeModel{
		name: "ip-10-0-21-118.eu-west-1.compute.internal", hostname: "ip-10-0-21-118", ip: "10.0.21.118",
		kernel: kernel, kernelBuild: build, buildTag: tag, osRelease: osr, cmdline: cmd,
		hardware: "Amazon EC2 m6i.2xlarge/, BIOS 1.0 10/16/2017",
		cpus:     8, memTotalKB: 32386544, kernelOtherKB: 702000,
		boot: utc("2024-11-18T07:02:33Z"), created: utc("2024-11-25T14:26:09Z"),
		cgroupV: 2, driver: "systemd", runtime: "containerd", v1Kernel: v1Upstream6,
		kubeletVersion: "v1.30.4",
		// mkswap of an 8 GiB file: its first page is the swap header.
		swapTotalKB: 8<<20 - 4, swapCachedKB: 18432,
		hugePages: 4096, hugePagesFree: 3320,
	})
	kubelet, _ := systemServices(n, kubeletFlags(n))
	// The system daemons swap too: nothing set memory.swap.max 0 on
	// system.slice.
	for unit, sw := range map[string]int64{"systemd-journald.service": mib(41), "containerd.service": mib(23), "sshd.service": mib(2)} {
		n.unit(unit).local.swap = sw
	}
	n.root.local.swap = mib(12)
	systemPods(n, n.boot.Add(3*time.Minute))
	addApps(n, n.boot.Add(25*time.Minute), ordinaryApps())

	n.nextPID = 402211
	rb := &procModel{comm: "java", argv: []string{"java", "-XX:MaxRAMPercentage=75", "-jar", "/app/report-builder.jar"},
		vmSizeKB: 11812440, anonKB: 4404019, fileKB: 41220, threads: 71}
	rp := &podModel{ns: "analytics", name: "report-builder-6b9f7c5d84-tq2hx", ownerKind: "ReplicaSet", owner: "report-builder-6b9f7c5d84",
		created: n.boot.Add(26 * time.Hour), ip: "10.244.5.71"}
	rc := &ctrModel{name: "report-builder", image: "registry.internal/analytics/report-builder:5.2.0",
		imageID: "registry.internal/analytics/report-builder@sha256:" + hexID("report-builder:5.2.0"),
		req:     rl("1", "6Gi"), lim: rl("4", "10Gi"), started: rp.created.Add(6 * time.Second), procs: []*procModel{rb}}
	rp.containers = []*ctrModel{rc}
	n.addPod(rp, map[string]charge{"report-builder": {
		anon: mib(4300) + 77824, activeFile: mib(38), inactiveFile: mib(112), kernel: mib(61) + 212992, mappedFile: mib(40),
		swap: mib(1340), activeAnonPct: 35, pgfault: 8812331, pgmajfault: 88113,
	}})

	pg := &procModel{comm: "postgres", argv: []string{"postgres", "-c", "config_file=/etc/postgresql/postgresql.conf"},
		vmSizeKB: 3480112, anonKB: 201331, fileKB: 12044, threads: 1}
	dp := &podModel{ns: "shop", name: "orders-db-0", ownerKind: "StatefulSet", owner: "orders-db",
		created: n.boot.Add(40 * time.Minute), ip: "10.244.5.12"}
	hp := corev1.ResourceName("hugepages-2Mi")
	dc := &ctrModel{name: "postgres", image: "docker.io/library/postgres:16.4",
		imageID: "docker.io/library/postgres@sha256:" + hexID("postgres:16.4"),
		req:     rl("2", "4Gi"), lim: rl("2", "4Gi"), started: dp.created.Add(9 * time.Second), procs: []*procModel{pg},
		mounts: []corev1.VolumeMount{{Name: "hugepage", MountPath: "/dev/hugepages"}}}
	dc.req[hp], dc.lim[hp] = qty("2Gi"), qty("2Gi")
	dp.containers = []*ctrModel{dc}
	dp.volumes = []corev1.Volume{{Name: "hugepage", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumHugePages}}}}
	// shared_buffers (1536MB) live in the 776 huge pages it faulted in:
	// hugetlb is not charged to the memory controller.
	n.addPod(dp, map[string]charge{"postgres": {
		anon: mib(196) + 126976, activeFile: mib(1210), inactiveFile: mib(2010), dirty: mib(14), kernel: mib(38), mappedFile: mib(11),
		activeAnonPct: 60, pgfault: 2210331, pgmajfault: 120,
	}})
	n.findPod("worker-84b5c9d7f-p4wzn").containers[0].cg.local.swap = mib(71)

	// LimitedSwap's memory.swap.max for every container.
	for _, p := range n.pods {
		for _, c := range p.containers {
			c.cg.swapMax = 0
			req, lim := c.req[corev1.ResourceMemory], c.lim[corev1.ResourceMemory]
			if p.qosOf() != corev1.PodQOSBurstable || p.priorityClass != "" || req.Value() == 0 || (!lim.IsZero() && req.Cmp(lim) == 0) {
				continue
			}
			c.cg.swapMax = pages(req.Value() * n.swapTotalKB / n.memTotalKB)
			if sw := c.cg.total().swap; sw > c.cg.swapMax {
				panic(fmt.Sprintf("swap: %s swapped %d over its swap.max %d", c.name, sw, c.cg.swapMax))
			}
		}
	}

	klog := &kernLog{n: n, style: styleDmesg}
	klog.bootNoise()
	// hugetlb_init registers both sizes with an empty pool; the sysctl
	// fills the 2 MiB one, and swapon prints the area (mm/hugetlb.c,
	// mm/swapfile.c SYSCALL_DEFINE2(swapon)).
	klog.add(392114*time.Microsecond, "HugeTLB: registered 1.00 GiB page size, pre-allocated 0 pages")
	klog.add(392121*time.Microsecond, "HugeTLB: registered 2.00 MiB page size, pre-allocated 0 pages")
	klog.add(6102311*time.Microsecond, "Adding %dk swap on /swapfile.  Priority:-2 extents:7 across:8726528k SS", n.swapTotalKB)

	b := newBundle(n.created, n.nodeInfo())
	cfg := baseKubeletConfig("systemd")
	cfg.KubeReserved = map[string]string{"cpu": "90m", "memory": "1843Mi"}
	cfg.FailSwapOn = ptr(false)
	cfg.MemorySwap.SwapBehavior = "LimitedSwap"
	cfg.FeatureGates = map[string]bool{"NodeSwap": true}
	n.kubepods.limit = pages(n.memTotalKB*1024 - mib(1843))
	writeCommon(b, n, klog, cfg, kubeletFlags(n), rb, pg, kubelet)
	standardSources(b, false, false, false)
	return b
}

// swapStats is the summary's swap block for a cgroup (kubelet ≥ v1.28 with
// swap on): usage, and what memory.swap.max leaves when it is set.
func swapStats(at time.Time, m *memcg) *statsapi.SwapStats {
	s := &statsapi.SwapStats{Time: mt(at), SwapUsageBytes: u64(m.total().swap)}
	if m.swapMax >= 0 {
		s.SwapAvailableBytes = u64(m.swapMax - m.total().swap)
	}
	return s
}
