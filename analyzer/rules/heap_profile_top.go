package rules

import (
	"fmt"
	"strings"

	"github.com/memsnap/memsnap/analyzer/internal/snapshot"
	"github.com/memsnap/memsnap/analyzer/internal/units"
	"github.com/memsnap/memsnap/report/schema"
)

// HeapProfileTop lists each heap profile's top functions (info).
var HeapProfileTop = &Rule{
	ID:       "heap-profile-top",
	Severity: schema.Info,
	Needs:    []snapshot.Data{snapshot.DataHeapProfiles},
	Doc: `Top in-use and allocating functions of each heap profile
What: for every pprof/<target>/heap.pb.gz, the functions holding the most in-use bytes and those
that allocated the most (flat, like go tool pprof -top), beside the process's RSS when known.
Why: a Go heap profile shows what the process itself holds; comparing its in-use total with the
container's anon memory tells whether the growth is in the Go heap or elsewhere.
Evidence: the profile's inuse_space and alloc_space sample values.
Fix: informational; see agent-scrape-pileup for monitoring agents.
References: github.com/google/pprof`,
	Run: runHeapProfileTop,
}

func runHeapProfileTop(p *Pass) {
	n := p.Config.Rules.HeapProfileTop.TopFunctions
	for _, h := range p.Snap.Heaps {
		f := schema.Finding{Severity: schema.Info, Subject: "node:" + p.Snap.NodeName + "/pprof/" + h.Name}
		if h.Profile == nil {
			continue
		}
		prof := h.Profile
		if h.Container != nil {
			h.Container.Fill(&f)
		}
		f.Title = "Heap profile " + h.Name
		var parts []string
		for i, fc := range prof.TopInuse {
			if i == n {
				break
			}
			parts = append(parts, fmt.Sprintf("%s %s", fc.Function, units.Bytes(fc.Bytes)))
		}
		f.Summary = fmt.Sprintf("Heap profile %s: %s in use", h.Name, bytesOrDash(prof.InuseBytes))
		if len(parts) > 0 {
			f.Summary += " — top: " + strings.Join(parts, ", ")
		}
		if prof.AllocBytes != nil && len(prof.TopAlloc) > 0 {
			f.Summary += fmt.Sprintf("; %s allocated in total, most by %s (%s)", units.Bytes(*prof.AllocBytes), prof.TopAlloc[0].Function, units.Bytes(prof.TopAlloc[0].Bytes))
		}
		if h.PID != nil {
			if pr := p.Snap.Procs[*h.PID]; pr != nil && pr.RSS != nil {
				f.Summary += fmt.Sprintf("; process RSS %s", units.Bytes(*pr.RSS))
				f.Evidence = append(f.Evidence, schema.Evidence{File: fmt.Sprintf("proc/%d/status", *h.PID), Key: "VmRSS", Value: num(*pr.RSS), Text: "VmRSS " + units.Bytes(*pr.RSS)})
			}
		}
		f.Summary += "."
		for i, fc := range prof.TopInuse {
			if i == n {
				break
			}
			f.Evidence = append(f.Evidence, schema.Evidence{File: h.File, Key: "inuse_space", Value: num(fc.Bytes), Text: fc.Function})
		}
		for i, fc := range prof.TopAlloc {
			if i == n {
				break
			}
			f.Evidence = append(f.Evidence, schema.Evidence{File: h.File, Key: "alloc_space", Value: num(fc.Bytes), Text: fc.Function})
		}
		f.Remediation = "Informational."
		f.References = []string{}
		p.Report(f)
	}
}
