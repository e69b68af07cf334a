package main

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/memsnap/memsnap/bundle"
)

// Seed 003's numbers: a Java pod (limit 16Gi, -Xms8g -Xmx8g, request 8Gi
// so oom_score_adj 873 on a 64G node) with a memory-medium emptyDir and no
// sizeLimit. A dead container's 8840436 kB of tmpfs stayed charged at the
// pod level, so the next attempt was killed by the pod limit at ~7.6G.
const (
	seed003OrphanShmem = 8840436 * 1024 // the dead container's shmem in the seed's OOM report
	seed003PodLimit    = 16 << 30
)

// buildSeed003 reproduces seed 003 (cgroup v1, systemd driver, docker,
// Alibaba Cloud Linux 2 kernel 4.19 as in the seed's report).
func buildSeed003() *bundleFiles {
	kernel, build, tag, osr, cmd := alinux2()
	n := newNodeModel(&nodeModel{
		name: "cn-beijing.192.168.0.237", hostname: "iZ2ze3k5l9x0qtnwv5m2hdZ", ip: "192.168.0.237",
		kernel: kernel, kernelBuild: build, buildTag: tag, osRelease: osr, cmdline: cmd,
		hardware: "Alibaba Cloud Alibaba Cloud ECS, BIOS 8a46cfe 04/01/2014",
		cpus:     16, memTotalKB: 65807100, kernelOtherKB: 1210000,
		boot: utc("2021-09-06T02:27:51Z"), created: utc("2021-11-11T07:02:44Z"),
		cgroupV: 1, driver: "systemd", runtime: "docker", v1Kernel: v1Alinux419,
		kubeletVersion: "v1.20.11-aliyun.1",
	})
	kubeletArgv := kubeletFlags(n, "--network-plugin=cni", "--cgroup-driver=systemd",
		"--pod-infra-container-image=registry-vpc.cn-beijing.aliyuncs.com/acs/pause:3.2")
	kubelet, _ := systemServices(n, kubeletArgv)
	systemPods(n, n.boot.Add(2*time.Minute))
	addApps(n, n.boot.Add(40*time.Minute), ordinaryApps()[2:6])

	oomAt := n.created.Add(-52 * time.Minute)
	n.nextPID = 212990
	tini := &procModel{uid: 1001, comm: "tini", argv: []string{"/usr/bin/tini", "--", "java", "-Xms8g", "-Xmx8g", "-jar", "/app/trade.jar"}, vmSizeKB: 4380, anonKB: 184, fileKB: 552, threads: 1}
	java := &procModel{uid: 1001, ppid: 0, comm: "java", argv: []string{"java", "-Xms8g", "-Xmx8g", "-XX:+UseG1GC", "-jar", "/app/trade.jar"},
		vmSizeKB: 16103848, anonKB: 6212652, fileKB: 24716, threads: 143,
		fds: [][2]string{{"/app/trade.jar", "118206433"}, {"/data/cache/quotes-20211111.bin", "4527132672"}, {"/data/cache/orders.idx", "4525469696"}, {"/app/logs/trade.log", "83886080"}}}
	p := &podModel{ns: "trade", name: "trade-prod-6d8f9c7b4-zj67p", ownerKind: "ReplicaSet", owner: "trade-prod-6d8f9c7b4",
		created: utc("2021-11-09T13:03:36Z"), ip: "172.20.1.47"}
	ids := []string{hexID("trade-attempt-0"), hexID("trade-attempt-1"), hexID("trade-attempt-2")}
	c := &ctrModel{name: "trade-prod", image: "registry-vpc.cn-beijing.aliyuncs.com/trade/trade-prod:2021.11.3",
		imageID: "docker-pullable://registry-vpc.cn-beijing.aliyuncs.com/trade/trade-prod@sha256:" + hexID("trade-prod:2021.11.3"),
		req:     rl("2", "8Gi"), lim: rl("4", "16Gi"), restarts: 3, started: oomAt.Add(4 * time.Second),
		last:   oomKilled(n, ids[2], oomAt.Add(-3*time.Hour), oomAt.Add(time.Second)),
		mounts: []corev1.VolumeMount{{Name: "cache-volume", MountPath: "/data/cache"}},
		procs:  []*procModel{tini, java}}
	c.last.ContainerID = "docker://" + ids[2]
	p.containers = []*ctrModel{c}
	p.volumes = []corev1.Volume{{Name: "cache-volume", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}}}
	// tmpfs size = min(node allocatable, pod limit) (pkg/volume/emptydir
	// calculateEmptyDirMemorySize): the pod limit, 16Gi.
	p.volumeStats = []volumeUse{{name: "cache-volume", usedBytes: seed003OrphanShmem - 8192, capBytes: seed003PodLimit, tmpfs: true}}
	n.addPod(p, map[string]charge{"trade-prod": {
		anon: 6361800704, anonTHP: 5605687296, inactiveFile: 1892352, mappedFile: 1204224,
		activeAnonPct: 0, pgfault: 1811220, pgmajfault: 61,
	}})
	p.pause.local = charge{anon: 180224, pgfault: 61}
	java.ppid = tini.pid // tini is the container's init
	// The dead attempts' tmpfs pages: charged to the pod, in no live child.
	p.cg.orphan = charge{shmem: seed003OrphanShmem, inactiveFile: 765952, activeAnonPct: 52}
	p.cg.failcnt = 17883
	p.cg.peak = seed003PodLimit
	n.noKmem()

	// The report of the last kill (attempt 2, seed 003's own report).
	victimAnon := int64(seed003PodLimit) - seed003OrphanShmem - 765952 - 180224 - 135168
	atOOM := charge{anon: victimAnon, anonTHP: 7335837696, inactiveFile: 135168, mappedFile: 675840}
	zombie := charge{shmem: seed003OrphanShmem, inactiveFile: 765952, activeAnonPct: 52}
	podPath := p.cg.path()
	lines := []string{
		legacyStatLine(podPath, charge{}, false),
		legacyStatLine(p.pause.path(), p.pause.local, false),
		legacyStatLine(podPath+"/"+n.ctrCgroupName(ids[0]), zombie, false),
		legacyStatLine(podPath+"/"+n.ctrCgroupName(ids[2]), atOOM, false),
	}
	javaTask := oomTask{pid: 212425, uid: 1001, totalVM: 4025962, anon: victimAnon/pageSize - 46, file: 1548, shmem: 8, pgtables: 16760832, adj: 873, comm: "java"}
	tasks := []oomTask{
		{pid: 2064649, uid: 0, totalVM: 242, anon: 1, pgtables: 24576, adj: -998, comm: "pause"},
		{pid: 212336, uid: 1001, totalVM: 1095, anon: 46, file: 138, pgtables: 49152, adj: 873, comm: "tini"},
		javaTask,
	}
	trigger := oomTask{pid: 213115, uid: 1001, adj: 873, comm: "GC Thread#2"}
	r := oomReport{trigger: trigger, victim: javaTask, cpu: 3, gfp: "0x6000c0(GFP_KERNEL)",
		oomMemcg: podPath, taskMemcg: podPath + "/" + n.ctrCgroupName(ids[2]), cpusetLeaf: n.ctrCgroupName(ids[2]),
		usageKB: seed003PodLimit / 1024, limitKB: seed003PodLimit / 1024, failcnt: 17883,
		memcgStatLines: lines, tasks: tasks, stack: stackAnon419}
	klog := &kernLog{n: n, style: styleJournal}
	klog.bootNoise()
	at := klog.block(klog.since(oomAt), r.legacy(n, false, v1UnlimitedKB))
	klog.add(at+38*time.Millisecond, "%s", reaper(javaTask, 32))

	b := newBundle(n.created, n.nodeInfo())
	cfg := baseKubeletConfig("systemd")
	cfg.KubeReserved = map[string]string{"cpu": "200m", "memory": "4234Mi"}
	cfg.SystemReserved = map[string]string{"cpu": "100m", "memory": "100Mi"}
	n.kubepods.limit = pages(n.memTotalKB*1024 - mib(4234) - mib(100))
	writeCommon(b, n, klog, cfg, kubeletArgv, java, tini, kubelet)
	b.putTSV(bundle.TmpfsVolumes, [][]string{{
		fmt.Sprintf("/var/lib/kubelet/pods/%s/volumes/kubernetes.io~empty-dir/cache-volume", p.uid),
		fmt.Sprint(seed003PodLimit), fmt.Sprint(seed003OrphanShmem),
	}})
	standardSources(b, false, false, true)
	return b
}
