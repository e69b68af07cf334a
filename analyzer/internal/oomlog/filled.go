package oomlog

import "github.com/memsnap/memsnap/analyzer/internal/podpath"

// FilledBy values.
const (
	FilledAnon    = "anon"
	FilledShmem   = "shmem"
	FilledFile    = "file"
	FilledKernel  = "kernel"
	FilledUnknown = "unknown"
)

// FilledByFromStats names the largest of four disjoint shares of a cgroup
// (DESIGN §4): anon (v2 anon, v1 rss), shmem, file (v2 file / v1 cache, both
// of which include shmem, minus shmem) and kernel (v2 kernel, else the v1
// kmem: usage, else slab + kernel_stack + pagetables + sock). stats are
// memory.stat keys in bytes (v1 total_* already stripped of the prefix);
// kmem is the v1 kmem usage in bytes or nil. Without anon or file figures it
// says "unknown": one share alone cannot be called the largest.
func FilledByFromStats(stats map[string]int64, kmem *int64) string {
	anon, okAnon := first(stats, "anon", "rss")
	file, okFile := first(stats, "file", "cache")
	if !okAnon && !okFile {
		return FilledUnknown
	}
	shmem := stats["shmem"]
	file = max(file-shmem, 0)
	kernel, ok := stats["kernel"]
	if !ok && kmem != nil {
		kernel, ok = *kmem, true
	}
	if !ok {
		slab, okSlab := stats["slab"]
		if !okSlab {
			slab = satAdd(stats["slab_reclaimable"], stats["slab_unreclaimable"])
		}
		kernel = satAdd(satAdd(slab, stats["kernel_stack"]), satAdd(stats["pagetables"], stats["sock"]))
	}
	best, name := int64(0), FilledUnknown
	for _, s := range [...]struct {
		name string
		v    int64
	}{{FilledAnon, anon}, {FilledShmem, shmem}, {FilledFile, file}, {FilledKernel, kernel}} {
		if s.v > best {
			best, name = s.v, s.name
		}
	}
	return name
}

func first(stats map[string]int64, keys ...string) (int64, bool) {
	for _, k := range keys {
		if v, ok := stats[k]; ok {
			return v, true
		}
	}
	return 0, false
}

// LimitScope says whose limit fired (DESIGN §4 limit_scope): "node" for a
// global OOM (no memcg, or a NONE/CPUSET/MEMORY_POLICY constraint), else the
// scope of the OOM memcg: "container", "pod", "kubepods" or "other".
func LimitScope(ev Event) string {
	if ev.Global {
		return "node"
	}
	switch ev.Constraint {
	case "CONSTRAINT_CPUSET", "CONSTRAINT_MEMORY_POLICY":
		return "node" // a global OOM within a cpuset / mempolicy, constraint kept as printed
	}
	if s := podpath.ScopeOf(ev.OOMMemcg); s != "" {
		return s
	}
	return "node"
}
