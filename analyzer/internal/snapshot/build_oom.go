package snapshot

import (
	"io"
	"sort"

	"github.com/memsnap/memsnap/analyzer/internal/cgroup"
	"github.com/memsnap/memsnap/analyzer/internal/oomlog"
	"github.com/memsnap/memsnap/analyzer/internal/podpath"
	"github.com/memsnap/memsnap/bundle"
)

// buildOOM parses the kernel log and attributes every kill; cgroup oom_kill
// counters with no matching kill in the log (the log rotated) become events too.
func (s *Snapshot) buildOOM() {
	opts := oomlog.Options{File: bundle.KernelLog, BootTime: s.Node.BootTime}
	if !s.Node.Created.IsZero() {
		opts.Year = s.Node.Created.Year()
	}
	if s.parse(bundle.KernelLog, func(r io.Reader) error {
		res, err := oomlog.Parse(r, opts)
		s.KernelLog = res
		return err
	}) && s.KernelLog != nil {
		s.setHas(DataKernelLog)
		for _, p := range s.KernelLog.Problems {
			s.Problemf("%s: %s", bundle.KernelLog, p)
		}
		for _, ev := range s.KernelLog.Events {
			s.OOMEvents = append(s.OOMEvents, s.attribute(ev))
		}
	}
	s.counterEvents()
	sort.SliceStable(s.OOMEvents, func(i, j int) bool {
		a, b := s.OOMEvents[i].Raw, s.OOMEvents[j].Raw
		if !a.Time.Equal(b.Time) {
			return a.Time.Before(b.Time)
		}
		return a.Line < b.Line
	})
}

func (s *Snapshot) attribute(ev oomlog.Event) *OOMEvent {
	e := &OOMEvent{Raw: ev, Scope: oomlog.LimitScope(ev), FilledBy: ev.FilledBy, FilledFrom: "kernel report"}
	e.Task = podpath.Parse(ev.TaskMemcg)
	e.Limit = podpath.Parse(ev.OOMMemcg)
	uid := e.Task.PodUID
	if uid == "" {
		uid = e.Limit.PodUID
	}
	e.Pod = s.PodsByUID[uid]
	e.Container = s.ContainerByID(e.Task.ContainerID)
	if e.Container == nil && s.Cgroups != nil {
		e.Container = s.ContainerByCgroup(ev.TaskMemcg)
	}
	if e.Container == nil {
		// The killed instance's cgroup went with it: pods.json names it as the
		// restarted container's lastState.terminated.containerID.
		e.Container = s.containerByLastID(e.Task.ContainerID)
	}
	if e.Pod == nil && e.Container != nil {
		e.Pod = e.Container.Pod
	}
	// The report printed no stats: take the shares from the bundle's own
	// cgroup files of the cgroup whose limit fired (DESIGN §4 filled_by).
	if (e.FilledBy == "" || e.FilledBy == "unknown") && s.Cgroups != nil && ev.OOMMemcg != "" {
		if n := s.Cgroups.Nodes[ev.OOMMemcg]; n != nil && len(n.Stat) > 0 {
			var kmem *int64
			if n.Kernel != nil {
				k := n.Kernel.N
				kmem = &k
			}
			if fb := oomlog.FilledByFromStats(n.Stat, kmem); fb != "" && fb != "unknown" {
				e.FilledBy, e.FilledFrom = fb, n.Dir+"memory.stat"
			}
		}
	}
	if e.FilledBy == "" {
		e.FilledBy = "unknown"
	}
	return e
}

// counterEvents adds one event per container cgroup whose oom_kill counter is
// above the kills the log attributes to it.
func (s *Snapshot) counterEvents() {
	if s.Cgroups == nil {
		return
	}
	seen := map[string]int{}
	for _, e := range s.OOMEvents {
		if e.Container != nil && e.Container.Cgroup != nil {
			seen[e.Container.Cgroup.Path]++
		}
	}
	for _, p := range s.Pods {
		for _, c := range p.Containers {
			n := c.Cgroup
			if n == nil {
				continue
			}
			count := n.OOMKill
			if s.Cgroups.Version == 2 && n.LocalOOMKill != nil {
				count = n.LocalOOMKill
			}
			if count == nil || count.N <= int64(seen[n.Path]) {
				continue
			}
			e := &OOMEvent{Scope: "container", Pod: p, Container: c, FromCounter: true, CounterCgroup: n,
				FilledBy: "unknown", Task: podpath.Parse(n.Path), Limit: podpath.Parse(n.Path)}
			e.Raw.TaskMemcg, e.Raw.OOMMemcg = n.Path, n.Path
			e.Raw.Process = "(not in the kernel log)"
			if fb := filledByNode(n); fb != "" {
				e.FilledBy, e.FilledFrom = fb, n.Dir+"memory.stat"
			}
			s.OOMEvents = append(s.OOMEvents, e)
		}
	}
}

func filledByNode(n *cgroup.Node) string {
	if len(n.Stat) == 0 {
		return ""
	}
	var kmem *int64
	if n.Kernel != nil {
		k := n.Kernel.N
		kmem = &k
	}
	return oomlog.FilledByFromStats(n.Stat, kmem)
}

func (s *Snapshot) containerByLastID(id string) *Container {
	if id == "" {
		return nil
	}
	for _, p := range s.Pods {
		for _, c := range p.Containers {
			if c.Spec != nil && c.Spec.LastContainerID == id {
				return c
			}
		}
	}
	return nil
}
