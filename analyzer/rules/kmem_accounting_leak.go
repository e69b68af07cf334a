package rules

import (
	"fmt"
	"strings"

	"github.com/memsnap/memsnap/analyzer/internal/cgroup"
	"github.com/memsnap/memsnap/analyzer/internal/snapshot"
	"github.com/memsnap/memsnap/analyzer/internal/units"
	"github.com/memsnap/memsnap/bundle"
	"github.com/memsnap/memsnap/report/schema"
)

// KmemAccountingLeak finds the EL7-era kernel memory accounting failure.
var KmemAccountingLeak = &Rule{
	ID:       "kmem-accounting-leak",
	Severity: schema.Critical,
	NeedsAny: []snapshot.Data{snapshot.DataKernelLog, snapshot.DataCgroups},
	Doc: `Kernel memory accounting of memory cgroups is failing (the 3.10 kmem leak)
What: "SLUB: Unable to allocate memory on node -1" in the kernel log — critical on a 3.x kernel,
or when the kernel is unknown, without cgroup.memory=nokmem on its command line; warning
otherwise — and v1 cgroups whose memory.kmem.usage_in_bytes is at least near_limit_ratio (90 %) of
a memory.kmem.limit_in_bytes that is set.
Why: on RHEL/CentOS 7 kernels (3.10) kmem accounting is enabled for every memory cgroup once a
kmem limit is written — which runc and kubelet did for each container — and each such cgroup gets
its own copies of the slab caches. Removed cgroups' caches are not freed, so the 64K memcg IDs and
kernel memory run out; slab allocations then fail with this message, new containers cannot start
and nodes hang or go NotReady (kubernetes/kubernetes#61937). The kernel's documentation calls v1
kmem limits unsafe and they were removed in Linux 6.1
(torvalds/linux:Documentation/admin-guide/cgroup-v1/memory.rst §2.7).
Evidence: logs/kernel.log SLUB lines with the cache and memcg they name, node/uname,
node/cmdline, cgroup memory.kmem.usage_in_bytes and memory.kmem.limit_in_bytes.
Fix: boot the 3.10 kernel with cgroup.memory=nokmem (RHEL 7.6+ kernels honour it) and reboot the
node to clear the leaked caches, or move to a newer kernel; use a runc/kubelet built without kmem
limits.
References: kubernetes/kubernetes#61937, torvalds/linux:Documentation/admin-guide/cgroup-v1/memory.rst, torvalds/linux:mm/slub.c`,
	Run: runKmemAccountingLeak,
}

func runKmemAccountingLeak(p *Pass) {
	s, cfg := p.Snap, p.Config.Rules.KmemAccountingLeak
	nokmem := strings.Contains(s.KernelCmdline, "cgroup.memory=nokmem")
	kernel := s.Node.Kernel
	old := kernel == "" || strings.HasPrefix(kernel, "3.")
	if kf := s.KernelFailures; kf != nil && len(kf.Slub) > 0 {
		first := kf.Slub[0]
		f := schema.Finding{Severity: schema.Warning, Subject: "node:" + s.NodeName}
		if old && !nokmem {
			f.Severity = schema.Critical
		}
		kdesc := "kernel " + keyOr(kernel, "unknown")
		cache := ""
		if first.Cache != "" {
			cache = fmt.Sprintf(" (first in cache %s", first.Cache)
			if first.Memcg != "" {
				cache += " of memcg " + clip(first.Memcg, 80)
			}
			cache += ")"
		}
		f.Summary = fmt.Sprintf("The kernel log of %s holds %d \"SLUB: Unable to allocate memory on node %s\"%s on %s",
			s.NodeName, len(kf.Slub), first.Node, cache, kdesc)
		switch {
		case nokmem:
			f.Summary += "; cgroup.memory=nokmem is set, so this is not the memcg kmem leak: slab memory itself ran out."
		case old:
			f.Summary += " without cgroup.memory=nokmem: memory cgroups' kernel memory accounting is failing (the 3.10 kmem leak); containers fail to start and the node degrades."
		default:
			f.Summary += ": slab allocations are failing."
		}
		f.Evidence = []schema.Evidence{citeLine(bundle.KernelLog, first.Line, first.Text)}
		if kernel != "" {
			f.Evidence = append(f.Evidence, schema.Evidence{File: bundle.NodeUname, Text: "kernel " + kernel})
		}
		if s.KernelCmdline != "" {
			f.Evidence = append(f.Evidence, schema.Evidence{File: bundle.NodeCmdline, Text: clip(s.KernelCmdline, 300)})
		}
		for _, k := range kf.Kmem {
			if k.LimitKB > 0 && k.LimitKB < 1<<50 && float64(k.UsageKB) >= cfg.NearLimitRatio*float64(k.LimitKB) {
				f.Evidence = append(f.Evidence, citeLine(bundle.KernelLog, k.Line, fmt.Sprintf("kmem: usage %dkB, limit %dkB, failcnt %d", k.UsageKB, k.LimitKB, k.N)))
				break
			}
		}
		f.Remediation = "Boot with cgroup.memory=nokmem (RHEL 7.6+ 3.10 kernels) and reboot to clear the leaked caches, or upgrade the kernel; run a runc that sets no kmem limit."
		f.References = []string{"kubernetes/kubernetes#61937", "torvalds/linux:Documentation/admin-guide/cgroup-v1/memory.rst"}
		p.Report(f)
	}
	if s.Cgroups == nil {
		return
	}
	for _, n := range s.Cgroups.Sorted() {
		if n.KmemLimit == nil || cgroup.IsUnlimited(n.KmemLimit.N) || n.KmemLimit.N <= 0 || n.Kernel == nil {
			continue
		}
		if float64(n.Kernel.N) < cfg.NearLimitRatio*float64(n.KmemLimit.N) {
			continue
		}
		f := schema.Finding{Severity: schema.Warning, Subject: "cgroup:" + n.Path, Cgroup: n.Path}
		if c := s.ContainerByCgroup(n.Path); c != nil {
			c.Fill(&f)
		}
		f.Summary = fmt.Sprintf("%s's kernel memory is %s of its %s kmem limit (%s): kernel allocations (slab, stacks) in it will fail.", f.Subject, units.Bytes(n.Kernel.N), units.Bytes(n.KmemLimit.N), pct(n.Kernel.N, n.KmemLimit.N))
		f.Evidence = []schema.Evidence{cite(n.Kernel, "kmem usage"), cite(n.KmemLimit, "kmem limit")}
		if n.KmemFailcnt != nil {
			f.Evidence = append(f.Evidence, schema.Evidence{File: n.KmemFailcnt.File, Value: num(n.KmemFailcnt.N), Text: fmt.Sprintf("memory.kmem.failcnt = %d", n.KmemFailcnt.N)})
		}
		f.Remediation = "Remove the kmem limit (v1 kmem limits are deprecated and unsafe), or boot with cgroup.memory=nokmem."
		f.References = []string{"torvalds/linux:Documentation/admin-guide/cgroup-v1/memory.rst"}
		p.Report(f)
	}
}
