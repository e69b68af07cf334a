package oomlog

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memsnap/memsnap/internal/testcorpus"
)

// messyLogs are the corpus's kernel logs holding OOM reports: every file of
// oom-logs plus the kernel-failures ones that hold an OOM report.
func messyLogs(t *testing.T) []string {
	files := corpusLogs(t)
	more, _ := filepath.Glob(filepath.Join(testcorpus.Path(t, "kernel-failures"), "*.log"))
	files = append(files, more...)
	fixtures, _ := filepath.Glob("testdata/*.log")
	return append(files, fixtures...)
}

// eachLine rewrites every line of a log, keeping the line count and endings.
func eachLine(data string, f func(string) string) string {
	lines := strings.SplitAfter(data, "\n")
	var b strings.Builder
	for _, l := range lines {
		body, nl := strings.CutSuffix(l, "\n")
		b.WriteString(f(body))
		if nl {
			b.WriteString("\n")
		}
	}
	return b.String()
}

func eventsJSON(t *testing.T, res *Result) string {
	t.Helper()
	b, err := json.Marshal(struct {
		Events  []Event
		Partial int
	}{res.Events, res.PartialReports})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestMessyCorpus: every corpus OOM log, re-indented by 2 and 5 blanks, quoted
// with "> " (also nested and ">>"), a tab, or with CRLF endings, gives
// exactly the events of the log as the node wrote it, line numbers included.
func TestMessyCorpus(t *testing.T) {
	shapes := map[string]func(string) string{
		"indent-2": func(s string) string { return "  " + s },
		"indent-5": func(s string) string { return "     " + s },
		"tab":      func(s string) string { return "\t" + s },
		"quote":    func(s string) string { return "> " + s },
		"quote-2":  func(s string) string { return "> > " + s },
		"quote-gt": func(s string) string { return ">> " + s },
		"quote-in": func(s string) string { return "  > " + s },
		"crlf":     func(s string) string { return s + "\r" },
	}
	for _, path := range messyLogs(t) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		want := eventsJSON(t, mustParse(t, string(data)))
		for name, shape := range shapes {
			t.Run(filepath.Base(path)+"/"+name, func(t *testing.T) {
				got := eventsJSON(t, mustParse(t, eachLine(string(data), shape)))
				if got != want {
					t.Errorf("events differ from the unquoted log\n got %s\nwant %s", got, want)
				}
			})
		}
	}
}

// TestMessyCorpusWrapped: a log pasted inside a markdown fence, below the
// shell prompt that produced it and followed by prose, gives the same events
// (line numbers shifted by the two lines put in front).
func TestMessyCorpusWrapped(t *testing.T) {
	for _, path := range corpusLogs(t) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		orig := mustParse(t, string(data))
		pasted := "```\n$ dmesg | grep -B 200 \"invoked oom-killer\"\n" + string(data) + "\n```\nThat is all we have; grep \"Killed process 1\" shows nothing else.\n"
		got := mustParse(t, pasted)
		for i := range orig.Events {
			e := &orig.Events[i]
			e.StartLine, e.Line, e.EndLine = e.StartLine+2, e.Line+2, e.EndLine+2
		}
		if a, b := eventsJSON(t, got), eventsJSON(t, orig); a != b {
			t.Errorf("%s: fenced paste differs\n got %s\nwant %s", filepath.Base(path), a, b)
		}
	}
}

func mustParse(t *testing.T, s string) *Result {
	t.Helper()
	res, err := Parse(strings.NewReader(s), Options{Year: 2021})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// seed003Wrapped is seed 003's reproduction report as the write-up shows it:
// syslog lines hard-wrapped at ~200 columns in the middle of a container ID
// and of a stats key, Chinese commentary between the lines.
const seed003Wrapped = `Nov 12 12:46:50 iZ2zeeh81ypipbs4e866uzZ kernel: dd invoked oom-killer: gfp_mask=0x6000c0(GFP_KERNEL), nodemask=(null), order=0, oom_score_adj=968
Nov 12 12:46:50 iZ2zeeh81ypipbs4e866uzZ kernel: Task in /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podc00e47e7_5c66_4885_a929_607663ed3cd4.slice/docker-45c3345632cb4d19698badde
97941c43f6c3593f21d98a847049b5f03805b642.scope killed as a result of limit of /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podc00e47e7_5c66_4885_a929_607663ed3cd4.slice
下面这一条说明了pod的内存限制以及使用情况
Nov 12 12:46:50 iZ2zeeh81ypipbs4e866uzZ kernel: memory: usage 1048576kB, limit 1048576kB, failcnt 243
Nov 12 12:46:50 iZ2zeeh81ypipbs4e866uzZ kernel: memory+swap: usage 1048576kB, limit 9007199254740988kB, failcnt 0
Nov 12 12:46:50 iZ2zeeh81ypipbs4e866uzZ kernel: kmem: usage 0kB, limit 9007199254740988kB, failcnt 0
Nov 12 12:46:50 iZ2zeeh81ypipbs4e866uzZ kernel: Memory cgroup stats for /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podc00e47e7_5c66_4885_a929_607663ed3cd4.slice/docker-45c33456
32cb4d19698badde97941c43f6c3593f21d98a847049b5f03805b642.scope: cache:1043196KB rss:5280KB rss_huge:0KB shmem:1042932KB mapped_file:132KB dirty:132KB writeback:0KB swap:0KB workingset_refault_a
non:0KB workingset_refault_file:396KB inactive_anon:536316KB active_anon:511896KB inactive_file:156KB active_file:0KB unevictable:0KB
Nov 12 12:46:50 iZ2zeeh81ypipbs4e866uzZ kernel: Tasks state (memory values in pages):
Nov 12 12:46:50 iZ2zeeh81ypipbs4e866uzZ kernel: [  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name
Nov 12 12:46:50 iZ2zeeh81ypipbs4e866uzZ kernel: [2456831]    33 2456831    14766      457   106496        0           968 nginx
Nov 12 12:46:50 iZ2zeeh81ypipbs4e866uzZ kernel: oom_reaper: reaped process 2456831 (nginx), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB
`

func TestMessyShapes(t *testing.T) {
	tests := []struct {
		name, log                        string
		pid                              int
		constraint, scope, memcg, filled string
		global                           bool
	}{
		{name: "wrapped mid-token (seed 003)", log: seed003Wrapped, pid: 2456831, constraint: "CONSTRAINT_MEMCG", scope: "pod",
			memcg: "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podc00e47e7_5c66_4885_a929_607663ed3cd4.slice", filled: "shmem"},
		{name: "mail-wrapped at blanks, bare stamp", log: "[Wed Mar 13 11:16:48 2024] dd invoked oom-killer:\ngfp_mask=0x101c4a(GFP_NOFS), order=3,\noom_score_adj=0\n" +
			"[Wed Mar 13 11:16:48 2024] memory: usage 1048576kB, limit 1048576kB,\nfailcnt 153\n[Wed Mar 13 11:16:48 2024]\n" +
			"oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0-1,oom_memcg=/mglru,task_memcg=/mglru,task=dd,pid=6911,uid=0\n",
			pid: 6911, constraint: "CONSTRAINT_MEMCG", scope: "other", memcg: "/mglru", filled: "unknown"},
		{name: "CONSTRAINT_NONE with oom_memcg (early 5.x)", log: "[ 10.000000] x invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0\n" +
			"[ 10.000001] memory: usage 102400kB, limit 102400kB, failcnt 7\n" +
			"[ 10.000002] oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=c,mems_allowed=0,oom_memcg=/kubepods/burstable/pod5931aa75-4603-4e65-b552-7c71cf55cfb5,task_memcg=/kubepods/burstable/pod5931aa75-4603-4e65-b552-7c71cf55cfb5/25a38b5b8d556d7983d975577f5ac75ebbcfb4b269e6deaa0a0440c1ffc969ca,task=x,pid=42,uid=0\n" +
			"[ 10.000003] Memory cgroup out of memory: Killed process 42 (x) total-vm:1000kB, anon-rss:90000kB, file-rss:0kB, shmem-rss:0kB, UID:0\n",
			pid: 42, constraint: "CONSTRAINT_NONE", scope: "pod", memcg: "/kubepods/burstable/pod5931aa75-4603-4e65-b552-7c71cf55cfb5", filled: "unknown"},
		{name: "systemd service memcg", log: "Jan  5 15:19:27 host kernel: oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/system.slice/app.service,task_memcg=/system.slice/app.service,task=app,pid=7,uid=0\n" +
			"Jan  5 15:19:27 host kernel: Memory cgroup out of memory: Killed process 7 (app) total-vm:1000kB, anon-rss:900kB, file-rss:0kB, shmem-rss:0kB, UID:0\n",
			pid: 7, constraint: "CONSTRAINT_MEMCG", scope: "other", memcg: "/system.slice/app.service", filled: "unknown"},
		{name: "cpuset constraint kept", log: "[ 5.1] oom-kill:constraint=CONSTRAINT_CPUSET,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/user.slice,task=a,pid=9,uid=0\n" +
			"[ 5.2] Out of memory: Killed process 9 (a) total-vm:1000kB, anon-rss:900kB, file-rss:0kB, shmem-rss:0kB, UID:0\n",
			pid: 9, constraint: "CONSTRAINT_CPUSET", scope: "node", filled: "unknown", global: true},
		{name: "mempolicy constraint kept", log: "[ 5.1] oom-kill:constraint=CONSTRAINT_MEMORY_POLICY,nodemask=0,cpuset=/,mems_allowed=0-1,global_oom,task_memcg=/,task=b,pid=10,uid=0\n" +
			"[ 5.2] Out of memory: Killed process 10 (b) total-vm:1000kB, anon-rss:900kB, file-rss:0kB, shmem-rss:0kB, UID:0\n",
			pid: 10, constraint: "CONSTRAINT_MEMORY_POLICY", scope: "node", filled: "unknown", global: true},
		{name: "mixed stamps, cut report after", log: "[Thu Dec  7 00:05:14 2017] a invoked oom-killer: gfp_mask=0x0, order=0, oom_score_adj=0\n" +
			"Dec  7 00:05:14 host kernel: oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/a,task_memcg=/a,task=a,pid=11,uid=0\n" +
			"6,339,5140900,-;Memory cgroup out of memory: Killed process 11 (a) total-vm:1000kB, anon-rss:900kB, file-rss:0kB, shmem-rss:0kB, UID:0\n" +
			"[ 99.000000] b invoked oom-killer: gfp_mask=0x0, order=0, oom_score_adj=0\n[ 99.000001] memory: usage 10",
			pid: 11, constraint: "CONSTRAINT_MEMCG", scope: "other", memcg: "/a", filled: "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, shape := range []func(string) string{
				func(s string) string { return s },
				func(s string) string { return "     " + s },
				func(s string) string { return "> > " + s + "\r" },
			} {
				res := mustParse(t, eachLine(tt.log, shape))
				ev, ok := findPID(res.Events, tt.pid)
				if !ok {
					t.Fatalf("no event for pid %d: %+v", tt.pid, res.Events)
				}
				if ev.Constraint != tt.constraint || LimitScope(ev) != tt.scope || ev.OOMMemcg != tt.memcg || ev.Global != tt.global {
					t.Errorf("constraint %q scope %q memcg %q global %v, want %q %q %q %v",
						ev.Constraint, LimitScope(ev), ev.OOMMemcg, ev.Global, tt.constraint, tt.scope, tt.memcg, tt.global)
				}
				if tt.filled != "unknown" || ev.FilledBy != FilledUnknown {
					if ev.FilledBy != tt.filled {
						t.Errorf("filled_by %q, want %q", ev.FilledBy, tt.filled)
					}
				}
			}
		})
	}
}

// TestPromptNotAReport: a pasted grep command quoting the phrases is no report.
func TestPromptNotAReport(t *testing.T) {
	for _, l := range []string{
		`$ dmesg | grep "x invoked oom-killer:"`,
		`[root@iZ2ze ~]# journalctl -k | grep "Killed process 12 (x)"`,
		`admin@node-1:~$ grep "oom-kill:constraint=CONSTRAINT_MEMCG,task=x,pid=5,uid=0" kern.log`,
	} {
		res := mustParse(t, l+"\n")
		if len(res.Events) != 0 || res.PartialReports != 0 {
			t.Errorf("%q: %d events, %d partial", l, len(res.Events), res.PartialReports)
		}
	}
}
