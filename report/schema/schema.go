// Package schema holds the types of the JSON report, "memsnap-report/v1"
// (DESIGN §4). Every renderer (html, json, text, markdown, sarif, junit)
// renders the same Document, so all formats tell the same story. Fields may be
// added, never renamed. A number the bundle does not provide is null (a nil
// pointer), never 0.
package schema

import "encoding/json"

// ID is the value of Document.Schema.
const ID = "memsnap-report/v1"

// Severities, from most to least severe.
const (
	Critical = "critical"
	Warning  = "warning"
	Info     = "info"
)

// SeverityRank orders severities: higher is worse; unknown is 0.
func SeverityRank(s string) int {
	switch s {
	case Critical:
		return 3
	case Warning:
		return 2
	case Info:
		return 1
	}
	return 0
}

// Document is the whole report.
type Document struct {
	Schema         string        `json:"schema"`
	Generated      string        `json:"generated"`
	MemsnapVersion string        `json:"memsnap_version"`
	Bundles        []Bundle      `json:"bundles"`
	Rules          []RuleStatus  `json:"rules"`
	Findings       []Finding     `json:"findings"`
	OOMEvents      []OOMEvent    `json:"oom_events"`
	Workloads      []Workload    `json:"workloads"`
	HeapProfiles   []HeapProfile `json:"heap_profiles"`
	Excerpts       []Excerpt     `json:"excerpts"`
	// Catalog describes the rules that ran, from their own docs, so renderers
	// can name a rule that produced no finding (SARIF reportingDescriptors,
	// JUnit testcases, the HTML sources section). Optional.
	Catalog []RuleDoc `json:"catalog,omitempty"`
	// FindingGroups gather, when several bundles (nodes) are analysed
	// together, the findings of one rule on one workload owner across
	// nodes: the same OOM of the same Deployment on 12 nodes is one group.
	// Findings itself keeps every finding. Absent for a single bundle.
	FindingGroups []FindingGroup `json:"finding_groups,omitempty"`
	// Owners is the workloads view of a cluster: one row per workload owner
	// (as FindingGroup names it) over every node's pods, worst first. Absent
	// for a single bundle. Additive.
	Owners []Owner `json:"owners,omitempty"`
}

// Owner is one workload (Deployment, StatefulSet, DaemonSet, Job, CronJob,
// …, or "Pod" for a pod without an owner) across the nodes its pods run on:
// sums and maxima over its pods' rows in Workloads. A figure no pod has is
// null; a sum is null when any pod lacks the figure (it would undercount).
type Owner struct {
	Namespace string   `json:"namespace"`
	Kind      string   `json:"kind"`
	Name      string   `json:"name"`
	Pods      int      `json:"pods"`
	Nodes     []string `json:"nodes"`
	// Working set and usage of the pod cgroups: Σ over the pods and the
	// largest single pod.
	WorkingSetBytes    *int64 `json:"working_set_bytes"`
	WorkingSetMaxBytes *int64 `json:"working_set_max_bytes"`
	UsageBytes         *int64 `json:"usage_bytes"`
	UsageMaxBytes      *int64 `json:"usage_max_bytes"`
	// Limits and requests per pod (the sum over its containers), summed
	// and the largest. Unlimited: some pod has no memory limit, so the sum
	// is null.
	LimitBytes      *int64 `json:"limit_bytes"`
	LimitMaxBytes   *int64 `json:"limit_max_bytes"`
	Unlimited       bool   `json:"unlimited,omitempty"`
	RequestBytes    *int64 `json:"request_bytes"`
	RequestMaxBytes *int64 `json:"request_max_bytes"`
	// OOMKills: kernel-log kills attributed to its pods; for a pod with none
	// in the log, its containers whose last termination was OOMKilled.
	OOMKills int `json:"oom_kills"`
	Restarts int `json:"restarts"` // Σ of its containers' restartCount
	// Severity is the worst of its unsuppressed findings ("" for none);
	// Findings counts them.
	Severity string `json:"severity,omitempty"`
	Findings int    `json:"findings"`
}

// FindingGroup is one rule on one workload (or one pod without an owner,
// or one node-level subject) across the nodes it was found on.
type FindingGroup struct {
	Rule      string `json:"rule"`
	Severity  string `json:"severity"` // the worst of its findings
	Title     string `json:"title"`
	Namespace string `json:"namespace,omitempty"`
	// OwnerKind/Owner: Deployment, StatefulSet, DaemonSet, Job, … from the
	// pods' ownerReferences; "Pod" and the pod's name for a pod without an
	// owner; empty for findings about a node rather than a pod.
	OwnerKind string   `json:"owner_kind,omitempty"`
	Owner     string   `json:"owner,omitempty"`
	Subject   string   `json:"subject"` // what the group is about, for display
	Nodes     []string `json:"nodes"`
	Pods      []string `json:"pods"`
	// Findings are indices into Document.Findings.
	Findings []int `json:"findings"`
	// Summary and Remediation, when set, speak for the whole group (one
	// sentence over all its pods) instead of its first finding; Rightsizing
	// is limit-rightsizing's verdict per container over all the owner's
	// pods (not only those with a finding). Additive.
	Summary     string        `json:"summary,omitempty"`
	Remediation string        `json:"remediation,omitempty"`
	Rightsizing []Rightsizing `json:"rightsizing,omitempty"`
}

// Rightsizing is one container of a workload owner: the highest kernel
// high-water mark over all its pods against its limit and request, and one
// suggested request and limit for every replica.
type Rightsizing struct {
	Container string `json:"container"`
	Pods      int    `json:"pods"` // pods of the owner with a peak for this container
	PeakBytes int64  `json:"peak_bytes"`
	// PeakPod, PeakNode and PeakCgroup say where the peak was read.
	PeakPod    string `json:"peak_pod"`
	PeakNode   string `json:"peak_node"`
	PeakCgroup string `json:"peak_cgroup"`
	// LimitBytes is the largest limit among its pods (the verdict is
	// against it); LimitsDiffer: they do not all have the same (a rollout).
	// RequestBytes is the largest request.
	LimitBytes   *int64 `json:"limit_bytes"`
	LimitsDiffer bool   `json:"limits_differ,omitempty"`
	RequestBytes *int64 `json:"request_bytes"`
	// Verdict: "at-risk", "oversized" or "fits" (the owner's peak is
	// neither, though some pod's own peak was).
	Verdict               string `json:"verdict"`
	SuggestedRequestBytes int64  `json:"suggested_request_bytes"`
	SuggestedLimitBytes   int64  `json:"suggested_limit_bytes"`
}

// RuleDoc is one rule as it documents itself.
type RuleDoc struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Doc      string `json:"doc"`
	Severity string `json:"severity"` // the rule's usual severity
}

// Bundle describes one analysed bundle (one node).
type Bundle struct {
	Index             int      `json:"index"`
	Source            string   `json:"source"`
	Node              string   `json:"node"`
	Kernel            string   `json:"kernel"`
	CgroupVersion     *int     `json:"cgroup_version"`
	Manifest          bool     `json:"manifest"`
	PartialOOMReports int      `json:"partial_oom_reports"`
	Sources           []Source `json:"sources"`
	// Problems are what could not be read or understood, one message each,
	// naming the file: "kubelet/summary.json: invalid JSON at byte 1042 (…)".
	Problems []string `json:"problems"`
	// Memory is the node memory waterfall (capacity → allocatable → kubepods
	// limit → systemd's limit → used → working set → anon).
	Memory NodeMemory `json:"memory"`
	// Series is the time axis (memsnap-collect --watch, Prometheus range
	// exports); absent for a single snapshot.
	Series *Series `json:"series,omitempty"`
}

// Series is a bundle's time axis, shaped for charts and tables: points are
// [Unix ms, bytes], thinned to at most a few hundred per line.
type Series struct {
	Files   []string `json:"files"`
	EveryMS int64    `json:"every_ms,omitempty"`
	// SnapshotAt says when the snapshot the other rules ran on was taken
	// (the watch's final snapshot: the last sample), RFC 3339; empty when unknown.
	SnapshotAt string      `json:"snapshot_at,omitempty"`
	Node       *SeriesNode `json:"node,omitempty"`
	// Containers are sorted by growth, fastest first; only the first few
	// carry points (the charts), the rest are table rows.
	Containers []SeriesContainer `json:"containers"`
	Events     []SeriesEvent     `json:"events,omitempty"`
}

// SeriesNode is the node's memory over time.
type SeriesNode struct {
	File                   string     `json:"file"`
	EvictionThresholdBytes *int64     `json:"eviction_threshold_bytes"`
	Used                   [][2]int64 `json:"used,omitempty"`        // root usage
	WorkingSet             [][2]int64 `json:"working_set,omitempty"` // root working set
	Available              [][2]int64 `json:"available,omitempty"`   // kubelet's memory.available
}

// SeriesContainer is one container's memory over time.
type SeriesContainer struct {
	Subject   string `json:"subject"`
	Namespace string `json:"namespace"`
	Pod       string `json:"pod"`
	Container string `json:"container"`
	Cgroup    string `json:"cgroup"`
	File      string `json:"file"`
	// GrowthBytesPerMin is the Theil–Sen slope of the working set (else
	// usage, else anon); null when too few samples to fit.
	GrowthBytesPerMin   *float64   `json:"growth_bytes_per_min"`
	LimitBytes          *int64     `json:"limit_bytes"`
	FirstMS             int64      `json:"first_ms"`
	LastMS              int64      `json:"last_ms"`
	LastWorkingSetBytes *int64     `json:"last_working_set_bytes"`
	LastAnonBytes       *int64     `json:"last_anon_bytes"`
	LastFileBytes       *int64     `json:"last_file_bytes"`
	Usage               [][2]int64 `json:"usage,omitempty"`
	WorkingSet          [][2]int64 `json:"working_set,omitempty"`
	Anon                [][2]int64 `json:"anon,omitempty"`
	FileCache           [][2]int64 `json:"file_cache,omitempty"`
}

// SeriesEvent marks the time axis: a container restart (its cgroup
// recreated) or an OOM kill counted between two samples.
type SeriesEvent struct {
	MS      int64  `json:"ms"`
	Kind    string `json:"kind"` // restart | oom_kill
	Subject string `json:"subject"`
	Cgroup  string `json:"cgroup"`
}

// Source is one collector source's status as the manifest records it.
type Source struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Error  string `json:"error"`
}

// NodeMemory holds the node-level figures, measured or recomputed; nil = not in the bundle.
type NodeMemory struct {
	CapacityBytes            *int64 `json:"capacity_bytes"`
	AllocatableBytes         *int64 `json:"allocatable_bytes"`          // recomputed from config
	AllocatableReportedBytes *int64 `json:"allocatable_reported_bytes"` // Node object / kubelet
	KubepodsLimitBytes       *int64 `json:"kubepods_limit_bytes"`       // the cgroup file; null when unlimited
	// KubepodsCgroup is the node-allocatable cgroup's path; KubepodsAbsent
	// says the bundle has a cgroup tree but no kubepods cgroup in it (so
	// "no limit" is not "not collected"), KubepodsUnlimited that the cgroup
	// exists without a limit (KubepodsLimitBytes is then null).
	KubepodsCgroup          string `json:"kubepods_cgroup,omitempty"`
	KubepodsAbsent          bool   `json:"kubepods_absent,omitempty"`
	KubepodsUnlimited       bool   `json:"kubepods_unlimited,omitempty"`
	ExpectedKubepodsBytes   *int64 `json:"expected_kubepods_limit_bytes"`
	SystemdLimitBytes       *int64 `json:"systemd_limit_bytes"` // systemctl show kubepods.slice
	EvictionHardBytes       *int64 `json:"eviction_hard_bytes"`
	UsedBytes               *int64 `json:"used_bytes"`        // root usage
	WorkingSetBytes         *int64 `json:"working_set_bytes"` // root usage − inactive_file
	AnonBytes               *int64 `json:"anon_bytes"`
	AvailableBytes          *int64 `json:"available_bytes"` // MemTotal − root working set
	KubepodsWorkingSetBytes *int64 `json:"kubepods_working_set_bytes"`
}

// RuleStatus says whether a rule ran on a bundle, or why it was skipped.
type RuleStatus struct {
	ID     string `json:"id"`
	Bundle int    `json:"bundle"`
	Status string `json:"status"` // ran | skipped | disabled
	Reason string `json:"reason"`
}

// Finding is one diagnosis.
type Finding struct {
	Rule      string `json:"rule"`
	Severity  string `json:"severity"`
	Bundle    int    `json:"bundle"`
	Node      string `json:"node"`
	Subject   string `json:"subject"`
	Namespace string `json:"namespace"`
	// OwnerKind/Owner are the pod's workload (FindingGroup), when known.
	OwnerKind string     `json:"owner_kind,omitempty"`
	Owner     string     `json:"owner,omitempty"`
	Pod       string     `json:"pod"`
	PodUID    string     `json:"pod_uid"`
	Container string     `json:"container"`
	Cgroup    string     `json:"cgroup"`
	Title     string     `json:"title"`
	Summary   string     `json:"summary"`
	Evidence  []Evidence `json:"evidence"`
	// Basis names the kinds of evidence the finding rests on (Bases), derived
	// from the files its evidence cites: ["cgroup", "kernel-log"], or
	// ["kubelet-summary"] for a verdict from kubectl-only data. Additive.
	Basis       []string     `json:"basis"`
	Remediation string       `json:"remediation"`
	References  []string     `json:"references"`
	Suppressed  *Suppression `json:"suppressed,omitempty"`
}

// Evidence cites one bundle file and the value or line in it that proves a claim.
type Evidence struct {
	File string `json:"file"`
	// Key is the field, stat key or line number ("total_active_file", "line 1042").
	Key string `json:"key,omitempty"`
	// Value is the exact number as read (bytes unless Text says otherwise);
	// json.Number keeps 9223372036854771712 exact.
	Value json.Number `json:"value,omitempty"`
	Text  string      `json:"text"`
}

// Suppression records why a finding was suppressed by --config.
type Suppression struct {
	Reason string `json:"reason"`
}

// OOMEvent is one process the kernel killed.
type OOMEvent struct {
	Bundle          int      `json:"bundle"`
	Node            string   `json:"node"`
	Time            string   `json:"time"`
	TimeNote        string   `json:"time_note,omitempty"` // e.g. "year taken from manifest created; UTC assumed"
	UptimeSeconds   *float64 `json:"uptime_seconds"`
	Process         string   `json:"process"`
	PID             int      `json:"pid"`
	Constraint      string   `json:"constraint"`
	OOMMemcg        string   `json:"oom_memcg"`
	TaskMemcg       string   `json:"task_memcg"`
	Namespace       string   `json:"namespace"`
	Pod             string   `json:"pod"`
	PodUID          string   `json:"pod_uid"`
	Container       string   `json:"container"`
	ContainerID     string   `json:"container_id"`
	LimitScope      string   `json:"limit_scope"`
	LimitCounter    string   `json:"limit_counter"`
	AnonRSSBytes    *int64   `json:"anon_rss_bytes"`
	FileRSSBytes    *int64   `json:"file_rss_bytes"`
	ShmemRSSBytes   *int64   `json:"shmem_rss_bytes"`
	MemcgUsageBytes *int64   `json:"memcg_usage_bytes"`
	MemcgLimitBytes *int64   `json:"memcg_limit_bytes"`
	MemcgFailcnt    *int64   `json:"memcg_failcnt"`
	FilledBy        string   `json:"filled_by"`
	// Line is the 1-based line of the kill in logs/kernel.log (or the file named by File).
	File string `json:"file"`
	Line int    `json:"line"`
}

// Workload is one pod or container row: recomputed and reported numbers side by side.
type Workload struct {
	Bundle                  int    `json:"bundle"`
	Node                    string `json:"node"`
	Namespace               string `json:"namespace"`
	Pod                     string `json:"pod"`
	PodUID                  string `json:"pod_uid"`
	Container               string `json:"container"` // name | "POD" (sandbox) | "" for the pod row
	OwnerKind               string `json:"owner_kind,omitempty"`
	Owner                   string `json:"owner,omitempty"`
	ContainerID             string `json:"container_id"`
	QoS                     string `json:"qos"`
	Cgroup                  string `json:"cgroup"`
	UsageBytes              *int64 `json:"usage_bytes"`
	WorkingSetBytes         *int64 `json:"working_set_bytes"`
	WorkingSetReportedBytes *int64 `json:"working_set_reported_bytes"`
	AnonBytes               *int64 `json:"anon_bytes"`
	ActiveFileBytes         *int64 `json:"active_file_bytes"`
	InactiveFileBytes       *int64 `json:"inactive_file_bytes"`
	ShmemBytes              *int64 `json:"shmem_bytes"`
	KernelBytes             *int64 `json:"kernel_bytes"`
	SwapBytes               *int64 `json:"swap_bytes"`
	LimitBytes              *int64 `json:"limit_bytes"`
	Unlimited               bool   `json:"unlimited"`
	RestartCount            *int32 `json:"restart_count,omitempty"`
	// RequestBytes is the spec's memory request (the pod row: the sum over
	// its containers); PeakBytes the cgroup's high-water mark (v2
	// memory.peak, v1 memory.max_usage_in_bytes). Additive.
	RequestBytes    *int64 `json:"request_bytes,omitempty"`
	PeakBytes       *int64 `json:"peak_bytes,omitempty"`
	LastTermination string `json:"last_termination,omitempty"` // e.g. "OOMKilled"
	// RSSBytes and CacheBytes are cAdvisor's / the summary's rss and page
	// cache, present only when the input states them (kubectl-only
	// evidence); Sources names, for each number not read from a cgroup file,
	// the file and key it came from ("kubelet/summary.json pods[ns/p].memory.workingSetBytes").
	RSSBytes   *int64            `json:"rss_bytes,omitempty"`
	CacheBytes *int64            `json:"cache_bytes,omitempty"`
	Sources    map[string]string `json:"sources,omitempty"`
}

// HeapProfile summarises one pprof heap profile.
type HeapProfile struct {
	Bundle     int        `json:"bundle"`
	Target     string     `json:"target"`
	File       string     `json:"file"`
	PID        *int       `json:"pid"`
	RSSBytes   *int64     `json:"rss_bytes"`
	InuseBytes *int64     `json:"inuse_bytes"`
	AllocBytes *int64     `json:"alloc_bytes"`
	TopInuse   []FuncCost `json:"top_inuse"`
	TopAlloc   []FuncCost `json:"top_alloc"`
	Error      string     `json:"error,omitempty"`
}

// FuncCost is one function's flat bytes in a profile.
type FuncCost struct {
	Function string `json:"function"`
	Bytes    int64  `json:"bytes"`
}

// Excerpt is a few embedded lines of a cited file for the raw-evidence viewer:
// never a whole large file.
type Excerpt struct {
	Bundle    int           `json:"bundle"`
	File      string        `json:"file"`
	Lines     []ExcerptLine `json:"lines"`
	Truncated bool          `json:"truncated"`
}

// ExcerptLine is one line with its 1-based number in the file.
type ExcerptLine struct {
	N    int    `json:"n"`
	Text string `json:"text"`
}

// Basis names a kind of evidence a finding rests on (Finding.Basis): a fixed
// vocabulary, so a reader can tell a verdict from the cgroup tree from one
// made from what kubectl alone could fetch.
const (
	BasisCgroup          = "cgroup"           // cgroup/ files, or pasted memory.* files
	BasisSeries          = "series"           // series/: samples over time
	BasisKubeletSummary  = "kubelet-summary"  // kubelet /stats/summary
	BasisCadvisorMetrics = "cadvisor-metrics" // /metrics/cadvisor
	BasisResourceMetrics = "resource-metrics" // /metrics/resource, kubectl top
	BasisPodSpec         = "pod-spec"         // a pod's spec: resources, volumes
	BasisPodStatus       = "pod-status"       // a pod's status: reasons, restarts
	BasisEvents          = "events"           // Kubernetes Events
	BasisNodeObject      = "node-object"      // the Node object: conditions, capacity
	BasisDescribe        = "describe"         // kubectl describe text
	BasisKernelLog       = "kernel-log"       // dmesg, journalctl -k
	BasisKubeletLog      = "kubelet-log"      // kubelet's own log
	BasisKubeletConfig   = "kubelet-config"   // configz, config.yaml, flags
	BasisKubeletDefault  = "kubelet-default"  // a kubelet default, for want of its configuration
	BasisMeminfo         = "meminfo"          // /proc/meminfo, free
	BasisNodeProc        = "node-proc"        // other node /proc and /sys files
	BasisProc            = "proc"             // process files (proc/<pid>/)
	BasisSystemd         = "systemd"          // systemctl show
	BasisHeapProfile     = "heap-profile"     // pprof heaps
	BasisAgentLog        = "agent-log"        // a monitoring agent's log
	BasisVolumes         = "volumes"          // the node's tmpfs mounts
	BasisPodLogs         = "pod-logs"         // logs/pods-index.tsv
)

// Bases lists the vocabulary in display order: node-side evidence first,
// then what the API server and kubelet say.
var Bases = []string{BasisCgroup, BasisSeries, BasisKernelLog, BasisMeminfo, BasisNodeProc, BasisProc,
	BasisSystemd, BasisVolumes, BasisHeapProfile, BasisKubeletSummary, BasisCadvisorMetrics,
	BasisResourceMetrics, BasisPodSpec, BasisPodStatus, BasisEvents, BasisNodeObject, BasisDescribe,
	BasisKubeletConfig, BasisKubeletDefault, BasisKubeletLog, BasisAgentLog, BasisPodLogs}

// BasisRank is b's position in Bases (unknown last).
func BasisRank(b string) int {
	for i, x := range Bases {
		if x == b {
			return i
		}
	}
	return len(Bases)
}
