package rules

import (
	"fmt"
	"slices"
	"sort"

	"github.com/memsnap/memsnap/analyzer/internal/snapshot"
	"github.com/memsnap/memsnap/report/schema"
)

// NodeDaemonOOM finds the node's own daemons killed by, or exposed to, the OOM killer.
var NodeDaemonOOM = &Rule{
	ID:       "node-daemon-oom",
	Severity: schema.Critical,
	Doc: `A node daemon was OOM-killed or runs as an early OOM victim
What: kubelet, the container runtime (containerd, dockerd, crio, conmon), kube-proxy, sshd, journald
or another daemon of the daemons list killed by the kernel's OOM killer (critical), or running with
an oom_score_adj above max_oom_score_adj (-500), which makes it an early victim (warning).
Why: with kubelet or the runtime gone the node stops reporting and goes NotReady, and every pod on
it is rescheduled; without sshd or journald nobody can see why. Kubelet protects itself and the
runtime with oom_score_adj -999 and gives pods 2…1000 by QoS
(kubernetes/kubernetes:pkg/kubelet/qos/policy.go KubeletOOMScoreAdj, KubeProxyOOMScoreAdj); the
kernel's badness adds oom_score_adj × totalpages / 1000 to the process's pages
(torvalds/linux:mm/oom_kill.c oom_badness), so a daemon at 0 competes with pods on size alone.
Evidence: logs/kernel.log kill lines naming the daemon, proc/<pid>/oom_score_adj and
proc/<pid>/status of the daemon.
Fix: reserve memory for the system (system-reserved, kube-reserved, see
system-oom-before-eviction), run daemons with a low oom_score_adj (systemd OOMScoreAdjust=-999),
and find what exhausted the node.
References: kubernetes/kubernetes:pkg/kubelet/qos/policy.go, torvalds/linux:mm/oom_kill.c, kubernetes/website:content/en/docs/concepts/scheduling-eviction/node-pressure-eviction.md`,
	Run: runNodeDaemonOOM,
}

func runNodeDaemonOOM(p *Pass) {
	s := p.Snap
	cfg := p.Config.Rules.NodeDaemonOOM
	if !s.Has(snapshot.DataKernelLog) && len(s.Procs) == 0 {
		p.Skipf("needs the kernel log (logs/kernel.log) or processes (proc/)")
		return
	}
	isDaemon := func(name string) bool { return name != "" && slices.Contains(cfg.Daemons, name) }
	for _, e := range s.OOMEvents {
		if e.FromCounter || !isDaemon(e.Raw.Process) {
			continue
		}
		f := schema.Finding{Severity: schema.Critical, Subject: "node:" + s.NodeName}
		scope := "a global OOM"
		if !e.Raw.Global {
			scope = "the memory cgroup " + keyOr(e.Raw.OOMMemcg, "?") + " hitting its limit"
		}
		f.Summary = fmt.Sprintf("The kernel OOM-killed the node daemon %s (pid %d) on %s, in %s: the node may go NotReady and its pods be rescheduled.", e.Raw.Process, e.Raw.PID, s.NodeName, scope)
		f.Evidence = []schema.Evidence{citeLine("logs/kernel.log", e.Raw.Line, fmt.Sprintf("killed %s (pid %d), task memcg %s", e.Raw.Process, e.Raw.PID, keyOr(e.Raw.TaskMemcg, "?")))}
		f.Remediation = "Reserve memory for the system (kube-reserved, system-reserved), keep node daemons at oom_score_adj -999 (systemd OOMScoreAdjust=), and find what exhausted the node (system-oom-before-eviction)."
		f.References = []string{"kubernetes/kubernetes:pkg/kubelet/qos/policy.go"}
		p.Report(f)
	}
	pids := make([]int, 0, len(s.Procs))
	for pid := range s.Procs {
		pids = append(pids, pid)
	}
	sort.Ints(pids)
	for _, pid := range pids {
		pr := s.Procs[pid]
		if !isDaemon(pr.Name) || pr.OOMScoreAdj == nil || *pr.OOMScoreAdj <= cfg.MaxOOMScoreAdj {
			continue
		}
		f := schema.Finding{Severity: schema.Warning, Subject: "node:" + s.NodeName}
		f.Summary = fmt.Sprintf("The node daemon %s (pid %d) runs with oom_score_adj %d: under node-wide OOM it competes with pods on size alone and may be killed before them.", pr.Name, pid, *pr.OOMScoreAdj)
		f.Evidence = []schema.Evidence{{File: procFile(pid, "oom_score_adj"), Value: num(int64(*pr.OOMScoreAdj)), Text: fmt.Sprintf("oom_score_adj = %d", *pr.OOMScoreAdj)},
			{File: procFile(pid, "status"), Key: "Name", Text: "Name: " + pr.Name}}
		f.Remediation = fmt.Sprintf("Run %s with OOMScoreAdjust=-999 in its systemd unit (kubelet does this for itself and the runtime it starts).", pr.Name)
		f.References = []string{"kubernetes/kubernetes:pkg/kubelet/qos/policy.go", "torvalds/linux:mm/oom_kill.c"}
		p.Report(f)
	}
}
