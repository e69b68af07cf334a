package main

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	kubeletconfig "k8s.io/kubelet/config/v1beta1"
	statsapi "k8s.io/kubelet/pkg/apis/stats/v1alpha1"

	"github.com/memsnap/memsnap/bundle"
)

func mt(t time.Time) metav1.Time { return metav1.NewTime(t.UTC()) }
func u64(v int64) *uint64 {
	if v < 0 {
		v = 0
	}
	x := uint64(v)
	return &x
}
func ptr[T any](v T) *T { return &v }

// podList is kubelet's /pods: a v1 PodList of the pods bound to the node.
func podList(n *nodeModel) corev1.PodList {
	l := corev1.PodList{TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"}}
	for _, p := range n.pods {
		l.Items = append(l.Items, podObject(n, p))
	}
	return l
}

func podObject(n *nodeModel, p *podModel) corev1.Pod {
	gen := p.name[:strings.LastIndex(p.name, "-")+1]
	labels := map[string]string{"app": strings.TrimSuffix(p.owner, "-"+lastDash(p.owner))}
	if p.ownerKind == "DaemonSet" {
		labels = map[string]string{"app": p.owner, "controller-revision-hash": hexID(p.owner)[:10], "pod-template-generation": "3"}
	} else if p.ownerKind == "ReplicaSet" {
		labels["pod-template-hash"] = lastDash(p.owner)
	}
	pod := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: p.name, GenerateName: gen, Namespace: p.ns, UID: types.UID(p.uid),
			ResourceVersion:   fmt.Sprint(100000 + len(p.uid)*len(p.name)*97),
			CreationTimestamp: mt(p.created),
			Labels:            labels,
			Annotations: map[string]string{
				"kubernetes.io/config.seen":   p.created.Add(time.Second).UTC().Format("2006-01-02T15:04:05.000000000Z"),
				"kubernetes.io/config.source": "api",
			},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "apps/v1", Kind: p.ownerKind, Name: p.owner,
				UID: types.UID(podUID("owner:" + p.ns + "/" + p.owner)), Controller: ptr(true), BlockOwnerDeletion: ptr(true),
			}},
		},
		Spec: corev1.PodSpec{
			Volumes:                       p.volumes,
			RestartPolicy:                 corev1.RestartPolicyAlways,
			TerminationGracePeriodSeconds: ptr(int64(30)),
			DNSPolicy:                     corev1.DNSClusterFirst,
			ServiceAccountName:            "default",
			DeprecatedServiceAccount:      "default",
			NodeName:                      n.name,
			HostNetwork:                   p.hostNetwork,
			SecurityContext:               &corev1.PodSecurityContext{},
			SchedulerName:                 "default-scheduler",
			PriorityClassName:             p.priorityClass,
			Priority:                      ptr(int32(0)),
			EnableServiceLinks:            ptr(true),
			PreemptionPolicy:              ptr(corev1.PreemptLowerPriority),
			Tolerations: []corev1.Toleration{
				{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr(int64(300))},
				{Key: "node.kubernetes.io/unreachable", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr(int64(300))},
			},
		},
	}
	if p.ownerKind == "DaemonSet" {
		pod.Spec.DNSPolicy = corev1.DNSClusterFirstWithHostNet
	}
	for _, c := range p.containers {
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{
			Name: c.name, Image: c.image, Args: c.args, Ports: c.ports,
			Resources:                corev1.ResourceRequirements{Limits: c.lim, Requests: c.req},
			VolumeMounts:             c.mounts,
			TerminationMessagePath:   "/dev/termination-log",
			TerminationMessagePolicy: corev1.TerminationMessageReadFile,
			ImagePullPolicy:          corev1.PullIfNotPresent,
		})
	}
	pod.Status = podStatus(n, p)
	return pod
}

func lastDash(s string) string { return s[strings.LastIndex(s, "-")+1:] }

func podStatus(n *nodeModel, p *podModel) corev1.PodStatus {
	st := corev1.PodStatus{
		Phase:     corev1.PodRunning,
		HostIP:    n.ip,
		HostIPs:   []corev1.HostIP{{IP: n.ip}},
		PodIP:     p.ip,
		PodIPs:    []corev1.PodIP{{IP: p.ip}},
		StartTime: ptr(mt(p.created.Add(time.Second))),
		QOSClass:  p.qosOf(),
	}
	if p.evicted != "" {
		st.Phase = corev1.PodFailed
		st.Reason = "Evicted"
		st.Message = p.evicted
		st.PodIP, st.PodIPs = "", nil
		for _, c := range p.containers {
			st.ContainerStatuses = append(st.ContainerStatuses, corev1.ContainerStatus{
				Name: c.name, Image: c.image, ImageID: c.imageID, ContainerID: n.runtime + "://" + c.id,
				State: corev1.ContainerState{Terminated: c.last}, RestartCount: c.restarts, Started: ptr(false),
			})
		}
		return st
	}
	ready := p.created.Add(9 * time.Second)
	for _, c := range p.containers {
		if c.started.After(ready) {
			ready = c.started.Add(time.Second)
		}
	}
	cond := func(t corev1.PodConditionType, at time.Time) corev1.PodCondition {
		return corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: mt(at)}
	}
	st.Conditions = []corev1.PodCondition{
		cond("PodReadyToStartContainers", p.created.Add(3*time.Second)),
		cond(corev1.PodInitialized, p.created.Add(time.Second)),
		cond(corev1.PodReady, ready),
		cond(corev1.ContainersReady, ready),
		cond(corev1.PodScheduled, p.created),
	}
	if strings.HasPrefix(n.kubeletVersion, "v1.1") || strings.HasPrefix(n.kubeletVersion, "v1.20") {
		st.Conditions = st.Conditions[1:] // PodReadyToStartContainers is 1.29+
		st.HostIPs, st.PodIPs = nil, nil
	}
	for _, c := range p.containers {
		cs := corev1.ContainerStatus{
			Name: c.name, Image: c.image, ImageID: c.imageID,
			ContainerID: n.runtime + "://" + c.id, Ready: true, Started: ptr(true),
			RestartCount: c.restarts,
			State:        corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: mt(c.started)}},
		}
		if c.last != nil {
			cs.LastTerminationState = corev1.ContainerState{Terminated: c.last}
		}
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
	}
	return st
}

// oomKilled is the lastState kubelet reports for a container the kernel
// OOM-killed: reason OOMKilled, exit code 137 (DOMAIN §4.5).
func oomKilled(n *nodeModel, prevID string, started, finished time.Time) *corev1.ContainerStateTerminated {
	return &corev1.ContainerStateTerminated{
		ExitCode: 137, Reason: "OOMKilled", StartedAt: mt(started), FinishedAt: mt(finished),
		ContainerID: n.runtime + "://" + prevID,
	}
}

// memStats is the summary's MemoryStats for a cgroup, as kubelet derives
// it from cAdvisor (pkg/kubelet/stats/helper.go; DOMAIN §2.1, §2.3).
func memStats(at time.Time, m *memcg, limit int64) *statsapi.MemoryStats {
	t := m.total()
	ws := m.workingSet()
	s := &statsapi.MemoryStats{
		Time: mt(at), UsageBytes: u64(m.usage()), WorkingSetBytes: u64(ws), RSSBytes: u64(t.anon),
		PageFaults: u64(t.pgfault), MajorPageFaults: u64(t.pgmajfault),
	}
	if limit > 0 {
		s.AvailableBytes = u64(limit - ws)
	}
	return s
}

func cpuStats(at time.Time, nanoCores, coreSeconds int64) *statsapi.CPUStats {
	return &statsapi.CPUStats{Time: mt(at), UsageNanoCores: u64(nanoCores), UsageCoreNanoSeconds: u64(coreSeconds * 1e9)}
}

func fsStats(at time.Time, used, capacity, avail int64, inodesUsed int64) *statsapi.FsStats {
	return &statsapi.FsStats{Time: mt(at), AvailableBytes: u64(avail), CapacityBytes: u64(capacity),
		UsedBytes: u64(used), InodesFree: u64(6291456 - 412345), Inodes: u64(6291456), InodesUsed: u64(inodesUsed)}
}

// summary is kubelet's /stats/summary for the node model.
func summary(n *nodeModel) statsapi.Summary {
	at := n.created.Add(-7 * time.Second)
	rootFsCap, rootFsAvail := int64(107317563392), int64(71023423488)
	ws := n.nodeWorkingSet()
	nodeMem := &statsapi.MemoryStats{
		Time: mt(at), AvailableBytes: u64(n.memTotalKB*1024 - ws), UsageBytes: u64(n.nodeUsage()),
		WorkingSetBytes: u64(ws), RSSBytes: u64(n.root.total().anon),
		PageFaults: u64(n.root.total().pgfault), MajorPageFaults: u64(n.root.total().pgmajfault),
	}
	s := statsapi.Summary{Node: statsapi.NodeStats{
		NodeName:  n.name,
		StartTime: mt(n.boot),
		CPU:       cpuStats(at, int64(n.cpus)*113000000, int64(n.created.Sub(n.boot).Seconds())*int64(n.cpus)/9),
		Memory:    nodeMem,
		Fs:        fsStats(at, rootFsCap-rootFsAvail, rootFsCap, rootFsAvail, 412345),
		Runtime:   &statsapi.RuntimeStats{ImageFs: fsStats(at, 9123512320, rootFsCap, rootFsAvail, 98231)},
		Rlimit:    &statsapi.RlimitStats{Time: mt(at), MaxPID: ptr(int64(4194304)), NumOfRunningProcesses: ptr(int64(len(n.procs) + 180))},
	}}
	swapOn := n.swapTotalKB > 0
	if swapOn {
		used := (n.swapTotalKB - n.swapFreeKB()) * 1024
		s.Node.Swap = &statsapi.SwapStats{Time: mt(at), SwapUsageBytes: u64(used), SwapAvailableBytes: u64(n.swapFreeKB() * 1024)}
	}
	for _, sc := range []struct {
		name string
		cg   *memcg
	}{{"kubelet", n.unit("kubelet.service")}, {"runtime", n.unit(n.runtime + ".service")}, {"pods", n.kubepods}} {
		if sc.cg == nil {
			continue
		}
		s.Node.SystemContainers = append(s.Node.SystemContainers, statsapi.ContainerStats{
			Name: sc.name, StartTime: mt(n.boot.Add(31 * time.Second)),
			CPU:    cpuStats(at, 41000000, int64(n.created.Sub(n.boot).Seconds())/25),
			Memory: memStats(at, sc.cg, sc.cg.limit),
		})
	}
	for _, p := range n.pods {
		if p.cg == nil {
			continue // evicted: no cgroup, no stats
		}
		ps := statsapi.PodStats{
			PodRef:    statsapi.PodReference{Name: p.name, Namespace: p.ns, UID: p.uid},
			StartTime: mt(p.created.Add(time.Second)),
			CPU:       cpuStats(at, 2100000, int64(n.created.Sub(p.created).Seconds())/40),
			Memory:    memStats(at, p.cg, p.cg.limit),
		}
		if swapOn {
			ps.Swap = swapStats(at, p.cg)
		}
		var ephemeral int64
		for _, c := range p.containers {
			cs := statsapi.ContainerStats{
				Name: c.name, StartTime: mt(c.started),
				CPU:    cpuStats(at, 2000000, int64(n.created.Sub(c.started).Seconds())/40),
				Memory: memStats(at, c.cg, c.cg.limit),
				Rootfs: fsStats(at, 49152, rootFsCap, rootFsAvail, 14),
				Logs:   fsStats(at, 1204224, rootFsCap, rootFsAvail, 3),
			}
			if swapOn {
				cs.Swap = swapStats(at, c.cg)
			}
			ephemeral += 49152 + 1204224
			ps.Containers = append(ps.Containers, cs)
		}
		for _, v := range p.volumeStats {
			vs := statsapi.VolumeStats{Name: v.name, FsStats: *fsStats(at, v.usedBytes, v.capBytes, v.capBytes-v.usedBytes, 2)}
			if v.tmpfs {
				// statfs of the tmpfs: inodes scale with its size.
				vs.Inodes, vs.InodesFree = u64(v.capBytes/8192), u64(v.capBytes/8192-2)
			}
			ps.VolumeStats = append(ps.VolumeStats, vs)
		}
		ps.EphemeralStorage = fsStats(at, ephemeral, rootFsCap, rootFsAvail, 17)
		ps.ProcessStats = &statsapi.ProcessStats{ProcessCount: u64(int64(len(p.containers) * 2))}
		s.Pods = append(s.Pods, ps)
	}
	return s
}

// unit finds a system.slice unit cgroup.
func (n *nodeModel) unit(name string) *memcg {
	for _, c := range n.system.children {
		if c.name == name {
			return c
		}
	}
	return nil
}

// writeKubelet writes kubelet/: pods.json, summary.json, configz.json,
// flags.txt, version.txt, and logs/pods-index.tsv.
func writeKubelet(b *bundleFiles, n *nodeModel, cfg kubeletconfig.KubeletConfiguration, flags []string) {
	b.putJSON(bundle.KubeletPods, podList(n))
	b.putJSON(bundle.KubeletSummary, summary(n))
	b.putJSON(bundle.KubeletConfigz, map[string]any{"kubeletconfig": cfg})
	b.putf(bundle.KubeletFlags, "%s\n", strings.Join(flags, "\n"))
	b.putf(bundle.KubeletVersion, "Kubernetes %s\n", n.kubeletVersion)
	var rows [][]string
	for _, p := range n.pods {
		for _, c := range p.containers {
			for r := int32(0); r <= c.restarts; r++ {
				if p.evicted != "" && r < c.restarts {
					continue
				}
				rows = append(rows, []string{p.ns, p.name, p.uid, c.name, fmt.Sprint(r)})
			}
		}
	}
	b.putTSV(bundle.PodsIndex, rows)
}

// baseKubeletConfig is the KubeletConfiguration most nodes run, with the
// defaults of pkg/kubelet/apis/config/v1beta1 spelt out the way /configz
// prints them.
func baseKubeletConfig(driver string) kubeletconfig.KubeletConfiguration {
	d := func(s string) metav1.Duration { v, _ := time.ParseDuration(s); return metav1.Duration{Duration: v} }
	return kubeletconfig.KubeletConfiguration{
		EnableServer:                     ptr(true),
		StaticPodPath:                    "/etc/kubernetes/manifests",
		SyncFrequency:                    d("1m"),
		FileCheckFrequency:               d("20s"),
		HTTPCheckFrequency:               d("20s"),
		Address:                          "0.0.0.0",
		Port:                             10250,
		Authentication:                   kubeletconfig.KubeletAuthentication{X509: kubeletconfig.KubeletX509Authentication{ClientCAFile: "/etc/kubernetes/pki/ca.crt"}, Webhook: kubeletconfig.KubeletWebhookAuthentication{Enabled: ptr(true), CacheTTL: d("2m")}, Anonymous: kubeletconfig.KubeletAnonymousAuthentication{Enabled: ptr(false)}},
		Authorization:                    kubeletconfig.KubeletAuthorization{Mode: "Webhook", Webhook: kubeletconfig.KubeletWebhookAuthorization{CacheAuthorizedTTL: d("5m"), CacheUnauthorizedTTL: d("30s")}},
		RegistryPullQPS:                  ptr(int32(5)),
		RegistryBurst:                    10,
		EventRecordQPS:                   ptr(int32(50)),
		EventBurst:                       100,
		EnableDebuggingHandlers:          ptr(true),
		HealthzPort:                      ptr(int32(10248)),
		HealthzBindAddress:               "127.0.0.1",
		OOMScoreAdj:                      ptr(int32(-999)),
		ClusterDomain:                    "cluster.local",
		ClusterDNS:                       []string{"10.96.0.10"},
		StreamingConnectionIdleTimeout:   d("4h"),
		NodeStatusUpdateFrequency:        d("10s"),
		NodeStatusReportFrequency:        d("5m"),
		NodeLeaseDurationSeconds:         40,
		ImageMinimumGCAge:                d("2m"),
		ImageGCHighThresholdPercent:      ptr(int32(85)),
		ImageGCLowThresholdPercent:       ptr(int32(80)),
		VolumeStatsAggPeriod:             d("1m"),
		CgroupsPerQOS:                    ptr(true),
		CgroupDriver:                     driver,
		CPUManagerPolicy:                 "none",
		CPUManagerReconcilePeriod:        d("10s"),
		MemoryManagerPolicy:              "None",
		TopologyManagerPolicy:            "none",
		TopologyManagerScope:             "container",
		RuntimeRequestTimeout:            d("2m"),
		HairpinMode:                      "promiscuous-bridge",
		MaxPods:                          110,
		PodPidsLimit:                     ptr(int64(-1)),
		ResolverConfig:                   ptr("/run/systemd/resolve/resolv.conf"),
		CPUCFSQuota:                      ptr(true),
		CPUCFSQuotaPeriod:                ptr(d("100ms")),
		MaxOpenFiles:                     1000000,
		ContentType:                      "application/vnd.kubernetes.protobuf",
		KubeAPIQPS:                       ptr(int32(50)),
		KubeAPIBurst:                     100,
		SerializeImagePulls:              ptr(true),
		EvictionHard:                     map[string]string{"imagefs.available": "15%", "memory.available": "100Mi", "nodefs.available": "10%", "nodefs.inodesFree": "5%"},
		EvictionPressureTransitionPeriod: d("5m"),
		EnableControllerAttachDetach:     ptr(true),
		MakeIPTablesUtilChains:           ptr(true),
		IPTablesMasqueradeBit:            ptr(int32(14)),
		IPTablesDropBit:                  ptr(int32(15)),
		FailSwapOn:                       ptr(true),
		ContainerLogMaxSize:              "10Mi",
		ContainerLogMaxFiles:             ptr(int32(5)),
		ConfigMapAndSecretChangeDetectionStrategy: kubeletconfig.WatchChangeDetectionStrategy,
		EnforceNodeAllocatable:                    []string{"pods"},
		VolumePluginDir:                           "/usr/libexec/kubernetes/kubelet-plugins/volume/exec/",
		EnableSystemLogHandler:                    ptr(true),
		ShutdownGracePeriod:                       d("0s"),
		ShutdownGracePeriodCriticalPods:           d("0s"),
		RegisterNode:                              ptr(true),
		LocalStorageCapacityIsolation:             ptr(true),
	}
}
