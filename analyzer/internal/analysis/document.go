package analysis

import (
	"bufio"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/memsnap/memsnap/analyzer/internal/cgroup"
	"github.com/memsnap/memsnap/analyzer/internal/snapshot"
	"github.com/memsnap/memsnap/report/schema"
)

func bundleEntry(s *snapshot.Snapshot) schema.Bundle {
	b := schema.Bundle{
		Index:    s.Index,
		Source:   s.Source,
		Node:     s.NodeName,
		Kernel:   s.Node.Kernel,
		Manifest: s.Manifest != nil,
		Problems: s.Problems(),
	}
	if s.Node.CgroupVersion != 0 {
		v := s.Node.CgroupVersion
		b.CgroupVersion = &v
	}
	if s.KernelLog != nil {
		b.PartialOOMReports = s.KernelLog.PartialReports
	}
	if s.Manifest != nil {
		for _, src := range s.Manifest.Sources {
			b.Sources = append(b.Sources, schema.Source{Name: src.Name, Status: src.Status, Error: src.Error})
		}
		sort.SliceStable(b.Sources, func(i, j int) bool { return b.Sources[i].Name < b.Sources[j].Name })
	}
	b.Series = seriesEntry(s)
	m := s.NodeMemory
	b.Memory = schema.NodeMemory{
		CapacityBytes:            fig(m.Capacity),
		AllocatableBytes:         fig(m.Allocatable),
		AllocatableReportedBytes: fig(m.AllocatableReport),
		KubepodsLimitBytes:       fig(m.KubepodsLimit),
		ExpectedKubepodsBytes:    fig(m.ExpectedKubepods),
		SystemdLimitBytes:        fig(m.SystemdLimit),
		EvictionHardBytes:        fig(m.EvictionHard),
		UsedBytes:                fig(m.RootUsage),
		WorkingSetBytes:          fig(m.RootWorkingSet),
		AnonBytes:                fig(m.RootAnon),
		AvailableBytes:           fig(m.Available),
	}
	switch {
	case s.Kubepods != nil:
		b.Memory.KubepodsCgroup = s.Kubepods.Path
		b.Memory.KubepodsWorkingSetBytes = cv(s.Kubepods.WorkingSet)
		if s.Kubepods.Unlimited {
			// The v1 sentinel (8 EiB) is not a limit; DESIGN §4: unlimited
			// is null plus a flag.
			b.Memory.KubepodsLimitBytes, b.Memory.KubepodsUnlimited = nil, true
		}
	case s.Cgroups != nil:
		b.Memory.KubepodsAbsent = true
	}
	return b
}

func fig(f *snapshot.Figure) *int64 {
	if f == nil {
		return nil
	}
	v := f.Bytes
	return &v
}

func cv(v *cgroup.Value) *int64 {
	if v == nil {
		return nil
	}
	n := v.N
	return &n
}

func oomEvents(s *snapshot.Snapshot) []schema.OOMEvent {
	var out []schema.OOMEvent
	for _, e := range s.OOMEvents {
		r := e.Raw
		ev := schema.OOMEvent{
			Bundle: s.Index, Node: s.NodeName,
			Process: r.Process, PID: r.PID, Constraint: r.Constraint,
			OOMMemcg: r.OOMMemcg, TaskMemcg: r.TaskMemcg,
			PodUID: e.Task.PodUID, ContainerID: e.Task.ContainerID,
			LimitScope: e.Scope, LimitCounter: r.LimitCounter,
			AnonRSSBytes: r.AnonRSS, FileRSSBytes: r.FileRSS, ShmemRSSBytes: r.ShmemRSS,
			MemcgUsageBytes: r.Usage, MemcgLimitBytes: r.Limit, MemcgFailcnt: r.Failcnt,
			FilledBy: e.FilledBy, File: "logs/kernel.log", Line: r.Line, TimeNote: r.TimeNote,
			UptimeSeconds: r.Uptime,
		}
		if e.FromCounter {
			ev.File = ""
			if e.CounterCgroup != nil && e.CounterCgroup.OOMKill != nil {
				ev.File = e.CounterCgroup.OOMKill.File
			}
		}
		if ev.PodUID == "" {
			ev.PodUID = e.Limit.PodUID
		}
		if !r.Time.IsZero() {
			ev.Time = r.Time.UTC().Format(time.RFC3339)
		}
		if e.Pod != nil {
			ev.Namespace, ev.Pod = e.Pod.Namespace, e.Pod.Name
		}
		if e.Container != nil {
			ev.Container = e.Container.Name
			if ev.ContainerID == "" {
				ev.ContainerID = e.Container.ID
			}
		}
		out = append(out, ev)
	}
	return out
}

func workloads(s *snapshot.Snapshot) []schema.Workload {
	var out []schema.Workload
	for _, p := range s.Pods {
		out = append(out, workload(s, p, nil))
		for _, c := range p.Containers {
			out = append(out, workload(s, p, c))
		}
	}
	return out
}

func workload(s *snapshot.Snapshot, p *snapshot.Pod, c *snapshot.Container) schema.Workload {
	w := schema.Workload{Bundle: s.Index, Node: s.NodeName, Namespace: p.Namespace, Pod: p.Name,
		PodUID: p.UID, QoS: p.QoS}
	if p.Spec != nil {
		w.OwnerKind, w.Owner = p.Spec.OwnerKind, p.Spec.Owner
	}
	cg := p.Cgroup
	if c != nil {
		w.Container, w.ContainerID, cg = c.Name, c.ID, c.Cgroup
		if c.Sandbox && w.Container == "" {
			w.Container = "POD"
		}
		if c.Spec != nil {
			rc := c.Spec.RestartCount
			w.RestartCount = &rc
			w.LastTermination = c.Spec.LastTerminationReason
			w.RequestBytes = c.Spec.MemoryRequest
		}
		w.WorkingSetReportedBytes = c.ReportedWorkingSet()
	} else {
		w.WorkingSetReportedBytes = p.ReportedWorkingSet()
		if p.Spec != nil {
			w.RequestBytes = p.Spec.MemoryRequest
		}
	}
	rep := p.Reported
	if c != nil {
		rep = c.Reported
	}
	if cg != nil {
		w.Cgroup = cg.Path
		w.UsageBytes = cv(cg.Usage)
		w.WorkingSetBytes = cv(cg.WorkingSet)
		w.AnonBytes = cv(cg.Anon)
		w.ActiveFileBytes = cv(cg.ActiveFile)
		w.InactiveFileBytes = cv(cg.InactiveFile)
		w.ShmemBytes = cv(cg.Shmem)
		w.KernelBytes = cv(cg.Kernel)
		w.SwapBytes = cv(cg.Swap)
		w.PeakBytes = cv(cg.MaxUsage)
		if cg.Unlimited {
			w.Unlimited = true
		} else {
			w.LimitBytes = cv(cg.Limit)
		}
	} else if rep.Any() {
		// No cgroup: the numbers the kubelet and cAdvisor stated, each
		// with its file and key; what none states stays blank.
		w.Sources = map[string]string{}
		set := func(dst **int64, name string, f *snapshot.Figure) {
			if f != nil {
				*dst = &f.Bytes
				w.Sources[name] = f.File + " " + f.Key
			}
		}
		set(&w.UsageBytes, "usage_bytes", rep.Usage)
		if w.WorkingSetReportedBytes == nil {
			set(&w.WorkingSetReportedBytes, "working_set_reported_bytes", rep.WorkingSet)
		} else if rep.WorkingSet != nil {
			w.Sources["working_set_reported_bytes"] = rep.WorkingSet.File + " " + rep.WorkingSet.Key
		}
		set(&w.RSSBytes, "rss_bytes", rep.RSS)
		set(&w.CacheBytes, "cache_bytes", rep.Cache)
		set(&w.LimitBytes, "limit_bytes", rep.Limit)
		w.Unlimited = rep.Unlimited
		if len(w.Sources) == 0 {
			w.Sources = nil
		}
	}
	return w
}

func heapProfiles(s *snapshot.Snapshot) []schema.HeapProfile {
	var out []schema.HeapProfile
	for _, h := range s.Heaps {
		hp := schema.HeapProfile{Bundle: s.Index, Target: h.Name, File: h.File, PID: h.PID, Error: h.Err,
			TopInuse: []schema.FuncCost{}, TopAlloc: []schema.FuncCost{}}
		if h.PID != nil {
			if p := s.Procs[*h.PID]; p != nil {
				hp.RSSBytes = p.RSS
			}
		}
		if p := h.Profile; p != nil {
			hp.InuseBytes, hp.AllocBytes = p.InuseBytes, p.AllocBytes
			for i, f := range p.TopInuse {
				if i == 10 {
					break
				}
				hp.TopInuse = append(hp.TopInuse, schema.FuncCost{Function: f.Function, Bytes: f.Bytes})
			}
			for i, f := range p.TopAlloc {
				if i == 10 {
					break
				}
				hp.TopAlloc = append(hp.TopAlloc, schema.FuncCost{Function: f.Function, Bytes: f.Bytes})
			}
		}
		out = append(out, hp)
	}
	return out
}

// Excerpt bounds: the raw evidence viewer embeds a few lines around what a
// finding cites, never whole large files.
const (
	excerptContext  = 3
	excerptMaxLines = 60
	excerptMaxFiles = 40
	excerptLineMax  = 300
)

// excerpts embeds, for every file the findings cite, the cited lines (by line
// number or by key) with a little context.
func excerpts(s *snapshot.Snapshot, findings []schema.Finding) []schema.Excerpt {
	want := map[string]map[int]bool{} // file → cited line numbers
	keys := map[string]map[string]bool{}
	for _, f := range findings {
		for _, e := range f.Evidence {
			if e.File == "" {
				continue
			}
			if want[e.File] == nil {
				want[e.File], keys[e.File] = map[int]bool{}, map[string]bool{}
			}
			if n, ok := strings.CutPrefix(e.Key, "line "); ok {
				if i, err := strconv.Atoi(n); err == nil {
					want[e.File][i] = true
				}
			} else if e.Key != "" {
				keys[e.File][e.Key] = true
			}
		}
	}
	files := make([]string, 0, len(want))
	for f := range want {
		files = append(files, f)
	}
	sort.Strings(files)
	if len(files) > excerptMaxFiles {
		files = files[:excerptMaxFiles]
	}
	var out []schema.Excerpt
	for _, file := range files {
		if ex, ok := excerpt(s, file, want[file], keys[file]); ok {
			out = append(out, ex)
		}
	}
	return out
}

func excerpt(s *snapshot.Snapshot, file string, lines map[int]bool, keys map[string]bool) (schema.Excerpt, bool) {
	rc, err := s.View.Open(file)
	if err != nil {
		return schema.Excerpt{}, false
	}
	defer rc.Close()
	ex := schema.Excerpt{Bundle: s.Index, File: file, Lines: []schema.ExcerptLine{}}
	// Small files whose keys are cited (memory.stat) are shown whole up to the cap.
	sc := bufio.NewReader(rc)
	var all []string
	// Cited only by line numbers: read no further than the last one needs.
	stopAt := -1
	if len(keys) == 0 && len(lines) > 0 {
		for n := range lines {
			stopAt = max(stopAt, n+excerptContext)
		}
	}
	for n := 1; stopAt < 0 || n <= stopAt; n++ {
		line, err := sc.ReadString('\n')
		if line == "" && err != nil {
			break
		}
		line = strings.TrimRight(line, "\r\n")
		all = append(all, line)
		if n > 2_000_000 {
			break
		}
		for k := range keys {
			if k == "" {
				continue
			}
			if f := strings.Fields(line); len(f) > 0 && (f[0] == k || strings.HasPrefix(line, k+"=") || strings.HasPrefix(line, k+":")) {
				lines[n] = true
			}
		}
		if err != nil {
			break
		}
	}
	if len(lines) == 0 {
		// A single-value file (memory.limit_in_bytes) cited without a key.
		if len(all) <= 3 {
			for i := range all {
				lines[i+1] = true
			}
		} else {
			return schema.Excerpt{}, false
		}
	}
	show := map[int]bool{}
	for n := range lines {
		for i := n - excerptContext; i <= n+excerptContext; i++ {
			if i >= 1 && i <= len(all) {
				show[i] = true
			}
		}
	}
	nums := make([]int, 0, len(show))
	for n := range show {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	for _, n := range nums {
		if len(ex.Lines) == excerptMaxLines {
			ex.Truncated = true
			break
		}
		t := all[n-1]
		if len(t) > excerptLineMax {
			t = t[:excerptLineMax] + "…"
			ex.Truncated = true
		}
		ex.Lines = append(ex.Lines, schema.ExcerptLine{N: n, Text: t})
	}
	return ex, true
}
