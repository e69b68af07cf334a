package main

import (
	"fmt"
	"strings"
)

// writeProc writes proc/<pid>/{status,cgroup,cmdline,oom_score_adj,fds.tsv}
// for the processes a sample cares about.
func writeProc(b *bundleFiles, n *nodeModel, ps ...*procModel) {
	for _, p := range ps {
		d := fmt.Sprintf("proc/%d/", p.pid)
		b.put(d+"status", []byte(procStatus(n, p)))
		b.put(d+"cgroup", []byte(procCgroup(n, p)))
		b.put(d+"cmdline", []byte(strings.Join(p.argv, "\x00")+"\x00"))
		b.putf(d+"oom_score_adj", "%d\n", p.oomScoreAdj)
		rows := [][]string{}
		for _, f := range p.fds {
			rows = append(rows, []string{f[0], f[1]})
		}
		b.putTSV(d+"fds.tsv", rows)
	}
}

// procStatus renders /proc/<pid>/status (fs/proc/array.c, task_mmu.c). The
// RssAnon/RssFile/RssShmem lines exist since 4.5, so RHEL 7 lacks them.
func procStatus(n *nodeModel, p *procModel) string {
	var s strings.Builder
	w := func(k, format string, a ...any) { fmt.Fprintf(&s, "%s:\t"+format+"\n", append([]any{k}, a...)...) }
	kb := func(k string, v int64) { fmt.Fprintf(&s, "%s:\t%8d kB\n", k, v) }
	old := n.v1Kernel == v1RHEL7 && n.cgroupV == 1
	w("Name", "%s", p.comm)
	w("Umask", "0022")
	w("State", "S (sleeping)")
	w("Tgid", "%d", p.pid)
	w("Ngid", "0")
	w("Pid", "%d", p.pid)
	ppid := p.ppid
	if ppid == 0 {
		ppid = p.pid - 19 // the containerd-shim / docker-containerd-shim that started it
	}
	w("PPid", "%d", ppid)
	w("TracerPid", "0")
	w("Uid", "%d\t%d\t%d\t%d", p.uid, p.uid, p.uid, p.uid)
	w("Gid", "%d\t%d\t%d\t%d", p.uid, p.uid, p.uid, p.uid)
	w("FDSize", "%d", 64+len(p.fds)*8)
	w("Groups", "%s", "")
	if !old {
		// Host processes live in the initial pid namespace (one column);
		// containers' main processes are pid 1 in their own.
		ns := fmt.Sprintf("%d\t1", p.pid)
		if !strings.Contains(p.cgroupPath, "kubepods") {
			ns = fmt.Sprint(p.pid)
		}
		for _, k := range []string{"NStgid", "NSpid", "NSpgid", "NSsid"} {
			w(k, "%s", ns)
		}
	}
	rss := p.anonKB + p.fileKB + p.shmKB
	kb("VmPeak", p.vmSizeKB+p.vmSizeKB/50)
	kb("VmSize", p.vmSizeKB)
	kb("VmLck", 0)
	kb("VmPin", 0)
	kb("VmHWM", rss+rss/20)
	kb("VmRSS", rss)
	if !old {
		kb("RssAnon", p.anonKB)
		kb("RssFile", p.fileKB)
		kb("RssShmem", p.shmKB)
	}
	kb("VmData", p.anonKB+p.anonKB/4+4096)
	kb("VmStk", 132)
	kb("VmExe", 12840)
	kb("VmLib", 8)
	kb("VmPTE", 64+rss/512)
	kb("VmSwap", 0)
	if !old {
		kb("HugetlbPages", 0)
		w("CoreDumping", "0")
		w("THP_enabled", "1")
	}
	w("Threads", "%d", p.threads)
	w("SigQ", "0/%d", n.memTotalKB/256)
	for _, k := range []string{"SigPnd", "ShdPnd", "SigBlk", "SigIgn"} {
		w(k, "0000000000000000")
	}
	w("SigCgt", "fffffffd7fc1feff")
	w("CapInh", "0000000000000000")
	w("CapPrm", "00000000a80425fb")
	w("CapEff", "00000000a80425fb")
	w("CapBnd", "00000000a80425fb")
	w("CapAmb", "0000000000000000")
	w("NoNewPrivs", "0")
	w("Seccomp", "0")
	if !old {
		w("Seccomp_filters", "0")
		w("Speculation_Store_Bypass", "thread vulnerable")
	}
	w("Cpus_allowed", "%x", (1<<n.cpus)-1)
	w("Cpus_allowed_list", "0-%d", n.cpus-1)
	w("Mems_allowed", "00000000,00000001")
	w("Mems_allowed_list", "0")
	w("voluntary_ctxt_switches", "%d", 1000+p.pid%9000)
	w("nonvoluntary_ctxt_switches", "%d", 10+p.pid%300)
	return s.String()
}

// procCgroup renders /proc/<pid>/cgroup: "0::/path" on the unified
// hierarchy; one line per v1 hierarchy otherwise (DOMAIN §1.6). Under the
// systemd driver the v1 controllers hold the same path as the unit.
func procCgroup(n *nodeModel, p *procModel) string {
	if n.cgroupV == 2 {
		return "0::" + p.cgroupPath + "\n"
	}
	path := p.cgroupPath
	ctrls := []string{"net_cls,net_prio", "hugetlb", "perf_event", "devices", "freezer", "cpuset", "pids", "blkio", "memory", "cpu,cpuacct"}
	var s strings.Builder
	for i, c := range ctrls {
		fmt.Fprintf(&s, "%d:%s:%s\n", len(ctrls)+1-i, c, path)
	}
	if n.v1Kernel == v1Upstream6 {
		fmt.Fprintf(&s, "1:name=systemd:%s\n0::%s\n", path, path)
	} else {
		fmt.Fprintf(&s, "1:name=systemd:%s\n", path)
	}
	return s.String()
}
