package rules

import (
	"fmt"
	"sort"
	"strings"

	"github.com/memsnap/memsnap/analyzer/internal/runtimeopts"
	"github.com/memsnap/memsnap/analyzer/internal/snapshot"
	"github.com/memsnap/memsnap/analyzer/internal/units"
	"github.com/memsnap/memsnap/report/schema"
)

// RuntimeHeapVsLimit compares a language runtime's heap ceiling with the container limit.
var RuntimeHeapVsLimit = &Rule{
	ID:       "runtime-heap-vs-limit",
	Severity: schema.Critical,
	NeedsAny: []snapshot.Data{snapshot.DataCgroups, snapshot.DataPods},
	Doc: `A language runtime's heap ceiling does not fit the container's memory limit
What: the heap ceiling a container process's runtime was given — JVM -Xmx / -XX:MaxHeapSize /
-XX:MaxRAMPercentage / -XX:MaxRAM in argv, JAVA_TOOL_OPTIONS, JDK_JAVA_OPTIONS or _JAVA_OPTIONS; Go
GOMEMLIMIT (and GOGC); Node.js --max-old-space-size in argv or NODE_OPTIONS — against the
container's limit. Ceiling ≥ limit: critical. Ceiling plus the runtime's usual memory beyond its
heap (jvm_offheap_ratio 25 %, go_offheap_ratio 5 %, node_offheap_ratio 25 % of the ceiling) above the
limit: warning. No ceiling under a limit: info. A ceiling that fits in a container the kernel
OOM-killed: info, saying the heap was not what filled it.
Why: a runtime grows its heap towards its own ceiling before collecting harder; the cgroup limit is
invisible to it unless told. With the ceiling at or above the limit the kernel's OOM killer acts
first (memory.max is a hard limit: torvalds/linux:Documentation/admin-guide/cgroup-v2.rst). The JVM
reads the container limit only for its default MaxRAMPercentage of 25 %
(openjdk/jdk:src/hotspot/share/gc/shared/gc_globals.hpp); Go's runtime ignores cgroups unless
GOMEMLIMIT is set (go.dev/doc/gc-guide); V8 sizes its old space from the memory it sees.
Evidence: proc/<pid>/cmdline and proc/<pid>/environ (only the runtime variables the collector
keeps), the container's memory.max / memory.limit_in_bytes or its pod spec limit, the OOM kill.
Fix: set the ceiling below the limit with room for off-heap memory (e.g. -XX:MaxRAMPercentage=70,
GOMEMLIMIT ≈ 90 % of the limit, --max-old-space-size ≈ 75 % of it), or raise the limit.
References: openjdk/jdk:src/hotspot/share/runtime/arguments.cpp, go.dev/doc/gc-guide, nodejs/node:doc/api/cli.md`,
	Run: runRuntimeHeapVsLimit,
}

func runRuntimeHeapVsLimit(p *Pass) {
	cfg := p.Config.Rules.RuntimeHeapVsLimit
	s := p.Snap
	anyArgv := false
	for _, pr := range s.Procs {
		anyArgv = anyArgv || len(pr.Argv) > 0
	}
	if !anyArgv {
		p.Skipf("needs container processes' command lines (proc/<pid>/cmdline)")
		return
	}
	for _, pod := range s.Pods {
		for _, c := range pod.Containers {
			if c.Sandbox {
				continue
			}
			limit, limitEv, limited := containerLimit(c)
			procs := containerProcs(s, c)
			sort.Slice(procs, func(i, j int) bool { return procs[i].PID < procs[j].PID })
			for _, pr := range procs {
				lim := int64(0)
				if limited {
					lim = limit
				}
				ceil := runtimeopts.Parse(pr.Argv, pr.Env, lim)
				if ceil == nil || !limited {
					continue
				}
				reportHeap(p, c, pr, ceil, limit, limitEv, offHeapRatio(cfg.JVMOffHeapRatio, cfg.GoOffHeapRatio, cfg.NodeOffHeapRatio, ceil.Runtime))
				break // one finding per container: its first runtime process
			}
		}
	}
}

func offHeapRatio(jvm, goR, node float64, runtime string) float64 {
	switch runtime {
	case runtimeopts.JVM:
		return jvm
	case runtimeopts.Go:
		return goR
	}
	return node
}

var runtimeNames = map[string]string{runtimeopts.JVM: "JVM", runtimeopts.Go: "Go runtime", runtimeopts.Node: "Node.js (V8)"}

func reportHeap(p *Pass, c *snapshot.Container, pr *snapshot.Proc, ceil *runtimeopts.Ceiling, limit int64, limitEv schema.Evidence, ratio float64) {
	f := schema.Finding{}
	c.Fill(&f)
	name := runtimeNames[ceil.Runtime]
	setting := ceil.Setting
	if setting == "" {
		setting = ceil.Default
	} else {
		setting += " (" + ceil.From + ")"
	}
	ev := []schema.Evidence{limitEv, {File: procFile(pr.PID, "cmdline"), Text: "argv: " + clip(pr.Cmdline, 300)}}
	if len(pr.Env) > 0 {
		var kv []string
		for _, k := range sortedKeys(pr.Env) {
			kv = append(kv, k+"="+pr.Env[k])
		}
		ev = append(ev, schema.Evidence{File: procFile(pr.PID, "environ"), Text: clip(strings.Join(kv, " "), 300)})
	}
	for _, n := range ceil.Notes {
		ev = append(ev, schema.Evidence{File: procFile(pr.PID, "cmdline"), Text: "also set: " + n})
	}
	withOff := int64(float64(ceil.Bytes) * (1 + ratio))
	switch {
	case ceil.Bytes == 0:
		f.Severity = schema.Info
		f.Summary = fmt.Sprintf("%s in %s has no heap ceiling under the %s limit: %s.", name, f.Subject, units.Bytes(limit), ceil.Default)
		f.Remediation = heapFix(ceil.Runtime, limit)
	case ceil.Bytes >= limit:
		f.Severity = schema.Critical
		f.Summary = fmt.Sprintf("%s heap ceiling of %s in %s (%s) is at or above the container limit of %s: the kernel OOM-kills the process before the runtime collects.",
			name, units.Bytes(ceil.Bytes), f.Subject, setting, units.Bytes(limit))
		f.Remediation = heapFix(ceil.Runtime, limit)
	case withOff > limit:
		f.Severity = schema.Warning
		f.Summary = fmt.Sprintf("%s heap ceiling of %s in %s (%s) plus the usual %.0f %% beyond the heap (%s) exceeds the container limit of %s.",
			name, units.Bytes(ceil.Bytes), f.Subject, setting, 100*ratio, units.Bytes(withOff), units.Bytes(limit))
		f.Remediation = heapFix(ceil.Runtime, limit)
	case containerOOMKilled(p.Snap, c):
		f.Severity = schema.Info
		f.Summary = fmt.Sprintf("%s heap ceiling of %s in %s (%s) is %s of the %s limit: the heap alone could not fill the container the kernel OOM-killed — look at memory outside the heap (other processes, page cache, shmem/tmpfs, kernel memory; see oom-kill's filled-by).",
			name, units.Bytes(ceil.Bytes), f.Subject, setting, pct(ceil.Bytes, limit), units.Bytes(limit))
		f.Remediation = "Find the non-heap memory: compare the cgroup's memory.stat (anon vs shmem vs file) and the processes' RSS with the heap ceiling."
	default:
		return
	}
	if ceil.Default != "" && ceil.Bytes > 0 {
		ev = append(ev, schema.Evidence{File: procFile(pr.PID, "cmdline"), Text: ceil.Default})
	}
	f.Evidence = ev
	f.References = []string{"go.dev/doc/gc-guide", "openjdk/jdk:src/hotspot/share/gc/shared/gc_globals.hpp", "nodejs/node:doc/api/cli.md"}
	p.Report(f)
}

func heapFix(runtime string, limit int64) string {
	switch runtime {
	case runtimeopts.JVM:
		return fmt.Sprintf("Give the JVM a heap that leaves room for metaspace, threads and direct buffers: -XX:MaxRAMPercentage=70 (≈ %s here) instead of a fixed -Xmx, or raise the limit.", units.Bytes(limit*70/100))
	case runtimeopts.Go:
		return fmt.Sprintf("Set GOMEMLIMIT to about 90 %% of the container limit (%dMiB here) so the Go runtime collects before the kernel kills.", limit*90/100>>20)
	}
	return fmt.Sprintf("Set --max-old-space-size to about 75 %% of the container limit (%d here, in MiB), in argv or NODE_OPTIONS.", limit*75/100>>20)
}
