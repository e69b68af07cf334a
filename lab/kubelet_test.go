package lab

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memsnap/memsnap/internal/testcorpus"
	"github.com/memsnap/memsnap/lab/internal/labfs"
)

// The lab kubelet's summary on a v2 tree: working set = memory.current −
// inactive_file (no total_ prefix on v2), available = limit − working set.
// Runs against a fixture tree, so the v2 path is covered on v1 machines.
func TestKubeletSummaryV2(t *testing.T) {
	mount := t.TempDir()
	h := labfs.Hierarchy{Version: 2, Mount: mount, Self: "/lab.scope", Base: "/lab.scope"}
	pod := newPod("/lab.scope/"+labfs.Prefix+"x", "ns", "p", "burstable", 512<<20)
	c := pod.addContainer("app", 512<<20)
	stat, err := os.ReadFile(testcorpus.Path(t, "cgroup", "docker-v2-container-scope", "memory.stat"))
	if err != nil {
		t.Fatal(err)
	}
	current, err := os.ReadFile(testcorpus.Path(t, "cgroup", "docker-v2-container-scope", "memory.current"))
	if err != nil {
		t.Fatal(err)
	}
	for _, cg := range []string{pod.Cgroup, c.Cgroup} {
		dir := h.Dir(cg)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "memory.stat"), stat, 0o644)
		os.WriteFile(filepath.Join(dir, "memory.current"), current, 0o644)
	}
	st, err := labfs.ParseMemoryStat("memory.stat", strings.NewReader(string(stat)))
	if err != nil {
		t.Fatal(err)
	}
	usage, err := h.ReadInt(c.Cgroup, "memory.current")
	if err != nil {
		t.Fatal(err)
	}
	k := newKubelet(h, "node-1", labKubeletConfig())
	defer k.Close()
	k.setPods(pod)
	s := k.summary()
	if len(s.Pods) != 1 || len(s.Pods[0].Containers) != 1 {
		t.Fatalf("summary: %+v", s)
	}
	m := s.Pods[0].Containers[0].Memory
	wantWS := usage - st["inactive_file"]
	if m == nil || *m.UsageBytes != uint64(usage) || *m.WorkingSetBytes != uint64(wantWS) || *m.RSSBytes != uint64(st["anon"]) {
		t.Fatalf("container memory %+v, want usage %d working set %d anon %d", m, usage, wantWS, st["anon"])
	}
	if *m.AvailableBytes != uint64(512<<20-wantWS) {
		t.Errorf("available %d", *m.AvailableBytes)
	}
	pl := k.podList()
	if got := pl.Items[0].Status.ContainerStatuses[0].ContainerID; got != "containerd://"+c.ID {
		t.Errorf("containerID %s", got)
	}
	if lim := pl.Items[0].Spec.Containers[0].Resources.Limits.Memory().Value(); lim != 512<<20 {
		t.Errorf("limit %d", lim)
	}
}

func TestPodLayout(t *testing.T) {
	p := newPod("/a/"+labfs.Prefix+"x", "ns", "p", "burstable", -1)
	c := p.addContainer("app", -1)
	want := "/a/" + labfs.Prefix + "x/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + strings.ReplaceAll(p.UID, "-", "_") + ".slice"
	if p.Cgroup != want {
		t.Errorf("pod cgroup %s, want %s", p.Cgroup, want)
	}
	if c.Cgroup != want+"/cri-containerd-"+c.ID+".scope" || len(c.ID) != 64 {
		t.Errorf("container cgroup %s", c.Cgroup)
	}
	if len(p.UID) != 36 || p.UID[14] != '4' || !strings.ContainsRune("89ab", rune(p.UID[19])) {
		t.Errorf("UID %s is not a v4 UUID", p.UID)
	}
	old := c.ID
	c.newID(p)
	if c.ID == old {
		t.Error("restart kept the container ID")
	}
	if n, ok := meminfoTotal([]byte("MemTotal:       24683620 kB\nMemFree: 1 kB\n")); !ok || n != 24683620*1024 {
		t.Errorf("meminfoTotal = %d %v", n, ok)
	}
}
