package oomlog

import (
	"errors"
	"io"
	"os"
	"strings"
	"testing"
)

func i64(v int64) *int64 { return &v }

func TestFilledByFromStats(t *testing.T) {
	tests := []struct {
		name  string
		stats map[string]int64
		kmem  *int64
		want  string
	}{
		{"nil", nil, nil, FilledUnknown},
		{"kmem alone says nothing", nil, i64(1 << 30), FilledUnknown},
		{"v2 anon", map[string]int64{"anon": 300, "file": 200, "shmem": 100, "kernel": 50}, nil, FilledAnon},
		{"v2 shmem is taken out of file", map[string]int64{"anon": 100, "file": 500, "shmem": 400}, nil, FilledShmem},
		{"v2 file", map[string]int64{"anon": 100, "file": 500, "shmem": 10}, nil, FilledFile},
		{"v2 kernel key wins over kmem", map[string]int64{"anon": 100, "file": 0, "kernel": 50}, i64(500), FilledAnon},
		{"v1 kmem line", map[string]int64{"rss": 100, "cache": 50}, i64(500), FilledKernel},
		{"kernel from parts", map[string]int64{"anon": 100, "file": 0, "slab": 60, "kernel_stack": 20, "pagetables": 20, "sock": 10}, nil, FilledKernel},
		{"slab from its halves", map[string]int64{"anon": 100, "file": 0, "slab_reclaimable": 60, "slab_unreclaimable": 50}, nil, FilledKernel},
		{"v1 cache", map[string]int64{"rss": 10, "cache": 500}, nil, FilledFile},
		{"all zero", map[string]int64{"anon": 0, "file": 0}, nil, FilledUnknown},
	}
	for _, tt := range tests {
		if got := FilledByFromStats(tt.stats, tt.kmem); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestMergeStats(t *testing.T) {
	got := mergeStats([]statBlock{
		{"/a", map[string]int64{"rss": 1, "total_rss": 10, "total_cache": 20}},
		{"/a/b", map[string]int64{"rss": 9}},
	})
	if len(got) != 2 || got["rss"] != 10 || got["cache"] != 20 {
		t.Errorf("total_* keys: %v", got)
	}
	got = mergeStats([]statBlock{{"/a", map[string]int64{"rss": 1}}, {"/a/b", map[string]int64{"rss": 9, "cache": 4}}})
	if got["rss"] != 10 || got["cache"] != 4 {
		t.Errorf("sum: %v", got)
	}
}

func TestLimitScope(t *testing.T) {
	tests := []struct {
		ev   Event
		want string
	}{
		{Event{Global: true, OOMMemcg: "/kubepods"}, "node"},
		{Event{Constraint: "CONSTRAINT_CPUSET", OOMMemcg: "/kubepods"}, "node"},
		{Event{Constraint: "CONSTRAINT_MEMORY_POLICY"}, "node"},
		{Event{Constraint: "CONSTRAINT_MEMCG", OOMMemcg: "/"}, "node"},
		{Event{Constraint: "CONSTRAINT_MEMCG", OOMMemcg: ""}, "node"},
		{Event{Constraint: "CONSTRAINT_MEMCG", OOMMemcg: "/kubepods.slice/kubepods-besteffort.slice"}, "kubepods"},
		{Event{Constraint: "CONSTRAINT_MEMCG", OOMMemcg: "/system.slice/kubelet.service"}, "other"},
	}
	for _, tt := range tests {
		if got := LimitScope(tt.ev); got != tt.want {
			t.Errorf("LimitScope(%+v) = %q, want %q", tt.ev, got, tt.want)
		}
	}
}

func TestSummaryWithCommasInLists(t *testing.T) {
	r := &report{}
	parseSummary(r, "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=0-1,3,cpuset=/,mems_allowed=0,2-3,oom_memcg=/a,task_memcg=/a/b,task=we,ird,pid=77,uid=5", 1, stamp{})
	if r.oomMemcg != "/a" || r.taskMemcg != "/a/b" || r.summary.pid != 77 || r.summary.process != "we,ird" || *r.summary.uid != 5 {
		t.Errorf("%+v", r)
	}
}

func TestLimitCounter(t *testing.T) {
	log := func(lines ...string) string {
		return "x invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0\n" +
			strings.Join(lines, "\n") +
			"\noom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),oom_memcg=/a,task_memcg=/a,task=x,pid=9,uid=0\n"
	}
	tests := []struct {
		name, log string
		counter   string
		usage     int64
	}{
		{"v2 swap at its limit", log("memory: usage 900kB, limit 1000kB, failcnt 0", "swap: usage 500kB, limit 500kB, failcnt 3"), "swap", 500 * 1024},
		{"v2 swap.max 0 (NoSwap)", log("memory: usage 1000kB, limit 1000kB, failcnt 7", "swap: usage 0kB, limit 0kB, failcnt 0"), "memory", 1000 * 1024},
		{"v1 memsw", log("memory: usage 900kB, limit 1000kB, failcnt 0", "memory+swap: usage 1500kB, limit 1500kB, failcnt 2"), "memsw", 1500 * 1024},
		{"v1 both at limit", log("memory: usage 1000kB, limit 1000kB, failcnt 0", "memory+swap: usage 1000kB, limit 1000kB, failcnt 2"), "memory", 1000 * 1024},
		{"unlimited sentinel saturates", log("memory: usage 18014398509481983kB, limit 18014398509481983kB, failcnt 0"), "memory", 1<<63 - 1},
	}
	for _, tt := range tests {
		res, err := Parse(strings.NewReader(tt.log), Options{})
		if err != nil || len(res.Events) != 1 {
			t.Fatalf("%s: %v %+v", tt.name, err, res)
		}
		ev := res.Events[0]
		if ev.LimitCounter != tt.counter || ev.Usage == nil || *ev.Usage != tt.usage {
			t.Errorf("%s: counter %q usage %v", tt.name, ev.LimitCounter, ev.Usage)
		}
	}
}

func TestOverlongLine(t *testing.T) {
	data, err := readFixture("oomkill-no-cpuset.log")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(data, "\n")
	long := "[  912.400150] " + strings.Repeat("x", 3<<20) + "\n"
	log := strings.Join(lines[:10], "") + long + strings.Join(lines[10:], "")
	res, err := Parse(strings.NewReader(log), Options{File: "logs/kernel.log"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Events) != 1 || res.Events[0].PID != 5120 || res.Events[0].Line != 22 {
		t.Errorf("events %+v", pids(res.Events))
	}
	if len(res.Problems) != 1 || !strings.HasPrefix(res.Problems[0], "logs/kernel.log: line 11: line longer than") {
		t.Errorf("problems %q", res.Problems)
	}
}

func TestTaskCap(t *testing.T) {
	data, err := readFixture("v2-memcg-6.8-tasks.log")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Parse(strings.NewReader(data), Options{MaxTasks: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Events) != 1 || len(res.Events[0].Tasks) != 1 || len(res.Problems) != 1 {
		t.Errorf("tasks %d problems %q", len(res.Events[0].Tasks), res.Problems)
	}
}

type failingReader struct {
	r io.Reader
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, errors.New("unexpected EOF in gzip stream")
	}
	return n, err
}

func TestReadError(t *testing.T) {
	data, _ := readFixture("oomkill-no-cpuset.log")
	res, err := Parse(&failingReader{strings.NewReader(data)}, Options{File: "logs/kernel.log"})
	if err == nil || !strings.Contains(err.Error(), "logs/kernel.log: line 22:") {
		t.Errorf("err = %v", err)
	}
	if res == nil || len(res.Events) != 1 {
		t.Errorf("what was read before the error is kept: %+v", res)
	}
}

func readFixture(name string) (string, error) {
	b, err := os.ReadFile("testdata/" + name)
	return string(b), err
}

// A kill whose report was lost says nothing about whose limit fired: no
// counter, no filled_by, and not marked global either.
func TestLoneLinesGuessNothing(t *testing.T) {
	for _, log := range []string{
		"[ 10.000001] oom_reaper: reaped process 321 (java), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB\n",
		"[ 10.000001] Killed process 321 (java) total-vm:1000kB, anon-rss:800kB, file-rss:4kB\n",
	} {
		res, err := Parse(strings.NewReader(log), Options{})
		if err != nil || len(res.Events) != 1 {
			t.Fatalf("%q: %v %+v", log, err, res)
		}
		ev := res.Events[0]
		if ev.PID != 321 || ev.Global || ev.Constraint != "" || ev.LimitCounter != "" || ev.FilledBy != FilledUnknown || LimitScope(ev) != "node" {
			t.Errorf("%q: %+v", log, ev)
		}
	}
	res, _ := Parse(strings.NewReader("Out of memory: Killed process 321 (java) total-vm:1000kB, anon-rss:800kB, file-rss:4kB, shmem-rss:0kB\n"), Options{})
	if len(res.Events) != 1 || !res.Events[0].Global {
		t.Errorf("an \"Out of memory:\" kill is a global OOM: %+v", res.Events)
	}
}
