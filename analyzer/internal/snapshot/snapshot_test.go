package snapshot

import (
	"fmt"
	"strings"
	"testing"

	"github.com/memsnap/memsnap/bundle"
)

type testInput struct {
	bundle.MapView
	m *bundle.Manifest
}

func (t testInput) Manifest() *bundle.Manifest { return t.m }

const (
	uid  = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	uidS = "0a1b2c3d_4e5f_4a6b_8c7d_9e0f1a2b3c4d"
	cid  = "2bad4952cd819ae0599a5e5b7c9e5a877d7613a3355b7248ba4cde5111a15298"
)

func v1files(view bundle.MapView, dir string, usage, limit string) {
	view["cgroup"+dir+"/memory.usage_in_bytes"] = []byte(usage + "\n")
	view["cgroup"+dir+"/memory.limit_in_bytes"] = []byte(limit + "\n")
	view["cgroup"+dir+"/memory.stat"] = []byte("cache 0\nrss " + usage + "\ntotal_cache 0\ntotal_rss " + usage + "\ntotal_inactive_file 0\ntotal_active_file 0\n")
}

// A kubepods tree nested below another prefix (a test's own cgroup, an LXC
// payload) is found, and its pods and containers are attributed; names come
// from logs/pods-index.tsv when there is no pods.json.
func TestNestedKubepodsAndPodsIndexNames(t *testing.T) {
	root := "/process_api/94f9f85820fcda9397d5d5858a7d06b2/memsnap-lab-1/kubepods.slice"
	pod := root + "/kubepods-burstable.slice/kubepods-burstable-pod" + uidS + ".slice"
	view := bundle.MapView{}
	v1files(view, "", "4000000000", "9223372036854771712")
	v1files(view, root, "300000000", "1073741824")
	v1files(view, pod, "200000000", "536870912")
	v1files(view, pod+"/cri-containerd-"+cid+".scope", "190000000", "536870912")
	view["logs/pods-index.tsv"] = []byte("shop\tapi-7d9c\t" + uid + "\tapi\t0\n")
	s := Build(testInput{MapView: view}, Options{Source: "/tmp/bundles/node-7.tar.gz"})
	if s.Kubepods == nil || s.Kubepods.Path != root {
		t.Fatalf("kubepods root = %v, want %s", s.Kubepods, root)
	}
	if len(s.Pods) != 1 {
		t.Fatalf("%d pods, want 1", len(s.Pods))
	}
	p := s.Pods[0]
	if p.UID != uid || p.Namespace != "shop" || p.Name != "api-7d9c" || p.QoS != "burstable" || p.Cgroup == nil {
		t.Errorf("pod = %+v", p)
	}
	if len(p.Containers) != 1 || p.Containers[0].ID != cid || p.Containers[0].Cgroup == nil {
		t.Errorf("containers = %+v", p.Containers)
	}
	if got := s.NodeMemory.KubepodsLimit; got == nil || got.Bytes != 1073741824 {
		t.Errorf("kubepods limit = %+v", got)
	}
	if s.NodeName != "node-7" {
		t.Errorf("node name = %q, want the bundle's file name without extension", s.NodeName)
	}
}

// Node allocatable is recomputed from meminfo and the kubelet's flags, the
// eviction threshold defaulting to kubelet's 100Mi.
func TestNodeAllocatableFromFlags(t *testing.T) {
	view := bundle.MapView{
		"node/meminfo":      []byte("MemTotal:       8388608 kB\nMemFree:        1048576 kB\n"),
		"kubelet/flags.txt": []byte("/usr/bin/kubelet\n--kube-reserved=cpu=100m,memory=512Mi\n--system-reserved=memory=256Mi\n--cgroup-driver=systemd\n"),
	}
	v1files(view, "", "4294967296", "9223372036854771712")
	v1files(view, "/kubepods.slice", "2147483648", "7784628224")
	s := Build(testInput{MapView: view, m: &bundle.Manifest{Node: bundle.NodeInfo{NodeName: "n1", Hostname: "h1"}}}, Options{})
	m := s.NodeMemory
	capacity := int64(8388608 * 1024)
	if m.Capacity == nil || m.Capacity.Bytes != capacity {
		t.Fatalf("capacity = %+v", m.Capacity)
	}
	wantExpected := capacity - 512<<20 - 256<<20
	if m.ExpectedKubepods == nil || m.ExpectedKubepods.Bytes != wantExpected {
		t.Errorf("expected kubepods = %+v, want %d", m.ExpectedKubepods, wantExpected)
	}
	if m.Allocatable == nil || m.Allocatable.Bytes != wantExpected-100<<20 {
		t.Errorf("allocatable = %+v, want %d", m.Allocatable, wantExpected-100<<20)
	}
	if m.KubeReserved == nil || m.KubeReserved.File != "kubelet/flags.txt" {
		t.Errorf("kube-reserved should cite kubelet/flags.txt: %+v", m.KubeReserved)
	}
	if m.Available == nil || m.Available.Bytes != capacity-4294967296 {
		t.Errorf("available = %+v", m.Available)
	}
	if s.NodeName != "n1" {
		t.Errorf("node name = %q, want the manifest's node_name", s.NodeName)
	}
}

// On cgroup v2 the root has no memory.current: usage is emulated from
// meminfo as runc does, and missing data stays missing.
func TestV2RootUsageFromMeminfo(t *testing.T) {
	view := bundle.MapView{
		"node/meminfo":                         []byte("MemTotal:       8388608 kB\nMemFree:        6291456 kB\n"),
		"cgroup/memory.stat":                   []byte("anon 1000\nfile 2000\ninactive_file 1048576\nactive_file 0\n"),
		"cgroup/kubepods.slice/memory.current": []byte("1000\n"),
		"cgroup/kubepods.slice/memory.max":     []byte("max\n"),
	}
	s := Build(testInput{MapView: view}, Options{Source: "x"})
	m := s.NodeMemory
	used := int64(8388608-6291456) * 1024
	if m.RootUsage == nil || m.RootUsage.Bytes != used {
		t.Fatalf("root usage = %+v, want %d", m.RootUsage, used)
	}
	if m.RootWorkingSet == nil || m.RootWorkingSet.Bytes != used-1048576 {
		t.Errorf("root working set = %+v", m.RootWorkingSet)
	}
	if m.KubepodsLimit == nil || m.KubepodsLimit.Note != "unlimited" {
		t.Errorf("kubepods limit = %+v, want unlimited", m.KubepodsLimit)
	}
	if m.Allocatable != nil || s.Has(DataKubeletConfig) {
		t.Errorf("allocatable computed without a kubelet configuration")
	}
}

// The Node object's allocatable is kept beside the recomputed one, cited
// to kube/node.json; a broken node.json is a problem, not a failure.
func TestAllocatableReportedFromNodeObject(t *testing.T) {
	view := bundle.MapView{
		"node/meminfo":   []byte("MemTotal:       8388608 kB\n"),
		"kube/node.json": []byte(`{"metadata":{"name":"n1"},"status":{"capacity":{"memory":"8Gi"},"allocatable":{"memory":"7000Mi"}}}`),
	}
	s := Build(testInput{MapView: view}, Options{})
	r := s.NodeMemory.AllocatableReport
	if r == nil || r.Bytes != 7000<<20 || r.File != "kube/node.json" || r.Key != "status.allocatable.memory" {
		t.Fatalf("allocatable reported = %+v", r)
	}
	view["kube/node.json"] = []byte(`{"status":{"allocatable":{"memory":"lots"}}}`)
	s = Build(testInput{MapView: view}, Options{})
	if s.NodeMemory.AllocatableReport != nil || len(s.Problems()) == 0 || !strings.Contains(fmt.Sprint(s.Problems()), "kube/node.json") {
		t.Errorf("broken node.json: allocatable %+v, problems %v", s.NodeMemory.AllocatableReport, s.Problems())
	}
}
