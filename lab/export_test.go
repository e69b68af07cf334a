package lab

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/memsnap/memsnap/bundle"
)

// A small lab bundle as a shared host produces it: the lab's run below
// session "sess", another run of the same session (memsnap-lab-bbb), another
// session ("other") whose lab OOMs land in the same kernel log, and a host
// kubelet process.
const (
	trimRoot    = "/sess/memsnap-lab-aaa"
	trimPod     = trimRoot + "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod11111111_1111_4111_8111_111111111111.slice"
	trimCtr     = trimPod + "/cri-containerd-" + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" + ".scope"
	foreignRun  = "/sess/memsnap-lab-bbb/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod22222222_2222_4222_8222_222222222222.slice"
	foreignSess = "/other/memsnap-lab-ccc/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod33333333_3333_4333_8333_333333333333.slice"
	trimLabDir  = "/tmp/memsnap-lab-aaa"
)

var trimBoot = time.Date(2026, 11, 23, 13, 0, 0, 0, time.UTC)

// oomBlock is a 6.x v1 memcg OOM report, stamped from uptime up.
func oomBlock(up float64, memcg string, pid int) string {
	lines := []string{
		"workload invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0",
		fmt.Sprintf("CPU: 1 UID: 0 PID: %d Comm: workload Not tainted 6.18.44 #1", pid),
		"Call Trace:",
		" <TASK>",
		" dump_stack_lvl+0x59/0x90",
		" </TASK>",
		"memory: usage 65536kB, limit 65536kB, failcnt 19",
		"memory+swap: usage 65536kB, limit 9007199254740988kB, failcnt 0",
		"kmem: usage 140kB, limit 9007199254740988kB, failcnt 0",
		"Memory cgroup stats for " + memcg + ":",
		"cache 0",
		"rss 66965504",
		"total_rss 66965504",
		"Tasks state (memory values in pages):",
		"[  pid  ]   uid  tgid total_vm      rss rss_anon rss_file rss_shmem pgtables_bytes swapents oom_score_adj name",
		fmt.Sprintf("[  %d]     0 %d   323219    16896    16480      416         0   221184        0             0 workload", pid, pid),
		fmt.Sprintf("oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=%s,task_memcg=%s,task=workload,pid=%d,uid=0", memcg, memcg, pid),
		fmt.Sprintf("Memory cgroup out of memory: Killed process %d (workload) total-vm:1292876kB, anon-rss:65920kB, file-rss:1664kB, shmem-rss:0kB, UID:0 pgtables:216kB oom_score_adj:0", pid),
	}
	var b strings.Builder
	for i, l := range lines {
		fmt.Fprintf(&b, "[%5d.%06d] %s\n", int(up), i, l)
	}
	return b.String()
}

func stamp(up float64, msg string) string {
	return fmt.Sprintf("[%12.6f] %s\n", up, msg)
}

// trimFixture returns the bundle, its manifest, the lab's scope and the
// lab's own OOM report (which must survive whole).
func trimFixture(t *testing.T) (bundle.MapView, *bundle.Manifest, exportScope, string) {
	t.Helper()
	labOOM := oomBlock(3605, trimCtr, 4242)
	kernelLog := stamp(12.5, "Linux version 6.18.44 (boot)") +
		oomBlock(2000, foreignSess, 1111) + // another session, before the lab started
		stamp(3600.2, "tmpfs: a line logged while the lab ran") +
		oomBlock(3601, foreignSess, 2222) + // another session's lab, while ours ran
		stamp(3602, "oom_reaper: reaped process 2222 (workload), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB") +
		oomBlock(3603, foreignRun, 3333) + // the same session's other lab run
		labOOM +
		stamp(3606, "oom_reaper: reaped process 4242 (workload), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB") +
		// A report cut down to its kill line (its start overwritten): by pid.
		stamp(3607, "Memory cgroup out of memory: Killed process 9999 (java) total-vm:1kB, anon-rss:0kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:0kB oom_score_adj:0") +
		stamp(3608, "after the lab's kill")
	v := bundle.MapView{
		"node/meminfo":   []byte("MemTotal:       24683620 kB\nMemFree:        20000000 kB\n"),
		"node/stat":      []byte("cpu  1 2 3 4\nbtime 1795438800\n"),
		"node/cmdline":   []byte("console=ttyS0 psi=1 rdinit=/init -- --addr 0.0.0.0:2024 --auth-required\n"),
		"node/mountinfo": []byte(mountinfoFixture),
		"node/uname":     []byte("Linux vm 6.18.44 #1 SMP x86_64\n"),

		"cgroup/memory.stat":                                          []byte("total_rss 1\n"),
		"cgroup/memory.usage_in_bytes":                                []byte("2407854080\n"),
		"cgroup/cgroup.procs":                                         []byte("1\n77\n"),
		"cgroup/sess/memory.stat":                                     []byte("total_rss 2\n"),
		"cgroup/sess/cgroup.procs":                                    []byte("500\n501\n"),
		"cgroup/other/memory.stat":                                    []byte("total_rss 3\n"),
		"cgroup" + foreignSess + "/memory.stat":                       []byte("total_rss 4\n"),
		"cgroup" + foreignRun + "/memory.stat":                        []byte("total_rss 5\n"),
		"cgroup" + foreignRun + "/cgroup.procs":                       []byte("3334\n"),
		"cgroup" + trimRoot + "/memory.stat":                          []byte("total_rss 6\n"),
		"cgroup" + trimRoot + "/kubepods.slice/memory.limit_in_bytes": []byte("134217728\n"),
		"cgroup" + trimPod + "/memory.stat":                           []byte("total_rss 7\n"),
		"cgroup" + trimCtr + "/memory.stat":                           []byte("total_rss 8\n"),
		"cgroup" + trimCtr + "/cgroup.procs":                          []byte("4243\n"),

		"proc/4243/cgroup":  []byte("4:memory:" + trimCtr + "\n0::/\n"),
		"proc/4243/status":  []byte("Name:\tscrapeagent\nVmRSS:\t1024 kB\n"),
		"proc/4243/fds.tsv": []byte("/tmp/memsnap-lab-aaa/app.log\t100\n"),
		"proc/3334/cgroup":  []byte("4:memory:" + foreignRun + "/cri-containerd-" + strings.Repeat("b", 64) + ".scope\n"),
		"proc/3334/status":  []byte("Name:\tworkload\n"),
		"proc/501/cgroup":   []byte("4:memory:/system.slice/kubelet.service\n"),
		"proc/501/cmdline":  []byte("/usr/bin/kubelet\x00--config=/etc/kubernetes/kubelet.conf\x00"),
		"proc/4250/cgroup":  []byte("4:memory:/sess\n"), // started by the lab, not yet moved into its cgroup
		"proc/4250/status":  []byte("Name:\tworkload\n"),

		"pprof/agent/heap.pb.gz":    []byte("\x1f\x8bnot really"),
		"pprof/agent/target.json":   []byte(`{"name":"agent","pid":4243}`),
		"pprof/kubelet/target.json": []byte(`{"name":"kubelet","pid":501,"error":"404"}`),
		"kubelet/pods.json":         []byte(`{"items":[]}`),
		"logs/kernel.log":           []byte(kernelLog),
		"logs/pods-index.tsv":       []byte("memsnap-lab\tleaky\t11111111-1111-4111-8111-111111111111\tapp\t0\n"),
		"volumes/tmpfs.tsv":         []byte("/var/lib/kubelet/pods/11111111-1111-4111-8111-111111111111/volumes/kubernetes.io~empty-dir/cache\t134217728\t83886080\n"),
		"systemd/files/run/x.conf":  []byte("# fixture\n"),
		"cadvisor/log.txt":          []byte("I1123 fsHandler.go:135] fs: disk usage took 3s\n"),
		"kubelet/config.yaml":       []byte("# memsnap scenario lab FIXTURE\n"),
		"kubelet/configz.json":      []byte(`{"kubeletconfig":{}}`),
		"kubelet/summary.json":      []byte(`{"node":{},"pods":[]}`),
		"node/pressure-memory":      []byte("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"),
		"node/vmstat":               []byte("nr_free_pages 1\n"),
		"node/uptime":               []byte("3610.00 7000.00\n"),
	}
	m := &bundle.Manifest{
		Format: bundle.Format, FormatVersion: bundle.FormatVersion,
		Collector: bundle.Collector{Name: "memsnap-collect", Version: "dev", Mode: "binary"},
		Created:   trimBoot.Add(3610 * time.Second).Format(time.RFC3339),
		Node:      bundle.NodeInfo{Hostname: "vm", NodeName: "vm", CgroupVersion: 1, BootTime: trimBoot.Format(time.RFC3339)},
		Sources: []bundle.Source{
			{Name: "node", Paths: []string{"node/"}, Status: "ok"},
			{Name: "cgroup", Paths: []string{"cgroup/"}, Status: "ok"},
			{Name: "logs", Paths: []string{"logs/kernel.log", "logs/pods-index.tsv"}, Status: "ok"},
			{Name: "proc", Paths: []string{"proc/"}, Status: "ok"},
			{Name: "pprof", Paths: []string{"pprof/"}, Status: "ok"},
		},
		Redactions: []bundle.Redaction{{Path: "proc/501/cmdline", Rule: "token", Count: 1}},
	}
	for _, p := range v.List("") {
		sum := sha256.Sum256(v[p])
		m.Files = append(m.Files, bundle.FileEntry{Path: p, Bytes: int64(len(v[p])), SHA256: hex.EncodeToString(sum[:])})
	}
	sc := exportScope{Root: trimRoot, Dir: trimLabDir, PIDs: map[int]bool{4242: true, 4243: true, 4250: true},
		Started: trimBoot.Add(3600 * time.Second)}
	return v, m, sc, labOOM
}

const mountinfoFixture = `21 26 0:20 / /proc rw,relatime - proc proc rw
22 26 0:21 / /sys rw,relatime - sysfs sysfs rw
24 23 0:22 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24683620k
26 1 254:0 / / rw,relatime - ext4 /dev/vda rw
27 26 0:24 / /mnt/sandboxing/tools ro,nosuid,nodev,relatime - tmpfs tools ro,size=4k
30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 26 0:21 / /tmp/memsnap-lab-aaa/hostroot/sys rw,relatime - sysfs sysfs rw
55 26 0:38 / /tmp/memsnap-lab-aaa/hostroot/var/lib/kubelet/pods/11111111-1111-4111-8111-111111111111/volumes/kubernetes.io~empty-dir/cache rw,nosuid,nodev,relatime - tmpfs tmpfs rw,size=131072k
60 26 0:40 / /tmp/memsnap-lab-zzz/hostroot/var/lib/kubelet/pods/x/volumes/kubernetes.io~empty-dir/cache rw - tmpfs tmpfs rw
61 26 0:41 / /tmp/memsnap-lab-aaa2/hostroot/sys rw - sysfs sysfs rw
`

// TestTrimBundle: the trimmed export keeps the lab's subtree, processes,
// OOM report and mounts, and nothing of the other run, the other session
// or the host's kubelet.
func TestTrimBundle(t *testing.T) {
	v, m, sc, labOOM := trimFixture(t)
	files, st, err := trimBundle(v, m, sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("trimmed: %v", st)
	for p, b := range files {
		for _, foreign := range []string{"memsnap-lab-bbb", "/other", "kubelet.service", "memsnap-lab-zzz", "memsnap-lab-aaa2", "sandboxing", "auth-required"} {
			if strings.Contains(p, foreign) || strings.Contains(string(b), foreign) {
				t.Errorf("%s: %q survived the trim", p, foreign)
			}
		}
	}
	for _, p := range []string{
		"cgroup/cgroup.procs", "cgroup/sess/memory.stat", "cgroup/sess/cgroup.procs", "cgroup/other/memory.stat",
		"proc/3334/cgroup", "proc/3334/status", "proc/501/cgroup", "proc/501/cmdline",
	} {
		if _, ok := files[p]; ok {
			t.Errorf("%s survived the trim", p)
		}
	}
	for _, p := range []string{
		"cgroup/memory.stat", "cgroup/memory.usage_in_bytes",
		"cgroup" + trimRoot + "/memory.stat", "cgroup" + trimRoot + "/kubepods.slice/memory.limit_in_bytes",
		"cgroup" + trimCtr + "/cgroup.procs",
		"proc/4243/cgroup", "proc/4243/status", "proc/4243/fds.tsv", "proc/4250/status",
		"pprof/agent/heap.pb.gz", "pprof/kubelet/target.json", "kubelet/pods.json", "logs/pods-index.tsv",
		"volumes/tmpfs.tsv", "systemd/files/run/x.conf", "cadvisor/log.txt", "node/meminfo", "node/stat",
	} {
		if !bytes.Equal(files[p], v[p]) {
			t.Errorf("%s: want it kept verbatim", p)
		}
	}
	if st.PIDsBefore != 4 || st.PIDsAfter != 2 {
		t.Errorf("processes %d → %d, want 4 → 2", st.PIDsBefore, st.PIDsAfter)
	}

	log := string(files["logs/kernel.log"])
	if !strings.Contains(log, labOOM) {
		t.Errorf("the lab's own OOM report is not kept whole:\n%s", log)
	}
	for _, gone := range []string{"Linux version", "pid=1111", "pid=2222", "pid=3333", "reaped process 2222", "process 9999", "Killed process 1111"} {
		if strings.Contains(log, gone) {
			t.Errorf("kernel.log still has %q", gone)
		}
	}
	for _, kept := range []string{"a line logged while the lab ran", "reaped process 4242", "after the lab's kill"} {
		if !strings.Contains(log, kept) {
			t.Errorf("kernel.log lost %q", kept)
		}
	}
	if st.OOMReportsKept != 1 || st.OOMReportsDropped != 4 {
		t.Errorf("OOM reports kept %d, dropped %d; want 1 and 4 (three foreign reports and a foreign kill line)", st.OOMReportsKept, st.OOMReportsDropped)
	}

	mi := string(files["node/mountinfo"])
	for _, kept := range []string{" / / ", " /proc ", " /sys ", " /sys/fs/cgroup/memory ", "/tmp/memsnap-lab-aaa/hostroot/sys ", "empty-dir/cache rw,nosuid"} {
		if !strings.Contains(mi, kept) {
			t.Errorf("node/mountinfo lost %q:\n%s", kept, mi)
		}
	}
	if strings.Contains(mi, "/dev/shm") {
		t.Errorf("node/mountinfo kept /dev/shm")
	}
	if got := string(files["node/cmdline"]); got != "console=ttyS0 psi=1 rdinit=/init\n" {
		t.Errorf("node/cmdline = %q, want the kernel's parameters only", got)
	}

	checkTrimmedManifest(t, files, m)
}

// checkTrimmedManifest: the rewritten manifest lists exactly the files
// that remain with their real size and sha256, recounts each source, drops
// redactions of dropped files and says it was trimmed.
func checkTrimmedManifest(t *testing.T, files map[string][]byte, orig *bundle.Manifest) {
	t.Helper()
	nm, err := bundle.ParseManifest(bytes.NewReader(files[bundle.ManifestPath]))
	if err != nil {
		t.Fatal(err)
	}
	if len(nm.Files) != len(files)-1 {
		t.Errorf("manifest lists %d files, the export has %d besides the manifest", len(nm.Files), len(files)-1)
	}
	for _, f := range nm.Files {
		sum := sha256.Sum256(files[f.Path])
		if b, ok := files[f.Path]; !ok || int64(len(b)) != f.Bytes || hex.EncodeToString(sum[:]) != f.SHA256 {
			t.Errorf("manifest entry %s does not describe the exported file", f.Path)
		}
	}
	for _, s := range nm.Sources {
		n, bytes := 0, int64(0)
		for p, b := range files {
			if p != bundle.ManifestPath && underAny(p, s.Paths) {
				n++
				bytes += int64(len(b))
			}
		}
		if s.Files != n || s.Bytes != bytes {
			t.Errorf("source %s: files %d bytes %d, the export holds %d and %d", s.Name, s.Files, s.Bytes, n, bytes)
		}
	}
	if len(nm.Redactions) != 0 {
		t.Errorf("redactions of dropped files kept: %+v", nm.Redactions)
	}
	if len(nm.Warnings) != len(orig.Warnings)+1 || !strings.Contains(nm.Warnings[len(nm.Warnings)-1], "trimmed by the memsnap scenario lab") {
		t.Errorf("manifest warnings %q: want the trim marker", nm.Warnings)
	}
	if nm.Created != orig.Created || nm.Node != orig.Node || nm.Collector != orig.Collector {
		t.Errorf("manifest header changed: %+v", nm)
	}
}

// TestWriteSampleIsAValidBundle: the written directory opens as a bundle
// whose every file matches the manifest (memsnap inspect's check).
func TestWriteSampleIsAValidBundle(t *testing.T) {
	v, m, sc, _ := trimFixture(t)
	files, _, err := trimBundle(v, m, sc)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "lab-fixture")
	if err := writeSample(dst, files); err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Open(context.Background(), dst, bundle.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	r := bundle.Inspect(b)
	if r.Totals.Checks[bundle.CheckOK] != len(files)-1 || len(r.Problems) != 0 {
		out, _ := json.MarshalIndent(r.Totals, "", " ")
		t.Errorf("inspect: %s, problems %v", out, r.Problems)
	}
}

// TestLogClockFormats: lines of every stamp format the collector may write
// are placed on the wall clock, so the start cut works on each.
func TestLogClockFormats(t *testing.T) {
	c := logClock{Boot: trimBoot, Year: 2026}
	at := trimBoot.Add(3600*time.Second + 250*time.Millisecond)
	for _, tc := range []struct{ line, msg string }{
		{"[ 3600.250000] oom-kill:x", "oom-kill:x"},
		{"[ 3600.250000] [T4242] oom-kill:x", "oom-kill:x"},
		{"<4>[ 3600.250000] oom-kill:x", "oom-kill:x"},
		{"4,1234,3600250000,-;oom-kill:x", "oom-kill:x"},
		{"Nov 23 14:00:00.250000 vm kernel: oom-kill:x", "oom-kill:x"},
		{"2026-11-23T14:00:00.250000+0000 vm kernel: oom-kill:x", "oom-kill:x"},
	} {
		msg, got, ok := c.split(tc.line + "\n")
		if !ok || msg != tc.msg || got.Sub(at).Abs() > time.Millisecond {
			t.Errorf("%q: msg %q at %v (placed %v), want %q at %v", tc.line, msg, got, ok, tc.msg, at)
		}
	}
	if _, _, ok := (logClock{}).split("[ 3600.250000] x\n"); ok {
		t.Errorf("a printk stamp was placed without a boot time")
	}
}

// TestTrimKernelLogJournal: a journalctl -k log (the collector's fallback
// without /dev/kmsg) is trimmed the same way.
func TestTrimKernelLogJournal(t *testing.T) {
	_, _, sc, _ := trimFixture(t)
	journal := func(up float64, block string) string {
		var b strings.Builder
		for _, l := range strings.SplitAfter(block, "\n") {
			if l == "" {
				continue
			}
			_, msg, _ := strings.Cut(l, "] ")
			ts := trimBoot.Add(time.Duration(up * float64(time.Second)))
			fmt.Fprintf(&b, "%s vm kernel: %s", ts.Format("Jan _2 15:04:05.000000"), msg)
		}
		return b.String()
	}
	log := journal(100, stamp(0, "early line")) + journal(3601, oomBlock(0, foreignSess, 2222)) +
		journal(3605, oomBlock(0, trimCtr, 4242)) + journal(3606, stamp(0, "late line"))
	var st trimStats
	got := string(trimKernelLog([]byte(log), sc, logClock{Boot: trimBoot, Year: 2026}, &st))
	if strings.Contains(got, "early line") || strings.Contains(got, "pid=2222") || !strings.Contains(got, "pid=4242") ||
		!strings.Contains(got, "late line") || !strings.Contains(got, journal(3605, oomBlock(0, trimCtr, 4242))) {
		t.Errorf("journal log trimmed to:\n%s", got)
	}
}
