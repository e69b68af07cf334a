package nodegen

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// oomTime is when c was OOM-killed: spread over the last day before the
// collection so the reports sit deep inside the noise.
func (n *node) oomTime(c *container) time.Time {
	return n.created.Add(-time.Duration(3600+(c.PID*7919)%80000) * time.Second)
}

// noise are ordinary kernel lines of a busy container node, the kind that
// buries OOM reports in a real log.
var noise = []string{
	"IPv6: ADDRCONF(NETDEV_CHANGE): veth%s: link becomes ready",
	"cni0: port %d(veth%s) entered blocking state",
	"cni0: port %d(veth%s) entered forwarding state",
	"cni0: port %d(veth%s) entered disabled state",
	"device veth%s entered promiscuous mode",
	"device veth%s left promiscuous mode",
	"audit: type=1400 audit(%d.%03d:%d): apparmor=\"STATUS\" operation=\"profile_replace\" profile=\"unconfined\" name=\"cri-containerd.apparmor.d\" pid=%d comm=\"apparmor_parser\"",
	"overlayfs: upper fs does not support tmpfile.",
	"EXT4-fs (nvme0n1p1): re-mounted. Quota mode: none.",
	"TCP: request_sock_TCP: Possible SYN flooding on port 8080. Sending cookies.  Check SNMP counters.",
	"nf_conntrack: nf_conntrack: table full, dropping packet",
	"hrtimer: interrupt took %d ns",
}

func (n *node) noiseLine() string {
	id := n.hex(4)
	switch k := n.rng.IntN(len(noise)); k {
	case 0, 4, 5:
		return fmt.Sprintf(noise[k], id)
	case 1, 2, 3:
		return fmt.Sprintf(noise[k], 1+n.rng.IntN(300), id)
	case 6:
		return fmt.Sprintf(noise[k], n.boot.Unix()+n.rng.Int64N(86400*3), n.rng.IntN(1000), n.rng.IntN(9000), n.pid())
	case 11:
		return fmt.Sprintf(noise[k], 5000+n.rng.IntN(20000))
	default:
		return noise[k]
	}
}

// kernelLog writes logs/kernel.log in dmesg's printk format: boot lines,
// KernelNoiseLines ordinary lines, and one OOM report per victim at its time.
func (n *node) kernelLog() []byte {
	up := n.created.Sub(n.boot).Seconds()
	type event struct {
		at    float64
		lines []string
	}
	var events []event
	for i := 0; i < n.opt.KernelNoiseLines; i++ {
		events = append(events, event{at: 20 + n.rng.Float64()*(up-30), lines: []string{n.noiseLine()}})
	}
	for _, c := range n.oomVictim {
		events = append(events, event{at: n.oomTime(c).Sub(n.boot).Seconds(), lines: n.oomReport(c)})
	}
	sort.SliceStable(events, func(i, j int) bool { return events[i].at < events[j].at })
	var b strings.Builder
	b.Grow(n.opt.KernelNoiseLines * 100)
	for _, l := range []string{
		"Linux version 6.8.0-1015-aws (buildd@lcy02-amd64-089) (x86_64-linux-gnu-gcc-12 (Ubuntu 12.3.0-1ubuntu1~22.04) 12.3.0, GNU ld (GNU Binutils for Ubuntu) 2.38) #16~22.04.1-Ubuntu SMP Mon Aug 19 19:38:17 UTC 2024",
		"Command line: BOOT_IMAGE=/boot/vmlinuz-6.8.0-1015-aws root=PARTUUID=5c0d3b4e-01 ro console=ttyS0",
		fmt.Sprintf("Memory: %dK/%dK available", n.memTotal/kib-300000, n.memTotal/kib),
	} {
		fmt.Fprintf(&b, "[    0.000000] %s\n", l)
	}
	for _, e := range events {
		for k, l := range e.lines {
			fmt.Fprintf(&b, "[%12.6f] %s\n", e.at+float64(k)*0.000003, l)
		}
	}
	return []byte(b.String())
}

// oomReport is a memcg OOM report as a 6.x kernel prints it
// (torvalds/linux:mm/oom_kill.c dump_header, oom_kill_process;
// mm/memcontrol.c mem_cgroup_print_oom_meminfo).
func (n *node) oomReport(c *container) []string {
	u := c.Cgroup.tree
	memcg := "/" + c.Cgroup.path
	comm := c.Name
	if len(comm) > 15 {
		comm = comm[:15] // TASK_COMM_LEN
	}
	l := []string{
		fmt.Sprintf("%s invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=%d", comm, 984),
		fmt.Sprintf("CPU: %d PID: %d Comm: %s Not tainted 6.8.0-1015-aws #16~22.04.1-Ubuntu", n.rng.IntN(8), c.PID, comm),
		"Hardware name: Amazon EC2 m5.4xlarge/, BIOS 1.0 10/16/2017",
		"Call Trace:", " <TASK>", "  dump_stack_lvl+0x76/0xa0", "  dump_header+0x47/0x1f0", "  oom_kill_process+0x118/0x280",
		"  out_of_memory+0x103/0x350", "  mem_cgroup_out_of_memory+0x145/0x170", "  try_charge_memcg+0x6d6/0x7d0",
		"  __mem_cgroup_charge+0x45/0xb0", "  do_anonymous_page+0x2f4/0x7c0", "  handle_mm_fault+0x18d/0x380", " </TASK>",
		fmt.Sprintf("memory: usage %dkB, limit %dkB, failcnt %d", c.Limit/kib, c.Limit/kib, u.failcnt),
	}
	if n.opt.CgroupVersion == 2 {
		l = append(l, "swap: usage 0kB, limit 0kB, failcnt 0",
			"Memory cgroup stats for "+memcg+":",
			fmt.Sprintf("anon %d", u.anon), fmt.Sprintf("file %d", u.file()), fmt.Sprintf("kernel %d", u.kernel),
			fmt.Sprintf("shmem %d", u.shmem), fmt.Sprintf("inactive_anon %d", u.anon), "active_anon 0",
			fmt.Sprintf("inactive_file %d", u.inactiveFile), fmt.Sprintf("active_file %d", u.activeFile))
	} else {
		l = append(l, fmt.Sprintf("memory+swap: usage %dkB, limit %dkB, failcnt 0", c.Limit/kib, unlimitedV1/kib),
			fmt.Sprintf("kmem: usage %dkB, limit %dkB, failcnt 0", u.kernel/kib, unlimitedV1/kib),
			"Memory cgroup stats for "+memcg+":",
			fmt.Sprintf("cache %d", u.file()), fmt.Sprintf("rss %d", u.anon), "rss_huge 0", fmt.Sprintf("shmem %d", u.shmem),
			fmt.Sprintf("inactive_anon %d", u.anon), "active_anon 0",
			fmt.Sprintf("inactive_file %d", u.inactiveFile), fmt.Sprintf("active_file %d", u.activeFile))
	}
	rssPages := u.anon / 4096
	cpuset := c.ID
	if n.opt.Driver == "systemd" {
		cpuset = "cri-containerd-" + c.ID + ".scope"
	}
	l = append(l,
		"Tasks state (memory values in pages):",
		"[  pid  ]   uid  tgid total_vm      rss rss_anon rss_file rss_shmem pgtables_bytes swapents oom_score_adj name",
		fmt.Sprintf("[%7d]     0 %5d %8d %8d %8d %8d         0   659456        0           984 %s", c.PID, c.PID, rssPages*5, rssPages+300, rssPages, 300, comm),
		fmt.Sprintf("oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=%s,mems_allowed=0,oom_memcg=%s,task_memcg=%s,task=%s,pid=%d,uid=0", cpuset, memcg, memcg, comm, c.PID),
		fmt.Sprintf("Memory cgroup out of memory: Killed process %d (%s) total-vm:%dkB, anon-rss:%dkB, file-rss:1200kB, shmem-rss:0kB, UID:0 pgtables:644kB oom_score_adj:984", c.PID, comm, rssPages*20, u.anon/kib),
		fmt.Sprintf("oom_reaper: reaped process %d (%s), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB", c.PID, comm),
	)
	return l
}
