package rules

import (
	"strconv"

	"github.com/memsnap/memsnap/analyzer/internal/snapshot"
	"github.com/memsnap/memsnap/report/schema"
)

// containerLimit is the container's memory limit: its cgroup's (what the
// kernel enforces), else the pod spec's. ok is false when unlimited or unknown.
func containerLimit(c *snapshot.Container) (int64, schema.Evidence, bool) {
	if c.Cgroup != nil {
		if n, ok := c.Cgroup.LimitBytes(); ok {
			return n, cite(c.Cgroup.Limit, "limit"), true
		}
		if c.Cgroup.Limit != nil {
			return 0, schema.Evidence{}, false // the kernel says unlimited
		}
	}
	if c.Spec != nil && c.Spec.MemoryLimit != nil {
		return *c.Spec.MemoryLimit, schema.Evidence{File: "kubelet/pods.json", Key: c.Subject() + " resources.limits.memory",
			Value: num(*c.Spec.MemoryLimit), Text: "limits.memory = " + strconv.FormatInt(*c.Spec.MemoryLimit, 10)}, true
	}
	return 0, schema.Evidence{}, false
}

// containerOOMKilled reports whether the kernel killed in this container:
// a kill attributed to it, or its cgroup's oom_kill counter.
func containerOOMKilled(s *snapshot.Snapshot, c *snapshot.Container) bool {
	for _, e := range s.OOMEvents {
		if e.Container == c {
			return true
		}
	}
	if c.Cgroup != nil && c.Cgroup.OOMKill != nil && c.Cgroup.OOMKill.N > 0 {
		return true
	}
	return c.Spec != nil && c.Spec.LastTerminationReason == "OOMKilled"
}

// containerProcs are the bundle's processes of the container, by PID.
func containerProcs(s *snapshot.Snapshot, c *snapshot.Container) []*snapshot.Proc {
	var out []*snapshot.Proc
	for _, pid := range c.PIDs {
		if pr := s.Procs[pid]; pr != nil {
			out = append(out, pr)
		}
	}
	return out
}

func procFile(pid int, name string) string {
	return "proc/" + strconv.Itoa(pid) + "/" + name
}
