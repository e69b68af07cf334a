package main

import (
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/memsnap/memsnap/bundle"
)

// Paths of sample 004 that come from a real run of lab/scrapeagent
// (samples/scripts/make-sample-004.sh), adopted byte for byte.
const (
	seed004Heap = "pprof/cadvisor/heap.pb.gz"
	seed004Log  = bundle.CadvisorLog
)

// centos7 is a CentOS 7.6 node of 2019/2020 with docker and the cgroupfs
// driver, the seed 004 setup.
func centos7() (kernel, build, tag, osRelease, cmdline string) {
	kernel = "3.10.0-957.21.3.el7.x86_64"
	tag = "#1"
	build = "(mockbuild@kbuilder.bsys.centos.org) (gcc version 4.8.5 20150623 (Red Hat 4.8.5-36) (GCC) ) #1 SMP Tue Jun 18 16:35:19 UTC 2019"
	osRelease = `NAME="CentOS Linux"
VERSION="7 (Core)"
ID="centos"
ID_LIKE="rhel fedora"
VERSION_ID="7"
PRETTY_NAME="CentOS Linux 7 (Core)"
ANSI_COLOR="0;31"
CPE_NAME="cpe:/o:centos:centos:7"
HOME_URL="https://www.centos.org/"
BUG_REPORT_URL="https://bugs.centos.org/"

CENTOS_MANTISBT_PROJECT="CentOS-7"
CENTOS_MANTISBT_PROJECT_VERSION="7"
REDHAT_SUPPORT_PRODUCT="centos"
REDHAT_SUPPORT_PRODUCT_VERSION="7"

`
	cmdline = "BOOT_IMAGE=/vmlinuz-3.10.0-957.21.3.el7.x86_64 root=/dev/mapper/centos-root ro crashkernel=auto rd.lvm.lv=centos/root rd.lvm.lv=centos/swap rhgb quiet LANG=en_US.UTF-8"
	return
}

// buildSeed004 reproduces seed 004: a cAdvisor DaemonSet pod (limit 1 CPU
// / 2Gi) OOM-killed again and again on a node with many containers, while
// Prometheus scrapes it every 3 s and its disk-usage walks take seconds.
func buildSeed004() *bundleFiles {
	kernel, build, tag, osr, cmd := centos7()
	n := newNodeModel(&nodeModel{
		name: "k8s-node-041", hostname: "k8s-node-041", ip: "10.2.0.41",
		kernel: kernel, kernelBuild: build, buildTag: tag, osRelease: osr, cmdline: cmd,
		hardware: "Dell Inc. PowerEdge R740/08D89F, BIOS 2.2.11 06/13/2019",
		cpus:     32, memTotalKB: 131748024, kernelOtherKB: 2410000,
		boot: utc("2020-05-27T11:40:02Z"), created: utc("2020-06-18T09:31:40Z"),
		cgroupV: 1, driver: "cgroupfs", runtime: "docker", v1Kernel: v1RHEL7,
		kubeletVersion: "v1.15.12",
	})
	kubeletArgv := kubeletFlags(n, "--cgroup-driver=cgroupfs", "--network-plugin=cni", "--pod-infra-container-image=k8s.gcr.io/pause:3.1")
	kubelet, _ := systemServices(n, kubeletArgv)
	systemPods(n, n.boot.Add(3*time.Minute))
	addApps(n, n.boot.Add(2*time.Hour), ordinaryApps())
	addApps(n, n.boot.Add(50*time.Hour), moreApps(22))

	oomAt := utc("2020-06-18T09:14:01Z")
	prevID := hexID("cadvisor-attempt-6")
	n.nextPID = 30117
	cadv := &procModel{comm: "cadvisor", argv: []string{"/usr/bin/cadvisor", "-logtostderr", "--port=28762", "--profiling=true",
		"--housekeeping_interval=10s", "--max_housekeeping_interval=15s", "--storage_duration=1m0s", "--docker_only=true",
		"--disable_metrics=percpu,process,sched,tcp,udp,advtcp,hugetlb,referenced_memory,cpu_topology,resctrl"},
		vmSizeKB: 3311204, anonKB: 1371812, fileKB: 21440, threads: 71}
	p := &podModel{ns: "monitoring", name: "cadvisor-k9kpt", ownerKind: "DaemonSet", owner: "cadvisor",
		created: utc("2020-06-15T02:41:09Z"), hostNetwork: true, ip: n.ip}
	c := &ctrModel{name: "cadvisor", image: "google/cadvisor:v0.33.0",
		imageID: "docker-pullable://google/cadvisor@sha256:" + hexID("google/cadvisor:v0.33.0"),
		args:    cadv.argv[1:], req: rl("200m", "256Mi"), lim: rl("1", "2Gi"), restarts: 7,
		started: oomAt.Add(4 * time.Second), last: oomKilled(n, prevID, utc("2020-06-18T07:02:51Z"), oomAt.Add(time.Second)),
		ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 28762, HostPort: 28762, Protocol: corev1.ProtocolTCP}},
		mounts: []corev1.VolumeMount{{Name: "rootfs", MountPath: "/rootfs", ReadOnly: true}, {Name: "var-run", MountPath: "/var/run", ReadOnly: true},
			{Name: "sys", MountPath: "/sys", ReadOnly: true}, {Name: "docker", MountPath: "/var/lib/docker", ReadOnly: true}},
		procs: []*procModel{cadv}}
	c.last.ContainerID = "docker://" + prevID
	p.containers = []*ctrModel{c}
	hostPath := func(name, path string) corev1.Volume {
		return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: path}}}
	}
	p.volumes = []corev1.Volume{hostPath("rootfs", "/"), hostPath("var-run", "/var/run"), hostPath("sys", "/sys"), hostPath("docker", "/DATA/docker")}
	n.addPod(p, map[string]charge{"cadvisor": {anon: 1404735488, activeFile: mib(4), inactiveFile: mib(9), kernel: 0, mappedFile: mib(20), activeAnonPct: 90, pgfault: 2211094, pgmajfault: 12}})
	c.cg.failcnt = 0

	// The kill of the previous attempt, as RHEL 7's 3.10 prints it.
	victim := oomTask{pid: 28133, uid: 0, totalVM: 912331, anon: 523776, file: 5360, pgtables: 1761280, adj: n.oomScoreAdj(p, c), comm: "cadvisor"}
	atOOM := charge{anon: 2<<30 - 1048576, activeFile: 524288, inactiveFile: 524288, activeAnonPct: 95}
	cpath := p.cg.path() + "/" + prevID
	r := oomReport{trigger: victim, victim: victim, cpu: 17, gfp: "0xd0", oomMemcg: cpath, taskMemcg: cpath, cpusetLeaf: prevID,
		usageKB: 2097152, limitKB: 2097152, failcnt: 14122,
		memcgStatLines: []string{legacyStatLine(cpath, atOOM, true)}, tasks: []oomTask{victim}, stack: stackAnon310}
	klog := &kernLog{n: n, style: styleDmesg}
	klog.bootNoise()
	klog.block(klog.since(oomAt), r.legacy(n, true, 2097152))

	b := newBundle(n.created, n.nodeInfo())
	b.captured = []string{seed004Heap, seed004Log}
	cfg := baseKubeletConfig("cgroupfs")
	cfg.KubeReserved = map[string]string{"cpu": "500m", "memory": "2Gi"}
	cfg.SystemReserved = map[string]string{"cpu": "500m", "memory": "1Gi"}
	cfg.ResolverConfig = ptr("/etc/resolv.conf")
	n.kubepods.limit = pages(n.memTotalKB*1024 - 3<<30)
	writeCommon(b, n, klog, cfg, kubeletArgv, cadv, kubelet)
	b.buildTarget = func(heap []byte) []byte { return seed004Target(cadv.pid, n.created, heap) }
	standardSources(b, false, true, false)
	for i := range b.sources {
		if b.sources[i].name == bundle.SourceCadvisor {
			b.sources[i].status = bundle.StatusPartial
			b.sources[i].err = "metrics.prom: GET http://10.2.0.41:28762/metrics: context deadline exceeded (Client.Timeout exceeded while awaiting headers) after 10s; log.txt from /var/log/pods/monitoring_cadvisor-k9kpt_" + p.uid + "/cadvisor/7.log"
			b.sources[i].duration = 10 * time.Second
		}
	}
	return b
}

// seed004Target is target.json as memsnap-collect writes it for
// --pprof cadvisor=http://10.2.0.41:28762/debug/pprof/heap,pid=N; the
// scrape interval is the Prometheus job's (seed 004: every 3 s), recorded
// so that agent-scrape-pileup can compare scan durations with it.
func seed004Target(pid int, created time.Time, heap []byte) []byte {
	t := map[string]any{
		"name": "cadvisor", "url": "http://10.2.0.41:28762/debug/pprof/heap", "pid": pid,
		"started":     created.Add(-collectionTime).Add(1403 * time.Millisecond).UTC().Format(time.RFC3339Nano),
		"duration_ms": 412, "bytes": len(heap), "truncated": false,
		"scrape_interval_seconds": 3,
	}
	out, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		panic(err)
	}
	return append(out, '\n')
}

// moreApps adds k small batch-style workloads: the seed's node ran many
// containers, which is what made cAdvisor's snapshot large.
func moreApps(k int) []appSpec {
	var out []appSpec
	for i := 0; i < k; i++ {
		name := fmt.Sprintf("etl-%02d", i)
		out = append(out, appSpec{ns: "data", deploy: name, hash: hexID(name)[:9], suffix: hexID(name)[10:15], container: "etl",
			image: "registry.internal/data/etl:5." + fmt.Sprint(i%4), reqCPU: "200m", reqMem: "256Mi", limCPU: "1", limMem: "1Gi",
			use: use(int64(120+i*9), int64(20+i), int64(40+i*2)), comm: "python3", argv: []string{"python3", "/app/etl.py", "--shard=" + fmt.Sprint(i)}})
	}
	return out
}
