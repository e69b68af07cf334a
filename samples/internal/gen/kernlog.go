package main

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// logStyle is how the collector got the kernel log (DOMAIN §4.4).
type logStyle int

const (
	styleDmesg   logStyle = iota // "[ 7063.247407] " printk time
	styleJournal                 // journalctl -k: "Nov 11 06:55:00 host kernel: "
)

// kernLog collects kernel messages at offsets since boot and renders them
// in one style, sorted by time.
type kernLog struct {
	n     *nodeModel
	style logStyle
	lines []kernLine
}

type kernLine struct {
	at   time.Duration
	seq  int
	text string
	cont bool // a continuation line of one multi-line printk: no stamp of its own
}

func (k *kernLog) add(at time.Duration, format string, args ...any) {
	k.lines = append(k.lines, kernLine{at: at, seq: len(k.lines), text: fmt.Sprintf(format, args...)})
}

// cont adds a continuation line of the previous message (a printk with
// embedded newlines, as show_free_areas prints Mem-Info): dmesg prints it
// without a stamp, indented to the message column.
func (k *kernLog) cont(text string) {
	at := k.lines[len(k.lines)-1].at
	k.lines = append(k.lines, kernLine{at: at, seq: len(k.lines), text: text, cont: true})
}

// block adds consecutive lines a few microseconds apart, as one report is
// printed.
func (k *kernLog) block(at time.Duration, lines []string) time.Duration {
	for i, l := range lines {
		k.add(at+time.Duration(i)*3*time.Microsecond, "%s", l)
	}
	return at + time.Duration(len(lines))*3*time.Microsecond
}

func (k *kernLog) render() []byte {
	sort.SliceStable(k.lines, func(i, j int) bool {
		if k.lines[i].at != k.lines[j].at {
			return k.lines[i].at < k.lines[j].at
		}
		return k.lines[i].seq < k.lines[j].seq
	})
	var b strings.Builder
	for _, l := range k.lines {
		switch {
		case l.cont && k.style == styleDmesg:
			fmt.Fprintf(&b, "%15s%s\n", "", l.text)
		case l.cont:
			fmt.Fprintf(&b, "%s %s kernel: %s\n", k.n.boot.Add(l.at).UTC().Format(time.Stamp), k.n.hostname, l.text)
		case k.style == styleDmesg:
			us := l.at.Microseconds()
			fmt.Fprintf(&b, "[%5d.%06d] %s\n", us/1e6, us%1e6, l.text)
		default:
			fmt.Fprintf(&b, "%s %s kernel: %s\n", k.n.boot.Add(l.at).UTC().Format(time.Stamp), k.n.hostname, l.text)
		}
	}
	return []byte(b.String())
}

// since converts a wall time to the offset since boot.
// The fixed sub-second part keeps printk stamps from looking round.
func (k *kernLog) since(t time.Time) time.Duration { return t.Sub(k.n.boot) + 317411*time.Microsecond }

// bootNoise adds the first lines every boot prints and the ordinary
// traffic a Kubernetes node logs (veth pairs of new pods, conntrack).
func (k *kernLog) bootNoise() {
	n := k.n
	k.add(0, "Linux version %s %s", n.kernel, n.kernelBuild)
	k.add(0, "Command line: %s", n.cmdline)
	k.add(0, "KERNEL supported cpus:")
	k.add(0, "  Intel GenuineIntel")
	k.add(0, "  AMD AuthenticAMD")
	k.add(0, "BIOS-provided physical RAM map:")
	k.add(4512*time.Microsecond, "DMI: %s", n.hardware)
	k.add(4519*time.Microsecond, "Hypervisor detected: KVM")
	k.add(137711*time.Microsecond, "Memory: %dK/%dK available (16384K kernel code, 4375K rwdata, 11716K rodata, 4808K init, 4792K bss, %dK reserved, 0K cma-reserved)",
		n.memTotalKB-31000, n.memTotalKB+262144, 262144+31000)
	k.add(612033*time.Microsecond, "smpboot: Allowing %d CPUs, 0 hotplug CPUs", n.cpus)
	k.add(1841230*time.Microsecond, "systemd[1]: Detected virtualization kvm.")
	k.add(1841244*time.Microsecond, "systemd[1]: Detected architecture x86-64.")
	k.add(4812311*time.Microsecond, "EXT4-fs (vda1): mounted filesystem with ordered data mode. Opts: (null)")
	k.add(11402311*time.Microsecond, "IPVS: Registered protocols (TCP, UDP, SCTP, AH, ESP)")
	k.add(11402399*time.Microsecond, "IPVS: Connection hash table configured (size=4096, memory=64Kbytes)")
	k.add(12881021*time.Microsecond, "bridge: filtering via arp/ip/ip6tables is no longer available by default. Update your scripts to load br_netfilter if you need this.")
	k.add(13100554*time.Microsecond, "Initializing XFRM netlink socket")
	k.add(13544102*time.Microsecond, "overlayfs: upper fs does not support tmpfile.")
	for i, p := range n.pods {
		if p.hostNetwork || p.cg == nil {
			continue
		}
		at := k.since(p.created) + 2*time.Second + time.Duration(i)*137*time.Microsecond
		veth := "veth" + p.sandboxID[:8]
		k.add(at, "IPv6: ADDRCONF(NETDEV_CHANGE): %s: link becomes ready", veth)
		k.add(at+41*time.Microsecond, "cni0: port %d(%s) entered blocking state", i+1, veth)
		k.add(at+52*time.Microsecond, "cni0: port %d(%s) entered forwarding state", i+1, veth)
	}
	k.add(k.since(n.created)-311*time.Second, "hrtimer: interrupt took 11373 ns")
}

// oomTask is one row of the OOM report's task table (values in pages).
type oomTask struct {
	pid, uid          int
	totalVM           int64
	anon, file, shmem int64
	pgtables          int64 // bytes
	adj               int
	comm              string
}

func (t oomTask) rss() int64 { return t.anon + t.file + t.shmem }

func taskOf(p *procModel) oomTask {
	return oomTask{pid: p.pid, uid: p.uid, totalVM: p.vmSizeKB / 4, anon: p.anonKB / 4, file: p.fileKB / 4,
		shmem: p.shmKB / 4, pgtables: pages(p.vmSizeKB*8) + 16384, adj: p.oomScoreAdj, comm: p.comm}
}

// oomReport is what the kernel knew when it killed.
type oomReport struct {
	at                  time.Duration
	trigger             oomTask // the task whose charge failed
	victim              oomTask
	cpu                 int
	gfp                 string
	oomMemcg, taskMemcg string
	usageKB, limitKB    int64
	failcnt             int64
	memcgStat           []kv     // modern kernels: memory.stat-format dump of the oom memcg
	memcgStatLines      []string // 4.19/3.10: one line per cgroup of the subtree
	tasks               []oomTask
	stack               []string
	cpusetLeaf          string
}

func kB(pagesN int64) int64 { return pagesN * 4 }

// modern renders a ≥5.x cgroup v2 memcg OOM report with the 6.8 task
// table (rss_anon/rss_file/rss_shmem columns, deepin-community/kernel#1138)
// and the oom-kill summary line (torvalds/linux:mm/oom_kill.c).
func (r oomReport) modern(n *nodeModel) []string {
	l := []string{
		fmt.Sprintf("%s invoked oom-killer: gfp_mask=%s, order=0, oom_score_adj=%d", r.trigger.comm, r.gfp, r.trigger.adj),
		fmt.Sprintf("CPU: %d PID: %d Comm: %s Not tainted %s %s", r.cpu, r.trigger.pid, r.trigger.comm, n.kernel, n.buildTag),
		"Hardware name: " + n.hardware,
		"Call Trace:",
		" <TASK>",
	}
	l = append(l, r.stack...)
	l = append(l, " </TASK>",
		fmt.Sprintf("memory: usage %dkB, limit %dkB, failcnt %d", r.usageKB, r.limitKB, r.failcnt),
		"swap: usage 0kB, limit 0kB, failcnt 0",
		fmt.Sprintf("Memory cgroup stats for %s:", r.oomMemcg))
	for _, e := range r.memcgStat {
		l = append(l, fmt.Sprintf("%s %d", e.key, e.val))
	}
	l = append(l, "Tasks state (memory values in pages):",
		"[  pid  ]   uid  tgid total_vm      rss rss_anon rss_file rss_shmem pgtables_bytes swapents oom_score_adj name")
	for _, t := range r.tasks {
		l = append(l, fmt.Sprintf("[%7d] %5d %5d %8d %8d %8d %8d %9d %8d %8d         %5d %s",
			t.pid, t.uid, t.pid, t.totalVM, t.rss(), t.anon, t.file, t.shmem, t.pgtables, 0, t.adj, t.comm))
	}
	v := r.victim
	l = append(l,
		fmt.Sprintf("oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=%s,mems_allowed=0,oom_memcg=%s,task_memcg=%s,task=%s,pid=%d,uid=%d",
			r.cpusetLeaf, r.oomMemcg, r.taskMemcg, v.comm, v.pid, v.uid),
		fmt.Sprintf("Memory cgroup out of memory: Killed process %d (%s) total-vm:%dkB, anon-rss:%dkB, file-rss:%dkB, shmem-rss:%dkB, UID:%d pgtables:%dkB oom_score_adj:%d",
			v.pid, v.comm, kB(v.totalVM), kB(v.anon), kB(v.file), kB(v.shmem), v.uid, v.pgtables/1024, v.adj))
	return l
}

// legacy renders the pre-5.0 v1 report: "Task in … killed as a result of
// limit of …", memory/memory+swap/kmem lines, one stats line per cgroup of
// the subtree, then the "Kill process … or sacrifice child" pair. rhel7
// selects the 3.10 task table (nr_ptes) and kill line without shmem-rss.
func (r oomReport) legacy(n *nodeModel, rhel7 bool, memswLimitKB int64) []string {
	cpusetLine := fmt.Sprintf("%s cpuset=%s mems_allowed=0", r.trigger.comm, r.cpusetLeaf)
	var l []string
	if rhel7 {
		l = append(l, fmt.Sprintf("%s invoked oom-killer: gfp_mask=%s, order=0, oom_score_adj=%d", r.trigger.comm, r.gfp, r.trigger.adj), cpusetLine,
			fmt.Sprintf("CPU: %d PID: %d Comm: %s Kdump: loaded Tainted: G               ------------ T %s %s", r.cpu, r.trigger.pid, r.trigger.comm, n.kernel, "#1"))
	} else {
		l = append(l, fmt.Sprintf("%s invoked oom-killer: gfp_mask=%s, nodemask=(null), order=0, oom_score_adj=%d", r.trigger.comm, r.gfp, r.trigger.adj), cpusetLine,
			fmt.Sprintf("CPU: %d PID: %d Comm: %s Tainted: G           OE     %s #1", r.cpu, r.trigger.pid, r.trigger.comm, n.kernel))
	}
	l = append(l, "Hardware name: "+n.hardware, "Call Trace:")
	l = append(l, r.stack...)
	l = append(l,
		fmt.Sprintf("Task in %s killed as a result of limit of %s", r.taskMemcg, r.oomMemcg),
		fmt.Sprintf("memory: usage %dkB, limit %dkB, failcnt %d", r.usageKB, r.limitKB, r.failcnt),
		fmt.Sprintf("memory+swap: usage %dkB, limit %dkB, failcnt 0", r.usageKB, memswLimitKB),
		fmt.Sprintf("kmem: usage 0kB, limit %dkB, failcnt 0", v1UnlimitedKB))
	l = append(l, r.memcgStatLines...)
	if rhel7 {
		l = append(l, "[ pid ]   uid  tgid total_vm      rss nr_ptes swapents oom_score_adj name")
		for _, t := range r.tasks {
			l = append(l, fmt.Sprintf("[%5d] %5d %5d %8d %8d %7d %8d         %5d %s", t.pid, t.uid, t.pid, t.totalVM, t.rss(), t.pgtables/4096, 0, t.adj, t.comm))
		}
	} else {
		l = append(l, "Tasks state (memory values in pages):",
			"[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name")
		for _, t := range r.tasks {
			l = append(l, fmt.Sprintf("[%7d] %5d %5d %8d %8d %8d %8d         %5d %s", t.pid, t.uid, t.pid, t.totalVM, t.rss(), t.pgtables, 0, t.adj, t.comm))
		}
	}
	v := r.victim
	score := (v.rss()*4096*1000)/(r.limitKB*1024) + int64(v.adj)
	l = append(l, fmt.Sprintf("Memory cgroup out of memory: Kill process %d (%s) score %d or sacrifice child", v.pid, v.comm, score))
	if rhel7 {
		l = append(l, fmt.Sprintf("Killed process %d (%s) total-vm:%dkB, anon-rss:%dkB, file-rss:%dkB", v.pid, v.comm, kB(v.totalVM), kB(v.anon), kB(v.file)))
	} else {
		l = append(l, fmt.Sprintf("Killed process %d (%s) total-vm:%dkB, anon-rss:%dkB, file-rss:%dkB, shmem-rss:%dkB", v.pid, v.comm, kB(v.totalVM), kB(v.anon), kB(v.file), kB(v.shmem)))
	}
	return l
}

// legacyStatLine is one 4.19-era "Memory cgroup stats for" line of a
// cgroup's local counters, keys as the seed 003 report prints them.
func legacyStatLine(path string, c charge, rhel7 bool) string {
	kb := func(v int64) string { return fmt.Sprintf("%dKB", v/1024) }
	ia, aa := c.anonLRU()
	var parts []string
	if rhel7 {
		parts = []string{"cache:" + kb(c.file()), "rss:" + kb(c.anon), "rss_huge:" + kb(c.anonTHP),
			"mapped_file:" + kb(c.mappedFile), "swap:0KB"}
	} else {
		parts = []string{"cache:" + kb(c.file()), "rss:" + kb(c.anon), "rss_huge:" + kb(c.anonTHP), "shmem:" + kb(c.shmem),
			"mapped_file:" + kb(c.mappedFile), "dirty:" + kb(c.dirty), "writeback:" + kb(c.writeback), "swap:0KB",
			"workingset_refault_anon:0KB", "workingset_refault_file:" + kb(c.refaultFile),
			"workingset_activate_anon:0KB", "workingset_activate_file:0KB", "workingset_restore_anon:0KB",
			"workingset_restore_file:0KB", "workingset_nodereclaim:0KB"}
	}
	parts = append(parts, "inactive_anon:"+kb(ia), "active_anon:"+kb(aa), "inactive_file:"+kb(c.inactiveFile),
		"active_file:"+kb(c.activeFile), "unevictable:0KB")
	return fmt.Sprintf("Memory cgroup stats for %s: %s", path, strings.Join(parts, " "))
}

// reaper is the oom_reaper line printed once the victim's memory is gone.
func reaper(v oomTask, shmemKB int64) string {
	return fmt.Sprintf("oom_reaper: reaped process %d (%s), now anon-rss:0kB, file-rss:0kB, shmem-rss:%dkB", v.pid, v.comm, shmemKB)
}

// Stacks as the kernels of each sample print them for an anonymous page
// fault charged to a memcg at its limit.
var (
	stackAnon68 = []string{
		"  dump_stack_lvl+0x76/0xa0", "  dump_stack+0x10/0x20", "  dump_header+0x47/0x1f0",
		"  oom_kill_process+0x118/0x280", "  out_of_memory+0x103/0x350", "  mem_cgroup_out_of_memory+0x145/0x170",
		"  try_charge_memcg+0x6d6/0x7d0", "  __mem_cgroup_charge+0x45/0xb0", "  do_anonymous_page+0x2f4/0x7c0",
		"  __handle_mm_fault+0xb88/0xdc0", "  handle_mm_fault+0x18d/0x380", "  do_user_addr_fault+0x169/0x670",
		"  exc_page_fault+0x83/0x1b0", "  asm_exc_page_fault+0x27/0x30", " RIP: 0033:0x46a2b3",
		" Code: 48 8b 7c 24 40 48 89 fe 48 c1 ee 03 48 83 e7 07 48 8d 4e f8 48 85 c9 0f 86 b9 00 00 00 <48> c7 06 00 00 00 00 48 83 c6 08 48 83 c1 f8 eb e7 48 83 ec 18 48",
		" RSP: 002b:000000c000059e48 EFLAGS: 00010202",
		" RAX: 0000000000000000 RBX: 000000c01b7d2000 RCX: 0000000000000380",
		" RDX: 0000000000000400 RSI: 000000c01b7d2000 RDI: 0000000000000000",
		" RBP: 000000c000059e78 R08: 0000000000000001 R09: 0000000000000000",
		" R10: 0000000000000000 R11: 0000000000000000 R12: 0000000000000000",
		" R13: 0000000000000001 R14: 000000c000006ea0 R15: 0000000000000000",
	}
	stackAnon419 = []string{
		" dump_stack+0x66/0x8b", " dump_memcg_header+0x12/0x40", " oom_kill_process+0x219/0x310",
		" out_of_memory+0xf7/0x4c0", " mem_cgroup_out_of_memory+0xc2/0xe0", " try_charge+0x7b4/0x810",
		" mem_cgroup_charge+0xfe/0x250", " do_anonymous_page+0xe1/0x5b0", " __handle_mm_fault+0x665/0xa20",
		" handle_mm_fault+0x106/0x1c0", " __do_page_fault+0x1b7/0x470", " do_page_fault+0x32/0x140",
		" ? async_page_fault+0x8/0x30", " async_page_fault+0x1e/0x30", "RIP: 0033:0x7faef467a164",
		"Code: Bad RIP value.", "RSP: 002b:00007fae8e5b69c0 EFLAGS: 00010217",
	}
	stackAnon310 = []string{
		" [<ffffffff8d781400>] dump_stack+0x19/0x1b", " [<ffffffff8d77bd5f>] dump_header+0x90/0x229",
		" [<ffffffff8d1c29b6>] ? find_lock_task_mm+0x56/0xc0", " [<ffffffff8d1c2e74>] oom_kill_process+0x254/0x3e0",
		" [<ffffffff8d241f56>] mem_cgroup_oom_synchronize+0x546/0x570", " [<ffffffff8d241370>] ? mem_cgroup_charge_common+0xc0/0xc0",
		" [<ffffffff8d1c3764>] pagefault_out_of_memory+0x14/0x90", " [<ffffffff8d77a268>] mm_fault_error+0x6a/0x157",
		" [<ffffffff8d78e8d1>] __do_page_fault+0x491/0x500", " [<ffffffff8d78e975>] do_page_fault+0x35/0x90",
		" [<ffffffff8d78a778>] page_fault+0x28/0x30",
	}
)
