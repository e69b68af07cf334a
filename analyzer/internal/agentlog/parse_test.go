package agentlog

import (
	"os"
	"strings"
	"testing"
	"time"
)

func parseFile(t *testing.T, name string, opts Options) (*Log, []Problem) {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return Parse(f, opts)
}

func dur(s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestFSScanEras(t *testing.T) {
	in := strings.Join([]string{
		// google/cadvisor#2212 (directory hashes shortened there; full here)
		`I0328 13:41:29.716552       1 fsHandler.go:135] du and find on following dirs took 13.006500097s: [/rootfs/vdata/docker/overlay2/1259c2b0e1a5/diff /rootfs/vdata/docker/containers/d866a0c3f7e2]; will not log again for this container unless duration exceeds 5s`,
		// seed 004, the cAdvisor pod's log
		`I0328 13:42:01.000001       1 fsHandler.go:135] du and find on following dirs took 57.562700809s: [/rootfs/DATA/docker/overlay2/d8c002c4dc33c22129124e70bf7ca15fd312cd8867c040708d11d7d462ee58df/diff /rootfs/DATA/docker/containers/16eb9120ce2da24d867ee287c093ce7221f1d3ed39e69c3a8d128313a5dc0d63]; will not log again for this container unless duration exceeds 4s`,
		// ≥ v0.33 wording, as a CRI log line under /var/log/pods
		`2024-03-28T13:43:10.123456789Z stderr F I0328 13:43:10.123456       1 fsHandler.go:135] fs: disk usage and inodes count on following dirs took 2m3.5s: [/rootfs/var/lib/docker/overlay2/ab12/diff]; will not log again for this container unless duration exceeds 3s`,
		// v0.25–v0.27: no threshold
		`I0105 08:00:01.000001   12345 fsHandler.go:131] du and find on following dirs took 1.5s: [/var/lib/docker/aufs/diff/abc]`,
		// docker json-file record
		`{"log":"I0328 13:44:00.000001       1 fsHandler.go:135] du and find on following dirs took 9s: [/rootfs/x/diff]; will not log again for this container unless duration exceeds 10s\n","stream":"stderr","time":"2024-03-28T13:44:00.5Z"}`,
		`I0328 13:45:00.000001       1 fsHandler.go:135] du and find on following dirs took forever: [/a]`,
	}, "\n")
	log, probs := Parse(strings.NewReader(in), Options{Year: 2024})
	if len(probs) != 1 || probs[0].Line != 6 || !strings.Contains(probs[0].Msg, "duration") {
		t.Errorf("problems = %v", probs)
	}
	if len(log.FSScans) != 5 {
		t.Fatalf("FSScans = %d, want 5: %+v", len(log.FSScans), log.FSScans)
	}
	want := []struct {
		line      int
		d         time.Duration
		dirs      int
		threshold string
		era       string
		time      string
	}{
		{1, dur("13.006500097s"), 2, "5s", "v0.28-v0.32", "2024-03-28T13:41:29.716552Z"},
		{2, dur("57.562700809s"), 2, "4s", "v0.28-v0.32", "2024-03-28T13:42:01.000001Z"},
		{3, dur("2m3.5s"), 1, "3s", "v0.33+", "2024-03-28T13:43:10.123456789Z"},
		{4, dur("1.5s"), 1, "", "v0.25-v0.27", "2024-01-05T08:00:01.000001Z"},
		{5, dur("9s"), 1, "10s", "v0.28-v0.32", "2024-03-28T13:44:00.5Z"},
	}
	for i, w := range want {
		s := log.FSScans[i]
		th := ""
		if s.Threshold != nil {
			th = s.Threshold.String()
		}
		if s.Line != w.line || s.Duration != w.d || len(s.Dirs) != w.dirs || th != w.threshold || s.Era != w.era || s.Time.Format(time.RFC3339Nano) != w.time {
			t.Errorf("scan %d = %+v (threshold %q, time %s), want %+v", i, s, th, s.Time.Format(time.RFC3339Nano), w)
		}
	}
	if got := log.FSScans[1].Dirs[1]; got != "/rootfs/DATA/docker/containers/16eb9120ce2da24d867ee287c093ce7221f1d3ed39e69c3a8d128313a5dc0d63" {
		t.Errorf("seed 004 second dir = %q", got)
	}
	if !log.TimeZoneAssumed {
		t.Error("klog stamps read without saying the zone was assumed")
	}
}

func TestKubeletStructuredLog(t *testing.T) {
	ref := time.Date(2023, 11, 8, 9, 0, 0, 0, time.UTC)
	log, probs := parseFile(t, "kubelet-mixed.log", Options{Reference: ref})
	if len(probs) != 0 {
		t.Errorf("problems: %v", probs)
	}
	if log.Lines != 12 {
		t.Errorf("Lines = %d", log.Lines)
	}

	if len(log.NodeConfigs) != 1 {
		t.Fatalf("NodeConfigs = %+v", log.NodeConfigs)
	}
	nc := log.NodeConfigs[0]
	if nc.Form != "json" || nc.Truncated || nc.CgroupDriver != "systemd" || nc.CgroupRoot != "/" ||
		strings.Join(nc.EnforceNodeAllocatable, ",") != "pods" ||
		nc.KubeReservedMemory == nil || *nc.KubeReservedMemory != 1536<<20 ||
		nc.SystemReservedMemory == nil || *nc.SystemReservedMemory != 0 ||
		nc.HardEvictionMemory == nil || nc.HardEvictionMemory.Quantity != "100Mi" || *nc.HardEvictionMemory.Bytes != 100<<20 {
		t.Errorf("node config = %+v (hard %+v)", nc, nc.HardEvictionMemory)
	}
	if nc.Time != time.Date(2023, 11, 7, 18, 40, 1, 520682000, time.UTC) {
		t.Errorf("node config time = %v (the klog stamp, year from Reference)", nc.Time)
	}

	ev := log.Evictions
	if len(ev) != 4 {
		t.Fatalf("Evictions = %d: %+v", len(ev), ev)
	}
	if ev[0].Kind != EvictionReclaim || ev[0].Resource != "memory" || ev[0].Line != 4 {
		t.Errorf("reclaim = %+v", ev[0])
	}
	r := ev[1]
	if r.Kind != EvictionReason || r.Pod != "shop/web-7d4b9c8f6-x2k4p" || r.Resource != "memory" ||
		r.Threshold != "100Mi" || r.Available != "96128Ki" || *r.ThresholdBytes != 100<<20 || *r.AvailableBytes != 96128<<10 ||
		len(r.Containers) != 1 || r.Containers[0].Container != "app" || *r.Containers[0].UsageBytes != 27<<30 || *r.Containers[0].RequestBytes != 24<<30 ||
		!strings.HasPrefix(r.Message, "The node was low on resource: memory.") {
		t.Errorf("reason = %+v", r)
	}
	if ev[2].Kind != EvictionEvicted || ev[2].Pod != "shop/web-7d4b9c8f6-x2k4p" || ev[3].Kind != EvictionEvicted || len(ev[3].Pods) != 1 {
		t.Errorf("evicted = %+v / %+v", ev[2], ev[3])
	}

	if len(log.OOMs) != 2 {
		t.Fatalf("OOMs = %+v (the repeated OOMKilled status must count once)", log.OOMs)
	}
	sys, ctr := log.OOMs[0], log.OOMs[1]
	if sys.Kind != "system" || sys.Process != "stress-ng-vm" || sys.PID == nil || *sys.PID != 3103923 {
		t.Errorf("system OOM = %+v", sys)
	}
	if ctr.Kind != "container" || ctr.Pod != "shop/cache-0" || ctr.Container != "redis" || ctr.Line != 10 {
		t.Errorf("container OOM = %+v", ctr)
	}

	if len(log.Allocatable) != 2 || !log.Allocatable[0].OK || log.Allocatable[1].OK ||
		!strings.Contains(log.Allocatable[1].Error, "device or resource busy") || !strings.HasPrefix(log.Allocatable[1].Error, `["kubepods"]`) {
		t.Errorf("allocatable = %+v", log.Allocatable)
	}
}

func TestKubeletKlog115(t *testing.T) {
	log, probs := parseFile(t, "kubelet-1.15.log", Options{Year: 2020})
	if len(probs) != 0 {
		t.Errorf("problems: %v", probs)
	}
	if len(log.NodeConfigs) != 1 {
		t.Fatalf("NodeConfigs = %+v", log.NodeConfigs)
	}
	nc := log.NodeConfigs[0]
	// KubeReserved memory printed without s: 15 × 10^8 bytes.
	if nc.Form != "klog" || nc.Truncated || nc.CgroupDriver != "cgroupfs" || strings.Join(nc.EnforceNodeAllocatable, ",") != "pods" ||
		nc.KubeReservedMemory == nil || *nc.KubeReservedMemory != 1_500_000_000 ||
		nc.SystemReservedMemory == nil || *nc.SystemReservedMemory != 1<<30 ||
		nc.HardEvictionMemory == nil || nc.HardEvictionMemory.Bytes != nil || nc.HardEvictionMemory.Percentage != 0.05 {
		t.Errorf("node config = %+v (hard %+v)", nc, nc.HardEvictionMemory)
	}
	ev := log.Evictions
	if len(ev) != 4 {
		t.Fatalf("Evictions = %+v", ev)
	}
	if ev[0].Kind != EvictionReclaim || ev[0].Resource != "memory" {
		t.Errorf("reclaim = %+v", ev[0])
	}
	if ev[1].Kind != EvictionEvicted || ev[1].Pod != "shop/web-7d4b9c8f6-x2k4p" {
		t.Errorf("evicted = %+v", ev[1])
	}
	if ev[2].Kind != EvictionEvicted || strings.Join(ev[2].Pods, " ") != "shop/web-7d4b9c8f6-x2k4p shop/cache-0" || ev[2].Pod != "" {
		t.Errorf("pods evicted = %+v", ev[2])
	}
	r := ev[3]
	if r.Kind != EvictionReason || r.Pod != "shop/web-7d4b9c8f6-x2k4p" || r.Threshold != "1.5Gi" || *r.ThresholdBytes != 1536<<20 ||
		r.Available != "1228800Ki" || len(r.Containers) != 2 || r.Containers[1].Container != "sidecar" || *r.Containers[1].RequestBytes != 0 {
		t.Errorf("reason = %+v", r)
	}
	if len(log.OOMs) != 1 || log.OOMs[0].Kind != "system" || log.OOMs[0].Process != "" || log.OOMs[0].PID != nil {
		t.Errorf("OOMs = %+v", log.OOMs)
	}
	if got := log.Evictions[0].Time; got != time.Date(2020, 3, 30, 4, 10, 0, 1000, time.UTC) {
		t.Errorf("time = %v", got)
	}
}

func TestNodeConfigCutByJournal(t *testing.T) {
	// journalctl cuts lines at the terminal width with ">" (seen in public
	// excerpts of kubelet ≥ 1.21 logs).
	in := `Sep 11 10:57:09 ip-172-31-63-152 kubelet[9919]: I0911 10:57:09.520682    9919 container_manager_linux.go:270] "Creating Container Manager object based on Node Config" nodeConfig={"RuntimeCgroupsName":"","SystemCgroupsName":"","KubeletCgr>`
	log, probs := Parse(strings.NewReader(in), Options{})
	if len(probs) != 0 || len(log.NodeConfigs) != 1 {
		t.Fatalf("%+v %v", log.NodeConfigs, probs)
	}
	nc := log.NodeConfigs[0]
	if !nc.Truncated || nc.KubeReservedMemory != nil || nc.HardEvictionMemory != nil || nc.EnforceNodeAllocatable != nil || !nc.Time.IsZero() {
		t.Errorf("cut config = %+v", nc)
	}
}

func TestYearRollover(t *testing.T) {
	in := "Dec 31 23:59:59 n kubelet[1]: I1231 23:59:59.000000 1 eviction_manager.go:339] eviction manager: attempting to reclaim memory\n" +
		"Jan 01 00:00:05 n kubelet[1]: I0101 00:00:05.000000 1 eviction_manager.go:339] eviction manager: attempting to reclaim memory\n"
	log, _ := Parse(strings.NewReader(in), Options{Reference: time.Date(2024, 1, 1, 8, 0, 0, 0, time.UTC)})
	if len(log.Evictions) != 2 || log.Evictions[0].Time.Year() != 2023 || log.Evictions[1].Time.Year() != 2024 {
		t.Errorf("evictions = %+v", log.Evictions)
	}
}

func TestLongLinesAndGarbage(t *testing.T) {
	var b strings.Builder
	b.WriteString("I0328 13:41:29.716552 1 fsHandler.go:135] du and find on following dirs took 2s: [/a]\n")
	b.WriteString("\x00\xff garbage eviction manager: \xfe\n")
	b.WriteString(strings.Repeat("x", 3*MaxLineBytes) + "\n")
	b.WriteString("I0328 13:41:30.716552 1 fsHandler.go:135] du and find on following dirs took 3s: [/b]")
	log, probs := Parse(strings.NewReader(b.String()), Options{Year: 2024})
	if len(log.FSScans) != 2 || log.FSScans[1].Line != 4 || log.Lines != 4 {
		t.Errorf("scans = %+v, lines %d", log.FSScans, log.Lines)
	}
	if len(probs) != 1 || probs[0].Line != 3 {
		t.Errorf("problems = %v", probs)
	}
}
