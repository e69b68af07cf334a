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

	ProcDir = "proc/" // proc/<pid>/{status,smaps_rollup,cgroup,cmdline,oom_score_adj,fds.tsv}

	TmpfsVolumes = "volumes/tmpfs.tsv"
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
)
