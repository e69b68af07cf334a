package hostfixture

import (
	"fmt"
	"path"
	"sort"
	"strings"
)

// usage is one cgroup's memory, hierarchical (children included).
type usage struct {
	anon, activeFile, inactiveFile, shmem, kernel int64
	limit                                         int64 // 0 = unlimited
	failcnt, oomKill                              int64
	procs                                         []int
	leaf                                          bool
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

// writeCgroups writes the memory hierarchy: root, kubepods with QoS and pod
// cgroups, system.slice and user.slice. Each cgroup's numbers are its own
// charges plus everything below it, as the kernel reports them.
func (h *Host) writeCgroups() error {
	own := map[string]*usage{} // charges and settings of the cgroup itself
	ensure := func(p string) *usage {
		for q := p; ; q = path.Dir(q) {
			if q == "." || q == "/" {
				q = ""
			}
			if own[q] == nil {
				own[q] = &usage{}
			}
			if q == "" {
				break
			}
		}
		return own[p]
	}
	for i, p := range h.Pods {
		pod := ensure(p.Cgroup)
		for _, c := range p.Containers {
			u := usage{anon: 20 * mib, activeFile: 5 * mib, inactiveFile: 5 * mib, kernel: mib, limit: c.LimitBytes, procs: []int{c.PID}, leaf: true}
			if c.Name == "POD" {
				u = usage{anon: mib / 2, kernel: mib / 4, procs: []int{c.PID}, leaf: true}
			}
			switch {
			case i == 0 && c.Name == "main":
				u.anon, u.activeFile, u.inactiveFile, u.failcnt, u.oomKill = oomLimit-6*mib, 3*mib, mib, 1234, 1
			case i == 1 && c.Name == "main":
				u.anon, u.activeFile, u.inactiveFile = 50*mib, 880*mib, 10*mib
			}
			if p.QoS != "besteffort" {
				pod.limit += c.LimitBytes
			}
			*ensure(c.Cgroup) = u
		}
		switch i {
		case 0:
			pod.oomKill = 1
		case 2:
			// A dead container's tmpfs pages stay charged to the pod (DOMAIN §1.4).
			pod.shmem, pod.limit = 300*mib, 1*gib
		}
	}
	ensure(h.kubepods()).limit = kubepodsLimit
	for _, svc := range []struct {
		name string
		pid  int
		mem  int64
	}{{"system.slice/kubelet.service", 900, 120 * mib}, {"system.slice/containerd.service", 901, 80 * mib}, {"user.slice", 1000, 30 * mib}} {
		*ensure(svc.name) = usage{anon: svc.mem, activeFile: 10 * mib, kernel: 2 * mib, procs: []int{svc.pid}, leaf: true}
	}
	tree := map[string]*usage{}
	for p, u := range own {
		agg := *u
		agg.anon, agg.activeFile, agg.inactiveFile, agg.shmem, agg.kernel = 0, 0, 0, 0, 0
		for q, v := range own {
			if q == p || p == "" || strings.HasPrefix(q, p+"/") {
				agg.add(*v)
			}
		}
		tree[p] = &agg
	}

	paths := make([]string, 0, len(tree))
	for p := range tree {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	if h.Opt.CgroupVersion == 2 {
		if err := h.write("sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n"); err != nil {
			return err
		}
	} else if err := h.write("sys/fs/cgroup/unified/cgroup.controllers", ""); err != nil {
		return err
	}
	for _, p := range paths {
		u := *tree[p]
		files := h.cgroupV1Files(u, p == "")
		if h.Opt.CgroupVersion == 2 {
			files = h.cgroupV2Files(u, p == "", countBelow(paths, p))
		}
		for name, content := range files {
			if err := h.write(path.Join(h.mount, p, name), content); err != nil {
				return err
			}
		}
	}
	return nil
}

func countBelow(paths []string, p string) int {
	n := 0
	for _, q := range paths {
		if q != p && (p == "" || strings.HasPrefix(q, p+"/")) {
			n++
		}
	}
	return n
}

func procsFile(pids []int) string {
	var b strings.Builder
	for _, p := range pids {
		fmt.Fprintf(&b, "%d\n", p)
	}
	return b.String()
}

func (h *Host) cgroupV1Files(u usage, root bool) map[string]string {
	limit := u.limit
	if limit == 0 {
		limit = unlimitedV1
	}
	local := usage{}
	if u.leaf {
		local = u
	}
	stat := func(prefix string, x usage) string {
		return fmt.Sprintf("%scache %d\n%srss %d\n%srss_huge 0\n%sshmem %d\n%smapped_file %d\n%sdirty 0\n%swriteback 0\n%sswap 0\n%spgpgin 1000\n%spgpgout 900\n%spgfault 5000\n%spgmajfault 3\n%sinactive_anon %d\n%sactive_anon %d\n%sinactive_file %d\n%sactive_file %d\n%sunevictable 0\n",
			prefix, x.file(), prefix, x.anon, prefix, prefix, x.shmem, prefix, x.file()/10, prefix, prefix, prefix, prefix, prefix, prefix, prefix,
			prefix, x.shmem, prefix, x.anon, prefix, x.inactiveFile, prefix, x.activeFile, prefix)
	}
	statFile := stat("", local) + fmt.Sprintf("hierarchical_memory_limit %d\nhierarchical_memsw_limit %d\n", limit, unlimitedV1) + stat("total_", u)
	files := map[string]string{
		"memory.stat":                     statFile,
		"memory.usage_in_bytes":           fmt.Sprintf("%d\n", u.total()),
		"memory.max_usage_in_bytes":       fmt.Sprintf("%d\n", u.total()+mib),
		"memory.failcnt":                  fmt.Sprintf("%d\n", u.failcnt),
		"memory.oom_control":              fmt.Sprintf("oom_kill_disable 0\nunder_oom 0\noom_kill %d\n", u.oomKill),
		"memory.memsw.usage_in_bytes":     fmt.Sprintf("%d\n", u.total()),
		"memory.memsw.max_usage_in_bytes": fmt.Sprintf("%d\n", u.total()+mib),
		"memory.memsw.failcnt":            "0\n",
		"memory.kmem.usage_in_bytes":      fmt.Sprintf("%d\n", u.kernel),
		"memory.kmem.limit_in_bytes":      fmt.Sprintf("%d\n", unlimitedV1),
		"memory.kmem.failcnt":             "0\n",
		"memory.use_hierarchy":            "1\n",
		"memory.pressure_level":           "",
		"memory.kmem.slabinfo":            "slabinfo - version: 2.1\n",
		"cgroup.procs":                    procsFile(u.procs),
	}
	if !root {
		files["memory.limit_in_bytes"] = fmt.Sprintf("%d\n", limit)
		files["memory.soft_limit_in_bytes"] = fmt.Sprintf("%d\n", unlimitedV1)
		files["memory.memsw.limit_in_bytes"] = fmt.Sprintf("%d\n", unlimitedV1)
	} else {
		files["memory.limit_in_bytes"] = fmt.Sprintf("%d\n", unlimitedV1)
	}
	return files
}

func (h *Host) cgroupV2Files(u usage, root bool, descendants int) map[string]string {
	stat := fmt.Sprintf("anon %d\nfile %d\nkernel %d\nkernel_stack %d\npagetables %d\nsock 0\nshmem %d\nfile_mapped %d\nfile_dirty 0\nfile_writeback 0\nanon_thp 0\ninactive_anon %d\nactive_anon %d\ninactive_file %d\nactive_file %d\nunevictable 0\nslab_reclaimable %d\nslab_unreclaimable %d\nslab %d\nworkingset_refault_anon 0\nworkingset_refault_file 100\npgfault 5000\npgmajfault 3\n",
		u.anon, u.file(), u.kernel, u.kernel/4, u.kernel/4, u.shmem, u.file()/10, u.shmem, u.anon, u.inactiveFile, u.activeFile, u.kernel/4, u.kernel/4, u.kernel/2)
	files := map[string]string{
		"memory.stat":     stat,
		"memory.pressure": "some avg10=0.00 avg60=0.00 avg300=0.00 total=1000\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=500\n",
		"cgroup.stat":     fmt.Sprintf("nr_descendants %d\nnr_dying_descendants 0\n", descendants),
		"cgroup.procs":    procsFile(u.procs),
	}
	if root {
		return files
	}
	max := "max\n"
	if u.limit > 0 {
		max = fmt.Sprintf("%d\n", u.limit)
	}
	events := fmt.Sprintf("low 0\nhigh 0\nmax %d\noom %d\noom_kill %d\noom_group_kill 0\n", u.failcnt, u.oomKill, u.oomKill)
	for name, content := range map[string]string{
		"memory.current": fmt.Sprintf("%d\n", u.total()), "memory.max": max, "memory.high": "max\n",
		"memory.min": "0\n", "memory.low": "0\n", "memory.events": events, "memory.events.local": events,
		"memory.swap.current": "0\n", "memory.swap.max": "max\n", "memory.peak": fmt.Sprintf("%d\n", u.total()+mib),
		"memory.oom.group": "0\n",
	} {
		files[name] = content
	}
	return files
}
