package main

import (
	"time"

	"github.com/memsnap/memsnap/bundle"
)

// buildHealthyV1 is an ordinary cgroup v1 (hybrid) node: a dozen pods,
// every working set at most half its limit, no OOM.
func buildHealthyV1() *bundleFiles {
	return buildHealthy(1, "ip-10-0-9-14.ec2.internal", "ip-10-0-9-14", "10.0.9.14",
		utc("2024-03-02T04:10:55Z"), utc("2024-03-11T13:05:40Z"), "v1.28.9")
}

// buildHealthyV2 is the same kind of node on the unified hierarchy. Its
// collector ran with a service account that may not get Node objects,
// so the kube source failed (a missing-source info finding).
func buildHealthyV2() *bundleFiles {
	b := buildHealthy(2, "ip-10-0-9-27.ec2.internal", "ip-10-0-9-27", "10.0.9.27",
		utc("2024-06-03T07:44:12Z"), utc("2024-06-12T16:21:08Z"), "v1.29.4")
	for i := range b.sources {
		if b.sources[i].name == bundle.SourceKube {
			b.sources[i].status = bundle.StatusFailed
			b.sources[i].err = `GET https://10.96.0.1:443/api/v1/nodes/ip-10-0-9-27.ec2.internal: 403 Forbidden: nodes "ip-10-0-9-27.ec2.internal" is forbidden: User "system:serviceaccount:kube-system:memsnap" cannot get resource "nodes" in API group "" at the cluster scope`
			b.sources[i].duration = 38 * time.Millisecond
		}
	}
	return b
}

func buildHealthy(v int, name, host, ip string, boot, created time.Time, version string) *bundleFiles {
	kernel, build, tag, osr, cmd := ubuntu2204(v == 1)
	n := newNodeModel(&nodeModel{
		name: name, hostname: host, ip: ip,
		kernel: kernel, kernelBuild: build, buildTag: tag, osRelease: osr, cmdline: cmd,
		hardware: "Amazon EC2 m5.2xlarge/, BIOS 1.0 10/16/2017",
		cpus:     8, memTotalKB: 32302392, kernelOtherKB: 690000,
		boot: boot, created: created,
		cgroupV: v, driver: "systemd", runtime: "containerd", v1Kernel: v1Upstream6,
		kubeletVersion: version,
	})
	kubelet, _ := systemServices(n, kubeletFlags(n))
	systemPods(n, n.boot.Add(2*time.Minute))
	addApps(n, n.boot.Add(20*time.Minute), ordinaryApps())
	klog := &kernLog{n: n, style: styleDmesg}
	klog.bootNoise()
	b := newBundle(n.created, n.nodeInfo())
	cfg := baseKubeletConfig("systemd")
	cfg.KubeReserved = map[string]string{"cpu": "110m", "memory": "1465Mi"}
	cfg.SystemReserved = map[string]string{"memory": "256Mi"}
	n.kubepods.limit = pages(n.memTotalKB*1024 - mib(1465) - mib(256))
	api := n.findPod("api-6c8d7f9b5-h7t2m").containers[0].procs[0]
	writeCommon(b, n, klog, cfg, kubeletFlags(n), api, kubelet)
	standardSources(b, false, false, false)
	return b
}
