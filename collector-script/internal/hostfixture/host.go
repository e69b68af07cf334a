// Package hostfixture generates a fake node: a host root directory with
// /proc, /sys/fs/cgroup (v1 hybrid or v2, systemd or cgroupfs driver),
// /dev/kmsg, kubelet and systemd files, and an httptest kubelet. Tests point
// the real collector at it with --host-root. It is small and hand-shaped for
// the collector's tests (faults, redaction, the shell script); the large,
// realistic host trees of the benchmarks come from memsnap-gen --host-tree
// (tools/memsnap-gen). Its numbers tell three stories the analyzer must find:
// an OOM-killed container (pod 0), a page-cache working set with a large
// open log file (pod 1, seed 000) and a kubepods limit below allocatable
// (seed 002); pod 2 has a memory-medium emptyDir (seed 003).
package hostfixture

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Options sizes the fake node.
type Options struct {
	CgroupVersion int    // 1 = hybrid (v1 memory + unified without memory), 2 = unified
	Driver        string // "systemd" or "cgroupfs"
	Pods          int    // each has a pause and two app containers: 4 cgroups per pod
	Processes     int    // total /proc entries (at least one per container plus agents)
	KmsgLines     int    // filler records in /dev/kmsg besides the OOM report
	NodeName      string
}

// Pod is one generated pod.
type Pod struct {
	Namespace, Name, UID, QoS string
	Cgroup                    string // relative to the memory mount
	Containers                []Container
}

// Container is one generated container (Name "POD" is the sandbox).
type Container struct {
	Name, ID   string
	Cgroup     string
	LimitBytes int64 // 0 = unlimited
	PID        int
}

// Host is a generated fake node.
type Host struct {
	Root       string
	Opt        Options
	Pods       []Pod
	KubeletPID int
	mount      string // memory hierarchy mount, relative to Root
}

// Sizes of the node: MemTotal 16 GiB, kube- and system-reserved 1 GiB each,
// evictionHard 100Mi → allocatable 13.9 GiB, but kubepods is limited to
// 12 GiB (the drift of kubernetes/kubernetes#88197).
const (
	gib            = int64(1) << 30
	mib            = int64(1) << 20
	memTotal       = 16 * gib
	kubepodsLimit  = 12 * gib
	uptimeSeconds  = 86400
	bootTime       = 1763800000
	unlimitedV1    = int64(9223372036854771712)
	bigLogBytes    = 889 * 1000 * 1000
	oomLimit       = 256 * mib
	pageCacheLimit = 1 * gib
)

// Generate writes a fake node below root (which must exist and be empty).
func Generate(root string, o Options) (*Host, error) {
	if o.CgroupVersion != 1 && o.CgroupVersion != 2 {
		return nil, fmt.Errorf("CgroupVersion %d: want 1 or 2", o.CgroupVersion)
	}
	if o.Driver != "systemd" && o.Driver != "cgroupfs" {
		return nil, fmt.Errorf("Driver %q: want systemd or cgroupfs", o.Driver)
	}
	o.Pods = max(o.Pods, 3)
	if o.NodeName == "" {
		o.NodeName = "node-a"
	}
	h := &Host{Root: root, Opt: o, mount: "sys/fs/cgroup"}
	if o.CgroupVersion == 1 {
		h.mount = "sys/fs/cgroup/memory"
	}
	h.makePods()
	steps := []func() error{h.writeNode, h.writeCgroups, h.writeProcs, h.writeKmsg, h.writeKubeletFiles, h.writeSystemd, h.writePodLogs}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// write creates root/rel with content.
func (h *Host) write(rel, content string) error {
	p := filepath.Join(h.Root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, []byte(content), 0o644)
}

func hexID(parts ...any) string {
	sum := sha256.Sum256([]byte(fmt.Sprint(parts...)))
	return hex.EncodeToString(sum[:])
}

func uuid(i int) string {
	x := hexID("pod", i)
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// makePods lays out names, UIDs and cgroup paths (DOMAIN §3).
func (h *Host) makePods() {
	pid := 5000
	for i := 0; i < h.Opt.Pods; i++ {
		qos := []string{"burstable", "besteffort", "guaranteed"}[i%3]
		name := fmt.Sprintf("app-%d", i)
		switch i {
		case 0:
			qos, name = "burstable", "oom-app"
		case 1:
			qos, name = "burstable", "cache-web"
		case 2:
			qos, name = "burstable", "tmpfs-job"
		}
		uid := uuid(i)
		p := Pod{Namespace: "default", Name: name, UID: uid, QoS: qos}
		p.Cgroup = h.podCgroup(qos, uid)
		for j, cname := range []string{"POD", "main", "sidecar"} {
			id := hexID("ctr", i, j)
			var limit int64
			if qos != "besteffort" && cname != "POD" {
				limit = 512 * mib
			}
			if i == 0 && cname == "main" {
				limit = oomLimit
			}
			if i == 1 && cname == "main" {
				limit = pageCacheLimit
			}
			leaf := id
			if h.Opt.Driver == "systemd" {
				leaf = "cri-containerd-" + id + ".scope"
			}
			p.Containers = append(p.Containers, Container{Name: cname, ID: id, Cgroup: p.Cgroup + "/" + leaf, LimitBytes: limit, PID: pid})
			pid++
		}
		h.Pods = append(h.Pods, p)
	}
}

func (h *Host) kubepods() string {
	if h.Opt.Driver == "systemd" {
		return "kubepods.slice"
	}
	return "kubepods"
}

func (h *Host) qosCgroup(qos string) string {
	if qos == "guaranteed" {
		return h.kubepods()
	}
	if h.Opt.Driver == "systemd" {
		return "kubepods.slice/kubepods-" + qos + ".slice"
	}
	return "kubepods/" + qos
}

func (h *Host) podCgroup(qos, uid string) string {
	if h.Opt.Driver == "systemd" {
		prefix := "kubepods"
		if qos != "guaranteed" {
			prefix += "-" + qos
		}
		return h.qosCgroup(qos) + "/" + prefix + "-pod" + strings.ReplaceAll(uid, "-", "_") + ".slice"
	}
	return h.qosCgroup(qos) + "/pod" + uid
}

func (h *Host) writeNode() error {
	files := map[string]string{
		"proc/meminfo":              fmt.Sprintf("MemTotal:       %d kB\nMemFree:         2097152 kB\nMemAvailable:    4194304 kB\nBuffers:          102400 kB\nCached:          3145728 kB\nShmem:            131072 kB\nSwapTotal:             0 kB\nSwapFree:              0 kB\n", memTotal/1024),
		"proc/vmstat":               "nr_free_pages 524288\nnr_inactive_anon 1000\nnr_active_anon 200000\nnr_inactive_file 300000\nnr_active_file 500000\npgmajfault 1200\noom_kill 1\n",
		"proc/pressure/memory":      "some avg10=0.12 avg60=0.30 avg300=0.10 total=123456\nfull avg10=0.00 avg60=0.10 avg300=0.02 total=45678\n",
		"proc/uptime":               fmt.Sprintf("%d.42 170000.00\n", uptimeSeconds),
		"proc/stat":                 fmt.Sprintf("cpu  100 0 100 1000 0 0 0 0 0 0\nbtime %d\nprocesses 40000\n", bootTime),
		"proc/cmdline":              "BOOT_IMAGE=/vmlinuz root=/dev/vda ro systemd.unified_cgroup_hierarchy=0\n",
		"proc/sys/kernel/hostname":  h.Opt.NodeName + "\n",
		"proc/sys/kernel/osrelease": "6.1.0-fixture\n",
		"proc/sys/kernel/ostype":    "Linux\n",
		"proc/sys/kernel/version":   "#1 SMP PREEMPT_DYNAMIC fixture\n",
		"etc/os-release":            "NAME=\"Fixture Linux\"\nID=fixture\nVERSION_ID=\"1\"\n",
		"proc/net/tcp":              "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n",
		// Free lists by order, cgroup counts and THP policy (rule catalogue II),
		// in the kernel's formats (mm/vmstat.c frag_show/pagetypeinfo_show,
		// kernel/cgroup/cgroup-v1.c proc_cgroupstats_show, mm/huge_memory.c).
		"proc/buddyinfo":    "Node 0, zone      DMA      1      1      1      0      2      1      1      0      1      1      3 \nNode 0, zone    DMA32   3012   2101   1200    800    410    120     40     10      2      0      0 \nNode 0, zone   Normal  48211  20110   9022   3120    801    120     12      1      0      0      0 \n",
		"proc/pagetypeinfo": "Page block order: 9\nPages per block:  512\n\nFree pages count per migrate type at order       0      1      2      3      4      5      6      7      8      9     10 \nNode    0, zone   Normal, type    Unmovable   1200    300     20      1      0      0      0      0      0      0      0 \nNode    0, zone   Normal, type      Movable  46011  19810   9002   3119    801    120     12      1      0      0      0 \n",
		"proc/cgroups":      "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpuset\t3\t1\t1\ncpu\t1\t80\t1\nmemory\t4\t112\t1\npids\t12\t80\t1\n",
		"sys/kernel/mm/transparent_hugepage/enabled": "always [madvise] never\n",
		"sys/kernel/mm/transparent_hugepage/defrag":  "always defer defer+madvise [madvise] never\n",
		"proc/1/comm":      "systemd\n",
		"proc/1/cmdline":   "/sbin/init\x00",
		"proc/1/cgroup":    "0::/init.scope\n",
		"proc/1/mountinfo": h.mountinfo(),
	}
	for rel, content := range files {
		if err := h.write(rel, content); err != nil {
			return err
		}
	}
	return nil
}

// mountinfo lists the root, the cgroup mounts and the pods' tmpfs volumes.
func (h *Host) mountinfo() string {
	var b strings.Builder
	b.WriteString("22 1 253:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n")
	if h.Opt.CgroupVersion == 2 {
		b.WriteString("30 22 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n")
	} else {
		b.WriteString("30 22 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:4 - tmpfs tmpfs ro,mode=755\n")
		b.WriteString("31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:5 - cgroup2 cgroup2 rw,nsdelegate\n")
		b.WriteString("35 30 0:31 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup rw,memory\n")
	}
	for i, p := range h.Pods {
		dir := "/var/lib/kubelet/pods/" + p.UID + "/volumes/kubernetes.io~projected/kube-api-access-" + hexID(i)[:5]
		fmt.Fprintf(&b, "%d 22 0:%d / %s rw,relatime shared:%d - tmpfs tmpfs rw,size=%dk\n", 100+2*i, 100+2*i, dir, 100+2*i, 2*gib/1024)
		os.MkdirAll(filepath.Join(h.Root, dir), 0o755)
		if i == 2 {
			dir = "/var/lib/kubelet/pods/" + p.UID + "/volumes/kubernetes.io~empty-dir/scratch\\040space"
			fmt.Fprintf(&b, "%d 22 0:%d / %s rw,relatime shared:%d - tmpfs tmpfs rw,size=%dk\n", 101+2*i, 101+2*i, dir, 101+2*i, memTotal/1024)
			os.MkdirAll(filepath.Join(h.Root, strings.ReplaceAll(dir, "\\040", " ")), 0o755)
		}
	}
	return b.String()
}
