package main

// alinux2 is Alibaba Cloud Linux 2 (ACK node image of 2021): kernel
// 4.19.91 al7, systemd 219, cgroup v1 only, kernel memory accounting off
// (cgroup.memory=nokmem, so kmem usage reads 0 as in seed 003's report).
func alinux2() (kernel, build, tag, osRelease, cmdline string) {
	kernel = "4.19.91-24.1.al7.x86_64"
	tag = "#1"
	build = "(mockbuild@buildvm-1) (gcc version 7.3.1 20180303 (Red Hat 7.3.1-6) (GCC)) #1 SMP Wed Jul 21 17:40:23 CST 2021"
	osRelease = `NAME="Alibaba Cloud Linux (Aliyun Linux)"
VERSION="2.1903 LTS (Hunting Beagle)"
ID="alinux"
ID_LIKE="rhel fedora centos anolis"
VERSION_ID="2.1903"
PRETTY_NAME="Alibaba Cloud Linux (Aliyun Linux) 2.1903 LTS (Hunting Beagle)"
ANSI_COLOR="0;31"
HOME_URL="https://www.aliyun.com/"
`
	cmdline = "BOOT_IMAGE=/boot/vmlinuz-4.19.91-24.1.al7.x86_64 root=UUID=2f6e8b1c-6d4e-4c3b-9a1e-0d4b5f3c2a11 ro crashkernel=0M-2G:0M,2G-8G:192M,8G-:256M cryptomgr.notests cgroup.memory=nokmem rcupdate.rcu_cpu_stall_timeout=300 vring_force_dma_api biosdevname=0 net.ifnames=0 console=tty0 console=ttyS0,115200n8 noibrs"
	return
}

// noKmem clears kernel charges: with cgroup.memory=nokmem nothing is
// charged to memory.kmem.
func (n *nodeModel) noKmem() {
	n.root.walk(func(m *memcg) {
		m.local.kernel, m.orphan.kernel, m.local.sock = 0, 0, 0
	})
}

// squeezeCaches models a node under memory pressure: reclaim has emptied
// most inactive file lists outside the pods.
func (n *nodeModel) squeezeCaches(keep int64) {
	n.root.walk(func(m *memcg) {
		if m == n.kubepods || isBelow(m, n.kubepods) {
			return
		}
		m.local.inactiveFile = pages(m.local.inactiveFile / keep)
		m.local.activeFile = pages(m.local.activeFile / 2)
	})
}

func isBelow(m, ancestor *memcg) bool {
	for c := m.parent; c != nil; c = c.parent {
		if c == ancestor {
			return true
		}
	}
	return false
}
