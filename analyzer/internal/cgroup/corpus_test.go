package cgroup

import (
	"strings"
	"testing"

	"github.com/memsnap/memsnap/bundle"
)

// The corpus samples are real cgroup files from public repositories
// (../shared/corpus/SOURCES.md). Expected numbers are read off the files.

func TestCorpusV1CalicoNode(t *testing.T) {
	v := bundle.MapView{}
	corpusDirView(t, v, "cgroup/default/calico-node/", "cgroup", "charmed-k8s-ubuntu20.04-v1-calico-node-container")
	cv := &countingView{MapView: v}
	tr, probs := Load(cv, 0)
	if len(probs) != 0 {
		t.Fatalf("problems: %v", probs)
	}
	checkTreeInvariants(t, tr)
	if tr.Version != 1 {
		t.Fatalf("version %d, want 1", tr.Version)
	}
	n := mustNode(t, tr, "/default/calico-node")
	d := n.Dir
	wantValue(t, "Usage", n.Usage, 10043392, d+"memory.usage_in_bytes", "")
	// total_inactive_file 10113024 > usage 10043392 (usage_in_bytes is
	// "fuzz", v1 doc §5.5): cAdvisor floors the working set at 0.
	wantValue(t, "WorkingSet", n.WorkingSet, 0, d+"memory.usage_in_bytes", "")
	wantValue(t, "InactiveFile", n.InactiveFile, 10113024, d+"memory.stat", "total_inactive_file")
	wantValue(t, "Anon", n.Anon, 184320, d+"memory.stat", "total_rss")
	wantValue(t, "File", n.File, 10141696, d+"memory.stat", "total_cache")
	wantValue(t, "Shmem", n.Shmem, 0, d+"memory.stat", "total_shmem")
	wantValue(t, "Kernel", n.Kernel, 2195456, d+"memory.kmem.usage_in_bytes", "")
	wantValue(t, "MaxUsage", n.MaxUsage, 22056960, d+"memory.max_usage_in_bytes", "")
	wantValue(t, "Failcnt", n.Failcnt, 0, d+"memory.failcnt", "")
	wantValue(t, "OOMKill", n.OOMKill, 0, d+"memory.oom_control", "oom_kill")
	wantValue(t, "Limit", n.Limit, 9223372036854771712, d+"memory.limit_in_bytes", "")
	wantNil(t, "Swap (no swap accounting in this sample)", n.Swap)
	if !n.Unlimited || !IsUnlimited(n.SoftLimit.N) || !IsUnlimited(n.HierarchicalLimit.N) {
		t.Errorf("unlimited sentinels not recognised: limit=%v soft=%d hier=%d", n.Unlimited, n.SoftLimit.N, n.HierarchicalLimit.N)
	}
	// Only known memory files are opened: not slabinfo, numa_stat, swappiness...
	for p := range cv.opened {
		base := p[strings.LastIndex(p, "/")+1:]
		if _, known := knownFile(base); !known {
			t.Errorf("opened unknown file %s", p)
		}
	}
	if len(cv.opened) != 10 {
		t.Errorf("opened %d files, want the 10 known ones present (stat, usage, limit, soft limit, max usage, failcnt, kmem usage, kmem limit, kmem failcnt, oom_control)", len(cv.opened))
	}
	wantValue(t, "KmemLimit", n.KmemLimit, n.KmemLimit.N, d+"memory.kmem.limit_in_bytes", "")
}

func TestCorpusDockerV1Stat(t *testing.T) {
	v := bundle.MapView{
		"cgroup/memory.stat":                     corpusFile(t, "cgroup", "docker-v1-root-memory.stat"),
		"cgroup/docker/b29faf21b7ef/memory.stat": corpusFile(t, "cgroup", "docker-v1-container-memory.stat"),
	}
	tr, probs := Load(v, 0)
	if len(probs) != 0 {
		t.Fatalf("problems: %v", probs)
	}
	checkTreeInvariants(t, tr)
	if tr.Version != 1 {
		t.Fatalf("version %d, want 1 (from total_* keys)", tr.Version)
	}
	c := mustNode(t, tr, "/docker/b29faf21b7ef")
	d := c.Dir
	wantValue(t, "Anon", c.Anon, 230662144, d+"memory.stat", "total_rss")
	wantValue(t, "File", c.File, 65101824, d+"memory.stat", "total_cache")
	wantValue(t, "ActiveFile", c.ActiveFile, 24813568, d+"memory.stat", "total_active_file")
	wantValue(t, "InactiveFile", c.InactiveFile, 40108032, d+"memory.stat", "total_inactive_file")
	wantValue(t, "MappedFile", c.MappedFile, 17633280, d+"memory.stat", "total_mapped_file")
	wantValue(t, "Swap", c.Swap, 0, d+"memory.stat", "total_swap")
	wantNil(t, "Shmem (older kernel: no shmem key)", c.Shmem)
	wantNil(t, "WorkingSet (no usage file)", c.WorkingSet)
	if mustNode(t, tr, "/docker").Files != nil {
		t.Error("/docker is an intermediate directory")
	}

	r := tr.Root
	wantValue(t, "root Anon", r.Anon, 248729600, "cgroup/memory.stat", "total_rss")
	wantValue(t, "root Local(rss)", r.Local("rss"), 18067456, "cgroup/memory.stat", "rss")
	wantValue(t, "root ActiveFile", r.ActiveFile, 73998336, "cgroup/memory.stat", "total_active_file")
	wantValue(t, "root HierarchicalMemsw", r.HierarchicalMemsw, 9223372036854771712, "cgroup/memory.stat", "hierarchical_memsw_limit")
}

func TestCorpusDockerV2Scope(t *testing.T) {
	v := bundle.MapView{}
	corpusDirView(t, v, "cgroup/system.slice/docker-1c8fa019.scope/", "cgroup", "docker-v2-container-scope")
	tr, probs := Load(v, 0)
	if len(probs) != 0 {
		t.Fatalf("problems: %v", probs)
	}
	checkTreeInvariants(t, tr)
	if tr.Version != 2 {
		t.Fatalf("version %d, want 2", tr.Version)
	}
	n := mustNode(t, tr, "/system.slice/docker-1c8fa019.scope")
	d := n.Dir
	wantValue(t, "Usage", n.Usage, 9125888, d+"memory.current", "")
	wantValue(t, "WorkingSet", n.WorkingSet, 9125888-270336, d+"memory.current", "")
	wantValue(t, "Anon", n.Anon, 411045888, d+"memory.stat", "anon")
	wantValue(t, "File", n.File, 0, d+"memory.stat", "file")
	// No "kernel" and no "vmalloc" key in this kernel's stat.
	wantValue(t, "Kernel", n.Kernel, 589824+12029952+1152+0+19933824, d+"memory.stat", "kernel_stack+pagetables+percpu+sock+slab")
	wantValue(t, "Low", n.Low, 4, d+"memory.low", "")
	wantValue(t, "Min", n.Min, 0, d+"memory.min", "")
	wantValue(t, "OOMKill", n.OOMKill, 1, d+"memory.events", "oom_kill")
	wantValue(t, "OOMEvents", n.OOMEvents, 1, d+"memory.events", "oom")
	wantValue(t, "MaxEvents", n.MaxEvents, 2, d+"memory.events", "max")
	wantValue(t, "HighEvents", n.HighEvents, 3, d+"memory.events", "high")
	wantValue(t, "LocalOOMKill", n.LocalOOMKill, 0, d+"memory.events.local", "oom_kill")
	wantValue(t, "Swap", n.Swap, 0, d+"memory.swap.current", "")
	wantValue(t, "SwapFailEvents", n.SwapFailEvents, 1, d+"memory.swap.events", "fail")
	if !n.Unlimited || !n.HighUnlimited || !n.SwapUnlimited {
		t.Errorf("\"max\" not read as unlimited: %v %v %v", n.Unlimited, n.HighUnlimited, n.SwapUnlimited)
	}
	if n.PSI == nil || n.PSI.Some != (PSILine{}) || n.PSI.Full != (PSILine{}) {
		t.Errorf("PSI = %+v, want present and all zero", n.PSI)
	}
	if len(n.Stat) != 40 {
		t.Errorf("Stat has %d keys, want the file's 40", len(n.Stat))
	}
}

func TestCorpusOomdEarlyV2Stat(t *testing.T) {
	v := bundle.MapView{"cgroup/workload.slice/memory.stat": corpusFile(t, "cgroup", "oomd-fixture-v2-early-memory.stat")}
	tr, probs := Load(v, 0)
	if len(probs) != 0 {
		t.Fatalf("problems: %v", probs)
	}
	if tr.Version != 2 {
		t.Fatalf("version %d, want 2 (from the anon key)", tr.Version)
	}
	n := mustNode(t, tr, "/workload.slice")
	d := n.Dir
	wantValue(t, "Anon", n.Anon, 1056014336, d+"memory.stat", "anon")
	wantValue(t, "File", n.File, 11877441536, d+"memory.stat", "file")
	wantValue(t, "Shmem", n.Shmem, 12419072, d+"memory.stat", "shmem")
	wantValue(t, "ActiveFile", n.ActiveFile, 4981571584, d+"memory.stat", "active_file")
	wantValue(t, "InactiveFile", n.InactiveFile, 6990409728, d+"memory.stat", "inactive_file")
	wantValue(t, "MappedFile", n.MappedFile, 1073233920, d+"memory.stat", "file_mapped")
	wantValue(t, "Sock", n.Sock, 13357056, d+"memory.stat", "sock")
	wantValue(t, "Kernel", n.Kernel, 158109696+13357056+1440972800, d+"memory.stat", "kernel_stack+sock+slab")
	wantNil(t, "Usage", n.Usage)
	wantValue(t, "StatValue(workingset_refault)", n.StatValue("workingset_refault"), 0, d+"memory.stat", "workingset_refault")
}
