package main

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

// buildSeed000 reproduces seed 000: a Go pod sized "1c1G" whose working
// set alert fires at 85 % while its anon memory is 52 MiB, because an
// 889 MiB zap log file (MaxSize 1G) sits on the active file list.
// Numbers are the seed's verbatim: usage 962097152, total_rss 55017472,
// total_inactive_file 111620096, total_active_file 795275264.
func buildSeed000() *bundleFiles {
	kernel, build, tag, osr, cmd := ubuntu2204(true)
	n := newNodeModel(&nodeModel{
		name: "ip-10-0-12-31.ec2.internal", hostname: "ip-10-0-12-31", ip: "10.0.12.31",
		kernel: kernel, kernelBuild: build, buildTag: tag, osRelease: osr, cmdline: cmd,
		hardware: "Amazon EC2 m5.xlarge/, BIOS 1.0 10/16/2017",
		cpus:     4, memTotalKB: 16069596, kernelOtherKB: 412000,
		boot: utc("2023-11-02T06:11:40Z"), created: utc("2024-01-16T01:47:12Z"),
		cgroupV: 1, driver: "systemd", runtime: "containerd", v1Kernel: v1Upstream6,
		kubeletVersion: "v1.28.9",
	})
	kubelet, _ := systemServices(n, kubeletFlags(n))
	systemPods(n, n.boot.Add(2*time.Minute))

	// The app: requests = limits = 1 CPU / 1G, so Guaranteed. "1G" is
	// 10^9 bytes; the kernel rounds the limit down to a page: 999997440.
	const logSize = 932184064 // "889M" in the seed
	app := &procModel{comm: "selfmon", argv: []string{"/app/selfmon", "--config=/app/conf/config.yaml"},
		vmSizeKB: 1262144, anonKB: 51004, fileKB: 9216, threads: 14,
		fds: [][2]string{{"/app/logs/app.log", "932184064"}, {"/app/conf/config.yaml", "2311"}, {"/app/data/state.db", "1310720"}}}
	p := &podModel{ns: "ops", name: "selfmon-7d9c8b6f5-x2x9k", ownerKind: "ReplicaSet", owner: "selfmon-7d9c8b6f5",
		created: utc("2023-12-05T03:20:11Z"), ip: "10.244.3.17"}
	p.containers = []*ctrModel{{
		name: "selfmon", image: "registry.internal/ops/selfmon:2.4.1", imageID: "registry.internal/ops/selfmon@sha256:" + hexID("selfmon:2.4.1"),
		req: rl("1", "1G"), lim: rl("1", "1G"), started: utc("2023-12-05T03:20:15Z"),
		mounts: []corev1.VolumeMount{{Name: "logs", MountPath: "/app/logs"}},
		procs:  []*procModel{app},
	}}
	p.volumes = []corev1.Volume{{Name: "logs", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	p.volumeStats = []volumeUse{{name: "logs", usedBytes: logSize + 4096, capBytes: 107317563392}}
	n.addPod(p, map[string]charge{"selfmon": {
		anon: 55017472, inactiveFile: 111620096, activeFile: 795275264,
		kernel:     184320, // usage − rss − cache: the rest of 962097152
		mappedFile: 9437184, dirty: 135168, activeAnonPct: 8,
		pgfault: 2311872, pgmajfault: 312, refaultFile: 36864,
	}})
	p.containers[0].cg.failcnt = 0

	klog := &kernLog{n: n, style: styleDmesg}
	klog.bootNoise()

	b := newBundle(n.created, n.nodeInfo())
	cfg := baseKubeletConfig("systemd")
	cfg.KubeReserved = map[string]string{"cpu": "100m", "memory": "512Mi"}
	cfg.SystemReserved = map[string]string{"cpu": "100m", "memory": "256Mi"}
	// kubepods limit = capacity − kube − system reserved (DOMAIN §5).
	n.kubepods.limit = pages(n.memTotalKB*1024 - mib(512) - mib(256))
	writeCommon(b, n, klog, cfg, kubeletFlags(n), app, kubelet)
	standardSources(b, false, false, false)
	return b
}
