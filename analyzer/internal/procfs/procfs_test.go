package procfs

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testdata/*-6.18 are verbatim /proc files of a Linux 6.18 VM; the cgroup
// and mountinfo samples are written in the shape of a Kubernetes node.

func open(t testing.TB, name string) *bytes.Reader {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(b)
}

func deref(p *int64) any {
	if p == nil {
		return "nil"
	}
	return *p
}

func TestParseStatBtime(t *testing.T) {
	got, err := ParseStatBtime(open(t, "stat-6.18"))
	if err != nil || !got.Equal(time.Unix(1795441974, 0)) || got.Location() != time.UTC {
		t.Errorf("got %v, %v", got, err)
	}
	// An "intr" line beyond the line bound is skipped, not fatal.
	long := "cpu 1 2 3\nintr " + strings.Repeat("0 ", 100000) + "\nctxt 5\nbtime 1700000000\n"
	if got, err := ParseStatBtime(strings.NewReader(long)); err != nil || got.Unix() != 1700000000 {
		t.Errorf("long intr line: %v, %v", got, err)
	}
	for in, want := range map[string]string{
		"cpu 1 2\n":         "node/stat: no btime line",
		"btime x\n":         `node/stat:1: invalid btime "x"`,
		"ctxt 1\nbtime 0\n": `node/stat:2: invalid btime "0"`,
	} {
		if _, err := ParseStatBtime(strings.NewReader(in)); err == nil || err.Error() != want {
			t.Errorf("ParseStatBtime(%q) = %v, want %q", in, err, want)
		}
	}
}

func TestParseUptime(t *testing.T) {
	if got, err := ParseUptime(open(t, "uptime-6.18")); err != nil || got != 2355.88 {
		t.Errorf("got %v, %v", got, err)
	}
	for _, bad := range []string{"", "x 1", "-1 2", "NaN 1", "+Inf"} {
		if _, err := ParseUptime(strings.NewReader(bad)); err == nil || !strings.HasPrefix(err.Error(), "node/uptime") {
			t.Errorf("ParseUptime(%q) = %v", bad, err)
		}
	}
}

func TestParseStatus(t *testing.T) {
	s, err := ParseStatus(open(t, "status-6.18"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "cat" || s.Pid != 5916 {
		t.Errorf("Name %q Pid %d", s.Name, s.Pid)
	}
	for name, tc := range map[string]struct {
		got  *int64
		want int64
	}{
		"VmRSS": {s.VmRSS, 1636 << 10}, "VmHWM": {s.VmHWM, 1636 << 10}, "VmSwap": {s.VmSwap, 0},
		"RssAnon": {s.RssAnon, 112 << 10}, "RssFile": {s.RssFile, 1524 << 10}, "RssShmem": {s.RssShmem, 0},
	} {
		if tc.got == nil || *tc.got != tc.want {
			t.Errorf("%s = %v, want %d", name, deref(tc.got), tc.want)
		}
	}
	if s.Fields["VmPeak"] == 0 || s.Fields["HugetlbPages"] != 0 {
		t.Errorf("Fields = %v", s.Fields)
	}

	// A kernel thread: no Vm*/Rss* lines. Absent stays nil, not 0.
	k, err := ParseStatus(strings.NewReader("Name:\tkworker/0:1-events\nState:\tI (idle)\nPid:\t42\nThreads:\t1\n"))
	if err != nil || k.Name != "kworker/0:1-events" || k.Pid != 42 || k.VmRSS != nil || k.RssShmem != nil {
		t.Errorf("kernel thread: %+v, %v", k, err)
	}
	// A process calling itself "12 kB" and a broken size line.
	w, err := ParseStatus(strings.NewReader("Name:\t12 kB\nVmRSS:\t  x kB\nRssAnon:\t 4 kB\n"))
	if w.Name != "12 kB" || w.VmRSS != nil || *w.RssAnon != 4096 || err == nil || !strings.Contains(err.Error(), `line 2: "VmRSS": invalid size`) {
		t.Errorf("got %+v, %v", w, err)
	}
}

func TestParseSmapsRollup(t *testing.T) {
	s, err := ParseSmapsRollup(open(t, "smaps_rollup-6.18"))
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		got  *int64
		want int64
	}{
		"Rss": {s.Rss, 1752 << 10}, "Pss": {s.Pss, 253 << 10}, "PssAnon": {s.PssAnon, 112 << 10},
		"PssFile": {s.PssFile, 141 << 10}, "PssShmem": {s.PssShmem, 0}, "Anonymous": {s.Anonymous, 112 << 10},
		"SharedClean": {s.SharedClean, 1600 << 10}, "Swap": {s.Swap, 0},
	} {
		if tc.got == nil || *tc.got != tc.want {
			t.Errorf("%s = %v, want %d", name, deref(tc.got), tc.want)
		}
	}
	if len(s.Fields) != 22 {
		t.Errorf("%d fields, want the 22 size lines", len(s.Fields))
	}
	// Before 5.7 there is no Pss_Anon: nil, not 0.
	old, _ := ParseSmapsRollup(strings.NewReader("00400000-ffffffffff601000 ---p 00000000 00:00 0  [rollup]\nRss: 8 kB\nPss: 4 kB\n"))
	if old.PssAnon != nil || *old.Pss != 4096 {
		t.Errorf("old kernel: %+v", old)
	}
}

func TestParseCgroupFile(t *testing.T) {
	c, err := ParseCgroupMembership(open(t, "cgroup-hybrid"))
	if err != nil {
		t.Fatal(err)
	}
	p, v, ok := c.MemoryPath()
	want := "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod3c1b6f52_9e0d_4a7b_8f21_5d4c3b2a1f00.slice/cri-containerd-2a4c6e8f0b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a.scope"
	if !ok || v != 1 || p != want || !c.HasUnified {
		t.Errorf("hybrid: %q v%d %v", p, v, ok)
	}
	u, err := ParseCgroupMembership(open(t, "cgroup-unified"))
	if p, v, ok := u.MemoryPath(); err != nil || !ok || v != 2 || !strings.HasPrefix(p, "/kubepods/burstable/pod22697648-") {
		t.Errorf("unified: %q v%d %v %v", p, v, ok, err)
	}
	if p, err := ParseCgroupFile(open(t, "cgroup-hybrid")); err != nil || p != want {
		t.Errorf("ParseCgroupFile(hybrid) = %q, %v", p, err)
	}
	if p, err := ParseCgroupFile(strings.NewReader("3:cpuset:/\n")); err == nil || p != "" {
		t.Errorf("no memory line: %q, %v", p, err)
	}
	// Controller lists, colons inside the path, garbage.
	m, err := ParseCgroupMembership(strings.NewReader("5:cpu,memory:/system.slice/containerd.service/kubepods-besteffort-pod1.slice:cri-containerd:abc\ngarbage\n"))
	if p, v, _ := m.MemoryPath(); v != 1 || p != "/system.slice/containerd.service/kubepods-besteffort-pod1.slice:cri-containerd:abc" {
		t.Errorf("colon path: %q v%d", p, v)
	}
	if err == nil || !strings.Contains(err.Error(), "line 2:") {
		t.Errorf("garbage line not reported: %v", err)
	}
	if _, _, ok := (&CgroupFile{}).MemoryPath(); ok {
		t.Error("empty file yields a memory path")
	}
}

func TestParseMountinfo(t *testing.T) {
	ms, err := ParseMountinfo(open(t, "mountinfo-k8s-hybrid"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 14 {
		t.Fatalf("%d mounts, want 14", len(ms))
	}
	m, v, ok := MemoryCgroupMount(ms)
	if !ok || v != 1 || m.MountPoint != "/sys/fs/cgroup/memory" {
		t.Errorf("memory mount %+v v%d", m, v)
	}
	var vols []string
	for _, m := range ms {
		uid, plugin, vol, ok := PodVolume(m.MountPoint)
		if !ok {
			continue
		}
		size, _ := m.TmpfsSize()
		vols = append(vols, uid[:8]+" "+plugin+" "+vol+" "+m.FSType+" "+strconv.FormatInt(size, 10))
	}
	want := []string{
		"3c1b6f52 kubernetes.io~empty-dir cache tmpfs 1073741824",
		"3c1b6f52 kubernetes.io~projected kube-api-access-x7q2n tmpfs 16106127360",
		"7e0c9a11 kubernetes.io~empty-dir my scratch tmpfs 25276026880",
	}
	if strings.Join(vols, "\n") != strings.Join(want, "\n") {
		t.Errorf("pod volumes:\n%s\nwant:\n%s", strings.Join(vols, "\n"), strings.Join(want, "\n"))
	}
	if _, ok := ms[4].TmpfsSize(); ok {
		t.Error("ext4 root has a tmpfs size")
	}

	u, err := ParseMountinfo(open(t, "mountinfo-k8s-unified"))
	if m, v, ok := MemoryCgroupMount(u); err != nil || !ok || v != 2 || m.MountPoint != "/sys/fs/cgroup" {
		t.Errorf("unified: %+v v%d %v", m, v, err)
	}
	bad, err := ParseMountinfo(strings.NewReader("1 2 3\n36 35 98:0 /a /b rw - ext4 /dev/x rw\n"))
	if len(bad) != 1 || err == nil || !strings.Contains(err.Error(), "node/mountinfo: line 1: malformed") {
		t.Errorf("got %v, %v", bad, err)
	}
}

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{`a\040b`: "a b", `\134`: `\`, `x\04`: `x\04`, `\011\012`: "\t\n", `plain`: "plain"} {
		if got := unescape(in); got != want {
			t.Errorf("unescape(%q) = %q, want %q", in, got, want)
		}
	}
}
