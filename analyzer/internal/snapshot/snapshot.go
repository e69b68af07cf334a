// Package snapshot parses one bundle once into the typed model every rule
// reads: node facts, the normalised cgroup tree, pods and containers with their
// cgroups, OOM events attributed to them, kubelet configuration, systemd units,
// heap profiles and logs. Derived data shared by several rules (pod ↔ cgroup
// index, recomputed working sets, node allocatable) is computed here once, like
// go/analysis's Requires/ResultOf.
package snapshot

import (
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/memsnap/memsnap/analyzer/internal/agentlog"
	"github.com/memsnap/memsnap/analyzer/internal/cgroup"
	"github.com/memsnap/memsnap/analyzer/internal/heap"
	"github.com/memsnap/memsnap/analyzer/internal/kernfail"
	"github.com/memsnap/memsnap/analyzer/internal/kube"
	"github.com/memsnap/memsnap/analyzer/internal/kubeletconfig"
	"github.com/memsnap/memsnap/analyzer/internal/listing"
	"github.com/memsnap/memsnap/analyzer/internal/meminfo"
	"github.com/memsnap/memsnap/analyzer/internal/oomlog"
	"github.com/memsnap/memsnap/analyzer/internal/podpath"
	"github.com/memsnap/memsnap/analyzer/internal/promtext"
	"github.com/memsnap/memsnap/analyzer/internal/series"
	"github.com/memsnap/memsnap/analyzer/internal/systemd"
	"github.com/memsnap/memsnap/bundle"
	"github.com/memsnap/memsnap/report/schema"
)

// Data names a kind of input a rule needs. Each maps to the collector source
// that provides it, so a missing source can say which rules it disabled.
type Data string

const (
	DataCgroups       Data = "cgroup tree (cgroup/)"
	DataKernelLog     Data = "kernel log (logs/kernel.log)"
	DataMeminfo       Data = "node meminfo (node/meminfo)"
	DataPods          Data = "pod list (kubelet/pods.json)"
	DataSummary       Data = "kubelet summary (kubelet/summary.json)"
	DataKubeletConfig Data = "kubelet configuration (kubelet/configz.json, config.yaml, flags.txt)"
	DataKubeletLog    Data = "kubelet log (kubelet/log.txt)"
	DataSystemd       Data = "systemd units (systemd/)"
	DataHeapProfiles  Data = "heap profiles (pprof/)"
	DataAgentLog      Data = "monitoring agent log (cadvisor/log.txt)"
	DataProcFds       Data = "open files (proc/*/fds.tsv)"
	DataTmpfs         Data = "tmpfs volumes (volumes/tmpfs.tsv)"
	DataSeries        Data = "time series (series/: memsnap-collect --watch, or Prometheus range exports)"
	// DataCadvisorMetrics is a cAdvisor exposition with per-container
	// memory series (the kubelet's /metrics/cadvisor or a standalone
	// cAdvisor's /metrics).
	DataCadvisorMetrics Data = "cAdvisor metrics (kubelet/metrics-cadvisor.prom)"
)

// SourceOf is the collector source that provides d.
func SourceOf(d Data) string {
	switch d {
	case DataCgroups:
		return bundle.SourceCgroup
	case DataKernelLog:
		return bundle.SourceLogs
	case DataMeminfo:
		return bundle.SourceNode
	case DataPods, DataSummary, DataKubeletConfig, DataKubeletLog, DataCadvisorMetrics:
		return bundle.SourceKubelet
	case DataSystemd:
		return bundle.SourceSystemd
	case DataHeapProfiles:
		return bundle.SourcePprof
	case DataAgentLog:
		return bundle.SourceCadvisor
	case DataProcFds:
		return bundle.SourceProc
	case DataTmpfs:
		return bundle.SourceVolumes
	case DataSeries:
		return bundle.SourceSeries
	}
	return ""
}

// AllData lists every Data in a stable order.
var AllData = []Data{DataCgroups, DataKernelLog, DataMeminfo, DataPods, DataSummary, DataKubeletConfig,
	DataKubeletLog, DataSystemd, DataHeapProfiles, DataAgentLog, DataProcFds, DataTmpfs, DataSeries, DataCadvisorMetrics}

// Snapshot is one bundle, parsed.
type Snapshot struct {
	Index    int    // position in the report's bundles[]
	Source   string // the argument as given
	NodeName string
	// NodeNameKnown: the evidence names the node (manifest, summary, pods,
	// Node object, metrics, kernel log host), not only the input's file name.
	NodeNameKnown bool
	View          bundle.View
	Manifest      *bundle.Manifest // nil when the bundle has none

	Node NodeFacts
	// TopPods: `kubectl top pod` rows among loose files (metrics-server's
	// working set, rounded to Mi by kubectl).
	TopPods []kube.TopRow
	Meminfo *meminfo.Meminfo

	Cgroups  *cgroup.Tree
	Kubepods *cgroup.Node // the node-allocatable cgroup, wherever it is nested; nil if absent
	// CgroupsPasted says Cgroups is made of pasted memory.* files (a
	// ticket's `tail -n +1 …/memory.*`): only the cgroups pasted, attached to
	// their pod and container, none of the node's other counters.
	CgroupsPasted bool

	Pods      []*Pod // sorted by namespace, name, UID
	PodsByUID map[string]*Pod

	KernelLog *oomlog.Result
	OOMEvents []*OOMEvent // sorted by time, then line

	PodList      *kube.PodList
	PodListFile  string // where the first pod list was read ("" = kubelet/pods.json)
	PodsIndex    []kube.PodLogEntry
	Summary      *kube.Summary
	KubeNode     *kube.Node // kube/node.json, when in-cluster credentials allowed it
	KubeNodeFile string     // where KubeNode was read (kube/node.json, or a loose file)
	// Events are Kubernetes events (kube/events.json, loose event lists and
	// tables, describe output's Events sections), oldest first when timed.
	Events         []kube.Event
	KubeletConfig  *kubeletconfig.Config
	KubeletVersion string
	Systemd        map[string]*systemd.Unit // by unit name, from systemd/<unit>.show
	KubeletLog     *agentlog.Log
	AgentLog       *agentlog.Log
	Heaps          []*HeapTarget
	Procs          map[int]*Proc
	Tmpfs          []listing.TmpfsMount

	// Rule catalogue II (#16): the zones' free lists (node/buddyinfo),
	// cgroup counts per controller (node/cgroups), THP policy, and the
	// kernel log's allocation failures. Nil/empty when the bundle lacks them.
	Buddyinfo      []kernfail.FreeArea
	ProcCgroups    map[string]int64
	THPEnabled     string
	THPDefrag      string
	KernelFailures *kernfail.Result
	KernelCmdline  string // node/cmdline

	// NodeMemory is the recomputed node picture (capacity → allocatable → kubepods …).
	NodeMemory NodeMemory

	mu       sync.Mutex
	problems []string
	has      map[Data]bool

	// Metrics holds the memory families of each Prometheus exposition in the
	// bundle, by bundle path (kubelet/metrics-cadvisor.prom, …); an absent
	// file has no key.
	Metrics map[string]*promtext.Metrics

	// Series is the time axis (nil without series/); SeriesContainers ties
	// its tracks to containers where the snapshot knows them.
	Series           *series.Set
	SeriesContainers map[*series.Track]*Container

	pasted []*pastedGroup // pasted cgroup files, attached by buildPasted
}

// NodeFacts come from the manifest and node/ files.
type NodeFacts struct {
	Hostname      string
	Kernel        string
	CgroupVersion int // 0 = unknown
	CgroupDriver  string
	PageSize      int64
	BootTime      time.Time // zero = unknown
	Created       time.Time // manifest created; zero = unknown
}

// NodeMemory is the node-level arithmetic of DOMAIN §2.4 and §5, every figure
// with the file it came from.
type NodeMemory struct {
	Capacity          *Figure // MemTotal
	KubeReserved      *Figure
	SystemReserved    *Figure
	EvictionHard      *Figure // memory.available hard threshold, bytes (percentages resolved against capacity)
	ExpectedKubepods  *Figure // capacity − kube-reserved − system-reserved − hugepages (when enforcing pods)
	Allocatable       *Figure // expected kubepods − eviction hard
	AllocatableReport *Figure // Node object status.allocatable, or kubelet's own statement
	KubepodsLimit     *Figure // the kubepods cgroup file
	SystemdLimit      *Figure // systemd's idea of kubepods.slice's limit
	RootUsage         *Figure
	RootWorkingSet    *Figure
	RootAnon          *Figure
	Available         *Figure // capacity − root working set (kubelet's memory.available)
	AvailableReported *Figure // summary node.memory.availableBytes
}

// Figure is a number with the bundle file (and key) that states it.
type Figure struct {
	Bytes int64
	File  string
	Key   string
	Note  string // e.g. "kubelet default", "unlimited"
}

// Pod is one pod as seen through its cgroup, pods.json, the summary and the
// log index — whichever the bundle has.
type Pod struct {
	UID        string
	Namespace  string
	Name       string
	QoS        string
	Cgroup     *cgroup.Node // nil when the bundle has no cgroup for it
	Spec       *kube.Pod    // nil without pods.json
	Stats      *kube.PodStats
	Reported   *Reported    // summary / cAdvisor numbers, each with its file and key
	Containers []*Container // sorted: sandbox last, then by name/ID
}

// Container is one container cgroup (or one spec container without a cgroup).
type Container struct {
	Pod      *Pod
	ID       string // 64 hex, empty when unknown
	Name     string // empty when unknown; "POD" for the sandbox
	Sandbox  bool
	Cgroup   *cgroup.Node
	Spec     *kube.Container
	Stats    *kube.ContainerStats
	Reported *Reported
	PIDs     []int
}

// OOMEvent is one kernel kill attributed to Kubernetes objects.
type OOMEvent struct {
	Raw           oomlog.Event
	Scope         string // container | pod | kubepods | node | other
	Task          podpath.Ref
	Limit         podpath.Ref
	Pod           *Pod
	Container     *Container
	FilledBy      string
	FilledFrom    string // "kernel report" or the cgroup file used
	FromCounter   bool   // no log line: only a cgroup oom_kill counter says it happened
	CounterCgroup *cgroup.Node
}

// HeapTarget is pprof/<name>/.
type HeapTarget struct {
	Name   string
	File   string
	Target map[string]any // target.json as decoded
	PID    *int
	// Container runs the profiled process (by target.json pid → proc/<pid>/cgroup,
	// else by a container named like the target); nil when unknown.
	Container *Container
	Profile   *heap.Profile
	Err       string
}

// Proc is proc/<pid>/.
type Proc struct {
	PID     int
	Name    string
	Cmdline string
	Argv    []string          // cmdline split at its NULs (one element when it had none)
	Env     map[string]string // proc/<pid>/environ: the runtime settings the collector kept; nil when absent
	// OOMScoreAdj is proc/<pid>/oom_score_adj; nil when absent.
	OOMScoreAdj *int
	Cgroup      string // memory cgroup path
	RSS         *int64
	Fds         []listing.OpenFile
}

// OpenFile is one file a container's process holds open, with the listing it came from.
type OpenFile struct {
	Path string
	Size int64
	File string // proc/<pid>/fds.tsv
	Line int
}

// ReportedWorkingSet is kubelet's workingSetBytes for the pod, or nil.
func (p *Pod) ReportedWorkingSet() *int64 {
	if p.Stats == nil || p.Stats.Memory == nil {
		return nil
	}
	return u64(p.Stats.Memory.WorkingSetBytes)
}

// ReportedWorkingSet is kubelet's workingSetBytes for the container, or nil.
func (c *Container) ReportedWorkingSet() *int64 {
	if c.Stats == nil || c.Stats.Memory == nil {
		return nil
	}
	return u64(c.Stats.Memory.WorkingSetBytes)
}

func u64(v *uint64) *int64 {
	if v == nil {
		return nil
	}
	n := int64(*v)
	return &n
}

// Has reports whether the bundle provided d (present and parsed).
func (s *Snapshot) Has(d Data) bool { return s.has[d] }

func (s *Snapshot) setHas(d Data) {
	if s.has == nil {
		s.has = map[Data]bool{}
	}
	s.has[d] = true
}

// Problemf records something unreadable; the message must name the file.
func (s *Snapshot) Problemf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.problems = append(s.problems, fmt.Sprintf(format, args...))
}

// Problems returns the recorded problems, sorted and deduplicated.
func (s *Snapshot) Problems() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := append([]string(nil), s.problems...)
	sort.Strings(out)
	j := 0
	for i, p := range out {
		if i == 0 || p != out[j-1] {
			out[j] = p
			j++
		}
	}
	return out[:j]
}

// Subject returns the report subject for a pod: "ns/name", else "cgroup:<path>", else "pod:<uid>".
func (p *Pod) Subject() string {
	if p.Namespace != "" && p.Name != "" {
		return p.Namespace + "/" + p.Name
	}
	if p.Cgroup != nil {
		return "cgroup:" + p.Cgroup.Path
	}
	return "pod:" + p.UID
}

// Subject returns "ns/pod/container" when names are known, else "cgroup:<path>".
func (c *Container) Subject() string {
	if c.Pod.Namespace != "" && c.Pod.Name != "" && c.Name != "" {
		return c.Pod.Namespace + "/" + c.Pod.Name + "/" + c.Name
	}
	if c.Cgroup != nil {
		return "cgroup:" + c.Cgroup.Path
	}
	return c.Pod.Subject() + "/" + shortID(c.ID)
}

// Fill sets the subject fields of a finding for this pod.
func (p *Pod) Fill(f *schema.Finding) {
	f.Subject = p.Subject()
	f.Namespace, f.Pod, f.PodUID = p.Namespace, p.Name, p.UID
	if p.Cgroup != nil {
		f.Cgroup = p.Cgroup.Path
	}
}

// Fill sets the subject fields of a finding for this container.
func (c *Container) Fill(f *schema.Finding) {
	c.Pod.Fill(f)
	f.Subject = c.Subject()
	f.Container = c.Name
	if c.Cgroup != nil {
		f.Cgroup = c.Cgroup.Path
	}
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
