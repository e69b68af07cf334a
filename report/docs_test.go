package report

import (
	"encoding/json"
	"strconv"

	"github.com/memsnap/memsnap/report/schema"
)

// Documents the tests render. They are built by hand, not by the analyzer,
// so the renderers are tested on their own: every section, every severity,
// a suppressed finding, absent (nil) numbers next to measured zeros.

func i64(v int64) *int64       { return &v }
func f64(v float64) *float64   { return &v }
func intp(v int) *int          { return &v }
func i32(v int32) *int32       { return &v }
func num(v int64) json.Number  { return json.Number(strconv.FormatInt(v, 10)) }
func mib(v int64) *int64       { return i64(v << 20) }
func gib(v int64) *int64       { return i64(v << 30) }
func zero() *int64             { return i64(0) }
func ids(s ...string) []string { return s }

// richDoc: three nodes. node-a: a container OOM kill with the page cache and
// orphaned tmpfs story (critical), node-b: kubepods limit drift (warning) with
// a heap profile, node-c: a hand-made bundle without manifest (info only).
func richDoc() *schema.Document {
	return &schema.Document{
		Schema:         schema.ID,
		Generated:      "2024-05-06T07:08:09Z",
		MemsnapVersion: "v0.1.0-test",
		Bundles: []schema.Bundle{
			{
				Index: 0, Source: "bundles/node-a.tar.gz", Node: "node-a", Kernel: "5.15.0-1051-azure",
				CgroupVersion: intp(1), Manifest: true, PartialOOMReports: 1,
				Sources: []schema.Source{
					{Name: "cgroup", Status: "ok"}, {Name: "kubelet", Status: "ok"},
					{Name: "pprof", Status: "skipped", Error: "no --pprof targets given"},
				},
				Problems: []string{"kubelet/summary.json: invalid JSON at byte 1042 (the pods section is skipped; other rules still ran)"},
				Memory: schema.NodeMemory{
					CapacityBytes: gib(16), AllocatableBytes: i64(15<<30 + 512<<20), AllocatableReportedBytes: i64(15<<30 + 512<<20),
					KubepodsLimitBytes: i64(15<<30 + 612<<20), ExpectedKubepodsBytes: i64(15<<30 + 612<<20),
					EvictionHardBytes: mib(100), UsedBytes: gib(12), WorkingSetBytes: gib(9), AnonBytes: gib(5),
					AvailableBytes: gib(7), KubepodsWorkingSetBytes: gib(8),
				},
			},
			{
				Index: 1, Source: "bundles/node-b.tgz", Node: "node-b", Kernel: "6.1.0-18-amd64",
				CgroupVersion: intp(2), Manifest: true,
				Sources: []schema.Source{
					{Name: "cgroup", Status: "ok"}, {Name: "systemd", Status: "partial", Error: "systemctl show kubelet.service: exit status 1"},
					{Name: "kube", Status: "failed", Error: "403 Forbidden: nodes \"node-b\" is forbidden"},
				},
				Memory: schema.NodeMemory{
					CapacityBytes: gib(32), AllocatableBytes: gib(30), AllocatableReportedBytes: nil,
					KubepodsLimitBytes: gib(28), ExpectedKubepodsBytes: i64(30<<30 + 100<<20), SystemdLimitBytes: gib(31),
					EvictionHardBytes: mib(100), UsedBytes: gib(20), WorkingSetBytes: gib(18), AnonBytes: gib(15),
					AvailableBytes: gib(14), KubepodsWorkingSetBytes: gib(17),
				},
			},
			{
				Index: 2, Source: "customer-upload/", Node: "node-c", Manifest: false,
				Memory: schema.NodeMemory{CapacityBytes: gib(8), UsedBytes: gib(2), AnonBytes: zero()},
			},
		},
		Catalog: []schema.RuleDoc{
			{ID: "oom-kill", Title: "A process was killed by the OOM killer", Doc: "Detects kernel OOM kills and attributes them to pods.", Severity: schema.Critical},
			{ID: "working-set-page-cache", Title: "Working set driven by page cache", Doc: "Active file cache counts in the working set.", Severity: schema.Warning},
			{ID: "kubepods-limit-drift", Title: "kubepods cgroup limit differs from allocatable", Doc: "See kubernetes/kubernetes#88197.", Severity: schema.Warning},
			{ID: "heap-profile-top", Title: "Top heap functions", Doc: "Lists top functions.", Severity: schema.Info},
			{ID: "missing-source", Title: "A source is missing", Doc: "Which rules could not run.", Severity: schema.Info},
			{ID: "no-memory-limit", Title: "Containers without a memory limit", Doc: "Unbounded containers.", Severity: schema.Warning},
		},
		Rules: []schema.RuleStatus{
			{ID: "oom-kill", Bundle: 0, Status: "ran"},
			{ID: "working-set-page-cache", Bundle: 0, Status: "ran"},
			{ID: "kubepods-limit-drift", Bundle: 0, Status: "ran"},
			{ID: "heap-profile-top", Bundle: 0, Status: "skipped", Reason: "no heap profile in the bundle (pprof source skipped)"},
			{ID: "no-memory-limit", Bundle: 0, Status: "ran"},
			{ID: "oom-kill", Bundle: 1, Status: "ran"},
			{ID: "kubepods-limit-drift", Bundle: 1, Status: "ran"},
			{ID: "heap-profile-top", Bundle: 1, Status: "ran"},
			{ID: "no-memory-limit", Bundle: 1, Status: "ran"},
			{ID: "oom-kill", Bundle: 2, Status: "ran"},
			{ID: "kubepods-limit-drift", Bundle: 2, Status: "skipped", Reason: "kubelet/config.yaml and kubelet/configz.json are absent"},
			{ID: "missing-source", Bundle: 2, Status: "ran"},
		},
		Findings: []schema.Finding{
			{
				Rule: "working-set-page-cache", Severity: schema.Warning, Bundle: 0, Node: "node-a",
				Subject: "shop/api-7d9f/app", Namespace: "shop", Pod: "api-7d9f", PodUID: "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b", Container: "app",
				Title:   "Working set at 81 % of the limit, mostly active page cache",
				Summary: "Working set 829 MiB of a 1 GiB limit, of which 720 MiB is active file cache; anon is only 96 MiB.",
				Evidence: []schema.Evidence{
					{File: "cgroup/kubepods/burstable/pod0f1e2d3c/app/memory.stat", Key: "total_active_file", Value: num(754974720), Text: "active file cache"},
					{File: "cgroup/kubepods/burstable/pod0f1e2d3c/app/memory.stat", Key: "total_rss", Value: num(100663296), Text: "anon memory"},
				},
				Basis:       []string{schema.BasisCgroup},
				Remediation: "Raise the alert threshold or alert on anon + shmem, not on the working set.",
				References:  ids("kubernetes/kubernetes#43916", "google/cadvisor#3286"),
			},
			{
				Rule: "oom-kill", Severity: schema.Critical, Bundle: 0, Node: "node-a",
				Subject: "shop/worker-5c/worker", Namespace: "shop", Pod: "worker-5c", PodUID: "aa11bb22-cc33-dd44-ee55-ff6677889900", Container: "worker",
				Cgroup:  "/kubepods/burstable/podaa11bb22-cc33-dd44-ee55-ff6677889900/4f3e",
				Title:   "Container shop/worker-5c/worker was OOM-killed at its own limit, filled by anon memory",
				Summary: "The kernel killed java (pid 4242) when the container's memory cgroup reached its 512 MiB limit (failcnt 1731).",
				Evidence: []schema.Evidence{
					{File: "logs/kernel.log", Key: "line 3", Text: "Memory cgroup out of memory: Killed process 4242 (java)"},
					{File: "logs/kernel.log", Key: "line 2", Value: num(536870912), Text: "memory: usage 524288kB, limit 524288kB, failcnt 1731"},
				},
				Basis:       []string{schema.BasisKernelLog, schema.BasisPodStatus},
				Remediation: "Raise the container's memory limit or reduce its heap (-Xmx below 75 % of the limit).",
				References:  ids("torvalds/linux:mm/oom_kill.c"),
			},
			{
				Rule: "no-memory-limit", Severity: schema.Warning, Bundle: 0, Node: "node-a",
				Subject: "kube-system/fluentd-x/fluentd", Namespace: "kube-system", Pod: "fluentd-x", Container: "fluentd",
				Title:      "Container without a memory limit",
				Summary:    "fluentd has no memory limit on a node that has been under pressure.",
				Suppressed: &schema.Suppression{Reason: "logging agent is capped by the vendor's VPA (ticket OPS-1234)"},
			},
			{
				Rule: "kubepods-limit-drift", Severity: schema.Warning, Bundle: 1, Node: "node-b",
				Subject: "node:node-b", Title: "kubepods limit 28 GiB differs from the expected 30.1 GiB",
				Summary: "The kubepods cgroup limit is 2.1 GiB below capacity − reserved; systemd would set 31 GiB on daemon-reload.",
				Evidence: []schema.Evidence{
					{File: "cgroup/kubepods.slice/memory.max", Value: num(30064771072), Text: "kubepods cgroup limit"},
					{File: "systemd/kubepods.slice.show", Key: "MemoryMax", Value: num(33285996544), Text: "systemd's limit"},
					{File: "kubelet/config.yaml", Key: "line 12", Text: "systemReserved: memory: 1Gi"},
				},
				Remediation: "Restart the kubelet after fixing the reservations so it rewrites the kubepods limit.",
				References:  ids("kubernetes/kubernetes#88197"),
			},
			{
				Rule: "heap-profile-top", Severity: schema.Info, Bundle: 1, Node: "node-b",
				Subject: "pprof:cadvisor", Title: "cAdvisor: 61 % of in-use heap in fs.(*RealFsInfo).GetDirUsage",
				Summary:  "Top in-use function holds 300 MiB of a 490 MiB heap; process RSS 1.1 GiB.",
				Evidence: []schema.Evidence{{File: "pprof/cadvisor/heap.pb.gz", Key: "inuse_space", Value: num(314572800), Text: "top function"}},
			},
			{
				Rule: "missing-source", Severity: schema.Info, Bundle: 2, Node: "node-c",
				Subject: "node:node-c", Title: "The bundle has no manifest and no kubelet data",
				Summary: "kubepods-limit-drift could not run.",
			},
		},
		OOMEvents: []schema.OOMEvent{
			{
				Bundle: 0, Node: "node-a", Time: "2024-05-06T03:12:45Z", UptimeSeconds: f64(812345.123),
				Process: "java", PID: 4242, Constraint: "CONSTRAINT_MEMCG",
				OOMMemcg: "/kubepods/burstable/podaa11bb22-cc33-dd44-ee55-ff6677889900/4f3e", TaskMemcg: "/kubepods/burstable/podaa11bb22-cc33-dd44-ee55-ff6677889900/4f3e",
				Namespace: "shop", Pod: "worker-5c", PodUID: "aa11bb22-cc33-dd44-ee55-ff6677889900", Container: "worker", ContainerID: "4f3e",
				LimitScope: "container", LimitCounter: "memory",
				AnonRSSBytes: mib(500), FileRSSBytes: zero(), ShmemRSSBytes: zero(),
				MemcgUsageBytes: mib(512), MemcgLimitBytes: mib(512), MemcgFailcnt: i64(1731), FilledBy: "anon",
				File: "logs/kernel.log", Line: 3,
			},
			{
				Bundle: 0, Node: "node-a", Time: "2024-05-06T05:00:01Z", TimeNote: "year taken from manifest created; UTC assumed",
				Process: "python3", PID: 777, Constraint: "CONSTRAINT_MEMCG", OOMMemcg: "/kubepods",
				LimitScope: "kubepods", LimitCounter: "memory", MemcgUsageBytes: i64(15<<30 + 612<<20), MemcgLimitBytes: i64(15<<30 + 612<<20),
				FilledBy: "file", File: "logs/kernel.log", Line: 40,
			},
			{
				Bundle: 1, Node: "node-b", Time: "2024-05-05T22:00:00Z", Process: "cadvisor", PID: 31,
				Constraint: "CONSTRAINT_MEMCG", Namespace: "kube-system", Pod: "cadvisor-q", Container: "cadvisor",
				LimitScope: "pod", FilledBy: "unknown", File: "logs/kernel.log", Line: 7,
			},
		},
		Workloads: []schema.Workload{
			{Bundle: 0, Node: "node-a", Namespace: "shop", Pod: "api-7d9f", PodUID: "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b", QoS: "Burstable",
				UsageBytes: mib(990), WorkingSetBytes: mib(829), AnonBytes: mib(96), ActiveFileBytes: mib(720), InactiveFileBytes: mib(161),
				ShmemBytes: zero(), KernelBytes: mib(13), LimitBytes: gib(1)},
			{Bundle: 0, Node: "node-a", Namespace: "shop", Pod: "api-7d9f", PodUID: "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b", Container: "app", ContainerID: "c0ffee", QoS: "Burstable",
				UsageBytes: mib(985), WorkingSetBytes: mib(825), WorkingSetReportedBytes: mib(824), AnonBytes: mib(95), ActiveFileBytes: mib(718),
				InactiveFileBytes: mib(160), ShmemBytes: zero(), KernelBytes: mib(12), SwapBytes: zero(), LimitBytes: gib(1), RestartCount: i32(0)},
			{Bundle: 0, Node: "node-a", Namespace: "shop", Pod: "worker-5c", Container: "worker", QoS: "Guaranteed",
				UsageBytes: mib(300), WorkingSetBytes: mib(290), AnonBytes: mib(280), ActiveFileBytes: mib(5), InactiveFileBytes: mib(10),
				ShmemBytes: mib(1), KernelBytes: mib(4), LimitBytes: mib(512), RestartCount: i32(7), LastTermination: "OOMKilled"},
			{Bundle: 0, Node: "node-a", Namespace: "kube-system", Pod: "fluentd-x", Container: "fluentd", QoS: "BestEffort",
				UsageBytes: mib(200), WorkingSetBytes: mib(150), Unlimited: true},
			{Bundle: 1, Node: "node-b", Namespace: "kube-system", Pod: "cadvisor-q", Container: "cadvisor", QoS: "Burstable",
				UsageBytes: mib(1100), WorkingSetBytes: mib(1050), WorkingSetReportedBytes: nil, AnonBytes: mib(1000), ActiveFileBytes: mib(20),
				InactiveFileBytes: mib(50), ShmemBytes: zero(), KernelBytes: mib(30), LimitBytes: mib(1200)},
		},
		HeapProfiles: []schema.HeapProfile{
			{Bundle: 1, Target: "cadvisor", File: "pprof/cadvisor/heap.pb.gz", PID: intp(31), RSSBytes: mib(1126), InuseBytes: mib(490), AllocBytes: gib(120),
				TopInuse: []schema.FuncCost{
					{Function: "github.com/google/cadvisor/fs.(*RealFsInfo).GetDirUsage", Bytes: 300 << 20},
					{Function: "github.com/prometheus/client_golang/prometheus.(*Registry).Gather", Bytes: 120 << 20},
					{Function: "bytes.growSlice", Bytes: 40 << 20},
				},
				TopAlloc: []schema.FuncCost{
					{Function: "github.com/prometheus/common/expfmt.MetricFamilyToText", Bytes: 80 << 30},
					{Function: "github.com/google/cadvisor/metrics.(*PrometheusCollector).Collect", Bytes: 30 << 30},
				}},
			{Bundle: 1, Target: "kubelet", File: "pprof/kubelet/heap.pb.gz", Error: "pprof/kubelet/heap.pb.gz: gzip: invalid header (the profile is skipped)"},
		},
		Excerpts: []schema.Excerpt{
			{Bundle: 0, File: "logs/kernel.log", Lines: []schema.ExcerptLine{
				{N: 1, Text: "[812345.100000] java invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=968"},
				{N: 2, Text: "[812345.110000] memory: usage 524288kB, limit 524288kB, failcnt 1731"},
				{N: 3, Text: "[812345.123000] Memory cgroup out of memory: Killed process 4242 (java) total-vm:5242880kB, anon-rss:512000kB, file-rss:0kB, shmem-rss:0kB"},
			}},
			{Bundle: 1, File: "kubelet/config.yaml", Truncated: true, Lines: []schema.ExcerptLine{
				{N: 11, Text: "systemReserved:"}, {N: 12, Text: "  memory: 1Gi"},
			}},
		},
	}
}

// emptyDoc: one healthy node with nothing but a manifest.
func emptyDoc() *schema.Document {
	return &schema.Document{
		Schema: schema.ID, MemsnapVersion: "v0.1.0-test",
		Bundles: []schema.Bundle{{Index: 0, Source: "healthy.tar.gz", Node: "healthy-1", Manifest: true,
			Sources: []schema.Source{{Name: "node", Status: "ok"}}}},
		Rules: []schema.RuleStatus{{ID: "oom-kill", Bundle: 0, Status: "ran"}},
	}
}
