package snapshot

import (
	"sort"
	"strconv"
	"strings"

	"github.com/memsnap/memsnap/analyzer/internal/cgroup"
	"github.com/memsnap/memsnap/analyzer/internal/kubeletconfig"
	"github.com/memsnap/memsnap/analyzer/internal/systemd"
	"github.com/memsnap/memsnap/bundle"
)

// buildNodeMemory recomputes kubelet's node arithmetic from raw files.
//
//	capacity           = MemTotal (cAdvisor MachineInfo, google/cadvisor@v0.49.0:machine/machine.go)
//	expected kubepods  = capacity − kube-reserved − system-reserved − reserved hugepages, when
//	                     enforceNodeAllocatable has "pods"; else capacity
//	                     (kubernetes/kubernetes:pkg/kubelet/cm/node_container_manager_linux.go,
//	                     getNodeAllocatableInternalAbsolute: the eviction threshold is NOT subtracted)
//	allocatable        = capacity − kube-reserved − system-reserved − hard eviction threshold
//	                     (kubernetes/community#348; website reserve-compute-resources.md)
//	memory.available   = capacity − root working set (website node-pressure-eviction.md)
func (s *Snapshot) buildNodeMemory() {
	m := &s.NodeMemory
	if s.Meminfo != nil && s.Meminfo.MemTotal != nil {
		m.Capacity = &Figure{Bytes: *s.Meminfo.MemTotal, File: bundle.NodeMeminfo, Key: "MemTotal"}
	}
	if s.Kubepods != nil && s.Kubepods.Limit != nil {
		m.KubepodsLimit = figureOf(s.Kubepods.Limit)
		if s.Kubepods.Unlimited {
			m.KubepodsLimit.Note = "unlimited"
		}
	}
	if u := s.Systemd["kubepods.slice"]; u != nil {
		m.SystemdLimit, _ = systemdLimit(u, "kubepods.slice")
	}
	if m.SystemdLimit == nil && s.Has(DataSystemd) {
		var total int64
		if m.Capacity != nil {
			total = m.Capacity.Bytes
		}
		m.SystemdLimit, _ = systemdFileLimit(s.View, "kubepods.slice", total)
	}
	if root := s.rootCgroup(); root != nil {
		m.RootUsage = figureOf(root.Usage)
		m.RootWorkingSet = figureOf(root.WorkingSet)
		m.RootAnon = figureOf(root.Anon)
	}
	// cgroup v2 has no memory.current on the root: runc emulates it from
	// meminfo as MemTotal − MemFree (opencontainers/runc fs2/memory.go).
	if m.RootUsage == nil && s.Meminfo != nil && s.Meminfo.MemTotal != nil && s.Meminfo.MemFree != nil {
		used := *s.Meminfo.MemTotal - *s.Meminfo.MemFree
		m.RootUsage = &Figure{Bytes: used, File: bundle.NodeMeminfo, Key: "MemTotal−MemFree", Note: "root cgroup has no usage file (v2)"}
		if root := s.rootCgroup(); root != nil && root.InactiveFile != nil {
			ws := used - root.InactiveFile.N
			if ws < 0 {
				ws = 0
			}
			m.RootWorkingSet = &Figure{Bytes: ws, File: root.InactiveFile.File, Key: "usage − inactive_file"}
		}
	}
	if m.Capacity == nil && s.KubeNode != nil && s.KubeNode.CapacityMemory != nil {
		m.Capacity = &Figure{Bytes: *s.KubeNode.CapacityMemory, File: s.KubeNodeFile, Key: "status.capacity.memory"}
	}
	if m.Capacity == nil && s.Summary != nil && s.Summary.Node != nil && s.Summary.Node.AvailableBytes != nil && s.Summary.Node.WorkingSetBytes != nil {
		// The kubelet computes the node's availableBytes as capacity − working
		// set (pkg/kubelet/stats/helper.go), so their sum is the capacity.
		m.Capacity = &Figure{Bytes: int64(*s.Summary.Node.AvailableBytes + *s.Summary.Node.WorkingSetBytes),
			File: bundle.KubeletSummary, Key: "node.memory.availableBytes + workingSetBytes"}
	}
	if m.RootWorkingSet == nil && s.Cgroups == nil && s.Summary != nil && s.Summary.Node != nil && s.Summary.Node.WorkingSetBytes != nil {
		m.RootWorkingSet = &Figure{Bytes: int64(*s.Summary.Node.WorkingSetBytes), File: bundle.KubeletSummary, Key: "node.memory.workingSetBytes"}
		if s.Summary.Node.UsageBytes != nil {
			m.RootUsage = &Figure{Bytes: int64(*s.Summary.Node.UsageBytes), File: bundle.KubeletSummary, Key: "node.memory.usageBytes"}
		}
	}
	if m.Capacity != nil && m.RootWorkingSet != nil {
		m.Available = &Figure{Bytes: m.Capacity.Bytes - m.RootWorkingSet.Bytes, File: m.RootWorkingSet.File,
			Key: "MemTotal − root working set"}
	}
	if s.Summary != nil && s.Summary.Node != nil && s.Summary.Node.AvailableBytes != nil {
		m.AvailableReported = &Figure{Bytes: int64(*s.Summary.Node.AvailableBytes), File: bundle.KubeletSummary, Key: "node.memory.availableBytes"}
	}
	s.nodeAllocatable()
}

func (s *Snapshot) nodeAllocatable() {
	m := &s.NodeMemory
	// What the scheduler uses: the Node object's status.allocatable, which
	// the kubelet computes from the same terms (DOMAIN §5) — shown beside
	// our own arithmetic, which needs only node and kubelet files.
	if n := s.KubeNode; n != nil && n.AllocatableMemory != nil {
		m.AllocatableReport = &Figure{Bytes: *n.AllocatableMemory, File: s.KubeNodeFile, Key: "status.allocatable.memory"}
	}
	cfg := s.KubeletConfig
	if cfg == nil || m.Capacity == nil {
		return
	}
	capacity := m.Capacity.Bytes
	kr, sr := int64(0), int64(0)
	if cfg.KubeReservedMemory != nil {
		kr = *cfg.KubeReservedMemory
		m.KubeReserved = configFigure(cfg, kubeletconfig.KeyKubeReserved, kr)
	}
	if cfg.SystemReservedMemory != nil {
		sr = *cfg.SystemReservedMemory
		m.SystemReserved = configFigure(cfg, kubeletconfig.KeySystemReserved, sr)
	}
	var eviction int64
	if t := cfg.EvictionHardMemory; t != nil {
		switch {
		case t.Bytes != nil:
			eviction = *t.Bytes
		case t.Percent != nil:
			eviction = int64(*t.Percent / 100 * float64(capacity))
		}
		m.EvictionHard = configFigure(cfg, kubeletconfig.KeyEvictionHard, eviction)
	}
	enforcePods := cfg.EnforcesPods()
	expected := capacity
	if enforcePods {
		expected = capacity - kr - sr - cfg.ReservedHugepages
	}
	m.ExpectedKubepods = &Figure{Bytes: expected, File: bundle.NodeMeminfo, Key: "MemTotal − kube-reserved − system-reserved"}
	if !enforcePods {
		m.ExpectedKubepods.Note = "enforceNodeAllocatable does not contain pods: kubepods is limited to capacity"
	}
	m.Allocatable = &Figure{Bytes: capacity - kr - sr - eviction, File: bundle.NodeMeminfo,
		Key: "MemTotal − kube-reserved − system-reserved − evictionHard"}
}

func (s *Snapshot) rootCgroup() *cgroup.Node {
	if s.Cgroups == nil {
		return nil
	}
	return s.Cgroups.Nodes["/"]
}

func figureOf(v *cgroup.Value) *Figure {
	if v == nil {
		return nil
	}
	return &Figure{Bytes: v.N, File: v.File, Key: v.Key}
}

func sortFds(fds []OpenFile) {
	sort.SliceStable(fds, func(i, j int) bool {
		if fds[i].Size != fds[j].Size {
			return fds[i].Size > fds[j].Size
		}
		return fds[i].Path < fds[j].Path
	})
}

// configFigure cites where the kubelet configuration set key: a bundle file
// ("kubelet/flags.txt:7 --kube-reserved" → kubelet/flags.txt) or the default.
func configFigure(cfg *kubeletconfig.Config, key string, v int64) *Figure {
	src := cfg.Sources[key]
	f := &Figure{Bytes: v, Key: key}
	if strings.HasPrefix(src, "kubelet/") || strings.HasPrefix(src, "kube/") {
		file := src
		if i := strings.IndexAny(file, ": "); i > 0 {
			file = file[:i]
		}
		f.File = file
		if file != src {
			f.Note = "set by " + src
		}
	} else if src != "" {
		f.Note = src
	}
	return f
}

// systemdLimit reads the limit systemd holds for a unit from `systemctl show`:
// MemoryLimit= on cgroup v1, MemoryMax= on v2 (DOMAIN §5).
func systemdLimit(u *systemd.Unit, unit string) (*Figure, bool) {
	for _, key := range []string{"MemoryLimit", "MemoryMax"} {
		var b systemd.Bytes
		var ok bool
		if key == "MemoryLimit" {
			b, ok = u.MemoryLimit()
		} else {
			b, ok = u.MemoryMax()
		}
		if !ok || b.Unlimited {
			continue
		}
		f := &Figure{Bytes: int64(b.Value), File: bundle.SystemdDir + unit + ".show", Key: key}
		if line, ok := u.Line[key]; ok {
			f.Key = key + " (line " + strconv.Itoa(line) + ")"
		}
		return f, true
	}
	return nil, false
}

// systemdFileLimit reads the limit from the unit file and drop-ins.
func systemdFileLimit(v bundle.View, unit string, memTotal int64) (*Figure, bool) {
	l, err := systemd.EffectiveMemoryLimit(v, unit)
	if err != nil || l == nil || l.Value.File == "" {
		return nil, false
	}
	b, unlimited := l.Value.Resolve(uint64(max(memTotal, 0)))
	if unlimited {
		return nil, false
	}
	return &Figure{Bytes: int64(b), File: l.Value.File, Key: l.Property}, true
}
