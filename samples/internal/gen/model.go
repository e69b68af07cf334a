package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// nodeModel is one simulated Kubernetes node: everything the sample's
// files are rendered from.
type nodeModel struct {
	name, hostname, ip  string
	kernel, kernelBuild string // uname -r, and the rest of /proc/version
	buildTag            string // "#16~22.04.1-Ubuntu", as stack dumps print it
	osRelease           string
	cmdline             string
	hardware            string // DMI name printed in kernel stack dumps
	cpus                int
	memTotalKB          int64
	kernelOtherKB       int64 // slab, page tables, vmalloc... outside memcg counters
	boot, created       time.Time
	cgroupV             int    // 1 or 2
	driver              string // systemd | cgroupfs
	runtime             string // containerd | docker
	v1Kernel            v1Kernel
	kubeletVersion      string
	// Optional node-level memory the default meminfo does not model; zero
	// keeps the older samples' files as they were.
	slabKB        int64 // Slab when set; else kernelOtherKB*6/10
	swapTotalKB   int64 // SwapTotal; SwapFree = SwapTotal − Σ swapped − swapOtherKB
	swapOtherKB   int64 // swapped out by processes outside the pods' cgroups
	swapCachedKB  int64
	hugePages     int64 // HugePages_Total (static pool, vm.nr_hugepages)
	hugePagesFree int64
	hugePageKB    int64 // Hugepagesize; 2048 when zero

	root, kubepods *memcg
	qos            map[corev1.PodQOSClass]*memcg
	system         *memcg // system.slice (nil for bare layouts)
	pods           []*podModel
	procs          []*procModel
	nextPID        int
}

type podModel struct {
	ns, name, uid    string
	ownerKind, owner string
	created          time.Time
	cg               *memcg
	sandboxID        string
	pause            *memcg
	containers       []*ctrModel
	volumes          []corev1.Volume
	volumeStats      []volumeUse
	hostNetwork      bool
	ip               string
	evicted          string // eviction message; the pod has no cgroup then
	priorityClass    string
}

type volumeUse struct {
	name                string
	usedBytes, capBytes int64
	tmpfs               bool
}

type ctrModel struct {
	name, image, imageID string
	id                   string
	args                 []string
	req, lim             corev1.ResourceList
	mounts               []corev1.VolumeMount
	cg                   *memcg
	started              time.Time
	restarts             int32
	last                 *corev1.ContainerStateTerminated
	procs                []*procModel
	ports                []corev1.ContainerPort
}

// procModel is one process with the /proc files the collector copies.
type procModel struct {
	pid, ppid, uid        int
	comm                  string
	argv                  []string
	vmSizeKB              int64
	anonKB, fileKB, shmKB int64
	threads               int
	oomScoreAdj           int
	cgroupPath            string
	fds                   [][2]string // path, size
	started               time.Time
}

// hexID is a deterministic 64-hex container/sandbox ID.
func hexID(seed string) string {
	s := sha256.Sum256([]byte(seed))
	return hex.EncodeToString(s[:])
}

// podUID is a deterministic version-4-shaped UUID.
func podUID(seed string) string {
	h := hexID("uid:" + seed)
	return fmt.Sprintf("%s-%s-4%s-a%s-%s", h[0:8], h[8:12], h[13:16], h[17:20], h[20:32])
}

func qty(s string) resource.Quantity { return resource.MustParse(s) }

func rl(cpu, mem string) corev1.ResourceList {
	r := corev1.ResourceList{}
	if cpu != "" {
		r[corev1.ResourceCPU] = qty(cpu)
	}
	if mem != "" {
		r[corev1.ResourceMemory] = qty(mem)
	}
	return r
}

// qosOf follows the Kubernetes QoS rules (pkg/apis/core/v1/helper/qos).
func (p *podModel) qosOf() corev1.PodQOSClass {
	anyReq, allGuaranteed := false, true
	for _, c := range p.containers {
		if len(c.req) > 0 || len(c.lim) > 0 {
			anyReq = true
		}
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			l, okL := c.lim[r]
			q, okR := c.req[r]
			if !okL || (okR && q.Cmp(l) != 0) {
				allGuaranteed = false
			}
		}
	}
	switch {
	case !anyReq:
		return corev1.PodQOSBestEffort
	case allGuaranteed:
		return corev1.PodQOSGuaranteed
	default:
		return corev1.PodQOSBurstable
	}
}

// memLimitBytes is the pod's memory limit (sum of containers'), 0 = none.
func (p *podModel) memLimitBytes() int64 {
	var sum int64
	for _, c := range p.containers {
		l, ok := c.lim[corev1.ResourceMemory]
		if !ok {
			return 0
		}
		sum += l.Value()
	}
	return sum
}

// v1PageLimit is what a v1 kernel shows for a limit: rounded down to a page
// (mm/memcontrol.c page_counter_memparse), so 1G = 10^9 reads 999997440.
func v1PageLimit(b int64) int64 { return pages(b) }

// oomScoreAdj follows pkg/kubelet/qos/policy.go GetContainerOOMScoreAdjust.
func (n *nodeModel) oomScoreAdj(p *podModel, c *ctrModel) int {
	switch p.qosOf() {
	case corev1.PodQOSGuaranteed:
		return -997
	case corev1.PodQOSBestEffort:
		return 1000
	}
	req := int64(0)
	if r, ok := c.req[corev1.ResourceMemory]; ok {
		req = r.Value()
	}
	adj := 1000 - (1000*req)/(n.memTotalKB*1024)
	if adj < 2 {
		adj = 2
	}
	if adj >= 1000 {
		adj = 999
	}
	return int(adj)
}

// podCgroupName and ctrCgroupName follow DOMAIN §3 for each driver/runtime.
func (n *nodeModel) podCgroupName(p *podModel, q corev1.PodQOSClass) string {
	if n.driver == "cgroupfs" {
		return "pod" + p.uid
	}
	u := strings.ReplaceAll(p.uid, "-", "_")
	switch q {
	case corev1.PodQOSGuaranteed:
		return "kubepods-pod" + u + ".slice"
	case corev1.PodQOSBurstable:
		return "kubepods-burstable-pod" + u + ".slice"
	}
	return "kubepods-besteffort-pod" + u + ".slice"
}

func (n *nodeModel) ctrCgroupName(id string) string {
	switch {
	case n.driver == "cgroupfs":
		return id
	case n.runtime == "docker":
		return "docker-" + id + ".scope"
	}
	return "cri-containerd-" + id + ".scope"
}

// newNodeModel builds the root, kubepods and QoS cgroups.
func newNodeModel(n *nodeModel) *nodeModel {
	n.root = newRoot()
	n.nextPID = 1000
	if n.driver == "systemd" {
		n.kubepods = n.root.child("kubepods.slice")
		n.qos = map[corev1.PodQOSClass]*memcg{
			corev1.PodQOSGuaranteed: n.kubepods,
			corev1.PodQOSBurstable:  n.kubepods.child("kubepods-burstable.slice"),
			corev1.PodQOSBestEffort: n.kubepods.child("kubepods-besteffort.slice"),
		}
	} else {
		n.kubepods = n.root.child("kubepods")
		n.qos = map[corev1.PodQOSClass]*memcg{
			corev1.PodQOSGuaranteed: n.kubepods,
			corev1.PodQOSBurstable:  n.kubepods.child("burstable"),
			corev1.PodQOSBestEffort: n.kubepods.child("besteffort"),
		}
	}
	n.system = n.root.child("system.slice")
	return n
}

func (n *nodeModel) pid() int {
	n.nextPID += 7 + n.nextPID%13
	return n.nextPID
}

// addService adds a systemd service cgroup under system.slice with one
// process.
func (n *nodeModel) addService(unit string, use charge, argv ...string) *procModel {
	cg := n.system.child(unit)
	cg.local = use
	p := &procModel{pid: n.pid(), ppid: 1, comm: shortComm(argv[0]), argv: argv, threads: 12,
		anonKB: use.anon / 1024, fileKB: use.mappedFile / 1024, vmSizeKB: use.anon/1024*3 + 800000,
		cgroupPath: cg.path(), started: n.boot.Add(25 * time.Second)}
	if unit == "kubelet.service" || unit == "containerd.service" || unit == "docker.service" {
		p.oomScoreAdj = -999
	}
	cg.procs = []int{p.pid}
	n.procs = append(n.procs, p)
	return p
}

func shortComm(path string) string {
	c := path[strings.LastIndex(path, "/")+1:]
	if len(c) > 15 {
		c = c[:15] // TASK_COMM_LEN - 1
	}
	return c
}

// addPod creates the pod cgroup, its pause (sandbox) container and one
// cgroup per live container, each charged with its use.
func (n *nodeModel) addPod(p *podModel, uses map[string]charge) {
	p.uid = podUID(p.ns + "/" + p.name)
	p.sandboxID = hexID("sandbox:" + p.uid)
	n.pods = append(n.pods, p)
	for _, c := range p.containers {
		if c.id == "" {
			c.id = hexID("ctr:" + p.uid + "/" + c.name + fmt.Sprint(c.restarts))
		}
	}
	if p.evicted != "" {
		return
	}
	q := p.qosOf()
	p.cg = n.qos[q].child(n.podCgroupName(p, q))
	if l := p.memLimitBytes(); l > 0 {
		p.cg.limit = v1PageLimit(l)
	}
	p.pause = p.cg.child(n.ctrCgroupName(p.sandboxID))
	p.pause.local = charge{anon: 40960, kernel: 24576, pgfault: 61}
	if n.cgroupV == 2 {
		p.pause.local.kernel += 4096
	}
	pause := &procModel{pid: n.pid(), ppid: 0, uid: 65535, comm: "pause", argv: []string{"/pause"},
		vmSizeKB: 972, anonKB: 40, fileKB: 4, threads: 1, oomScoreAdj: -998,
		cgroupPath: p.pause.path(), started: p.created.Add(2 * time.Second)}
	if n.runtime == "docker" {
		pause.uid = 0
	}
	p.pause.procs = []int{pause.pid}
	n.procs = append(n.procs, pause)
	for _, c := range p.containers {
		c.cg = p.cg.child(n.ctrCgroupName(c.id))
		c.cg.local = uses[c.name]
		if l, ok := c.lim[corev1.ResourceMemory]; ok {
			c.cg.limit = v1PageLimit(l.Value())
			c.cg.memswLimit = c.cg.limit
			c.cg.swapMax = 0
		}
		for _, pr := range c.procs {
			pr.cgroupPath = c.cg.path()
			pr.oomScoreAdj = n.oomScoreAdj(p, c)
			if pr.pid == 0 {
				pr.pid = n.pid()
			}
			c.cg.procs = append(c.cg.procs, pr.pid)
			n.procs = append(n.procs, pr)
		}
	}
}

// memFreeKB makes /proc/meminfo agree with the root cgroup: what is not
// charged to any memcg and not kernel-internal is free.
func (n *nodeModel) memFreeKB() int64 {
	t := n.root.total()
	// The static huge page pool is part of MemTotal but never free to the
	// page allocator (Documentation/admin-guide/mm/hugetlbpage.rst), and
	// swap cache pages are resident.
	return n.memTotalKB - (t.anon+t.file()+t.kernel)/1024 - n.kernelOtherKB - n.hugetlbKB() - n.swapCachedKB
}

func (n *nodeModel) hugePageSizeKB() int64 {
	if n.hugePageKB > 0 {
		return n.hugePageKB
	}
	return 2048
}

// hugetlbKB is meminfo's Hugetlb: the pool of static huge pages.
func (n *nodeModel) hugetlbKB() int64 { return n.hugePages * n.hugePageSizeKB() }

// swapFreeKB is SwapTotal minus what the cgroups and the rest have
// swapped out.
func (n *nodeModel) swapFreeKB() int64 {
	return n.swapTotalKB - n.root.total().swap/1024 - n.swapOtherKB
}

// nodeUsage is cAdvisor's usage for "/": v1 reads the root's
// memory.usage_in_bytes; v2 has no root memory.current and runc emulates
// it as MemTotal − MemFree (DOMAIN §2.1).
func (n *nodeModel) nodeUsage() int64 {
	if n.cgroupV == 2 {
		return (n.memTotalKB - n.memFreeKB()) * 1024
	}
	return v1Usage(n.root)
}

func (n *nodeModel) nodeWorkingSet() int64 {
	return n.nodeUsage() - n.root.total().inactiveFile
}

func (n *nodeModel) findPod(name string) *podModel {
	for _, p := range n.pods {
		if p.name == name {
			return p
		}
	}
	panic("gen: no pod " + name)
}
