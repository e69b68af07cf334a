package cgroup

import "github.com/memsnap/memsnap/bundle"

// normalise fills n's typed fields from the raw files of its directory,
// following how runc and cAdvisor read each version (DOMAIN §2.1).
func normalise(v bundle.View, n *Node, rc *rawCgroup, version int, cite func(string) string) {
	n.version = version
	n.Stat = rc.keyed["memory.stat"]
	n.PSI = rc.psi
	if rc.hasPID {
		n.Procs = rc.procs
		if n.Procs == nil {
			n.Procs = []int{} // present and empty differs from absent
		}
	}
	r := &reader{v: v, n: n, rc: rc, cite: cite}
	if n.Stat != nil && cite != nil {
		n.statFile = r.file("memory.stat")
	}
	switch version {
	case 1:
		normaliseV1(n, r)
	case 2:
		normaliseV2(n, r)
	}
	n.WorkingSet = workingSet(n.Usage, n.InactiveFile)
}

// normaliseV1 uses the hierarchical total_* keys, as cAdvisor does with
// memory.use_hierarchy=1 (always on since it was deprecated; DOMAIN §1.1).
func normaliseV1(n *Node, r *reader) {
	n.Usage = r.single("memory.usage_in_bytes")
	n.Anon = r.stat("total_rss")
	n.File = r.stat("total_cache")
	n.ActiveFile = r.stat("total_active_file")
	n.InactiveFile = r.stat("total_inactive_file")
	n.Shmem = r.stat("total_shmem")
	n.MappedFile = r.stat("total_mapped_file")
	n.Swap = r.stat("total_swap")
	// kmem is charged into the main counter on v1 (v1 doc §2.7), so it is
	// part of Usage and of the working set.
	n.Kernel = r.single("memory.kmem.usage_in_bytes")
	// The v1 kmem limit (deprecated in 5.4, gone in 6.x) and its failure
	// counter: on 3.10 kernels a kmem charge failing against it is what broke
	// slab cache creation on Kubernetes nodes (kmem-accounting-leak).
	n.KmemLimit = r.single("memory.kmem.limit_in_bytes")
	n.KmemFailcnt = r.single("memory.kmem.failcnt")

	n.Limit = r.single("memory.limit_in_bytes")
	n.Unlimited = n.Limit != nil && IsUnlimited(n.Limit.N)
	n.SoftLimit = r.single("memory.soft_limit_in_bytes")
	n.Failcnt = r.single("memory.failcnt")
	n.MaxUsage = r.single("memory.max_usage_in_bytes")
	n.MemswUsage = r.single("memory.memsw.usage_in_bytes")
	n.MemswLimit = r.single("memory.memsw.limit_in_bytes")
	n.MemswMaxUsage = r.single("memory.memsw.max_usage_in_bytes")
	n.MemswFailcnt = r.single("memory.memsw.failcnt")
	n.HierarchicalLimit = r.stat("hierarchical_memory_limit")
	n.HierarchicalMemsw = r.stat("hierarchical_memsw_limit")

	n.OOMKill = r.keyed("memory.oom_control", "oom_kill")
	n.UnderOOM = r.keyed("memory.oom_control", "under_oom")
}

func normaliseV2(n *Node, r *reader) {
	n.Usage = r.single("memory.current") // absent on the root cgroup
	n.Anon = r.stat("anon")
	n.File = r.stat("file")
	n.ActiveFile = r.stat("active_file")
	n.InactiveFile = r.stat("inactive_file")
	n.Shmem = r.stat("shmem")
	n.MappedFile = r.stat("file_mapped")
	n.Sock = r.stat("sock")
	n.Swap = r.single("memory.swap.current")
	n.Kernel = kernelV2(n)

	n.Limit, n.Unlimited = r.limit("memory.max")
	n.High, n.HighUnlimited = r.limit("memory.high")
	n.SwapLimit, n.SwapUnlimited = r.limit("memory.swap.max")
	n.Min = r.single("memory.min")
	n.Low = r.single("memory.low")
	n.MaxUsage = r.single("memory.peak")

	n.OOMKill = r.keyed("memory.events", "oom_kill")
	n.OOMEvents = r.keyed("memory.events", "oom")
	n.MaxEvents = r.keyed("memory.events", "max")
	n.HighEvents = r.keyed("memory.events", "high")
	n.LocalOOMKill = r.keyed("memory.events.local", "oom_kill")
	n.SwapFailEvents = r.keyed("memory.swap.events", "fail")
	n.NrDyingDescendants = r.keyed("cgroup.stat", "nr_dying_descendants")
	n.NrDescendants = r.keyed("cgroup.stat", "nr_descendants")
}

// kernelV2 is memory.stat "kernel" (since Linux 5.18, DOMAIN §1.2); on older
// kernels it is rebuilt from the parts that exist. The fallback adds sock,
// which the "kernel" key leaves out, so that everything that is neither anon
// nor file is attributed to the kernel (DESIGN §4 filled_by). The Key lists
// what was summed.
func kernelV2(n *Node) *Value {
	if v := n.StatValue("kernel"); v != nil {
		return v
	}
	slab := []string{"slab"}
	if _, ok := n.Stat["slab"]; !ok {
		slab = []string{"slab_reclaimable", "slab_unreclaimable"}
	}
	var sum int64
	var keys string
	for _, k := range append([]string{"kernel_stack", "pagetables", "percpu", "sock", "vmalloc"}, slab...) {
		v, ok := n.Stat[k]
		if !ok {
			continue
		}
		sum = addSat(sum, v)
		if keys != "" {
			keys += "+"
		}
		keys += k
	}
	if keys == "" {
		return nil
	}
	return &Value{N: sum, File: n.statPath(), Key: keys}
}

// workingSet is cAdvisor's setMemoryStats: usage minus inactive_file, floored
// at 0; usage alone when inactive_file is absent
// (google/cadvisor@v0.49.0:container/libcontainer/handler.go). It cites the
// usage file, the number it starts from.
func workingSet(usage, inactiveFile *Value) *Value {
	if usage == nil {
		return nil
	}
	ws := usage.N
	if inactiveFile != nil {
		if ws < inactiveFile.N {
			ws = 0
		} else {
			ws -= inactiveFile.N
		}
	}
	return &Value{N: ws, File: usage.File, Key: usage.Key}
}

func addSat(a, b int64) int64 {
	if s := a + b; s >= a {
		return s
	}
	return 1<<63 - 1
}

// reader turns raw file contents into cited Values.
type reader struct {
	v  bundle.View
	n  *Node
	rc *rawCgroup
	// files holds the bundle path of each file cited so far: every Value
	// read from one file shares one string (at 1,000 pods the
	// per-Value concatenations were 17 MB of the live heap).
	// A node cites about ten files: a linear search beats a map.
	files []citedFile
	cite  func(string) string // nil: cite the bundle path
}

type citedFile struct{ base, path string }

// file is n.Dir + base, built once per file.
func (r *reader) file(base string) string {
	for _, f := range r.files {
		if f.base == base {
			return f.path
		}
	}
	p := bundle.SharedPath(r.v, r.n.Dir+base)
	if r.cite != nil {
		p = r.cite(p)
	}
	r.files = append(r.files, citedFile{base, p})
	return p
}

func (r *reader) single(base string) *Value {
	s, ok := r.rc.single[base]
	if !ok {
		return nil
	}
	return &Value{N: s.n, File: r.file(base), Key: r.singleKey(base)}
}

// singleKey is "" for a file of its own, the file's name for a cited one
// (one pasted file holds several single-value files).
func (r *reader) singleKey(base string) string {
	if r.cite == nil {
		return ""
	}
	return base
}

// limit reads a v2 limit file: "max" or a value at the v1-style sentinel both
// mean unlimited.
func (r *reader) limit(base string) (*Value, bool) {
	s, ok := r.rc.single[base]
	if !ok {
		return nil, false
	}
	return &Value{N: s.n, File: r.file(base), Key: r.singleKey(base)}, s.isMax || IsUnlimited(s.n)
}

func (r *reader) stat(key string) *Value { return r.keyed("memory.stat", key) }

func (r *reader) keyed(base, key string) *Value {
	v, ok := r.rc.keyed[base][key]
	if !ok {
		return nil
	}
	return &Value{N: v, File: r.file(base), Key: key}
}
