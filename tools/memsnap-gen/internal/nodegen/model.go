// Package nodegen generates the bundle of a large, realistic Kubernetes node
// (DESIGN §5's reference node: 250 pods / 750 containers, ~1,000 cgroups,
// ~40 MB of cAdvisor metrics, 4 heap profiles, 50,000 kernel log lines) so
// that the analyzer's and the collector's budgets can be measured on sizes
// no sample reaches. Everything derives from Options.Seed: the same options
// give byte-identical output.
package nodegen

import (
	"fmt"
	"math/rand/v2"
	"path"
	"strings"
	"time"
)

const (
	kib = int64(1) << 10
	mib = int64(1) << 20
	gib = int64(1) << 30

	// defaultHeapProfiles is DESIGN §5's reference node: 4 heap profiles.
	defaultHeapProfiles = 4

	// unlimitedV1 is what v1 memory.limit_in_bytes reads when no limit is
	// set: PAGE_COUNTER_MAX pages rounded to the page size on x86-64.
	unlimitedV1 = int64(9223372036854771712)
)

// Options describes the node to generate.
type Options struct {
	Pods              int
	ContainersPerPod  int
	CgroupVersion     int    // 1 or 2
	Driver            string // "systemd" or "cgroupfs"
	Seed              uint64
	KernelNoiseLines  int // other kernel log lines around the OOM reports (default 50,000)
	HeapProfiles      int // default 4
	MetricsDeviceFans int // block devices per container in fs families (default 3)
}

func (o *Options) defaults() error {
	if o.Pods < 1 || o.Pods > 5000 {
		return fmt.Errorf("--pods %d: want 1..5000", o.Pods)
	}
	if o.ContainersPerPod < 1 || o.ContainersPerPod > 50 {
		return fmt.Errorf("--containers-per-pod %d: want 1..50", o.ContainersPerPod)
	}
	if o.CgroupVersion != 1 && o.CgroupVersion != 2 {
		return fmt.Errorf("--cgroup v%d: want v1 or v2", o.CgroupVersion)
	}
	if o.Driver != "systemd" && o.Driver != "cgroupfs" {
		return fmt.Errorf("--driver %q: want systemd or cgroupfs", o.Driver)
	}
	if o.KernelNoiseLines == 0 {
		o.KernelNoiseLines = 50000
	}
	if o.HeapProfiles == 0 {
		o.HeapProfiles = defaultHeapProfiles
	}
	if o.MetricsDeviceFans == 0 {
		o.MetricsDeviceFans = 3
	}
	return nil
}

// usage is one cgroup's charges. In a container it is the container's own;
// after aggregate() every cgroup holds itself plus all below it, as the
// kernel reports hierarchical counters.
type usage struct {
	anon, activeFile, inactiveFile, shmem, kernel int64
	failcnt, oomKill                              int64
}

func (u usage) file() int64  { return u.activeFile + u.inactiveFile + u.shmem }
func (u usage) total() int64 { return u.anon + u.file() + u.kernel }

func (u *usage) add(o usage) {
	u.anon += o.anon
	u.activeFile += o.activeFile
	u.inactiveFile += o.inactiveFile
	u.shmem += o.shmem
	u.kernel += o.kernel
}

// cgroup is one memory cgroup of the generated tree.
type cgroup struct {
	path  string // relative to the memory mount, "" = root
	own   usage  // charges of this cgroup alone (leaves only)
	tree  usage  // hierarchical
	limit int64  // 0 = unlimited
	pids  []int
	leaf  bool
	below int // descendants
}

// container is one container (or the pod sandbox, Name "POD").
type container struct {
	Name, ID, Image string
	PID             int
	Limit           int64 // 0 = none
	Request         int64
	Cgroup          *cgroup
	OOMKilled       bool // a kernel OOM report for it is planted in the log
}

type pod struct {
	Namespace, Name, UID, QoS string
	Sandbox                   *container
	Containers                []*container
	Cgroup                    *cgroup
	Created                   time.Time
}

// node is the whole generated node.
type node struct {
	opt       Options
	rng       *rand.Rand
	name      string
	created   time.Time // when the bundle was "collected"
	boot      time.Time
	memTotal  int64
	kubepods  *cgroup
	cgroups   []*cgroup // sorted by path, root first
	byPath    map[string]*cgroup
	pods      []*pod
	oomVictim []*container
	nextPID   int
}

var namespaces = []string{"default", "kube-system", "monitoring", "payments", "checkout", "search", "ingress", "batch", "logging", "data"}
var images = []string{"registry.k8s.io/pause:3.9", "docker.io/library/nginx:1.25", "quay.io/prometheus/node-exporter:v1.7.0", "ghcr.io/acme/api:2.14.1", "docker.io/library/redis:7.2", "gcr.io/acme/worker:1.8.3", "docker.io/fluent/fluent-bit:2.2", "ghcr.io/acme/search:5.0.2"}
var containerNames = []string{"app", "sidecar", "proxy", "log-shipper", "metrics", "init-cache", "worker", "agent"}

func (n *node) hex(nbytes int) string {
	var b strings.Builder
	for i := 0; i < nbytes; i++ {
		fmt.Fprintf(&b, "%02x", n.rng.IntN(256))
	}
	return b.String()
}

func (n *node) uuid() string {
	h := n.hex(16)
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:32]
}

func (n *node) between(lo, hi int64) int64 { return lo + n.rng.Int64N(hi-lo+1) }

// newNode builds the model: pods with QoS classes, containers with limits,
// every cgroup from the root down, with charges rolled up hierarchically.
func newNode(opt Options) *node {
	n := &node{
		opt:     opt,
		rng:     rand.New(rand.NewPCG(opt.Seed, opt.Seed^0x9e3779b97f4a7c15)),
		created: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC),
		byPath:  map[string]*cgroup{},
		nextPID: 2000,
	}
	n.name = fmt.Sprintf("ip-10-%d-%d-%d.ec2.internal", n.rng.IntN(250), n.rng.IntN(250), n.rng.IntN(250))
	n.boot = n.created.Add(-time.Duration(3*86400+n.rng.IntN(86400)) * time.Second)
	// Big enough for every pod's limit: 256 GiB nodes run 250+ pods.
	n.memTotal = 16*gib + int64(opt.Pods)*int64(opt.ContainersPerPod)*400*mib
	n.ensure("")
	n.kubepods = n.ensure(n.kubepodsPath())
	n.kubepods.limit = n.memTotal - 2*gib
	for _, svc := range []string{"system.slice/kubelet.service", "system.slice/containerd.service", "system.slice/systemd-journald.service", "system.slice/sshd.service", "user.slice"} {
		c := n.ensure(svc)
		c.leaf = true
		c.own = usage{anon: n.between(20, 200) * mib, activeFile: n.between(5, 50) * mib, inactiveFile: n.between(5, 50) * mib, kernel: n.between(1, 8) * mib}
		c.pids = []int{n.pid()}
	}
	for i := 0; i < opt.Pods; i++ {
		n.pods = append(n.pods, n.newPod(i))
	}
	n.plantOOMs()
	n.aggregate()
	return n
}

func (n *node) pid() int {
	n.nextPID += 1 + n.rng.IntN(40)
	return n.nextPID
}

func (n *node) ensure(p string) *cgroup {
	if c := n.byPath[p]; c != nil {
		return c
	}
	c := &cgroup{path: p}
	n.byPath[p] = c
	n.cgroups = append(n.cgroups, c)
	if p != "" {
		parent := path.Dir(p)
		if parent == "." {
			parent = ""
		}
		n.ensure(parent)
	}
	return c
}

func (n *node) kubepodsPath() string {
	if n.opt.Driver == "systemd" {
		return "kubepods.slice"
	}
	return "kubepods"
}

// podCgroupPath follows kubelet's cgroup naming (kubernetes/kubernetes
// pkg/kubelet/cm/cgroup_manager_linux.go): the systemd driver escapes the
// UID's dashes to underscores and nests the QoS slice names.
func (n *node) podCgroupPath(qos, uid string) string {
	if n.opt.Driver == "systemd" {
		u := strings.ReplaceAll(uid, "-", "_")
		if qos == "guaranteed" {
			return "kubepods.slice/kubepods-pod" + u + ".slice"
		}
		return fmt.Sprintf("kubepods.slice/kubepods-%s.slice/kubepods-%s-pod%s.slice", qos, qos, u)
	}
	if qos == "guaranteed" {
		return "kubepods/pod" + uid
	}
	return "kubepods/" + qos + "/pod" + uid
}

func (n *node) containerCgroupPath(podPath, id string) string {
	if n.opt.Driver == "systemd" {
		return podPath + "/cri-containerd-" + id + ".scope"
	}
	return podPath + "/" + id
}

func (n *node) newPod(i int) *pod {
	qos := "burstable"
	switch i % 10 {
	case 0, 1:
		qos = "guaranteed"
	case 8, 9:
		qos = "besteffort"
	}
	ns := namespaces[i%len(namespaces)]
	base := containerNames[i%len(containerNames)]
	p := &pod{
		Namespace: ns,
		Name:      fmt.Sprintf("%s-%d-%s-%s", base, i, safeEncode(n.hex(4)[:8]), safeEncode(n.hex(3)[:5])),
		UID:       n.uuid(),
		QoS:       qos,
		Created:   n.boot.Add(time.Duration(600+n.rng.IntN(86400)) * time.Second),
	}
	p.Cgroup = n.ensure(n.podCgroupPath(qos, p.UID))
	mk := func(name, image string, limit, request int64) *container {
		c := &container{Name: name, ID: n.hex(32), Image: image, PID: n.pid(), Limit: limit, Request: request}
		c.Cgroup = n.ensure(n.containerCgroupPath(p.Cgroup.path, c.ID))
		c.Cgroup.leaf = true
		c.Cgroup.limit = limit
		c.Cgroup.pids = []int{c.PID}
		return c
	}
	p.Sandbox = mk("POD", images[0], 0, 0)
	p.Sandbox.Cgroup.own = usage{anon: 400 * kib, kernel: 200 * kib}
	var podLimit int64
	for j := 0; j < n.opt.ContainersPerPod; j++ {
		var limit, request int64
		if qos != "besteffort" {
			limit = n.between(2, 16) * 128 * mib
			request = limit
			if qos == "burstable" {
				request = limit / 2
			}
		}
		name := containerNames[(i+j)%len(containerNames)]
		if j >= len(containerNames) {
			name = fmt.Sprintf("%s-%d", name, j)
		}
		c := mk(name, images[1+(i+j)%(len(images)-1)], limit, request)
		cap := limit
		if cap == 0 {
			cap = 1 * gib
		}
		// Mostly quiet containers: anon up to 60 % of the limit, a little
		// page cache, a little kernel memory.
		c.Cgroup.own = usage{
			anon:         n.between(cap/20, cap*6/10) &^ 4095,
			activeFile:   n.between(0, cap/10) &^ 4095,
			inactiveFile: n.between(0, cap/10) &^ 4095,
			kernel:       n.between(256*kib, 4*mib) &^ 4095,
		}
		podLimit += limit
		p.Containers = append(p.Containers, c)
	}
	if qos != "besteffort" {
		p.Cgroup.limit = podLimit
	}
	return p
}

// plantOOMs marks a few containers as OOM-killed at their container limit:
// one per 50 pods, at least one, spread over the node. Each gets a kernel
// report in logs/kernel.log and matching oom_kill / failcnt counters.
func (n *node) plantOOMs() {
	want := max(1, n.opt.Pods/50)
	for k := 0; k < want; k++ {
		p := n.pods[(k*50+3)%len(n.pods)]
		if p.QoS == "besteffort" || p.Containers[0].OOMKilled {
			continue
		}
		c := p.Containers[0]
		c.OOMKilled = true
		u := &c.Cgroup.own
		u.anon = c.Limit - 6*mib
		u.activeFile, u.inactiveFile, u.shmem = 2*mib, 1*mib, 0
		u.kernel = 3 * mib
		u.failcnt, u.oomKill = 100+int64(n.rng.IntN(5000)), 1
		n.oomVictim = append(n.oomVictim, c)
	}
}

// aggregate rolls every leaf's charges up to all its ancestors and counts
// descendants, then sorts the cgroups by path.
func (n *node) aggregate() {
	for _, c := range n.cgroups {
		if !c.leaf {
			continue
		}
		for p := c.path; ; {
			a := n.byPath[p]
			a.tree.add(c.own)
			if a != c {
				a.below++
			}
			if p == "" {
				break
			}
			if p = path.Dir(p); p == "." {
				p = ""
			}
		}
		c.tree.failcnt, c.tree.oomKill = c.own.failcnt, c.own.oomKill
	}
	// Non-leaf cgroups count descendants (not only leaves).
	for _, c := range n.cgroups {
		c.below = 0
	}
	for _, c := range n.cgroups {
		for p := c.path; p != ""; {
			if p = path.Dir(p); p == "." {
				p = ""
			}
			n.byPath[p].below++
		}
	}
	sortCgroups(n.cgroups)
}

// safeEncode maps hex digits onto the alphabet Kubernetes uses for generated
// name suffixes and pod-template-hash (k8s.io/apimachinery/pkg/util/rand
// SafeEncodeString: no vowels, no 0, 1, 3), so generated names look like a
// Deployment's pods and never spell a number such as "e3050403".
func safeEncode(hex string) string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	b := []byte(hex)
	for i, c := range b {
		v := 0
		switch {
		case c >= '0' && c <= '9':
			v = int(c - '0')
		case c >= 'a' && c <= 'f':
			v = int(c-'a') + 10
		}
		b[i] = alphabet[v]
	}
	return string(b)
}
