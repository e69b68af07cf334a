package kube

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/memsnap/memsnap/internal/testcorpus"
)

func openCorpus(t testing.TB, name string) *os.File {
	t.Helper()
	f, err := os.Open(testcorpus.Path(t, "kubectl", name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// The two real describe outputs of OOMKilled pods (corpus/kubectl, see
// SOURCES.md): every memory fact a rule reads must come out.
func TestParseDescribePodCorpus(t *testing.T) {
	for _, tc := range []struct {
		file, ns, name, uid, node, container, image, id, owner string
		limit, request                                         int64
		restarts                                               int32
		finished                                               time.Time
	}{
		{"describe-pod-oomkilled-kind-busybox-tail-dev-zero-50Mi.txt", "app-02", "giant-narwhal-6958c5bdd8-69gtn",
			"8209d63f-aa89-450d-9813-d555ddcaa175", "robusta-demo-prod-double-node-worker", "main", "busybox:1.35",
			"58906e3ca1cef97c0089e986a5fc245f078db6bde15445d403592fd7dced2962", "",
			50 << 20, 50 << 20, 16, time.Date(2025, 8, 12, 4, 42, 7, 0, time.UTC)},
		{"describe-pod-oomkilled-kind-memory-eater-100Mi.txt", "default", "analytics-exporter-fast-76897854c-cw5wh",
			"a954616f-1e09-4496-be7b-9d5322d99875", "grafana-cloud-control-plane", "memory-eater",
			"us-central1-docker.pkg.dev/genuine-flight-317411/devel/memory-eater:1.0",
			"0ca62d24c10ebbe7b13c9ca1a2c9a0b00fba4bfff06ec37042e6245e203c1f66", "Deployment/analytics-exporter-fast",
			100 << 20, 100 << 20, 6, time.Date(2025, 2, 27, 6, 36, 22, 0, time.UTC)},
	} {
		t.Run(tc.file, func(t *testing.T) {
			pl, err := ParseDescribePods(openCorpus(t, tc.file), tc.file)
			if err != nil {
				t.Fatal(err)
			}
			if len(pl.Pods) != 1 {
				t.Fatalf("%d pods, want 1", len(pl.Pods))
			}
			p := pl.Pods[0]
			if p.Namespace != tc.ns || p.Name != tc.name || p.UID != tc.uid || p.NodeName != tc.node {
				t.Errorf("pod %s/%s uid %q node %q, want %s/%s %q %q", p.Namespace, p.Name, p.UID, p.NodeName, tc.ns, tc.name, tc.uid, tc.node)
			}
			if p.QoS != "Burstable" || p.Phase != "Running" {
				t.Errorf("QoS %q phase %q, want Burstable Running", p.QoS, p.Phase)
			}
			if got := p.OwnerKind + "/" + p.Owner; tc.owner != "" && got != tc.owner || tc.owner == "" && p.Owner != "" {
				t.Errorf("owner %q, want %q", got, tc.owner)
			}
			if !eqPtr(p.MemoryLimit, i64(tc.limit)) || !eqPtr(p.MemoryRequest, i64(tc.request)) {
				t.Errorf("pod limit %v request %v, want %d %d", show(p.MemoryLimit), show(p.MemoryRequest), tc.limit, tc.request)
			}
			if len(p.Containers) != 1 {
				t.Fatalf("%d containers, want 1", len(p.Containers))
			}
			c := p.Containers[0]
			if c.Name != tc.container || c.ID != tc.id || c.Runtime != "containerd" {
				t.Errorf("container %q id %q runtime %q", c.Name, c.ID, c.Runtime)
			}
			if !eqPtr(c.MemoryLimit, i64(tc.limit)) || !eqPtr(c.MemoryRequest, i64(tc.request)) {
				t.Errorf("container limit %v request %v", show(c.MemoryLimit), show(c.MemoryRequest))
			}
			if c.State != "waiting" || c.StateReason != "CrashLoopBackOff" || c.Ready {
				t.Errorf("state %q %q ready %v, want waiting CrashLoopBackOff false", c.State, c.StateReason, c.Ready)
			}
			if c.LastTerminationReason != "OOMKilled" || !eqPtr(c.LastExitCode, ptr(int32(137))) || c.RestartCount != tc.restarts {
				t.Errorf("last %q exit %v restarts %d, want OOMKilled 137 %d", c.LastTerminationReason, show(c.LastExitCode), c.RestartCount, tc.restarts)
			}
			if !c.LastFinishedAt.Equal(tc.finished) {
				t.Errorf("finished %v, want %v", c.LastFinishedAt, tc.finished)
			}
			if len(p.Volumes) != 1 || p.Volumes[0].EmptyDir {
				t.Errorf("volumes %+v, want the projected service account token only", p.Volumes)
			}
			if _, _, ok := pl.ContainerByID(tc.id); !ok {
				t.Error("ContainerByID does not find the container")
			}
		})
	}
}

// describeTmpfsPod is written after kubectl's layout (describe.go): a pod
// with an init container, a Running app container whose last attempt was
// OOMKilled, a memory-backed emptyDir with a sizeLimit and one without, and
// no event naming its UID.
const describeTmpfsPod = `Name:             trade-prod-6d8f9c7b4-zj67p
Namespace:        trade
Priority:         0
Node:             cn-beijing.192.168.0.237/192.168.0.237
Labels:           app=trade-prod
                  pod-template-hash=6d8f9c7b4
Status:           Running
Controlled By:    ReplicaSet/trade-prod-6d8f9c7b4
Init Containers:
  init-config:
    Container ID:  docker://1111111111111111111111111111111111111111111111111111111111111111
    Image:         busybox:1.36
    State:         Terminated
      Reason:      Completed
      Exit Code:   0
      Started:     Mon, 06 Jan 2025 08:00:01 +0000
      Finished:    Mon, 06 Jan 2025 08:00:02 +0000
    Ready:         True
    Restart Count: 0
    Limits:
      memory:  64Mi
Containers:
  trade-prod:
    Container ID:   docker://2222222222222222222222222222222222222222222222222222222222222222
    Image:          registry.example/trade:3.4.1
    State:          Running
      Started:      Mon, 06 Jan 2025 09:12:44 +0000
    Last State:     Terminated
      Reason:       OOMKilled
      Exit Code:    137
      Started:      Mon, 06 Jan 2025 08:40:10 +0000
      Finished:     Mon, 06 Jan 2025 09:12:41 +0000
    Ready:          True
    Restart Count:  3
    Limits:
      cpu:     4
      memory:  16Gi
    Requests:
      cpu:     2
      memory:  8Gi
Volumes:
  cache-volume:
    Type:       EmptyDir (a temporary directory that shares a pod's lifetime)
    Medium:     Memory
    SizeLimit:  <unset>
  scratch:
    Type:       EmptyDir (a temporary directory that shares a pod's lifetime)
    Medium:     Memory
    SizeLimit:  2Gi
  logs:
    Type:       EmptyDir (a temporary directory that shares a pod's lifetime)
    Medium:     
    SizeLimit:  <unset>
QoS Class:       Burstable
Events:          <none>
`

func TestParseDescribePodWritten(t *testing.T) {
	pl, err := ParseDescribePods(strings.NewReader(describeTmpfsPod), "describe.txt")
	if err != nil {
		t.Fatal(err)
	}
	p := pl.Pods[0]
	if p.UID != "" || p.Namespace != "trade" || p.NodeName != "cn-beijing.192.168.0.237" {
		t.Errorf("uid %q ns %q node %q", p.UID, p.Namespace, p.NodeName)
	}
	if p.OwnerKind != "Deployment" || p.Owner != "trade-prod" {
		t.Errorf("owner %s/%s, want Deployment/trade-prod (ReplicaSet name minus pod-template-hash)", p.OwnerKind, p.Owner)
	}
	// The init container runs alone: the pod limit is the app's 16Gi.
	if !eqPtr(p.MemoryLimit, i64(16<<30)) || !eqPtr(p.MemoryRequest, i64(8<<30)) {
		t.Errorf("pod limit %v request %v", show(p.MemoryLimit), show(p.MemoryRequest))
	}
	if len(p.Containers) != 2 || !p.Containers[0].Init || p.Containers[0].Name != "init-config" {
		t.Fatalf("containers %+v", p.Containers)
	}
	app := p.Containers[1]
	if app.State != "running" || app.LastTerminationReason != "OOMKilled" || app.RestartCount != 3 || app.Runtime != "docker" {
		t.Errorf("app %+v", app)
	}
	want := []Volume{{Name: "cache-volume", EmptyDir: true, Medium: "Memory"},
		{Name: "scratch", EmptyDir: true, Medium: "Memory", SizeLimit: i64(2 << 30)},
		{Name: "logs", EmptyDir: true}}
	if len(p.Volumes) != len(want) {
		t.Fatalf("volumes %+v", p.Volumes)
	}
	for i, w := range want {
		g := p.Volumes[i]
		if g.Name != w.Name || g.EmptyDir != w.EmptyDir || g.Medium != w.Medium || !eqPtr(g.SizeLimit, w.SizeLimit) {
			t.Errorf("volume %d = %+v (size %v), want %+v (size %v)", i, g, show(g.SizeLimit), w, show(w.SizeLimit))
		}
	}
}

// A paste quoted in a mail reply, after a shell prompt, with CRLF, holding
// two pods (kubectl describe pods prints one after the other), reads the same.
func TestParseDescribePodQuotedSeveral(t *testing.T) {
	text := "$ kubectl describe pods -n trade\n" + describeTmpfsPod + "\n\n" +
		strings.Replace(describeTmpfsPod, "zj67p", "q9vxz", 1)
	var b strings.Builder
	b.WriteString("On Monday the customer wrote:\r\n")
	for l := range strings.SplitSeq(text, "\n") {
		b.WriteString("> >  " + l + "\r\n")
	}
	pl, err := ParseDescribePods(strings.NewReader(b.String()), "mail.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(pl.Pods) != 2 || pl.Pods[1].Name != "trade-prod-6d8f9c7b4-q9vxz" {
		t.Fatalf("pods %+v", pl.Pods)
	}
	for _, p := range pl.Pods {
		if len(p.Volumes) != 3 || p.Volumes[0].Medium != "Memory" || !eqPtr(p.MemoryLimit, i64(16<<30)) {
			t.Errorf("%s: volumes %+v limit %v", p.Name, p.Volumes, show(p.MemoryLimit))
		}
	}
}

func TestParseDescribePodErrors(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"no pod", "hello\nworld\n", `describe.txt: no "Name:" line`},
		{"bad quantity", strings.Replace(describeTmpfsPod, "memory:  16Gi", "memory:  lots", 1), "describe.txt: line 37: Limits memory"},
		{"huge exponent", strings.Replace(describeTmpfsPod, "memory:  16Gi", "memory:  1e99999999", 1), "describe.txt: line 37: Limits memory"},
		{"bad restart count", strings.Replace(describeTmpfsPod, "Restart Count:  3", "Restart Count:  x", 1), "describe.txt: line 34: Restart Count"},
		{"bad time", strings.Replace(describeTmpfsPod, "Finished:     Mon, 06 Jan 2025 09:12:41 +0000", "Finished:     yesterday", 1), "describe.txt: line 32: Finished"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseDescribePods(strings.NewReader(tc.text), "describe.txt")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestParseDescribeNodeCorpus(t *testing.T) {
	for _, tc := range []struct {
		file, name, kubelet, kernel string
		capacity, allocatable       int64
	}{
		{"describe-node-charmed-k8s-1.23-openstack.txt", "juju-110cc2-k8stest-5", "v1.23.3", "5.4.0-99-generic", 4026036 << 10, 3923636 << 10},
		{"describe-node-eks-1.30-t3.medium-mem-limits-163pct.txt", "ip-172-31-40-111.us-east-2.compute.internal", "v1.30.4-eks-a737599",
			"5.10.225-213.878.amzn2.x86_64", 3943312 << 10, 3388304 << 10},
	} {
		t.Run(tc.file, func(t *testing.T) {
			n, err := ParseDescribeNode(openCorpus(t, tc.file), tc.file)
			if err != nil {
				t.Fatal(err)
			}
			if n.Name != tc.name || n.KubeletVersion != tc.kubelet || n.KernelVersion != tc.kernel {
				t.Errorf("node %q kubelet %q kernel %q", n.Name, n.KubeletVersion, n.KernelVersion)
			}
			if !eqPtr(n.CapacityMemory, i64(tc.capacity)) || !eqPtr(n.AllocatableMemory, i64(tc.allocatable)) {
				t.Errorf("capacity %v allocatable %v, want %d %d", show(n.CapacityMemory), show(n.AllocatableMemory), tc.capacity, tc.allocatable)
			}
			if len(n.Conditions) != 4 {
				t.Fatalf("conditions %+v", n.Conditions)
			}
			mp, ok := n.Condition("MemoryPressure")
			if !ok || mp.Status != "False" || mp.Reason != "KubeletHasSufficientMemory" || mp.Message != "kubelet has sufficient memory available" {
				t.Errorf("MemoryPressure %+v", mp)
			}
			if h, ok := n.Hugepages["hugepages-2Mi"]; !ok || h != 0 {
				t.Errorf("hugepages %v", n.Hugepages)
			}
		})
	}
}

// A node under memory pressure, written after the corpus layout.
func TestParseDescribeNodePressure(t *testing.T) {
	text := `Name:               worker-3
Roles:              <none>
Conditions:
  Type             Status  LastHeartbeatTime                 LastTransitionTime                Reason                       Message
  ----             ------  -----------------                 ------------------                ------                       -------
  MemoryPressure   True    Mon, 06 Jan 2025 09:15:00 +0000   Mon, 06 Jan 2025 09:10:31 +0000   KubeletHasInsufficientMemory   kubelet has insufficient memory available
  Ready            True    Mon, 06 Jan 2025 09:15:00 +0000   Mon, 06 Jan 2025 08:00:00 +0000   KubeletReady                 kubelet is posting ready status
Capacity:
  memory:             16331684Ki
Allocatable:
  memory:             15180708Ki
`
	n, err := ParseDescribeNode(strings.NewReader(text), "node.txt")
	if err != nil {
		t.Fatal(err)
	}
	mp, _ := n.Condition("MemoryPressure")
	if mp.Status != "True" || mp.Reason != "KubeletHasInsufficientMemory" || !mp.LastTransition.Equal(time.Date(2025, 1, 6, 9, 10, 31, 0, time.UTC)) {
		t.Errorf("MemoryPressure %+v", mp)
	}
	if !eqPtr(n.AllocatableMemory, i64(15180708<<10)) {
		t.Errorf("allocatable %v", show(n.AllocatableMemory))
	}
	if _, err := ParseDescribeNode(strings.NewReader(strings.Replace(text, "15180708Ki", "many", 1)), "node.txt"); err == nil || !strings.Contains(err.Error(), "node.txt: line 11") {
		t.Errorf("bad allocatable: error %v", err)
	}
}

// A pod described (no UID, no event naming it) and the same pod from
// `kubectl get pod -o yaml` merge by namespace/name: one pod, the UID from
// the YAML, the emptyDir volumes and the last termination from describe.
func TestMergeDescribedPod(t *testing.T) {
	pl, err := ParseDescribePods(strings.NewReader(describeTmpfsPod), "describe.txt")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := DecodeObjects(strings.NewReader(`apiVersion: v1
kind: Pod
metadata: {name: trade-prod-6d8f9c7b4-zj67p, namespace: trade, uid: 5f1c6a6e-0b7d-4c1e-9f3a-2d8e4b7a9c10}
spec:
  containers:
  - name: trade-prod
status:
  containerStatuses:
  - name: trade-prod
    containerID: docker://2222222222222222222222222222222222222222222222222222222222222222
    restartCount: 2
`), "pod.yaml", "Pod")
	if err != nil {
		t.Fatal(err)
	}
	other, err := PodsFromObjects(objs, "pod.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pl.Merge(other)
	if len(pl.Pods) != 1 {
		t.Fatalf("%d pods after merge, want 1", len(pl.Pods))
	}
	p := pl.Pods[0]
	if p.UID != "5f1c6a6e-0b7d-4c1e-9f3a-2d8e4b7a9c10" || p.File != "describe.txt" || len(p.Volumes) != 3 {
		t.Errorf("merged pod uid %q file %q volumes %d", p.UID, p.File, len(p.Volumes))
	}
	app := p.Containers[1]
	if app.RestartCount != 3 || app.LastTerminationReason != "OOMKilled" {
		t.Errorf("app container %+v", app)
	}
	// The other way round: the YAML first, describe fills its gaps.
	pl2, _ := PodsFromObjects(objs, "pod.yaml")
	d, _ := ParseDescribePods(strings.NewReader(describeTmpfsPod), "describe.txt")
	pl2.Merge(d)
	q := pl2.Pods[0]
	if len(pl2.Pods) != 1 || q.UID == "" || len(q.Volumes) != 3 || q.Volumes[0].Medium != "Memory" || !eqPtr(q.Containers[0].MemoryLimit, i64(16<<30)) {
		t.Errorf("yaml+describe: %+v", q)
	}
	if c := q.Containers[0]; c.LastTerminationReason != "OOMKilled" || c.RestartCount != 3 {
		t.Errorf("yaml+describe container %+v", c)
	}
	if !eqPtr(q.MemoryLimit, i64(16<<30)) {
		t.Errorf("yaml+describe pod limit %v, want describe's 16Gi", show(q.MemoryLimit))
	}
	if len(q.Containers) != 2 {
		t.Errorf("the init container from describe is added: %+v", q.Containers)
	}
}
