package rules

import (
	"fmt"

	"github.com/memsnap/memsnap/analyzer/internal/cgroup"
	"github.com/memsnap/memsnap/analyzer/internal/snapshot"
	"github.com/memsnap/memsnap/analyzer/internal/units"
	"github.com/memsnap/memsnap/bundle"
	"github.com/memsnap/memsnap/report/schema"
)

// DirtyWritebackOOM finds memcg OOMs whose memory was dirty or under-writeback page cache.
var DirtyWritebackOOM = &Rule{
	ID:       "dirty-writeback-oom",
	Severity: schema.Critical,
	NeedsAny: []snapshot.Data{snapshot.DataKernelLog, snapshot.DataCgroups},
	Doc: `A memory cgroup was OOM-killed while full of dirty page cache
What: a memcg OOM whose report's memory.stat dump shows dirty + writeback page cache (v2
file_dirty + file_writeback, v1 dirty + writeback) of at least dirty_ratio (30 %) of the cgroup's
usage (critical); and a container cgroup that has OOM-killed and holds that share of dirty +
writeback pages now (warning).
Why: dirty pages cannot be reclaimed until written back; when a container writes faster than its
storage takes the data, its memory fills with dirty pages and reclaim fails although the memory
is "only cache". Kernels throttle writers per memcg (balance_dirty_pages, mm/page-writeback.c) but
a small limit, slow or network storage, and MGLRU's reclaim (premature memcg OOM on slow writes,
cgroups@vger.kernel.org 2024-03 "MGLRU premature memcg OOM on slow writes") can still end in an
OOM kill (torvalds/linux:mm/vmscan.c, Documentation/admin-guide/cgroup-v2.rst "Writeback").
Evidence: the kernel report's "Memory cgroup stats" dirty/writeback lines and memory usage line;
the cgroup's memory.stat file_dirty, file_writeback and its oom_kill counter.
Fix: give the container more memory headroom over its write bursts, write with O_DIRECT or fsync
in smaller chunks, lower vm.dirty_ratio/dirty_bytes (node-wide), use faster storage; on kernels
with MGLRU, a kernel with the 6.9+ writeback fixes or lru_gen disabled
(/sys/kernel/mm/lru_gen/enabled).
References: torvalds/linux:mm/page-writeback.c, torvalds/linux:Documentation/admin-guide/cgroup-v2.rst, torvalds/linux:Documentation/admin-guide/mm/multigen_lru.rst`,
	Run: runDirtyWritebackOOM,
}

func dirtyOf(stats map[string]int64) (dirty, wb int64, ok bool) {
	d, ok1 := stats["file_dirty"]
	w, ok2 := stats["file_writeback"]
	if !ok1 && !ok2 {
		d, ok1 = stats["dirty"]
		w, ok2 = stats["writeback"]
	}
	return d, w, ok1 || ok2
}

func runDirtyWritebackOOM(p *Pass) {
	s, ratio := p.Snap, p.Config.Rules.DirtyWritebackOOM.DirtyRatio
	reported := map[int]bool{}
	for _, e := range s.OOMEvents {
		ev := e.Raw
		if e.FromCounter || ev.Global || ev.Stats == nil || reported[ev.StartLine] {
			continue
		}
		dirty, wb, ok := dirtyOf(ev.Stats)
		if !ok {
			continue
		}
		base := int64(0)
		switch {
		case ev.Usage != nil:
			base = *ev.Usage
		case ev.Limit != nil:
			base = *ev.Limit
		}
		if base <= 0 || float64(dirty+wb) < ratio*float64(base) {
			continue
		}
		reported[ev.StartLine] = true
		f := schema.Finding{Severity: schema.Critical, Subject: "node:" + s.NodeName}
		switch {
		case e.Container != nil:
			e.Container.Fill(&f)
		case e.Pod != nil:
			e.Pod.Fill(&f)
		default:
			if ev.OOMMemcg != "" {
				f.Subject, f.Cgroup = "cgroup:"+ev.OOMMemcg, ev.OOMMemcg
			}
		}
		f.Summary = fmt.Sprintf("The kernel killed %s (pid %d) at the memory limit of %s while %s of its %s usage was dirty (%s) or under writeback (%s) page cache: writes outran the storage, and reclaim could not free the dirty pages in time.",
			ev.Process, ev.PID, keyOr(ev.OOMMemcg, f.Subject), pct(dirty+wb, base), units.Bytes(base), units.Bytes(dirty), units.Bytes(wb))
		f.Evidence = []schema.Evidence{citeLine(bundle.KernelLog, ev.Line, fmt.Sprintf("killed %s (pid %d) in %s", ev.Process, ev.PID, keyOr(ev.OOMMemcg, "?"))),
			{File: bundle.KernelLog, Key: fmt.Sprintf("lines %d-%d", ev.StartLine, ev.EndLine), Value: num(dirty + wb),
				Text: fmt.Sprintf("Memory cgroup stats: dirty %d, writeback %d of usage %d", dirty, wb, base)}}
		f.Remediation = "Give the container headroom over its write bursts, write in smaller fsync'd chunks or with O_DIRECT, lower vm.dirty_bytes on the node, or use faster storage; with MGLRU on 6.1–6.8 kernels consider disabling lru_gen."
		f.References = []string{"torvalds/linux:mm/page-writeback.c", "torvalds/linux:Documentation/admin-guide/mm/multigen_lru.rst"}
		p.Report(f)
	}
	if s.Cgroups == nil {
		return
	}
	for _, pod := range s.Pods {
		for _, c := range pod.Containers {
			n := c.Cgroup
			if n == nil || n.OOMKill == nil || n.OOMKill.N == 0 || n.Usage == nil || n.Usage.N == 0 {
				continue
			}
			d, w := dirtyValue(n)
			if d == nil && w == nil {
				continue
			}
			sum := val(d) + val(w)
			if float64(sum) < ratio*float64(n.Usage.N) {
				continue
			}
			f := schema.Finding{Severity: schema.Warning}
			c.Fill(&f)
			f.Summary = fmt.Sprintf("%s has OOM-killed (%d) and %s of its %s usage is dirty or under-writeback page cache now: its writes outrun the storage.", f.Subject, n.OOMKill.N, pct(sum, n.Usage.N), units.Bytes(n.Usage.N))
			f.Evidence = []schema.Evidence{cite(n.OOMKill, "oom_kill"), cite(n.Usage, "usage")}
			if d != nil {
				f.Evidence = append(f.Evidence, cite(d, "dirty"))
			}
			if w != nil {
				f.Evidence = append(f.Evidence, cite(w, "writeback"))
			}
			f.Remediation = "Give the container headroom over its write bursts, fsync in smaller chunks, or use faster storage."
			f.References = []string{"torvalds/linux:mm/page-writeback.c"}
			p.Report(f)
		}
	}
}

func dirtyValue(n *cgroup.Node) (d, w *cgroup.Value) {
	if d = n.StatValue("file_dirty"); d != nil {
		return d, n.StatValue("file_writeback")
	}
	return n.Hierarchical("dirty"), n.Hierarchical("writeback")
}
