package kube

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func i64(v int64) *int64 { return &v }

func eqPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func show[T any](p *T) any {
	if p == nil {
		return "nil"
	}
	return *p
}

func TestParsePods(t *testing.T) {
	pl, err := ParsePods(bytes.NewReader(readTestdata(t, "pods.json")))
	if err != nil {
		t.Fatal(err)
	}
	if len(pl.Pods) != 4 {
		t.Fatalf("got %d pods, want 4", len(pl.Pods))
	}
	for _, tc := range []struct {
		uid, name, qos, phase, reason string
		limit, request                *int64
		containers                    int
	}{
		// Guaranteed (computed): the 1Gi init container outweighs the
		// sidecar + app containers (128+256+64 Mi), so the pod needs 1Gi.
		{"22697648-cc63-47d6-ba97-fe420988dfc1", "web-0", "Guaranteed", "Running", "", i64(1 << 30), i64(1 << 30), 4},
		// worker has no limit → the pod cgroup is unlimited.
		{"55c6c714-b240-4dec-9a45-57b61696ab6e", "batch-x", "Burstable", "Failed", "Evicted", nil, i64(150 << 20), 2},
		{"8daa50c3a64c9ff60bb9eab7b44b56fd", "etcd-node-a", "BestEffort", "Pending", "", nil, nil, 1},
		// 10Mi pod overhead is part of the pod cgroup's limit.
		{"2ca4a155-0000-4000-8000-000000000001", "burst", "Burstable", "Running", "", i64(210 << 20), i64(110 << 20), 1},
	} {
		p, ok := pl.UIDIndex()[tc.uid]
		if !ok {
			t.Errorf("pod %s missing from UIDIndex", tc.uid)
			continue
		}
		if p.Name != tc.name || p.QoS != tc.qos || p.Phase != tc.phase || p.Reason != tc.reason || p.NodeName != "node-a" {
			t.Errorf("%s: got name %q qos %q phase %q reason %q node %q", tc.name, p.Name, p.QoS, p.Phase, p.Reason, p.NodeName)
		}
		if !eqPtr(p.MemoryLimit, tc.limit) || !eqPtr(p.MemoryRequest, tc.request) {
			t.Errorf("%s: limit %v request %v, want %v %v", tc.name, show(p.MemoryLimit), show(p.MemoryRequest), show(tc.limit), show(tc.request))
		}
		if len(p.Containers) != tc.containers {
			t.Errorf("%s: %d containers, want %d", tc.name, len(p.Containers), tc.containers)
		}
	}

	web := &pl.Pods[0]
	app := web.Containers[2]
	if app.Name != "app" || app.Init || app.Runtime != "containerd" ||
		app.ID != "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" ||
		app.RestartCount != 3 || app.State != "running" || !app.Ready ||
		app.LastTerminationReason != "OOMKilled" || !eqPtr(app.LastExitCode, ptr(int32(137))) ||
		!app.LastFinishedAt.Equal(time.Date(2024, 5, 1, 11, 59, 58, 0, time.UTC)) ||
		!eqPtr(app.MemoryLimit, i64(256<<20)) {
		t.Errorf("app container = %+v", app)
	}
	if m := web.Containers[0]; m.Name != "migrate" || !m.Init || m.State != "terminated" || m.LastTerminationReason != "Completed" {
		t.Errorf("init container = %+v", m)
	}
	wantVols := []Volume{{"cache", true, "Memory", i64(512 << 20)}, {"scratch", true, "", nil}, {"config", false, "", nil}}
	for i, w := range wantVols {
		v := web.Volumes[i]
		if v.Name != w.Name || v.EmptyDir != w.EmptyDir || v.Medium != w.Medium || !eqPtr(v.SizeLimit, w.SizeLimit) {
			t.Errorf("volume %d = %+v, want %+v", i, v, w)
		}
	}

	batch := &pl.Pods[1]
	if !strings.HasPrefix(batch.Message, "The node was low on resource: memory.") {
		t.Errorf("evicted message = %q", batch.Message)
	}
	if w := batch.Containers[0]; w.Runtime != "cri-o" || w.MemoryLimit != nil || !eqPtr(w.MemoryRequest, i64(100<<20)) {
		t.Errorf("worker = %+v", w)
	}
	if s := batch.Containers[1]; s.ID != "" || s.State != "" || s.LastExitCode != nil {
		t.Errorf("container without status = %+v", s)
	}
	if e := pl.Pods[2].Containers[0]; e.State != "waiting" || e.StateReason != "CrashLoopBackOff" || e.RestartCount != 7 {
		t.Errorf("etcd = %+v", e)
	}

	// Lookup by container ID, as a cgroup name spells it or with prefix.
	for _, id := range []string{
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"containerd://0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
	} {
		p, c, ok := pl.ContainerByID(id)
		if !ok || p.Name != "web-0" || c.Name != "app" {
			t.Errorf("ContainerByID(%q) = %v %v %v", id, p, c, ok)
		}
	}
	if _, _, ok := pl.ContainerByID(""); ok {
		t.Error("ContainerByID(\"\") found a container")
	}
	if p, ok := pl.PodByUID("55c6c714_b240_4dec_9a45_57b61696ab6e"); !ok || p.Name != "batch-x" {
		t.Errorf("PodByUID(systemd spelling) = %v %v", p, ok)
	}
}

func TestComputeQoSDefaultsWhenStatusLacksIt(t *testing.T) {
	const pod = `{"items":[
	 {"metadata":{"uid":"a"},"spec":{"containers":[{"name":"x"}]}},
	 {"metadata":{"uid":"b"},"spec":{"containers":[{"name":"x","resources":{"limits":{"memory":"1Gi"},"requests":{"memory":"1Gi"}}}]}},
	 {"metadata":{"uid":"c"},"spec":{"containers":[{"name":"x","resources":{"limits":{"memory":"1Gi","cpu":"1"},"requests":{"memory":"1Gi","cpu":"1"}}}]}},
	 {"metadata":{"uid":"d"},"spec":{"containers":[{"name":"x","resources":{"limits":{"memory":"0"},"requests":{"cpu":"0"}}}]}},
	 {"metadata":{"uid":"e"},"spec":{"resources":{"limits":{"memory":"1Gi","cpu":"2"},"requests":{"memory":"1Gi","cpu":"2"}},"containers":[{"name":"x"}]}}
	]}`
	pl, err := ParsePods(strings.NewReader(pod))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": "BestEffort", "b": "Burstable", "c": "Guaranteed", "d": "BestEffort", "e": "Guaranteed"}
	for uid, q := range want {
		if got := pl.UIDIndex()[uid].QoS; got != q {
			t.Errorf("pod %s: QoS %q, want %q", uid, got, q)
		}
	}
	if l := pl.UIDIndex()["e"].MemoryLimit; !eqPtr(l, i64(1<<30)) {
		t.Errorf("pod-level limit = %v", show(l))
	}
}

func TestParsePodsErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"syntax", "{\"items\": [\n{\"metadata\": }]}", "kubelet/pods.json: invalid JSON at byte 26 (line 2)"},
		{"type", `{"items": [{"status": {"phase": 3}}]}`, `kubelet/pods.json: unexpected number for field "items.status.phase" at byte`},
		{"quantity", `{"items": [{"spec": {"containers": [{"resources": {"limits": {"memory": "lots"}}}]}}]}`, "kubelet/pods.json: "},
		{"empty", "  \n", "kubelet/pods.json: empty file"},
		{"truncated", `{"items": [{"metadata": {"name": "x"`, "kubelet/pods.json: invalid JSON"},
	} {
		_, err := ParsePods(strings.NewReader(tc.in))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want prefix %q", tc.name, err, tc.want)
		}
	}
}

// JSON nested 100,000 levels deep (DESIGN §6) must fail cleanly, not blow
// the stack: encoding/json stops at 10,000 levels with a syntax error.
func TestDeeplyNestedJSON(t *testing.T) {
	deep := `{"items": [{"metadata": {"annotations": {}}, "x": ` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}]}`
	_, err := ParsePods(strings.NewReader(deep))
	if err == nil || !strings.Contains(err.Error(), "kubelet/pods.json: invalid JSON at byte") || !strings.Contains(err.Error(), "exceeded max depth") {
		t.Fatalf("error = %v", err)
	}
	_, err = ParseSummary(strings.NewReader(strings.Repeat(`{"a":`, 100000)))
	if err == nil || !strings.Contains(err.Error(), "kubelet/summary.json: invalid JSON") {
		t.Fatalf("summary error = %v", err)
	}
}

func TestDecodeJSONLimit(t *testing.T) {
	var v map[string]any
	err := DecodeJSON(strings.NewReader(`{"a": "`+strings.Repeat("x", 100)+`"}`), "kubelet/pods.json", 64, &v)
	if err == nil || !strings.Contains(err.Error(), "kubelet/pods.json: larger than 64 bytes") {
		t.Fatalf("error = %v", err)
	}
}

func TestParsePodsIndex(t *testing.T) {
	in := "shop\tweb-0\t22697648-cc63-47d6-ba97-fe420988dfc1\tapp\t3\n" +
		"kube-system\tetcd-node-a\t8daa50c3a64c9ff60bb9eab7b44b56fd\tetcd\t0\n" +
		"shop\tweb-0\t22697648-cc63-47d6-ba97-fe420988dfc1\tapp\tx\n" +
		"short\tline\n" +
		`"we\tird"` + "\tpod\tuid\tc\t1\n" +
		"shop\tweb-0\t22697648-cc63-47d6-ba97-fe420988dfc1\tapp\t4\t2BAD4952cd819ae0599a5e5b7c9e5a877d7613a3355b7248ba4cde5111a15298\n"
	entries, problems := ParsePodsIndex(strings.NewReader(in))
	want := []PodLogEntry{
		{"shop", "web-0", "22697648-cc63-47d6-ba97-fe420988dfc1", "app", 3, "", 1},
		{"kube-system", "etcd-node-a", "8daa50c3a64c9ff60bb9eab7b44b56fd", "etcd", 0, "", 2},
		{"we\tird", "pod", "uid", "c", 1, "", 5},
		{"shop", "web-0", "22697648-cc63-47d6-ba97-fe420988dfc1", "app", 4, "2bad4952cd819ae0599a5e5b7c9e5a877d7613a3355b7248ba4cde5111a15298", 6},
	}
	if len(entries) != len(want) {
		t.Fatalf("entries = %+v", entries)
	}
	for i := range want {
		if entries[i] != want[i] {
			t.Errorf("entry %d = %+v, want %+v", i, entries[i], want[i])
		}
	}
	if len(problems) != 2 || problems[0].Line != 3 || problems[1].Line != 4 ||
		!strings.HasPrefix(problems[0].Error(), "logs/pods-index.tsv:3: restart number") {
		t.Errorf("problems = %v", problems)
	}
}

func TestParseNode(t *testing.T) {
	n, err := ParseNode(bytes.NewReader(readTestdata(t, "node.json")))
	if err != nil {
		t.Fatal(err)
	}
	if n.Name != "node-a" || !eqPtr(n.CapacityMemory, i64(32883856*1024)) || !eqPtr(n.AllocatableMemory, i64(29213840*1024)) ||
		n.KubeletVersion != "v1.20.11" || n.Hugepages["hugepages-2Mi"] != 1<<30 || n.Runtime != "containerd://1.5.9" {
		t.Errorf("node = %+v", n)
	}
	c, ok := n.Condition("MemoryPressure")
	if !ok || c.Status != "True" || c.Reason != "KubeletHasInsufficientMemory" || c.LastTransition.IsZero() {
		t.Errorf("MemoryPressure = %+v %v", c, ok)
	}
	n2, err := ParseNode(strings.NewReader(`{"metadata":{"name":"bare"}}`))
	if err != nil || n2.CapacityMemory != nil || n2.AllocatableMemory != nil {
		t.Errorf("bare node = %+v, %v", n2, err)
	}
}

func TestParsePodsHugeExponentQuantity(t *testing.T) {
	in := `{"kind":"PodList","items":[{"metadata":{"name":"p","namespace":"n","uid":"u"},"spec":{"containers":[{"name":"c","resources":{"limits":{"memory":"1e-1000000000"}}}]}}]}`
	_, err := ParsePods(strings.NewReader(in))
	if err == nil || !strings.Contains(err.Error(), "exponent") {
		t.Fatalf("err = %v, want a refusal naming the exponent", err)
	}
}
