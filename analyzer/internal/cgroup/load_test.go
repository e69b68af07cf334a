package cgroup

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/memsnap/memsnap/bundle"
)

const (
	seedPod       = "/kubepods/burstable/pod6b0d3a5e-8c2f-4c55-9a41-0a3f2f1c9d10"
	seedContainer = seedPod + "/0f3c6e2b9a7d4c1e8b5a2f9d6c3e0b7a4d1c8e5b2f9a6d3c0e7b4a1d8c5e2f9b"
)

func mustNode(t *testing.T, tr *Tree, p string) *Node {
	t.Helper()
	n := tr.Nodes[p]
	if n == nil {
		t.Fatalf("no node %q; have %v", p, keysOf(tr.Nodes))
	}
	return n
}

func keysOf(m map[string]*Node) []string { return sortedKeys(m) }

func wantValue(t *testing.T, what string, v *Value, n int64, file, key string) {
	t.Helper()
	if v == nil {
		t.Errorf("%s = nil, want %d", what, n)
		return
	}
	if v.N != n || v.File != file || v.Key != key {
		t.Errorf("%s = {%d %s %q}, want {%d %s %q}", what, v.N, v.File, v.Key, n, file, key)
	}
}

func wantNil(t *testing.T, what string, v *Value) {
	t.Helper()
	if v != nil {
		t.Errorf("%s = %+v, want nil (absent)", what, *v)
	}
}

func TestLoadV1CgroupfsSeed000(t *testing.T) {
	cv := &countingView{MapView: txtarView(t, "v1-cgroupfs")}
	tr, probs := Load(cv, 0)
	if len(probs) != 0 {
		t.Fatalf("problems: %v", probs)
	}
	checkTreeInvariants(t, tr)
	if tr.Version != 1 {
		t.Fatalf("version = %d, want 1 (detected from memory.usage_in_bytes)", tr.Version)
	}

	c := mustNode(t, tr, seedContainer)
	dir := "cgroup" + seedContainer + "/"
	if c.Dir != dir {
		t.Errorf("Dir = %q, want %q", c.Dir, dir)
	}
	// Seed 000: 962097152 − 111620096 = 850477056 (kubectl top's 811 MiB).
	wantValue(t, "WorkingSet", c.WorkingSet, 850477056, dir+"memory.usage_in_bytes", "")
	wantValue(t, "Usage", c.Usage, 962097152, dir+"memory.usage_in_bytes", "")
	wantValue(t, "InactiveFile", c.InactiveFile, 111620096, dir+"memory.stat", "total_inactive_file")
	wantValue(t, "ActiveFile", c.ActiveFile, 795275264, dir+"memory.stat", "total_active_file")
	wantValue(t, "Anon", c.Anon, 55017472, dir+"memory.stat", "total_rss")
	wantValue(t, "File", c.File, 906887168, dir+"memory.stat", "total_cache")
	wantValue(t, "Shmem", c.Shmem, 0, dir+"memory.stat", "total_shmem")
	wantValue(t, "Kernel", c.Kernel, 3428352, dir+"memory.kmem.usage_in_bytes", "")
	wantValue(t, "Limit", c.Limit, 1073741824, dir+"memory.limit_in_bytes", "")
	wantValue(t, "MaxUsage", c.MaxUsage, 1038090240, dir+"memory.max_usage_in_bytes", "")
	wantValue(t, "MemswLimit", c.MemswLimit, 1073741824, dir+"memory.memsw.limit_in_bytes", "")
	wantValue(t, "HierarchicalLimit", c.HierarchicalLimit, 1073741824, dir+"memory.stat", "hierarchical_memory_limit")
	wantValue(t, "OOMKill", c.OOMKill, 0, dir+"memory.oom_control", "oom_kill")
	wantNil(t, "Sock (no v1 source)", c.Sock)
	wantNil(t, "High (v2 only)", c.High)
	if c.Unlimited {
		t.Error("a 1 GiB limit reads as unlimited")
	}
	if n, ok := c.LimitBytes(); !ok || n != 1<<30 {
		t.Errorf("LimitBytes = %d, %v", n, ok)
	}
	if c.SoftLimit == nil || !IsUnlimited(c.SoftLimit.N) {
		t.Errorf("SoftLimit = %+v, want the unlimited sentinel", c.SoftLimit)
	}
	if !slices.Equal(c.Procs, []int{48190, 48211}) {
		t.Errorf("Procs = %v, want sorted [48190 48211]", c.Procs)
	}
	// Local and hierarchical differ on purpose in this fixture.
	wantValue(t, "Local(active_file)", c.Local("active_file"), 795267072, dir+"memory.stat", "active_file")
	wantValue(t, "Hierarchical(active_file)", c.Hierarchical("active_file"), 795275264, dir+"memory.stat", "total_active_file")
	wantNil(t, "Local(total_rss)", c.Local("total_rss"))
	wantValue(t, "StatValue(pgmajfault)", c.StatValue("pgmajfault"), 9, dir+"memory.stat", "pgmajfault")
	wantNil(t, "StatValue(absent)", c.StatValue("workingset_refault_file"))

	// The QoS directory has no files yet links pod to kubepods.
	qos := mustNode(t, tr, "/kubepods/burstable")
	if len(qos.Files) != 0 || qos.Usage != nil || qos.Stat != nil {
		t.Errorf("intermediate node has data: %+v", qos)
	}
	pod := mustNode(t, tr, seedPod)
	if pod.Parent != qos || qos.Parent != mustNode(t, tr, "/kubepods") || tr.Root.Children[0].Path != "/kubepods" {
		t.Error("pod is not connected to the root through the QoS directory")
	}
	if len(pod.Children) != 1 || pod.Children[0] != c || c.Parent != pod {
		t.Error("container is not the pod's child")
	}

	if !tr.Root.Unlimited || tr.Root.Limit.N != 9223372036854771712 {
		t.Errorf("root Limit = %+v unlimited=%v", tr.Root.Limit, tr.Root.Unlimited)
	}
	wantValue(t, "kubepods OOMKill", mustNode(t, tr, "/kubepods").OOMKill, 2, "cgroup/kubepods/memory.oom_control", "oom_kill")

	for p, k := range cv.opened {
		if k != 1 {
			t.Errorf("%s opened %d times", p, k)
		}
		if strings.HasSuffix(p, "memory.numa_stat") {
			t.Errorf("%s opened although Load does not use it", p)
		}
	}
	if len(cv.opened) != len(cv.MapView)-1 {
		t.Errorf("opened %d files, want every file but memory.numa_stat (%d)", len(cv.opened), len(cv.MapView)-1)
	}
}

// Seed 003: the dead container's tmpfs stayed charged at the pod.
func TestLoadV1SystemdTmpfsOrphan(t *testing.T) {
	tr, probs := Load(txtarView(t, "v1-systemd-tmpfs-orphan"), 1)
	if len(probs) != 0 {
		t.Fatalf("problems: %v", probs)
	}
	checkTreeInvariants(t, tr)
	pod := mustNode(t, tr, "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod3c1b6f52_9e0d_4a7b_8f21_5d4c3b2a1f00.slice")
	if len(pod.Children) != 2 {
		t.Fatalf("pod has %d children, want pause + app", len(pod.Children))
	}
	if !strings.Contains(pod.Children[0].Path, "cri-containerd-2a4c") || !strings.Contains(pod.Children[1].Path, "cri-containerd-9d2f") {
		t.Errorf("children not sorted by path: %s, %s", pod.Children[0].Path, pod.Children[1].Path)
	}
	wantValue(t, "pod Shmem", pod.Shmem, 1048363008, pod.Dir+"memory.stat", "total_shmem")
	wantValue(t, "pod Local(shmem)", pod.Local("shmem"), 0, pod.Dir+"memory.stat", "shmem")
	var liveUsage, liveShmem int64
	for _, c := range pod.Children {
		liveUsage += c.Usage.N
		liveShmem += c.Shmem.N
	}
	if liveShmem != 0 {
		t.Errorf("live children hold %d shmem, want 0", liveShmem)
	}
	orphaned := pod.Usage.N - liveUsage
	if orphaned < pod.Shmem.N {
		t.Errorf("pod usage − Σ live children = %d, want ≥ the 1048363008 tmpfs bytes", orphaned)
	}
	// shmem sits on the anon LRU, so inactive_file does not discount it:
	// it counts fully in the pod's working set (DOMAIN §1.4).
	if pod.WorkingSet.N < pod.Shmem.N {
		t.Errorf("pod working set %d < shmem %d", pod.WorkingSet.N, pod.Shmem.N)
	}
	wantValue(t, "pod Failcnt", pod.Failcnt, 1843, pod.Dir+"memory.failcnt", "")
	wantValue(t, "pod OOMKill", pod.OOMKill, 1, pod.Dir+"memory.oom_control", "oom_kill")
	wantValue(t, "pod UnderOOM", pod.UnderOOM, 0, pod.Dir+"memory.oom_control", "under_oom")
	if tr.Root.Files != nil || tr.Root.Usage != nil {
		t.Error("root has no files in this bundle yet got data")
	}
}

func TestLoadV2Systemd(t *testing.T) {
	tr, probs := Load(txtarView(t, "v2-systemd"), 0)
	if len(probs) != 0 {
		t.Fatalf("problems: %v", probs)
	}
	checkTreeInvariants(t, tr)
	if tr.Version != 2 {
		t.Fatalf("version = %d, want 2", tr.Version)
	}
	root := tr.Root
	wantNil(t, "root Usage (no memory.current on the v2 root)", root.Usage)
	wantNil(t, "root WorkingSet", root.WorkingSet)
	wantValue(t, "root Anon", root.Anon, 3393875968, "cgroup/memory.stat", "anon")
	wantValue(t, "root NrDyingDescendants", root.NrDyingDescendants, 37, "cgroup/cgroup.stat", "nr_dying_descendants")
	if root.PSI == nil || root.PSI.Some.Avg10 != 1.5 || root.PSI.Full.TotalMicros != 20123456 {
		t.Errorf("root PSI = %+v", root.PSI)
	}
	wantNil(t, "Local on v2", root.Local("anon"))
	wantValue(t, "Hierarchical on v2", root.Hierarchical("anon"), 3393875968, "cgroup/memory.stat", "anon")

	kp := mustNode(t, tr, "/kubepods.slice")
	wantValue(t, "kubepods Kernel", kp.Kernel, 268435456, "cgroup/kubepods.slice/memory.stat", "kernel")
	wantValue(t, "kubepods Limit", kp.Limit, 7516192768, "cgroup/kubepods.slice/memory.max", "")
	if kp.Unlimited || !kp.HighUnlimited {
		t.Errorf("kubepods unlimited=%v highUnlimited=%v", kp.Unlimited, kp.HighUnlimited)
	}
	// 6442450944 − 2684354560
	wantValue(t, "kubepods WorkingSet", kp.WorkingSet, 3758096384, "cgroup/kubepods.slice/memory.current", "")

	bu := mustNode(t, tr, "/kubepods.slice/kubepods-burstable.slice")
	if !bu.Unlimited || bu.Limit == nil || bu.Limit.N != math.MaxInt64 {
		t.Errorf("burstable memory.max \"max\": Limit=%+v Unlimited=%v", bu.Limit, bu.Unlimited)
	}
	if _, ok := bu.LimitBytes(); ok {
		t.Error("LimitBytes of an unlimited cgroup reports a limit")
	}

	pod := bu.Children[0]
	wantValue(t, "pod LocalOOMKill", pod.LocalOOMKill, 0, pod.Dir+"memory.events.local", "oom_kill")
	wantValue(t, "pod OOMKill", pod.OOMKill, 1, pod.Dir+"memory.events", "oom_kill")
	wantValue(t, "pod NrDyingDescendants", pod.NrDyingDescendants, 1, pod.Dir+"cgroup.stat", "nr_dying_descendants")
	wantNil(t, "pod Stat-derived Anon (no memory.stat)", pod.Anon)

	c := pod.Children[0]
	d := c.Dir
	wantValue(t, "WorkingSet", c.WorkingSet, 536854528-274432, d+"memory.current", "")
	wantValue(t, "Anon", c.Anon, 522448896, d+"memory.stat", "anon")
	wantValue(t, "File", c.File, 372736, d+"memory.stat", "file")
	wantValue(t, "InactiveFile", c.InactiveFile, 274432, d+"memory.stat", "inactive_file")
	wantValue(t, "MappedFile", c.MappedFile, 0, d+"memory.stat", "file_mapped")
	wantValue(t, "Sock", c.Sock, 0, d+"memory.stat", "sock")
	// No "kernel" key (pre-5.18): rebuilt from its parts.
	wantValue(t, "Kernel", c.Kernel, 294912+1363968+2880+0+0+11472896, d+"memory.stat",
		"kernel_stack+pagetables+percpu+sock+vmalloc+slab")
	wantValue(t, "High", c.High, 483183820, d+"memory.high", "")
	if c.HighUnlimited {
		t.Error("numeric memory.high reads as unlimited")
	}
	wantValue(t, "Min", c.Min, 0, d+"memory.min", "")
	wantValue(t, "Low", c.Low, 0, d+"memory.low", "")
	wantValue(t, "MaxUsage", c.MaxUsage, 536870912, d+"memory.peak", "")
	wantValue(t, "Swap", c.Swap, 0, d+"memory.swap.current", "")
	wantValue(t, "SwapLimit", c.SwapLimit, 0, d+"memory.swap.max", "")
	wantValue(t, "SwapFailEvents", c.SwapFailEvents, 0, d+"memory.swap.events", "fail")
	wantValue(t, "OOMEvents", c.OOMEvents, 3, d+"memory.events", "oom")
	wantValue(t, "MaxEvents", c.MaxEvents, 407, d+"memory.events", "max")
	wantValue(t, "HighEvents", c.HighEvents, 12, d+"memory.events", "high")
	wantValue(t, "LocalOOMKill", c.LocalOOMKill, 1, d+"memory.events.local", "oom_kill")
	wantNil(t, "Failcnt (v1 only)", c.Failcnt)
	if c.PSI == nil || c.PSI.Some.Avg10 != 42.17 || c.PSI.Full.Avg300 != 4.10 || c.PSI.Some.TotalMicros != 93512044 {
		t.Errorf("PSI = %+v", c.PSI)
	}
	if !slices.Equal(c.Procs, []int{71190, 71203}) {
		t.Errorf("Procs = %v, want [71190 71203] (0 and the duplicate dropped)", c.Procs)
	}
}

func TestLoadGolden(t *testing.T) {
	for _, name := range []string{"v1-cgroupfs", "v1-systemd-tmpfs-orphan", "v2-systemd"} {
		t.Run(name, func(t *testing.T) {
			tr, probs := Load(txtarView(t, name), 0)
			if len(probs) != 0 {
				t.Fatalf("problems: %v", probs)
			}
			checkGolden(t, name, dumpTree(tr))
		})
	}
}

// Garbage in one memory.stat costs that file's bad lines, not the tree.
func TestLoadGarbageStat(t *testing.T) {
	v := bundle.MapView{
		"cgroup/kubepods/memory.usage_in_bytes":   []byte("1000\n"),
		"cgroup/kubepods/a/memory.usage_in_bytes": []byte("500\n"),
		"cgroup/kubepods/a/memory.stat": []byte("total_rss 100\n\x00\xff garbage\ntotal_cache 12x\n" +
			strings.Repeat("z", 1<<20) + "\ntotal_inactive_file 50\ntotal_rss 7\n"),
		"cgroup/kubepods/b/memory.usage_in_bytes": []byte("not a number"),
		"cgroup/kubepods/b/memory.limit_in_bytes": []byte("12x\n"),
		"cgroup/kubepods/d/memory.stat":           []byte(strings.Repeat("total_rss 1\n", maxFileBytes/12+1)),
		"cgroup/kubepods/b/memory.stat":           []byte("total_rss 300\ntotal_inactive_file 10\n"),
		"cgroup/kubepods/c/memory.pressure":       []byte("some avg10=1.00 avg60=0.00 avg300=0.00 total=5\n"),
	}
	tr, probs := Load(v, 1)
	checkTreeInvariants(t, tr)
	var msgs []string
	for _, p := range probs {
		msgs = append(msgs, p.Error())
	}
	got := strings.Join(msgs, "\n")
	for _, want := range []string{
		`cgroup/kubepods/a/memory.stat:2: invalid key "\x00\xff"`,
		`cgroup/kubepods/a/memory.stat:3: total_cache: invalid value "12x"`,
		`cgroup/kubepods/a/memory.stat:4: line longer than 4096 bytes skipped`,
		`cgroup/kubepods/a/memory.stat:6: total_rss: duplicate key (the first value is kept)`,
		`cgroup/kubepods/b/memory.usage_in_bytes:1: more than one value`,
		`cgroup/kubepods/b/memory.limit_in_bytes:1: invalid value "12x"`,
		`cgroup/kubepods/d/memory.stat: larger than 8388608 bytes; only the start was read`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %q; got:\n%s", want, got)
		}
	}
	a := mustNode(t, tr, "/kubepods/a")
	wantValue(t, "a Anon", a.Anon, 100, "cgroup/kubepods/a/memory.stat", "total_rss")
	wantValue(t, "a WorkingSet", a.WorkingSet, 450, "cgroup/kubepods/a/memory.usage_in_bytes", "")
	wantNil(t, "a File (garbage value)", a.File)
	b := mustNode(t, tr, "/kubepods/b")
	wantNil(t, "b Usage (garbage)", b.Usage)
	wantNil(t, "b WorkingSet (no usage)", b.WorkingSet)
	wantValue(t, "b Anon", b.Anon, 300, "cgroup/kubepods/b/memory.stat", "total_rss")
	// memory.pressure is a v2 file: with version 1 it is not read at all.
	if c := mustNode(t, tr, "/kubepods/c"); c.PSI != nil || strings.Contains(got, "kubepods/c") {
		t.Errorf("v2 file read on a v1 tree: PSI=%+v", c.PSI)
	}
}

func TestLoadVersionDetection(t *testing.T) {
	v1stat := []byte("cache 1\nrss 2\ntotal_cache 1\ntotal_rss 2\n")
	v2stat := []byte("anon 2\nfile 1\n")
	for _, tc := range []struct {
		name      string
		view      bundle.MapView
		requested int
		want      int
		problem   string
	}{
		{"stat keys only, v1", bundle.MapView{"cgroup/memory.stat": v1stat}, 0, 1, ""},
		{"stat keys only, v2", bundle.MapView{"cgroup/x/memory.stat": v2stat}, 0, 2, ""},
		{"no files", bundle.MapView{}, 0, 0, ""},
		{"manifest wrong", bundle.MapView{"cgroup/memory.current": []byte("5\n")}, 1, 2, "manifest says cgroup v1 but the files are v2"},
		{"manifest kept", bundle.MapView{"cgroup/memory.stat": v2stat}, 2, 2, ""},
		{"mixed", bundle.MapView{"cgroup/memory.current": []byte("5"), "cgroup/memory.max": []byte("max"), "cgroup/a/memory.usage_in_bytes": []byte("1")}, 0, 2, "both v1 (1) and v2 (2)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, probs := Load(tc.view, tc.requested)
			checkTreeInvariants(t, tr)
			if tr.Version != tc.want {
				t.Errorf("version = %d, want %d", tr.Version, tc.want)
			}
			var got []string
			for _, p := range probs {
				got = append(got, p.Error())
			}
			if tc.problem == "" && len(got) > 0 || tc.problem != "" && !strings.Contains(strings.Join(got, "\n"), tc.problem) {
				t.Errorf("problems %q, want %q", got, tc.problem)
			}
		})
	}
}

func TestLoadRefusesOddPaths(t *testing.T) {
	v := bundle.MapView{
		"cgroup/a//memory.stat":    []byte("anon 1\n"),
		"cgroup/a/../memory.stat":  []byte("anon 1\n"),
		"cgroup/./b/memory.stat":   []byte("anon 1\n"),
		"cgroup/ok/memory.current": []byte("7\n"),
	}
	tr, probs := Load(v, 0)
	checkTreeInvariants(t, tr)
	if len(probs) != 3 {
		t.Errorf("want 3 problems for odd paths, got %v", probs)
	}
	if len(tr.Nodes) != 2 || tr.Nodes["/ok"] == nil {
		t.Errorf("nodes = %v, want / and /ok", keysOf(tr.Nodes))
	}
}

func TestProblemError(t *testing.T) {
	if got := (Problem{File: "cgroup/x/memory.stat", Line: 3, Message: "bad"}).Error(); got != "cgroup/x/memory.stat:3: bad" {
		t.Errorf("got %q", got)
	}
	if got := (Problem{File: "cgroup/x/memory.max", Message: "empty file"}).Error(); got != "cgroup/x/memory.max: empty file" {
		t.Errorf("got %q", got)
	}
}
