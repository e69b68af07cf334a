package snapshot

import (
	"io"
	"sort"
	"strings"
	"testing"

	"github.com/memsnap/memsnap/bundle"
	"github.com/memsnap/memsnap/bundle/loose"
)

// looseView is a ticket directory: each file classified by its content as
// bundle.Open does.
type looseView struct {
	bundle.MapView
	files map[string]string
}

func (v looseView) Manifest() *bundle.Manifest { return nil }

func (v looseView) LooseFiles() []bundle.LooseFile {
	var out []bundle.LooseFile
	for name, text := range v.files {
		res := loose.Classify([]byte(text))
		out = append(out, bundle.LooseFile{Path: name, Kind: res.Kind, What: res.What, Reason: res.Reason})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

func (v looseView) OpenLoose(p string) (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader(v.files[p])), nil
}

const pastedDescribe = `Name:         shop-api-7d9c-x2x9k
Namespace:    shop
Node:         worker-3/10.0.0.3
Status:       Running
Containers:
  api:
    Container ID:   containerd://2bad4952cd819ae0599a5e5b7c9e5a877d7613a3355b7248ba4cde5111a15298
    Image:          shop/api:1.2
    State:          Running
      Started:      Mon, 06 Jan 2025 09:12:44 +0000
    Last State:     Terminated
      Reason:       OOMKilled
      Exit Code:    137
    Restart Count:  2
    Limits:
      memory:  1Gi
    Requests:
      memory:  1Gi
Volumes:
  scratch:
    Type:       EmptyDir (a temporary directory that shares a pod's lifetime)
    Medium:     Memory
    SizeLimit:  <unset>
QoS Class:       Burstable
`

// A v2 pod cgroup pasted from the node names its pod by UID; the container's
// paste from inside it has no pod in its path and is the pod's one app
// container. Both cite their own file; the pod known from describe only by
// name takes the UID of the path.
func TestPastedCgroups(t *testing.T) {
	podDir := "/sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidS + ".slice"
	node := "$ tail -n +1 " + podDir + "/memory.*\n" +
		"==> " + podDir + "/memory.current <==\n900000000\n\n" +
		"==> " + podDir + "/memory.max <==\n1073741824\n\n" +
		"==> " + podDir + "/memory.stat <==\nanon 100000000\nfile 790000000\nshmem 780000000\ninactive_file 5000000\nactive_file 785000000\n"
	inside := "==> /sys/fs/cgroup/memory.current <==\n110000000\n\n==> /sys/fs/cgroup/memory.max <==\n1073741824\n\n" +
		"==> /sys/fs/cgroup/memory.stat <==\nanon 99000000\nfile 9000000\nshmem 0\ninactive_file 4000000\nactive_file 5000000\n"
	v := looseView{MapView: bundle.MapView{}, files: map[string]string{"describe.txt": pastedDescribe, "node.txt": node, "inside.txt": inside}}
	s := Build(v, Options{Source: "ticket"})
	if len(s.Pods) != 1 {
		t.Fatalf("%d pods: %+v (problems %v)", len(s.Pods), s.Pods, s.Problems())
	}
	p := s.Pods[0]
	if p.UID != uid || p.Name != "shop-api-7d9c-x2x9k" || s.PodsByUID[uid] != p {
		t.Errorf("pod %s/%s uid %q", p.Namespace, p.Name, p.UID)
	}
	if !s.Has(DataCgroups) || !s.CgroupsPasted || s.Cgroups.Version != 2 {
		t.Fatalf("cgroups %v pasted %v", s.Has(DataCgroups), s.CgroupsPasted)
	}
	n := p.Cgroup
	if n == nil || n.Usage == nil || n.Usage.N != 900000000 || n.Usage.File != "node.txt" || n.Usage.Key != "memory.current" {
		t.Fatalf("pod cgroup %+v", n)
	}
	if n.Shmem == nil || n.Shmem.N != 780000000 || n.Shmem.File != "node.txt" {
		t.Errorf("pod shmem %+v", n.Shmem)
	}
	if len(p.Containers) != 1 || p.Containers[0].Name != "api" {
		t.Fatalf("containers %+v", p.Containers)
	}
	c := p.Containers[0].Cgroup
	if c == nil || c.Parent != n || c.Usage.N != 110000000 || c.Usage.File != "inside.txt" || c.WorkingSet.N != 110000000-4000000 {
		t.Errorf("container cgroup %+v under %+v", c, n)
	}
	if len(n.Children) != 1 {
		t.Errorf("pod children %d, want the pasted container only", len(n.Children))
	}
	if len(s.Problems()) != 0 {
		t.Errorf("problems %v", s.Problems())
	}
}

// A pod spec with two app containers and one pasted: the other is an empty
// child (usage unknown), so pod − Σ children is not taken for orphaned memory.
func TestPastedCgroupsUnpastedContainer(t *testing.T) {
	two := strings.Replace(pastedDescribe, "Volumes:", `  sidecar:
    Image:          envoy:1.30
    State:          Running
    Limits:
      memory:  128Mi
Volumes:`, 1)
	podDir := "/sys/fs/cgroup/memory/kubepods/burstable/pod" + uid
	node := "==> " + podDir + "/memory.usage_in_bytes <==\n900000000\n\n==> " + podDir + "/memory.stat <==\ntotal_rss 1\ntotal_cache 2\ntotal_shmem 0\n"
	inside := "==> /sys/fs/cgroup/memory/memory.usage_in_bytes <==\n110000000\n"
	s := Build(looseView{MapView: bundle.MapView{}, files: map[string]string{"d.txt": two, "node.txt": node, "inside.txt": inside}}, Options{})
	p := s.Pods[0]
	if p.Cgroup == nil {
		t.Fatalf("no pod cgroup; problems %v", s.Problems())
	}
	var unknown int
	for _, ch := range p.Cgroup.Children {
		if ch.Usage == nil {
			unknown++
		}
	}
	// The in-container paste cannot say which of two containers it is: both
	// children are of unknown usage.
	if len(p.Cgroup.Children) != 2 || unknown != 2 {
		t.Errorf("children %d (unknown usage %d), problems %v", len(p.Cgroup.Children), unknown, s.Problems())
	}
	if !hasProblem(s, "inside.txt: pasted container cgroup") {
		t.Errorf("no problem says inside.txt was not attributed: %v", s.Problems())
	}
}

// Two pods and a paste that names none: not used, and said so.
func TestPastedCgroupsAmbiguous(t *testing.T) {
	pods := pastedDescribe + "\n\n" + strings.Replace(pastedDescribe, "x2x9k", "q9vxz", 1)
	s := Build(looseView{MapView: bundle.MapView{}, files: map[string]string{"d.txt": pods, "stat.txt": "cache 1\nrss 2\nshmem 3\ntotal_rss 2\n"}}, Options{})
	if len(s.Pods) != 2 || s.Pods[0].Cgroup != nil || s.Pods[1].Cgroup != nil || s.Has(DataCgroups) {
		t.Errorf("%d pods, cgroups %v, has %v", len(s.Pods), s.Cgroups, s.Has(DataCgroups))
	}
	if !hasProblem(s, "stat.txt: pasted cgroup files not used") {
		t.Errorf("problems %v", s.Problems())
	}
	bad := Build(looseView{MapView: bundle.MapView{}, files: map[string]string{"p.txt": "==> memory.stat <==\ncache 1\nrss x\n"}}, Options{})
	if !hasProblem(bad, "p.txt") {
		t.Errorf("garbage in a paste: problems %v", bad.Problems())
	}
}

func hasProblem(s *Snapshot, sub string) bool {
	for _, p := range s.Problems() {
		if strings.Contains(p, sub) {
			return true
		}
	}
	return false
}
