package rules

import (
	"fmt"
	"strings"

	"github.com/memsnap/memsnap/analyzer/internal/snapshot"
	"github.com/memsnap/memsnap/analyzer/internal/units"
	"github.com/memsnap/memsnap/report/schema"
)

// KubepodsLimitDrift compares the kubepods cgroup limit with what kubelet's configuration implies.
var KubepodsLimitDrift = &Rule{
	ID:       "kubepods-limit-drift",
	Severity: schema.Critical,
	Needs:    []snapshot.Data{snapshot.DataCgroups, snapshot.DataMeminfo, snapshot.DataKubeletConfig},
	Doc: `The kubepods cgroup limit differs from what kubelet's configuration implies
What: with enforceNodeAllocatable containing "pods", kubelet limits the kubepods cgroup to
capacity − kube-reserved − system-reserved (− reserved hugepages); allocatable is that minus the
hard eviction threshold. Critical when the kubepods limit is below allocatable: pods are OOM-killed
at the kubepods level while the scheduler still places pods up to allocatable. Warning when the
limit differs from the expected value, or when systemd's MemoryLimit/MemoryMax for
kubepods.slice differs from the cgroup file (the next daemon-reload rewrites the cgroup to
systemd's value).
Why: with the systemd cgroup driver, kubelet before the fix of kubernetes/kubernetes#88197 wrote
the new limit to the cgroup file but left the transient unit with its first value; a later
daemon-reload or unit restart reset it (kubernetes/kubernetes#104289). Seed 002: reserved memory
was lowered, allocatable became 29.82G, but kubepods stayed at 26.67G and pods died at 26G.
Evidence: the kubepods memory.limit_in_bytes / memory.max, node/meminfo MemTotal, the kubelet
configuration (configz.json, config.yaml, flags.txt), systemd/kubepods.slice.show and drop-ins,
kubepods-level OOM kills, the kubelet version.
Fix: restart kubelet so it rewrites the limit, and make systemd agree (upgrade kubelet past the
#88197 fix, or correct /run/systemd/system/kubepods.slice.d/ and daemon-reload); never leave the
two values apart.
References: kubernetes/kubernetes#88197, kubernetes/kubernetes#104289, kubernetes/kubernetes:pkg/kubelet/cm/node_container_manager_linux.go`,
	Run: runKubepodsLimitDrift,
}

func runKubepodsLimitDrift(p *Pass) {
	s, m := p.Snap, p.Snap.NodeMemory
	if s.Kubepods == nil || m.KubepodsLimit == nil {
		p.Skipf("no kubepods cgroup limit file in cgroup/")
		return
	}
	if m.Allocatable == nil || m.ExpectedKubepods == nil {
		p.Skipf("node allocatable cannot be computed from the bundle")
		return
	}
	tol := int64(p.Config.Rules.KubepodsLimitDrift.ToleranceBytes)
	l := m.KubepodsLimit.Bytes
	if s.Kubepods.Unlimited {
		l = -1
	}
	f := schema.Finding{Subject: "node:" + s.NodeName, Cgroup: s.Kubepods.Path}
	var reasons []string
	switch {
	case l >= 0 && l < m.Allocatable.Bytes-tol:
		f.Severity = schema.Critical
		reasons = append(reasons, fmt.Sprintf("the kubepods limit %s is %s below node allocatable %s: pods are OOM-killed at the kubepods level while the scheduler still places pods up to allocatable",
			units.Bytes(l), units.Bytes(m.Allocatable.Bytes-l), units.Bytes(m.Allocatable.Bytes)))
	case l < 0 || abs(l-m.ExpectedKubepods.Bytes) > tol:
		f.Severity = schema.Warning
		reasons = append(reasons, fmt.Sprintf("the kubepods limit %s differs from the %s kubelet's configuration implies", limitStr(l), units.Bytes(m.ExpectedKubepods.Bytes)))
	}
	if sd := m.SystemdLimit; sd != nil && l >= 0 && abs(sd.Bytes-l) > tol {
		if f.Severity == "" {
			f.Severity = schema.Warning
		}
		reasons = append(reasons, fmt.Sprintf("systemd holds %s for kubepods.slice while the cgroup file says %s: the next daemon-reload rewrites the cgroup to systemd's value", units.Bytes(sd.Bytes), units.Bytes(l)))
	}
	if len(reasons) == 0 {
		return
	}
	f.Summary = "On node " + s.NodeName + ", " + strings.Join(reasons, "; and ") + "."
	f.Evidence = []schema.Evidence{
		citeFigure(m.KubepodsLimit, "kubepods limit"),
		citeFigure(m.Capacity, "MemTotal (capacity)"),
		citeFigure(m.KubeReserved, "kube-reserved memory"),
		citeFigure(m.SystemReserved, "system-reserved memory"),
		citeFigure(m.EvictionHard, "evictionHard memory.available"),
		citeFigure(m.ExpectedKubepods, "expected kubepods limit"),
		citeFigure(m.Allocatable, "allocatable"),
	}
	if m.SystemdLimit != nil {
		f.Evidence = append(f.Evidence, citeFigure(m.SystemdLimit, "systemd MemoryLimit/MemoryMax of kubepods.slice"))
	}
	if m.AllocatableReport != nil {
		f.Evidence = append(f.Evidence, citeFigure(m.AllocatableReport, "allocatable reported"))
	}
	kills := 0
	for _, e := range s.OOMEvents {
		// Only kills whose limit is this kubepods tree: a log may hold kills of
		// other roots (an earlier kubelet root, a nested test tree).
		if e.Scope == "kubepods" && strings.HasPrefix(e.Raw.OOMMemcg+"/", s.Kubepods.Path+"/") {
			kills++
			if kills == 1 {
				f.Evidence = append(f.Evidence, citeLine("logs/kernel.log", e.Raw.Line, fmt.Sprintf("OOM kill of %s (pid %d) with oom_memcg=%s", e.Raw.Process, e.Raw.PID, e.Raw.OOMMemcg)))
			}
		}
	}
	if kills > 0 {
		f.Summary += fmt.Sprintf(" The kernel log shows %d OOM kill(s) at the kubepods level.", kills)
	}
	if s.KubeletVersion != "" {
		f.Summary += " Kubelet version: " + s.KubeletVersion + "."
		f.Evidence = append(f.Evidence, schema.Evidence{File: "kubelet/version.txt", Text: s.KubeletVersion})
	}
	f.Remediation = "Restart kubelet so it rewrites the kubepods limit from its current configuration, and make systemd agree: with the systemd cgroup driver, kubelets affected by kubernetes/kubernetes#88197 leave kubepods.slice's MemoryLimit at its first value, so correct /run/systemd/system/kubepods.slice.d/ (or upgrade kubelet) before the next daemon-reload resets the cgroup."
	f.References = []string{"kubernetes/kubernetes#88197", "kubernetes/kubernetes#104289"}
	p.Report(f)
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

func limitStr(l int64) string {
	if l < 0 {
		return "unlimited"
	}
	return units.Bytes(l)
}
