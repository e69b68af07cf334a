package main

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/memsnap/memsnap/bundle"
)

// Seed 002's numbers: a 16c32G ACK node (kubelet v1.20.11) whose
// allocatable is 31273800Ki after the customer lowered reserved memory to
// 100Mi, while kubepods.slice kept the limit kubelet computed before:
// 27968328 kB. systemd recorded the old value too (kubernetes/kubernetes#88197),
// so each daemon-reload wrote it back.
const (
	seed002MemTotalKB   = 31478600    // allocatable + 100Mi reserved + 100Mi evictionHard
	seed002KubepodsOld  = 28639567872 // 27968328 kB: capacity − 3328Mi − 100Mi (the old reservation)
	seed002RankerRSSPgs = 6901788     // ranker_service rss in the OOM task table (26.32G)
)

// buildSeed002 reproduces seed 002.
func buildSeed002() *bundleFiles {
	kernel, build, tag, osr, cmd := alinux2()
	n := newNodeModel(&nodeModel{
		name: "cn-hangzhou.10.0.3.17", hostname: "iZbp1f0s2jz8q4n0kd7xgtZ", ip: "10.0.3.17",
		kernel: kernel, kernelBuild: build, buildTag: tag, osRelease: osr, cmdline: cmd,
		hardware: "Alibaba Cloud Alibaba Cloud ECS, BIOS 8c24b4c 04/01/2014",
		cpus:     16, memTotalKB: seed002MemTotalKB, kernelOtherKB: 60000,
		boot: utc("2021-11-09T17:33:51Z"), created: utc("2021-11-11T03:55:00Z"),
		cgroupV: 1, driver: "systemd", runtime: "containerd", v1Kernel: v1Alinux419,
		kubeletVersion: "v1.20.11-aliyun.1",
	})
	kubeletStart := utc("2021-11-09T17:34:26Z")
	kubeletReload := utc("2021-11-09T17:35:18Z")
	evictAt := n.created.Add(-2*time.Hour - 13*time.Minute)
	oomAt := n.created.Add(-41 * time.Minute)

	kubeletArgv := kubeletFlags(n, "--container-runtime=remote", "--container-runtime-endpoint=/var/run/containerd/containerd.sock",
		"--cgroup-driver=systemd", "--kube-reserved=cpu=100m,memory=50Mi", "--system-reserved=cpu=100m,memory=50Mi",
		"--eviction-hard=imagefs.available<15%,memory.available<100Mi,nodefs.available<10%,nodefs.inodesFree<5%",
		"--enforce-node-allocatable=pods", "--pod-infra-container-image=registry-vpc.cn-hangzhou.aliyuncs.com/acs/pause:3.2")
	kubelet, _ := systemServices(n, kubeletArgv)
	kubelet.pid, kubelet.started = 3104, kubeletReload
	n.unit("kubelet.service").procs = []int{3104}
	// Every container here has a memory limit (the cluster's policy), so
	// no-memory-limit has nothing to report on this pressured node.
	systemPodsLimited(n, n.boot.Add(90*time.Second), true)

	n.nextPID = 1402211
	rankerSpec := func(name string, created time.Time) (*podModel, *ctrModel) {
		p := &podModel{ns: "ranking", name: name, ownerKind: "ReplicaSet", owner: "ranker-5f7d9b8c6", created: created, ip: "10.0.3.131"}
		c := &ctrModel{name: "ranker-service", image: "registry-vpc.cn-hangzhou.aliyuncs.com/search/ranker:4.8.2",
			imageID: "registry-vpc.cn-hangzhou.aliyuncs.com/search/ranker@sha256:" + hexID("ranker:4.8.2"),
			req:     rl("12", "24Gi"), lim: rl("15", "31Gi"),
			args: []string{"--conf=/opt/ranker/conf/ranker.conf"}}
		p.containers = []*ctrModel{c}
		return p, c
	}
	// The pod the eviction manager evicted: no cgroup left, status Failed.
	evicted, ec := rankerSpec("ranker-5f7d9b8c6-7tqlm", utc("2021-11-10T02:11:05Z"))
	const usingKi = 27683676
	evicted.evicted = fmt.Sprintf("The node was low on resource: memory. Threshold quantity: 100Mi, available: 85300Ki. Container ranker-service was using %dKi, request is 24Gi, has larger consumption of memory. ", usingKi)
	ec.started = evicted.created.Add(5 * time.Second)
	ec.last = &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "Error", StartedAt: mt(ec.started), FinishedAt: mt(evictAt.Add(31 * time.Second))}
	n.addPod(evicted, nil)
	ec.last.ContainerID = "containerd://" + ec.id

	// Its replacement, OOM-killed at the kubepods level and restarted.
	p, c := rankerSpec("ranker-5f7d9b8c6-k2x8q", evictAt.Add(44*time.Second))
	prevID := hexID("ranker-k2x8q-attempt-0")
	c.restarts = 1
	c.started = oomAt.Add(3 * time.Second)
	c.last = oomKilled(n, prevID, p.created.Add(5*time.Second), oomAt.Add(time.Second))
	ranker := &procModel{comm: "ranker_service", argv: []string{"/opt/ranker/bin/ranker_service", "--conf=/opt/ranker/conf/ranker.conf"},
		vmSizeKB: 29881140, anonKB: 27004312, fileKB: 13640, threads: 96}
	c.procs = []*procModel{ranker}
	n.addPod(p, map[string]charge{"ranker-service": {
		anon: 27652206592, anonTHP: 26843545600, activeFile: mib(14), inactiveFile: mib(6), mappedFile: mib(13),
		activeAnonPct: 0, pgfault: 7022331, pgmajfault: 412,
	}})
	n.noKmem()
	n.kubepods.limit = seed002KubepodsOld
	n.kubepods.failcnt = 1411
	n.kubepods.peak = seed002KubepodsOld

	// At the kill: the same subtree, with the killed attempt in place of
	// the running one and the kubepods counter at its limit.
	victim := oomTask{pid: 1387741, uid: 0, totalVM: 7470285, anon: seed002RankerRSSPgs - 3410, file: 3410, pgtables: 14868480,
		adj: n.oomScoreAdj(p, c), comm: "ranker_service"}
	live := c.cg.local
	others := n.kubepods.usage() - live.anon - live.file()
	atOOM := charge{anon: victim.anon * pageSize, anonTHP: 27581743104, mappedFile: mib(13)}
	atOOM.activeFile = pages(seed002KubepodsOld - others - atOOM.anon)
	c.cg.local, c.cg.name = atOOM, n.ctrCgroupName(prevID)
	if n.kubepods.usage() != seed002KubepodsOld {
		panic(fmt.Sprintf("seed 002: kubepods usage at OOM %d, want %d", n.kubepods.usage(), int64(seed002KubepodsOld)))
	}
	var statLines []string
	var tasks []oomTask
	n.kubepods.walk(func(m *memcg) {
		statLines = append(statLines, legacyStatLine(m.path(), m.local, false))
	})
	for _, q := range n.procs {
		if strings.HasPrefix(q.cgroupPath, "/kubepods.slice") && q != ranker {
			tasks = append(tasks, taskOf(q))
		}
	}
	tasks = append(tasks, victim)
	r := oomReport{trigger: victim, victim: victim, cpu: 7, gfp: "0x6000c0(GFP_KERNEL)",
		oomMemcg: n.kubepods.path(), taskMemcg: c.cg.path(), cpusetLeaf: c.cg.name,
		usageKB: seed002KubepodsOld / 1024, limitKB: seed002KubepodsOld / 1024, failcnt: 1411,
		memcgStatLines: statLines, tasks: tasks, stack: stackAnon419}
	c.cg.local, c.cg.name = live, n.ctrCgroupName(c.id)

	// Node memory close to the eviction threshold: the node's working set
	// leaves 260Mi available.
	n.squeezeCaches(12)
	n.root.local.activeFile = 0
	n.root.local.activeFile = pages(n.memTotalKB*1024 - mib(260) - n.nodeWorkingSet())

	klog := &kernLog{n: n, style: styleJournal}
	klog.bootNoise()
	at := klog.block(klog.since(oomAt), r.legacy(n, false, v1UnlimitedKB))
	klog.add(at+21*time.Millisecond, "%s", reaper(victim, 0))

	b := newBundle(n.created, n.nodeInfo())
	cfg := baseKubeletConfig("systemd")
	cfg.KubeReserved = map[string]string{"cpu": "100m", "memory": "50Mi"}
	cfg.SystemReserved = map[string]string{"cpu": "100m", "memory": "50Mi"}
	cfg.ClusterDNS = []string{"172.21.0.10"}
	writeCommon(b, n, klog, cfg, kubeletArgv, ranker, kubelet)
	b.put(bundle.KubeletLog, seed002KubeletLog(n, kubeletStart, kubeletReload, evictAt, oomAt, evicted, p, prevID, c.id))

	// systemd still holds the limit of the first computation.
	memLimit := fmt.Sprint(int64(seed002KubepodsOld))
	b.put("systemd/kubepods.slice.show", []byte(sliceShow("kubepods.slice", "-.slice", v1Usage(n.kubepods), memLimit, 16384,
		[]string{"/run/systemd/system/kubepods.slice.d/50-CPUShares.conf", "/run/systemd/system/kubepods.slice.d/50-MemoryLimit.conf"},
		[]string{"kubepods-besteffort.slice", "kubepods-burstable.slice"}, n.boot, kubeletStart.Add(time.Second))))
	b.putf("systemd/files/run/systemd/system/kubepods.slice", "# Transient unit file, created programmatically via the systemd API. Do not edit.\n[Unit]\nDescription=libcontainer container kubepods.slice\nWants=-.slice\n\n[Slice]\nMemoryAccounting=yes\nCPUAccounting=yes\nBlockIOAccounting=yes\n")
	b.putf("systemd/files/run/systemd/system/kubepods.slice.d/50-MemoryLimit.conf", "[Slice]\nMemoryLimit=%s\n", memLimit)
	b.putf("systemd/files/run/systemd/system/kubepods.slice.d/50-CPUShares.conf", "[Slice]\nCPUShares=16384\n")
	b.putf("systemd/files/etc/systemd/system/kubelet.service.d/10-kubeadm.conf", `[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
EnvironmentFile=-/etc/kubernetes/kubelet-customized-args.conf
ExecStart=
ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_EXTRA_ARGS $KUBELET_CUSTOMIZED_ARGS
`)
	standardSources(b, true, false, false)
	return b
}

// seed002KubeletLog is the kubelet journal around the reservation change,
// the eviction and the OOM kill, in v1.20 klog text.
func seed002KubeletLog(n *nodeModel, start, reload, evictAt, oomAt time.Time, evicted, p *podModel, prevID, newID string) []byte {
	type entry struct {
		at   time.Time
		text string
	}
	var entries []entry
	line := func(t time.Time, pid int, lvl byte, where, format string, a ...any) {
		t = t.Add(time.Duration(len(entries)*7919%997) * time.Microsecond) // klog stamps are never round
		entries = append(entries, entry{t, fmt.Sprintf("%c%s %7d %s] %s\n", lvl, t.UTC().Format("0102 15:04:05.000000"), pid, where, fmt.Sprintf(format, a...))})
	}
	cm := func(kubeMem, kubeBytes string) string {
		return "{RuntimeCgroupsName: SystemCgroupsName: KubeletCgroupsName: ContainerRuntime:remote CgroupsPerQOS:true CgroupRoot:/ CgroupDriver:systemd KubeletRootDir:/var/lib/kubelet ProtectKernelDefaults:false NodeAllocatableConfig:{KubeReservedCgroupName: SystemReservedCgroupName: ReservedSystemCPUs: EnforceNodeAllocatable:map[pods:{}] " +
			"KubeReserved:map[cpu:{i:{value:100 scale:-3} d:{Dec:<nil>} s:100m Format:DecimalSI} memory:{i:{value:" + kubeBytes + " scale:0} d:{Dec:<nil>} s:" + kubeMem + " Format:BinarySI}] " +
			"SystemReserved:map[cpu:{i:{value:100 scale:-3} d:{Dec:<nil>} s:100m Format:DecimalSI} memory:{i:{value:52428800 scale:0} d:{Dec:<nil>} s:50Mi Format:BinarySI}] " +
			"HardEvictionThresholds:[{Signal:memory.available Operator:LessThan Value:{Quantity:100Mi Percentage:0} GracePeriod:0s MinReclaim:<nil>} {Signal:nodefs.available Operator:LessThan Value:{Quantity:<nil> Percentage:0.1} GracePeriod:0s MinReclaim:<nil>} {Signal:nodefs.inodesFree Operator:LessThan Value:{Quantity:<nil> Percentage:0.05} GracePeriod:0s MinReclaim:<nil>} {Signal:imagefs.available Operator:LessThan Value:{Quantity:<nil> Percentage:0.15} GracePeriod:0s MinReclaim:<nil>}]} " +
			"QOSReserved:map[] ExperimentalCPUManagerPolicy:none ExperimentalTopologyManagerScope:container ExperimentalCPUManagerReconcilePeriod:10s ExperimentalMemoryManagerPolicy:None ExperimentalMemoryManagerReservedMemory:[] ExperimentalPodPidsLimit:-1 EnforceCPULimits:true CPUCFSQuotaPeriod:100ms ExperimentalTopologyManagerPolicy:none}"
	}
	boot := func(t time.Time, pid int, kubeMem, kubeBytes string) {
		line(t, pid, 'I', "server.go:416", "Version: v1.20.11-aliyun.1")
		line(t.Add(402*time.Millisecond), pid, 'I', "server.go:645", "--cgroups-per-qos enabled, but --cgroup-root was not specified.  defaulting to /")
		line(t.Add(405*time.Millisecond), pid, 'I', "container_manager_linux.go:274", "container manager verified user specified cgroup-root exists: []")
		line(t.Add(405*time.Millisecond), pid, 'I', "container_manager_linux.go:279", "Creating Container Manager object based on Node Config: %s", cm(kubeMem, kubeBytes))
		line(t.Add(1210*time.Millisecond), pid, 'I', "event.go:291", `"Event occurred" object="%s" kind="Node" apiVersion="v1" type="Normal" reason="NodeAllocatableEnforced" message="Updated Node Allocatable limit across pods"`, n.name)
	}
	boot(start, 3012, "3328Mi", "3489660928")
	line(reload.Add(-900*time.Millisecond), 3012, 'I', "kubelet.go:1444", "Shutting down kubelet (configuration /etc/kubernetes/kubelet-customized-args.conf changed)")
	boot(reload, 3104, "50Mi", "52428800")
	ev := evicted.name + "_" + evicted.ns + "(" + evicted.uid + ")"
	line(evictAt, 3104, 'W', "eviction_manager.go:344", "eviction manager: attempting to reclaim memory")
	line(evictAt.Add(180*time.Microsecond), 3104, 'I', "eviction_manager.go:355", "eviction manager: must evict pod(s) to reclaim memory")
	line(evictAt.Add(410*time.Microsecond), 3104, 'I', "eviction_manager.go:373", "eviction manager: pods ranked for eviction: %s, calico-node-qm2vz_kube-system(%s), node-exporter-r5n8w_monitoring(%s), kube-proxy-x7ktd_kube-system(%s)",
		ev, n.findPod("calico-node-qm2vz").uid, n.findPod("node-exporter-r5n8w").uid, n.findPod("kube-proxy-x7ktd").uid)
	line(evictAt.Add(2*time.Millisecond), 3104, 'I', "event.go:291", `"Event occurred" object="%s/%s" kind="Pod" apiVersion="v1" type="Warning" reason="Evicted" message=%q`, evicted.ns, evicted.name, evicted.evicted)
	line(evictAt.Add(3*time.Millisecond), 3104, 'I', "event.go:291", `"Event occurred" object="%s" kind="Node" apiVersion="v1" type="Normal" reason="NodeHasInsufficientMemory" message="Node %s status is now: NodeHasInsufficientMemory"`, n.name, n.name)
	line(evictAt.Add(31*time.Second), 3104, 'I', "eviction_manager.go:571", "eviction manager: pod %s is evicted successfully", ev)
	line(evictAt.Add(31*time.Second+2*time.Millisecond), 3104, 'I', "eviction_manager.go:195", "eviction manager: pods %s evicted, waiting for pod to be cleaned up", ev)
	line(evictAt.Add(33*time.Second), 3104, 'I', "eviction_manager.go:411", "eviction manager: pods %s successfully cleaned up", ev)
	line(evictAt.Add(44*time.Second), 3104, 'I', "kubelet.go:1916", "SyncLoop (ADD, \"api\"): \"%s_%s(%s)\"", p.name, p.ns, p.uid)
	pk := p.name + "_" + p.ns + "(" + p.uid + ")"
	line(oomAt.Add(1200*time.Millisecond), 3104, 'I', "kubelet.go:1952", "SyncLoop (PLEG): %q, event: &pleg.PodLifecycleEvent{ID:%q, Type:\"ContainerDied\", Data:%q}", pk, p.uid, prevID)
	line(oomAt.Add(3100*time.Millisecond), 3104, 'I', "kubelet.go:1952", "SyncLoop (PLEG): %q, event: &pleg.PodLifecycleEvent{ID:%q, Type:\"ContainerStarted\", Data:%q}", pk, p.uid, newID)
	line(evictAt.Add(12*time.Minute), 3104, 'I', "event.go:291", `"Event occurred" object="%s" kind="Node" apiVersion="v1" type="Normal" reason="NodeHasSufficientMemory" message="Node %s status is now: NodeHasSufficientMemory"`, n.name, n.name)
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].at.Before(entries[j].at) })
	var b strings.Builder
	for _, e := range entries {
		b.WriteString(e.text)
	}
	return []byte(b.String())
}
