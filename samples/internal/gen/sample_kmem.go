package main

import (
	"fmt"
	"time"
)

// buildKmemLeak is the EL7-era kernel memory accounting failure on the
// sample 004 setup (CentOS 7.6, 3.10.0-957, docker, cgroupfs driver): runc
// turns on kmem accounting for every container (it writes the kmem limit
// once), the kernel is booted without cgroup.memory=nokmem, and 3.10 charges
// slab objects to the container's memory counter while reclaiming memcg
// slab poorly (kubernetes/kubernetes#61937). A filebeat DaemonSet pod that
// harvests thousands of container log files fills its 500Mi limit with
// dentries and inodes; slab allocations in its memcg caches then fail
// with SLUB warnings instead of an OOM kill (torvalds/linux v3.10
// mm/slub.c slab_out_of_memory; a memcg cache is named
// "<cache>(<memcg id>:<cgroup name>)", mm/memcontrol.c memcg_create_kmem_cache).
func buildKmemLeak() *bundleFiles {
	kernel, build, tag, osr, cmd := centos7()
	n := newNodeModel(&nodeModel{
		name: "k8s-node-017", hostname: "k8s-node-017", ip: "10.2.0.17",
		kernel: kernel, kernelBuild: build, buildTag: tag, osRelease: osr, cmdline: cmd,
		hardware: "Dell Inc. PowerEdge R640/0W23H8, BIOS 2.1.8 04/30/2019",
		cpus:     24, memTotalKB: 65685288, kernelOtherKB: 1810000,
		boot: utc("2020-03-30T22:05:13Z"), created: utc("2020-04-14T03:02:55Z"),
		cgroupV: 1, driver: "cgroupfs", runtime: "docker", v1Kernel: v1RHEL7,
		kubeletVersion: "v1.15.12",
	})
	kubeletArgv := kubeletFlags(n, "--cgroup-driver=cgroupfs", "--network-plugin=cni", "--pod-infra-container-image=k8s.gcr.io/pause:3.1")
	kubelet, _ := systemServices(n, kubeletArgv)
	systemPods(n, n.boot.Add(3*time.Minute))
	addApps(n, n.boot.Add(2*time.Hour), ordinaryApps())

	n.nextPID = 41022
	fb := &procModel{comm: "filebeat", argv: []string{"filebeat", "-c", "/etc/filebeat.yml", "-e"},
		vmSizeKB: 1912440, anonKB: 98311, fileKB: 21440, threads: 29}
	p := &podModel{ns: "logging", name: "filebeat-7xq2p", ownerKind: "DaemonSet", owner: "filebeat",
		created: n.boot.Add(4 * time.Minute), hostNetwork: false, ip: "10.244.17.9"}
	c := &ctrModel{name: "filebeat", image: "docker.elastic.co/beats/filebeat:7.6.2",
		imageID: "docker-pullable://docker.elastic.co/beats/filebeat@sha256:" + hexID("filebeat:7.6.2"),
		req:     rl("100m", "200Mi"), lim: rl("1", "500Mi"), started: n.boot.Add(4*time.Minute + 9*time.Second),
		procs: []*procModel{fb}}
	p.containers = []*ctrModel{c}
	// At its limit: 372 MiB of the 500Mi are slab (dentries, inodes of
	// the harvested files), the rest its heap and a little page cache.
	const limit = 500 << 20
	use := charge{anon: mib(96) + 4096, kernel: mib(372) + 811008, mappedFile: mib(20), activeAnonPct: 90, pgfault: 1931022, pgmajfault: 41}
	use.activeFile = mib(9)
	use.inactiveFile = limit - use.anon - use.kernel - use.activeFile
	n.addPod(p, map[string]charge{"filebeat": use})
	c.cg.failcnt = 2214871
	c.cg.peak = limit
	if got := c.cg.usage(); got != limit {
		panic(fmt.Sprintf("kmem: filebeat usage %d, want its limit", got))
	}

	// The warnings, in 3.10's layout: the message, the memcg cache, the
	// per-node slab counts (mm/slub.c slab_out_of_memory).
	klog := &kernLog{n: n, style: styleDmesg}
	klog.bootNoise()
	// Slab counts add up to most of the 372 MiB of kmem: 12k order-0
	// dentry slabs (47 MiB), 8.2k order-3 inode slabs (256 MiB), 1.1k
	// order-3 radix tree slabs (34 MiB); objects per slab = slab size /
	// object size.
	type cache struct {
		name         string
		size, order  int
		slabs, grows int
	}
	dentry := cache{"dentry", 192, 0, 12011, 23}
	inode := cache{"ext4_inode_cache", 1032, 3, 8188, 4}
	radix := cache{"radix_tree_node", 584, 3, 1093, 1}
	at := klog.since(n.created.Add(-47 * time.Minute))
	for i, cs := range []cache{dentry, inode, dentry, radix, dentry} {
		gfp := "0xd0" // GFP_KERNEL on 3.10 (__GFP_WAIT|__GFP_IO|__GFP_FS)
		if cs.name == "radix_tree_node" {
			gfp = "0x10" // __GFP_WAIT only: page-cache insertion under the mapping lock
		}
		slabs := cs.slabs + i*cs.grows
		klog.add(at, "SLUB: Unable to allocate memory on node -1 (gfp=%s)", gfp)
		klog.add(at+6*time.Microsecond, "  cache: %s(1207:%s), object size: %d, buffer size: %d, default order: %d, min order: 0",
			cs.name, c.id, cs.size, cs.size, cs.order)
		klog.add(at+8*time.Microsecond, "  node 0: slabs: %d, objs: %d, free: 0", slabs, slabs*((pageSize<<cs.order)/cs.size))
		at += time.Duration(41+i*173) * time.Second
	}

	b := newBundle(n.created, n.nodeInfo())
	cfg := baseKubeletConfig("cgroupfs")
	cfg.KubeReserved = map[string]string{"cpu": "500m", "memory": "1Gi"}
	cfg.SystemReserved = map[string]string{"cpu": "500m", "memory": "1Gi"}
	cfg.ResolverConfig = ptr("/etc/resolv.conf")
	n.kubepods.limit = pages(n.memTotalKB*1024 - 2<<30)
	writeCommon(b, n, klog, cfg, kubeletArgv, fb, kubelet)
	standardSources(b, false, false, false)
	return b
}
