package rules

import (
	"fmt"

	"github.com/memsnap/memsnap/analyzer/internal/snapshot"
	"github.com/memsnap/memsnap/analyzer/internal/units"
	"github.com/memsnap/memsnap/report/schema"
)

// MemoryHighThrottling finds cgroup v2 memory.high throttling that stalls tasks.
var MemoryHighThrottling = &Rule{
	ID:       "memory-high-throttling",
	Severity: schema.Warning,
	Needs:    []snapshot.Data{snapshot.DataCgroups},
	Doc: `Processes are throttled at memory.high and stall on memory
What: a cgroup v2 container or pod whose memory.events counts "high" events (it went over
memory.high and was throttled) while its memory.pressure shows tasks stalled on memory (some avg10
at or above psi_some_avg10, default 10 %).
Why: memory.high never OOM-kills; it slows the workload down with reclaim and throttling, which
looks like unexplained latency (Kubernetes MemoryQoS sets memory.high below the limit).
Evidence: memory.events high, memory.high, memory.current and memory.pressure of the cgroup.
Fix: raise memory.high (or the limit it is derived from, with MemoryQoS' throttling factor), or
reduce the working set.
References: torvalds/linux:Documentation/admin-guide/cgroup-v2.rst, torvalds/linux:Documentation/accounting/psi.rst`,
	Run: runMemoryHighThrottling,
}

func runMemoryHighThrottling(p *Pass) {
	if p.Snap.Cgroups.Version != 2 {
		p.Skipf("cgroup v1 has no memory.high or memory PSI per cgroup")
		return
	}
	min := p.Config.Rules.MemoryHighThrottling.PSISomeAvg10
	for _, pod := range p.Snap.Pods {
		for _, c := range pod.Containers {
			n := c.Cgroup
			if n == nil || n.HighEvents == nil || n.HighEvents.N == 0 || n.PSI == nil || n.PSI.Some.Avg10 < min {
				continue
			}
			f := schema.Finding{Severity: schema.Warning}
			c.Fill(&f)
			f.Summary = fmt.Sprintf("%s went over memory.high %d times and its tasks are stalled on memory %.1f %% of the time (some avg10).",
				f.Subject, n.HighEvents.N, n.PSI.Some.Avg10)
			f.Evidence = []schema.Evidence{cite(n.HighEvents, "high"),
				{File: n.Dir + "memory.pressure", Key: "some avg10", Text: fmt.Sprintf("some avg10=%.2f avg60=%.2f full avg10=%.2f", n.PSI.Some.Avg10, n.PSI.Some.Avg60, n.PSI.Full.Avg10)}}
			if n.High != nil && !n.HighUnlimited {
				f.Evidence = append(f.Evidence, cite(n.High, "memory.high"))
			}
			if n.Usage != nil {
				f.Evidence = append(f.Evidence, cite(n.Usage, "memory.current"))
				f.Summary += fmt.Sprintf(" It uses %s.", units.Bytes(n.Usage.N))
			}
			f.Remediation = "Raise memory.high (or the memory limit MemoryQoS derives it from) or reduce the container's working set; throttling at memory.high shows up as latency, not as OOM kills."
			f.References = []string{"torvalds/linux:Documentation/admin-guide/cgroup-v2.rst"}
			p.Report(f)
		}
	}
}
