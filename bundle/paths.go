package bundle

// Paths inside a bundle (DESIGN §2). A source that could not be read is
// absent and its manifest entry says why.
const (
	ManifestPath = "manifest.json"

	NodeMeminfo   = "node/meminfo"
	NodeVmstat    = "node/vmstat"
	NodePressure  = "node/pressure-memory"
	NodeMountinfo = "node/mountinfo"
	NodeUptime    = "node/uptime"
	NodeStat      = "node/stat"
	NodeUname     = "node/uname"
	NodeOSRelease = "node/os-release"
	NodeCmdline   = "node/cmdline"

	// Added for rule catalogue II (#16). /proc/cgroups counts the live and
	// dying cgroups per controller on v1; buddyinfo/pagetypeinfo are the
	// zones' free lists by order; THP's mode and defrag policy are sysfs.
	NodeBuddyinfo    = "node/buddyinfo"
	NodePagetypeinfo = "node/pagetypeinfo"
	NodeCgroups      = "node/cgroups"
	NodeTHPEnabled   = "node/transparent_hugepage/enabled"
	NodeTHPDefrag    = "node/transparent_hugepage/defrag"

	CgroupDir = "cgroup/" // cgroup/<path relative to the memory mount>/<file>

	KubeletSummary         = "kubelet/summary.json"
	KubeletPods            = "kubelet/pods.json"
	KubeletConfigz         = "kubelet/configz.json"
	KubeletConfigYAML      = "kubelet/config.yaml"
	KubeletFlags           = "kubelet/flags.txt"
	KubeletVersion         = "kubelet/version.txt"
	KubeletMetricsCadvisor = "kubelet/metrics-cadvisor.prom"
	KubeletMetricsResource = "kubelet/metrics-resource.prom"
	KubeletLog             = "kubelet/log.txt"

	KubeNode   = "kube/node.json"
	KubePods   = "kube/pods.json"   // API mode: the node's pods (PodList) from the API server
	KubeEvents = "kube/events.json" // API mode: events (EventList)

	CadvisorMetrics = "cadvisor/metrics.prom"
	CadvisorLog     = "cadvisor/log.txt"

	PprofDir        = "pprof/" // pprof/<target>/heap.pb.gz, pprof/<target>/target.json
	PprofHeapFile   = "heap.pb.gz"
	PprofTargetFile = "target.json"

	SystemdDir      = "systemd/"       // systemd/<unit>.show
	SystemdFilesDir = "systemd/files/" // systemd/files/<host path without leading />

	KernelLog = "logs/kernel.log"
	PodsIndex = "logs/pods-index.tsv"

	ProcDir = "proc/" // proc/<pid>/{status,smaps_rollup,cgroup,cmdline,oom_score_adj,fds.tsv,environ}

	// ProcEnvironFile is proc/<pid>/environ of a container process reduced to
	// the runtime memory settings in EnvironKeep, one KEY=VALUE a line.
	ProcEnvironFile = "environ"

	TmpfsVolumes = "volumes/tmpfs.tsv"

	// Watch mode (docs/series.md): samples over time, one gzip'd TSV per
	// kind with a header line; the first snapshot's node/ and cgroup/ files
	// under series/first/ (the final snapshot is at the usual paths); range
	// exports from the customer's Prometheus under series/prometheus/.
	SeriesDir            = "series/"
	SeriesCgroups        = "series/cgroups.tsv.gz"
	SeriesNode           = "series/node.tsv.gz"
	SeriesEvents         = "series/events.tsv.gz"
	SeriesKubeletSummary = "series/kubelet-summary.tsv.gz"
	SeriesFirstDir       = "series/first/"
	SeriesPrometheusDir  = "series/prometheus/"
)

// Source names as recorded in the manifest.
const (
	SourceNode     = "node"
	SourceCgroup   = "cgroup"
	SourceKubelet  = "kubelet"
	SourceCadvisor = "cadvisor"
	SourcePprof    = "pprof"
	SourceSystemd  = "systemd"
	SourceLogs     = "logs"
	SourceProc     = "proc"
	SourceVolumes  = "volumes"
	SourceKube     = "kube"
	SourceSeries   = "series"
)

// EnvironKeep are the only environment variables the collector keeps from a
// container process's /proc/<pid>/environ: the language runtimes' memory
// ceilings (runtime-heap-vs-limit). Every other variable is dropped before
// anything is written.
var EnvironKeep = []string{"JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "_JAVA_OPTIONS", "GOMEMLIMIT", "GOGC", "NODE_OPTIONS"}
