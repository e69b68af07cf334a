package nodegen

import (
	"fmt"
	"strings"
)

// nodeFiles are node/*: /proc files of the node in their kernel formats
// (torvalds/linux:fs/proc/meminfo.c, fs/proc/stat.c, kernel/sched/psi.c).
func (n *node) nodeFiles() []cgroupFile {
	root := n.byPath[""].tree
	totalK := n.memTotal / kib
	usedK := root.total() / kib
	freeK := max(totalK/20, totalK-usedK-totalK/10)
	meminfo := fmt.Sprintf("MemTotal:       %8d kB\nMemFree:        %8d kB\nMemAvailable:   %8d kB\nBuffers:        %8d kB\nCached:         %8d kB\nSwapCached:            0 kB\n"+
		"Active:         %8d kB\nInactive:       %8d kB\nActive(anon):   %8d kB\nInactive(anon): %8d kB\nActive(file):   %8d kB\nInactive(file): %8d kB\n"+
		"Unevictable:           0 kB\nMlocked:               0 kB\nSwapTotal:             0 kB\nSwapFree:              0 kB\nDirty:               212 kB\nWriteback:             0 kB\n"+
		"AnonPages:      %8d kB\nMapped:         %8d kB\nShmem:          %8d kB\nKReclaimable:   %8d kB\nSlab:           %8d kB\nSReclaimable:   %8d kB\nSUnreclaim:     %8d kB\n"+
		"KernelStack:    %8d kB\nPageTables:     %8d kB\nCommitLimit:    %8d kB\nCommitted_AS:   %8d kB\nHugePages_Total:       0\nHugePages_Free:        0\nHugepagesize:       2048 kB\n",
		totalK, freeK, freeK+root.inactiveFile/kib, 90000, root.file()/kib, (root.anon+root.activeFile)/kib, root.inactiveFile/kib,
		root.anon/kib, 0, root.activeFile/kib, root.inactiveFile/kib, root.anon/kib, root.file()/10/kib, root.shmem/kib,
		root.kernel/2/kib, root.kernel/2/kib, root.kernel/4/kib, root.kernel/4/kib, root.kernel/8/kib, root.kernel/8/kib, totalK/2, root.anon/kib*2)
	up := n.created.Sub(n.boot).Seconds()
	var vm strings.Builder
	for _, kv := range [][2]any{{"nr_free_pages", freeK / 4}, {"nr_inactive_anon", 0}, {"nr_active_anon", root.anon / 4096}, {"nr_inactive_file", root.inactiveFile / 4096},
		{"nr_active_file", root.activeFile / 4096}, {"nr_shmem", root.shmem / 4096}, {"pgfault", root.total() / 2048}, {"pgmajfault", root.total() >> 24}, {"oom_kill", len(n.oomVictim)}} {
		fmt.Fprintf(&vm, "%s %d\n", kv[0], kv[1])
	}
	return []cgroupFile{
		{"meminfo", meminfo},
		{"vmstat", vm.String()},
		{"pressure-memory", "some avg10=0.00 avg60=0.00 avg300=0.00 total=104512\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=52110\n"},
		{"stat", fmt.Sprintf("cpu  4028976 44766 1342992 13813632 10072 0 26859 0 0 0\nintr 212288664\nctxt 423713976\nbtime %d\nprocesses %d\nprocs_running 2\nprocs_blocked 0\n", n.boot.Unix(), n.nextPID)},
		{"uptime", fmt.Sprintf("%.2f %.2f\n", up, up*15)},
		{"uname", "Linux version 6.8.0-1015-aws (buildd@lcy02-amd64-089) (x86_64-linux-gnu-gcc-12 (Ubuntu 12.3.0-1ubuntu1~22.04) 12.3.0, GNU ld (GNU Binutils for Ubuntu) 2.38) #16~22.04.1-Ubuntu SMP Mon Aug 19 19:38:17 UTC 2024\n"},
		{"os-release", "PRETTY_NAME=\"Ubuntu 22.04.4 LTS\"\nNAME=\"Ubuntu\"\nVERSION_ID=\"22.04\"\nID=ubuntu\n"},
		{"cmdline", "BOOT_IMAGE=/boot/vmlinuz-6.8.0-1015-aws root=PARTUUID=5c0d3b4e-01 ro console=ttyS0\n"},
	}
}

// procFiles are proc/<pid>/* for one container's main process
// (fs/proc/array.c status, fs/proc/task_mmu.c smaps_rollup).
func (n *node) procFiles(c *container) []cgroupFile {
	u := c.Cgroup.own
	rssK := u.anon / kib
	status := fmt.Sprintf("Name:\t%s\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t%d\nPid:\t%d\nPPid:\t%d\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n"+
		"VmPeak:\t%8d kB\nVmSize:\t%8d kB\nVmHWM:\t%8d kB\nVmRSS:\t%8d kB\nRssAnon:\t%8d kB\nRssFile:\t%8d kB\nRssShmem:\t%8d kB\nVmSwap:\t       0 kB\nThreads:\t%d\n",
		c.Name, c.PID, c.PID, c.PID-1, rssK*5, rssK*4, rssK+2000, rssK+1200, rssK, 1200, u.shmem/kib, 8+c.PID%40)
	smaps := fmt.Sprintf("00400000-7ffc00000000 ---p 00000000 00:00 0                          [rollup]\nRss:            %8d kB\nPss:            %8d kB\nPss_Anon:       %8d kB\nPss_File:           1100 kB\nPss_Shmem:             0 kB\n"+
		"Shared_Clean:        200 kB\nShared_Dirty:          0 kB\nPrivate_Clean:      1000 kB\nPrivate_Dirty:  %8d kB\nReferenced:     %8d kB\nAnonymous:      %8d kB\nSwap:                  0 kB\n",
		rssK+1200, rssK+1100, rssK, rssK, rssK+1200, rssK)
	cg := "0::/" + c.Cgroup.path + "\n"
	if n.opt.CgroupVersion == 1 {
		cg = fmt.Sprintf("12:memory:/%s\n11:cpu,cpuacct:/%s\n1:name=systemd:/%s\n0::/\n", c.Cgroup.path, c.Cgroup.path, c.Cgroup.path)
	}
	var fds strings.Builder
	for k := 0; k < 3; k++ {
		fmt.Fprintf(&fds, "%s\t%d\n", appLog(c, k), (u.activeFile/3)&^4095)
	}
	return []cgroupFile{
		{"cgroup", cg},
		{"cmdline", "/usr/local/bin/" + c.Name + "\x00--config=/etc/" + c.Name + ".yaml\x00"},
		{"fds.tsv", fds.String()},
		{"oom_score_adj", "984\n"},
		{"smaps_rollup", smaps},
		{"status", status},
	}
}

// appLog is the path of a container's k-th open log file, unique per
// container so the host tree can hold each at its own size.
func appLog(c *container, k int) string {
	return fmt.Sprintf("/var/log/app/%s/%s-%d.log", c.ID[:12], c.Name, k)
}
