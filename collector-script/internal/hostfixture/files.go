package hostfixture

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// proc describes one fake process.
type proc struct {
	pid    int
	comm   string
	argv   []string
	cgroup string // path in the memory hierarchy
	files  []string
	adj    int
	rssKB  int64
	env    []string // /proc/<pid>/environ
}

func (h *Host) procs() []proc {
	var out []proc
	h.KubeletPID = 900
	out = append(out,
		proc{pid: 900, comm: "kubelet", cgroup: "system.slice/kubelet.service", adj: -999, rssKB: 120 << 10, argv: []string{
			"/usr/bin/kubelet", "--config=/var/lib/kubelet/config.yaml", "--kubeconfig=/etc/kubernetes/kubelet.conf",
			"--hostname-override=" + h.Opt.NodeName, "--container-runtime-endpoint=unix:///run/containerd/containerd.sock",
			"--token=" + secretArgvToken, "--v=2"}},
		proc{pid: 901, comm: "containerd", cgroup: "system.slice/containerd.service", adj: -999, rssKB: 80 << 10, argv: []string{"/usr/bin/containerd"}},
		proc{pid: 1000, comm: "bash", cgroup: "user.slice", rssKB: 4 << 10, argv: []string{"-bash"}},
	)
	for i, p := range h.Pods {
		for _, c := range p.Containers {
			pr := proc{pid: c.PID, comm: "server", cgroup: c.Cgroup, adj: 500, rssKB: 20 << 10, argv: []string{"/app/server", "--port=8080"}}
			switch {
			case c.Name == "POD":
				pr.comm, pr.argv, pr.adj = "pause", []string{"/pause"}, -998
			case i == 0 && c.Name == "main":
				pr.comm, pr.argv, pr.rssKB = "java", []string{"java", "-Xmx1g", "-jar", "/app.jar", "--db-password", secretArgvPassword}, 250<<10
				// The collector keeps JAVA_TOOL_OPTIONS only; the credential
				// beside it must never reach the bundle.
				pr.env = []string{"PATH=/usr/bin", "JAVA_TOOL_OPTIONS=" + EnvJavaToolOptions, "AWS_SECRET_ACCESS_KEY=" + secretProcEnv, "HOME=/root"}
			case i == 1 && c.Name == "main":
				pr.comm, pr.files = "nginx", []string{"/var/log/web/access.log"}
			}
			out = append(out, pr)
		}
	}
	// Filler: processes outside kubepods that the collector must skip.
	for pid := 20000; len(out) < h.Opt.Processes; pid++ {
		out = append(out, proc{pid: pid, comm: "sleep", cgroup: "user.slice", rssKB: 1 << 10, argv: []string{"sleep", "infinity"}})
	}
	return out
}

func (h *Host) procCgroupFile(cg string) string {
	if h.Opt.CgroupVersion == 2 {
		return "0::/" + cg + "\n"
	}
	return fmt.Sprintf("12:pids:/%s\n4:memory:/%s\n1:name=systemd:/%s\n0::/%s\n", cg, cg, cg, cg)
}

// writeProcs writes /proc/<pid>/ for every process, with fd links: the
// fixture's links are plain symlinks to absolute host paths, which the
// collector resolves below --host-root.
func (h *Host) writeProcs() error {
	if err := h.write("var/log/web/access.log", "GET / 200\n"); err != nil {
		return err
	}
	// Seed 000's 889 MB log, sparse: its size is what fds.tsv reports.
	if err := os.Truncate(filepath.Join(h.Root, "var/log/web/access.log"), bigLogBytes); err != nil {
		return err
	}
	if err := h.write("var/log/app/app.log", "started\n"); err != nil {
		return err
	}
	for _, p := range h.procs() {
		dir := fmt.Sprintf("proc/%d/", p.pid)
		files := map[string]string{
			"comm":          p.comm + "\n",
			"cmdline":       strings.Join(p.argv, "\x00") + "\x00",
			"environ":       strings.Join(append(p.env, "HOSTNAME=fixture"), "\x00") + "\x00",
			"cgroup":        h.procCgroupFile(p.cgroup),
			"oom_score_adj": fmt.Sprintf("%d\n", p.adj),
			"status":        fmt.Sprintf("Name:\t%s\nState:\tS (sleeping)\nPid:\t%d\nVmPeak:\t%d kB\nVmRSS:\t%d kB\nRssAnon:\t%d kB\nRssFile:\t%d kB\nRssShmem:\t0 kB\nThreads:\t4\n", p.comm, p.pid, p.rssKB*2, p.rssKB, p.rssKB*9/10, p.rssKB/10),
			"smaps_rollup":  fmt.Sprintf("00400000-7fff0000 ---p 00000000 00:00 0    [rollup]\nRss:  %d kB\nPss:  %d kB\nPss_Anon:  %d kB\nPss_File:  %d kB\nPss_Shmem:  0 kB\nAnonymous:  %d kB\nSwap:  0 kB\n", p.rssKB, p.rssKB, p.rssKB*9/10, p.rssKB/10, p.rssKB*9/10),
		}
		for name, content := range files {
			if err := h.write(dir+name, content); err != nil {
				return err
			}
		}
		fd := filepath.Join(h.Root, dir, "fd")
		if err := os.MkdirAll(fd, 0o755); err != nil {
			return err
		}
		links := append([]string{"/dev/null", fmt.Sprintf("pipe:[%d]", 40000+p.pid), fmt.Sprintf("socket:[%d]", 50000+p.pid), "/var/log/app/app.log"}, p.files...)
		for i, target := range links {
			if err := os.Symlink(target, filepath.Join(fd, fmt.Sprint(i))); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeKmsg writes /dev/kmsg as a regular file of raw records: filler over
// the day, then a memcg OOM report for pod 0's main container shortly
// before the snapshot.
func (h *Host) writeKmsg() error {
	var b strings.Builder
	seq := 0
	rec := func(usec int64, prio int, msg string) {
		fmt.Fprintf(&b, "%d,%d,%d,-;%s\n", prio, seq, usec, msg)
		seq++
	}
	n := max(h.Opt.KmsgLines, 10)
	step := int64(80000) * 1e6 / int64(n)
	for i := 0; i < n; i++ {
		rec(int64(i)*step+1000, 6, fmt.Sprintf("eth0: link event %d on port %d, carrier ok", i, i%8))
		if i == 0 {
			b.WriteString(" SUBSYSTEM=net\n DEVICE=n2\n")
		}
	}
	pod, ctr := h.Pods[0], h.Pods[0].Containers[1]
	cg := "/" + ctr.Cgroup
	t := int64(86000) * 1e6
	lines := []string{
		"java invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=500",
		fmt.Sprintf("CPU: 1 PID: %d Comm: java Not tainted 6.1.0-fixture #1", ctr.PID),
		fmt.Sprintf("memory: usage %dkB, limit %dkB, failcnt 1234", oomLimit/1024, oomLimit/1024),
	}
	if h.Opt.CgroupVersion == 1 {
		lines = append(lines, "memory+swap: usage 262144kB, limit 9007199254740988kB, failcnt 0", "kmem: usage 1024kB, limit 9007199254740988kB, failcnt 0",
			"Memory cgroup stats for "+cg+":", "rss 262144000", "cache 4194304", "shmem 0", "mapped_file 0", "inactive_file 1048576", "active_file 3145728")
	} else {
		lines = append(lines, "swap: usage 0kB, limit 9007199254740988kB, failcnt 0",
			"Memory cgroup stats for "+cg+":", "anon 262144000", "file 4194304", "kernel 1048576", "shmem 0", "inactive_file 1048576", "active_file 3145728")
	}
	lines = append(lines,
		"Tasks state (memory values in pages):",
		"[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name",
		fmt.Sprintf("[%7d]     0 %5d   262144    64000   600000        0           500 java", ctr.PID, ctr.PID),
		fmt.Sprintf("oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=%s,mems_allowed=0,oom_memcg=%s,task_memcg=%s,task=java,pid=%d,uid=0", ctr.ID[:12], cg, cg, ctr.PID),
		fmt.Sprintf("Memory cgroup out of memory: Killed process %d (java) total-vm:1048576kB, anon-rss:256000kB, file-rss:4096kB, shmem-rss:0kB, UID:0 pgtables:600kB oom_score_adj:500", ctr.PID),
		fmt.Sprintf("oom_reaper: reaped process %d (java), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB", ctr.PID),
	)
	for i, l := range lines {
		rec(t+int64(i), 3, l)
	}
	_ = pod
	return h.write("dev/kmsg", b.String())
}

func (h *Host) writeKubeletFiles() error {
	config := fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: %s
cgroupsPerQOS: true
enforceNodeAllocatable:
- pods
kubeReserved:
  memory: 1Gi
systemReserved:
  memory: 1Gi
evictionHard:
  memory.available: 100Mi
staticPodURLHeader:
  Authorization:
  - "Bearer %s"
tlsPrivateKeyFile: /var/lib/kubelet/pki/kubelet.key
`, h.Opt.Driver, secretConfigBearer)
	logLines := []string{
		`I1123 10:00:00.000000     900 server.go:487] "Kubelet version" kubeletVersion="v1.29.4"`,
		`I1123 10:00:01.000000     900 container_manager_linux.go:271] "Creating Container Manager object based on Node Config" nodeConfig={"CgroupDriver":"` + h.Opt.Driver + `","EnforceNodeAllocatable":{"pods":{}}}`,
		`I1123 10:00:02.000000     900 round_trippers.go:553] curl -v -XGET -H "Authorization: Bearer ` + secretLogBearer + `" https://10.0.0.1:6443/api`,
		`E1123 10:00:03.000000     900 config.go:99] invalid kubeconfig, dump follows:`,
		`    token: ` + secretKubecfgToken,
		`    client-key-data: ` + secretClientKey,
		`E1123 10:00:04.000000     900 s3.go:12] upload failed for key ` + secretAWSKey,
		`E1123 10:00:05.000000     900 git.go:40] clone https://x:` + secretGitHub + `@github.com/org/repo failed`,
		`I1123 11:00:00.000000     900 eviction_manager.go:366] "Eviction manager: attempting to reclaim" resourceName="memory"`,
	}
	files := map[string]string{
		"var/lib/kubelet/config.yaml": config,
		"var/log/kubelet.log":         strings.Join(logLines, "\n") + "\n",
	}
	for rel, content := range files {
		if err := h.write(rel, content); err != nil {
			return err
		}
	}
	return nil
}

func (h *Host) writeSystemd() error {
	files := map[string]string{
		"run/systemd/transient/kubepods.slice":                    "[Unit]\nDescription=libcontainer container kubepods.slice\n[Slice]\nMemoryLimit=17179869184\n",
		"run/systemd/system/kubepods.slice.d/50-MemoryLimit.conf": "[Slice]\nMemoryLimit=17179869184\n",
		"etc/systemd/system/kubelet.service.d/10-kubeadm.conf":    "[Service]\nEnvironment=\"KUBELET_KUBECONFIG_ARGS=--kubeconfig=/etc/kubernetes/kubelet.conf\"\nEnvironment=\"API_TOKEN=" + secretUnitEnv + "\"\nExecStart=\nExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS\n",
		"usr/lib/systemd/system/kubelet.service":                  "[Unit]\nDescription=kubelet\n[Service]\nExecStart=/usr/bin/kubelet\nRestart=always\n",
	}
	for rel, content := range files {
		if err := h.write(rel, content); err != nil {
			return err
		}
	}
	// *.wants links point at absolute host paths: the collector must not
	// follow them out of the host root.
	wants := filepath.Join(h.Root, "etc/systemd/system/multi-user.target.wants")
	if err := os.MkdirAll(wants, 0o755); err != nil {
		return err
	}
	return os.Symlink("/usr/lib/systemd/system/kubelet.service", filepath.Join(wants, "kubelet.service"))
}

// writePodLogs writes /var/log/pods/<ns>_<pod>_<uid>/<container>/<n>.log;
// pod 0's main container restarted once after its OOM kill.
func (h *Host) writePodLogs() error {
	for i, p := range h.Pods {
		for _, c := range p.Containers[1:] {
			dir := fmt.Sprintf("var/log/pods/%s_%s_%s/%s/", p.Namespace, p.Name, p.UID, c.Name)
			if err := h.write(dir+"0.log", "2025-11-23T10:00:00Z stdout F started\n"); err != nil {
				return err
			}
			current := "0.log"
			if i == 0 && c.Name == "main" {
				if err := h.write(dir+"1.log", "2025-11-23T11:00:00Z stdout F restarted\n"); err != nil {
					return err
				}
				current = "1.log"
			}
			// kubelet's /var/log/containers link names the running instance
			// and points at its log, host-absolute.
			links := filepath.Join(h.Root, "var/log/containers")
			if err := os.MkdirAll(links, 0o755); err != nil {
				return err
			}
			link := fmt.Sprintf("%s_%s_%s-%s.log", p.Name, p.Namespace, c.Name, c.ID)
			if err := os.Symlink("/"+dir+current, filepath.Join(links, link)); err != nil {
				return err
			}
		}
	}
	return h.write("var/log/pods/monitoring_cadvisor-x7k2p_"+uuid(9999)+"/cadvisor/0.log",
		"2025-11-23T10:00:00Z stderr F I1123 fsHandler.go:135] du and find on following dirs took 57.5627s: [/rootfs/var/lib/docker/overlay2/x/diff]; will not log again for this container unless duration exceeds 4s\n")
}
