package main

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	kubeletconfig "k8s.io/kubelet/config/v1beta1"

	"github.com/memsnap/memsnap/bundle"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// ubuntu2204 is an Ubuntu 22.04 node on the 6.8 HWE kernel. With
// systemd.unified_cgroup_hierarchy=0 on the command line it runs the
// hybrid layout: memory on a v1 hierarchy (DOMAIN §1.6).
func ubuntu2204(v1 bool) (kernel, build, tag, osRelease, cmdline string) {
	kernel = "6.8.0-1015-aws"
	tag = "#16~22.04.1-Ubuntu"
	build = "(buildd@lcy02-amd64-089) (x86_64-linux-gnu-gcc-12 (Ubuntu 12.3.0-1ubuntu1~22.04) 12.3.0, GNU ld (GNU Binutils for Ubuntu) 2.38) #16~22.04.1-Ubuntu SMP Mon Aug 19 19:38:17 UTC 2024"
	osRelease = `PRETTY_NAME="Ubuntu 22.04.4 LTS"
NAME="Ubuntu"
VERSION_ID="22.04"
VERSION="22.04.4 LTS (Jammy Jellyfish)"
VERSION_CODENAME=jammy
ID=ubuntu
ID_LIKE=debian
HOME_URL="https://www.ubuntu.com/"
SUPPORT_URL="https://help.ubuntu.com/"
BUG_REPORT_URL="https://bugs.launchpad.net/ubuntu/"
PRIVACY_POLICY_URL="https://www.ubuntu.com/legal/terms-and-policies/privacy-policy"
UBUNTU_CODENAME=jammy
`
	cmdline = "BOOT_IMAGE=/boot/vmlinuz-6.8.0-1015-aws root=PARTUUID=5c0d3b4e-01 ro console=tty1 console=ttyS0 nvme_core.io_timeout=4294967295 panic=-1"
	if v1 {
		cmdline += " systemd.unified_cgroup_hierarchy=0"
	}
	return
}

// systemPods adds the DaemonSet pods every node of these clusters runs.
// They stay far below their limits so that no rule fires on them.
func systemPods(n *nodeModel, base time.Time) { systemPodsLimited(n, base, false) }

// systemPodsLimited is systemPods where kube-proxy and calico-node carry
// memory limits too (clusters whose admission policy demands them).
func systemPodsLimited(n *nodeModel, base time.Time, limited bool) {
	proxyReq, proxyLim, calicoReq, calicoLim := rl("", ""), rl("", ""), rl("250m", ""), rl("", "")
	if limited {
		// The API server defaults a missing request to the limit.
		proxyReq, proxyLim, calicoReq, calicoLim = rl("", "256Mi"), rl("", "256Mi"), rl("250m", "512Mi"), rl("", "512Mi")
	}
	ds := func(ns, owner, suffix, image string, req, lim corev1.ResourceList, use charge, comm string, argv ...string) {
		p := &podModel{ns: ns, name: owner + "-" + suffix, ownerKind: "DaemonSet", owner: owner,
			created: base, hostNetwork: true, ip: n.ip, priorityClass: "system-node-critical"}
		c := &ctrModel{name: owner, image: image, imageID: image + "@sha256:" + hexID(image), req: req, lim: lim,
			started: base.Add(6 * time.Second),
			procs: []*procModel{{comm: comm, argv: argv, threads: 9, vmSizeKB: 1290000,
				anonKB: use.anon / 1024, fileKB: use.mappedFile / 1024, started: base.Add(6 * time.Second)}}}
		p.containers = []*ctrModel{c}
		n.addPod(p, map[string]charge{owner: use})
	}
	ds("kube-system", "kube-proxy", "x7ktd", "registry.k8s.io/kube-proxy:v1.28.9", proxyReq, proxyLim,
		charge{anon: mib(21) + 8192, activeFile: mib(14), inactiveFile: mib(9), kernel: 1376256, mappedFile: mib(13), activeAnonPct: 10, pgfault: 11452, pgmajfault: 98},
		"kube-proxy", "/usr/local/bin/kube-proxy", "--config=/var/lib/kube-proxy/config.conf", "--hostname-override="+n.name)
	ds("kube-system", "calico-node", "qm2vz", "docker.io/calico/node:v3.26.4", calicoReq, calicoLim,
		charge{anon: mib(74) + 40960, activeFile: mib(31), inactiveFile: mib(52), kernel: 3309568, mappedFile: mib(29), activeAnonPct: 20, pgfault: 290311, pgmajfault: 412},
		"calico-node", "calico-node", "-felix")
	ds("monitoring", "node-exporter", "r5n8w", "quay.io/prometheus/node-exporter:v1.7.0", rl("102m", "180Mi"), rl("250m", "180Mi"),
		charge{anon: mib(17) + 12288, activeFile: mib(3), inactiveFile: mib(6), kernel: 786432, mappedFile: mib(9), activeAnonPct: 15, pgfault: 23121, pgmajfault: 31},
		"node_exporter", "/bin/node_exporter", "--path.procfs=/host/proc", "--path.sysfs=/host/sys", "--path.rootfs=/host/root")
}

// systemServices adds the units under system.slice and the page cache the
// root cgroup holds itself.
func systemServices(n *nodeModel, kubeletArgv []string) (kubelet, runtime *procModel) {
	kubelet = n.addService("kubelet.service", charge{anon: mib(78) + 20480, activeFile: mib(22), inactiveFile: mib(41), kernel: mib(6), mappedFile: mib(44), activeAnonPct: 30, pgfault: 9112330, pgmajfault: 811}, kubeletArgv...)
	kubelet.threads = 31
	if n.runtime == "docker" {
		runtime = n.addService("docker.service", charge{anon: mib(96), activeFile: mib(61), inactiveFile: mib(240), kernel: mib(11), mappedFile: mib(38), activeAnonPct: 25, pgfault: 4412331, pgmajfault: 1203},
			"/usr/bin/dockerd", "-H", "fd://", "--containerd=/run/containerd/containerd.sock")
	} else {
		runtime = n.addService("containerd.service", charge{anon: mib(58), activeFile: mib(35), inactiveFile: mib(188), kernel: mib(9), mappedFile: mib(31), activeAnonPct: 25, pgfault: 3012331, pgmajfault: 950},
			"/usr/bin/containerd")
	}
	runtime.threads = 24
	n.addService("sshd.service", charge{anon: mib(3), activeFile: mib(1), inactiveFile: mib(2), kernel: 421888, activeAnonPct: 10, pgfault: 88122}, "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups")
	n.addService("systemd-journald.service", charge{anon: mib(9), activeFile: mib(48), inactiveFile: mib(112), kernel: mib(2), mappedFile: mib(40), activeAnonPct: 30, pgfault: 51123}, "/lib/systemd/systemd-journald")
	// Page cache and anon of processes in the root cgroup (kernel threads,
	// files read before systemd moved anything).
	n.root.local = charge{anon: mib(12), activeFile: mib(412), inactiveFile: mib(903), kernel: mib(64), mappedFile: mib(20), activeAnonPct: 40, pgfault: 1201122, pgmajfault: 4021}
	return kubelet, runtime
}

// standardSources records the collector's sources in collection order.
// kube/node.json, a standalone cAdvisor and heap profiles are only
// collected when asked for (in-cluster credentials, --cadvisor, --pprof).
func standardSources(b *bundleFiles, systemd bool, pprofTargets bool, volumes bool) {
	b.source(sourceSpec{name: bundle.SourceNode, paths: []string{"node/"}, status: bundle.StatusOK, offset: 2 * time.Millisecond, duration: 3 * time.Millisecond})
	b.source(sourceSpec{name: bundle.SourceCgroup, paths: []string{bundle.CgroupDir}, status: bundle.StatusOK, offset: 6 * time.Millisecond, duration: 212 * time.Millisecond})
	b.source(sourceSpec{name: bundle.SourceKubelet, paths: []string{"kubelet/"}, status: bundle.StatusOK, offset: 221 * time.Millisecond, duration: 1180 * time.Millisecond})
	b.source(sourceSpec{name: bundle.SourceKube, paths: []string{"kube/"}, status: bundle.StatusSkipped, err: "no in-cluster credentials (not running in a pod); the Node object is not needed: allocatable is computed from the kubelet config", offset: 1402 * time.Millisecond})
	b.source(sourceSpec{name: bundle.SourceCadvisor, paths: []string{"cadvisor/"}, status: bundle.StatusSkipped, err: "no --cadvisor URL given", offset: 1402 * time.Millisecond})
	if pprofTargets {
		b.source(sourceSpec{name: bundle.SourcePprof, paths: []string{bundle.PprofDir}, status: bundle.StatusOK, offset: 1403 * time.Millisecond, duration: 412 * time.Millisecond})
	} else {
		b.source(sourceSpec{name: bundle.SourcePprof, paths: []string{bundle.PprofDir}, status: bundle.StatusSkipped, err: "no --pprof target given", offset: 1403 * time.Millisecond})
	}
	if systemd {
		b.source(sourceSpec{name: bundle.SourceSystemd, paths: []string{bundle.SystemdDir}, status: bundle.StatusOK, offset: 1830 * time.Millisecond, duration: 311 * time.Millisecond})
	}
	b.source(sourceSpec{name: bundle.SourceLogs, paths: []string{"logs/"}, status: bundle.StatusOK, offset: 2150 * time.Millisecond, duration: 902 * time.Millisecond})
	b.source(sourceSpec{name: bundle.SourceProc, paths: []string{bundle.ProcDir}, status: bundle.StatusOK, offset: 3060 * time.Millisecond, duration: 140 * time.Millisecond})
	if volumes {
		b.source(sourceSpec{name: bundle.SourceVolumes, paths: []string{bundle.TmpfsVolumes}, status: bundle.StatusOK, offset: 3210 * time.Millisecond, duration: 4 * time.Millisecond})
	}
}

// writeCommon writes node/, cgroup/, kubelet/, logs/ and proc/ for a
// finished node model.
func writeCommon(b *bundleFiles, n *nodeModel, klog *kernLog, cfg kubeletconfig.KubeletConfiguration, flags []string, procs ...*procModel) {
	writeNodeFiles(b, n)
	if n.cgroupV == 2 {
		writeV2Tree(b, n.root)
	} else {
		writeV1Tree(b, n.v1Kernel, n.root)
	}
	writeKubelet(b, n, cfg, flags)
	b.put(bundle.KernelLog, klog.render())
	writeProc(b, n, procs...)
}

func kubeletFlags(n *nodeModel, extra ...string) []string {
	f := []string{"/usr/bin/kubelet",
		"--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf",
		"--kubeconfig=/etc/kubernetes/kubelet.conf",
		"--config=/var/lib/kubelet/config.yaml",
		fmt.Sprintf("--node-ip=%s", n.ip),
		fmt.Sprintf("--hostname-override=%s", n.name)}
	if n.runtime == "containerd" {
		f = append(f, "--container-runtime-endpoint=unix:///run/containerd/containerd.sock")
	}
	return append(f, extra...)
}
