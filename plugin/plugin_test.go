package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/memsnap/memsnap/bundle"
	"github.com/memsnap/memsnap/plugin/internal/fakeapi"
)

// kubeletFiles is what a fake node's kubelet serves, distinct per node.
func kubeletFiles(node string) map[string][]byte {
	return map[string][]byte{
		"/stats/summary":    []byte(`{"node":{"nodeName":"` + node + `","memory":{"workingSetBytes":1}},"pods":[]}`),
		"/pods":             []byte(`{"kind":"PodList","apiVersion":"v1","items":[]}`),
		"/configz":          []byte(`{"kubeletconfig":{"cgroupDriver":"systemd","node":"` + node + `"}}`),
		"/metrics/cadvisor": []byte("# TYPE container_memory_working_set_bytes gauge\ncontainer_memory_working_set_bytes{id=\"/\",node=\"" + node + "\"} 1\n"),
		"/metrics/resource": []byte("node_memory_working_set_bytes " + strconv.Itoa(len(node)) + "\n"),
		"/debug/pprof/heap": []byte("\x1f\x8bheap-of-" + node),
	}
}

// bundleFiles maps each file of a bundle to its content.
func bundleFiles(t *testing.T, path string) (map[string][]byte, *bundle.Manifest) {
	t.Helper()
	b, err := bundle.Open(context.Background(), path, bundle.Options{})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer b.Close()
	out := map[string][]byte{}
	for _, p := range b.List("") {
		rc, err := b.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		out[p], _ = io.ReadAll(rc)
		rc.Close()
	}
	if probs := b.Problems(); len(probs) > 0 {
		t.Errorf("%s: problems %v", path, probs)
	}
	return out, b.Manifest()
}

type fixture struct {
	srv  *fakeapi.Server
	cs   kubernetes.Interface
	exec *fakeExec
	dir  string
}

func newFixture(t *testing.T, nodes ...string) *fixture {
	t.Helper()
	srv := fakeapi.New()
	t.Cleanup(srv.Close)
	for _, n := range nodes {
		srv.AddNode(n, "amd64", kubeletFiles(n))
	}
	c, err := NewClient(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{srv: srv, cs: c.Kube, exec: &fakeExec{}, dir: t.TempDir()}
}

func (f *fixture) run(t *testing.T, ctx context.Context, o Options) *Cluster {
	t.Helper()
	o.OutDir = f.dir
	if o.Namespace == "" {
		o.Namespace = "memsnap"
	}
	if o.Collectors == nil {
		o.Collectors = CollectorMap{"amd64": []byte("collector-amd64-bytes"), "arm64": []byte("collector-arm64")}
	}
	cl, err := Run(ctx, Client{Kube: f.cs, Exec: f.exec}, o)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	var onDisk Cluster
	b, err := os.ReadFile(filepath.Join(f.dir, ClusterFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &onDisk); err != nil {
		t.Fatalf("cluster.json: %v", err)
	}
	if onDisk.Schema != ClusterSchema || len(onDisk.Nodes) != len(cl.Nodes) {
		t.Fatalf("cluster.json = %s", b)
	}
	return cl
}

func node(cl *Cluster, name string) NodeResult {
	for _, n := range cl.Nodes {
		if n.Name == name {
			return n
		}
	}
	return NodeResult{}
}

func TestAPIModeBundlesAreWhatTheKubeletsServe(t *testing.T) {
	f := newFixture(t, "node-a", "node-b", "node-c")
	f.srv.AddPod(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "shop", UID: "uid-web-1"}, Spec: corev1.PodSpec{NodeName: "node-b"}})
	f.srv.AddPod(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "db-0", Namespace: "shop", UID: "uid-db-0"}, Spec: corev1.PodSpec{NodeName: "node-c"}})
	f.srv.AddEvent(corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e1", Namespace: "shop"}, Reason: "OOMKilling",
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "shop", Name: "web-1", UID: "uid-web-1"}})
	f.srv.AddEvent(corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e2"}, Reason: "NodeHasInsufficientMemory",
		InvolvedObject: corev1.ObjectReference{Kind: "Node", Name: "node-a"}})
	cl := f.run(t, context.Background(), Options{Mode: ModeAPI, All: true})
	if cl.ExitCode() != 0 {
		t.Fatalf("exit %d: %+v", cl.ExitCode(), cl.Nodes)
	}
	for _, n := range []string{"node-a", "node-b", "node-c"} {
		r := node(cl, n)
		if r.Mode != ModeAPI || r.Status != NodeOK || r.Bundle != n+".tar.gz" {
			t.Fatalf("%s: %+v", n, r)
		}
		files, m := bundleFiles(t, filepath.Join(f.dir, r.Bundle))
		if m == nil || m.Collector.Mode != ModeAPI || m.Node.NodeName != n || m.Node.Kernel != "6.1.0-test" {
			t.Fatalf("%s manifest: %+v", n, m)
		}
		want := map[string]string{"/stats/summary": bundle.KubeletSummary, "/pods": bundle.KubeletPods, "/configz": bundle.KubeletConfigz,
			"/metrics/cadvisor": bundle.KubeletMetricsCadvisor, "/metrics/resource": bundle.KubeletMetricsResource,
			"/debug/pprof/heap": "pprof/kubelet/heap.pb.gz"}
		for src, dst := range want {
			if !bytes.Equal(files[dst], kubeletFiles(n)[src]) {
				t.Errorf("%s: %s = %q, kubelet served %q", n, dst, files[dst], kubeletFiles(n)[src])
			}
		}
		if string(files[bundle.KubeletVersion]) != "Kubernetes v1.37.2\n" {
			t.Errorf("%s: version.txt %q", n, files[bundle.KubeletVersion])
		}
		var nodeObj corev1.Node
		if err := json.Unmarshal(files[bundle.KubeNode], &nodeObj); err != nil || nodeObj.Name != n {
			t.Errorf("%s: kube/node.json %q (%v)", n, files[bundle.KubeNode], err)
		}
		var pods corev1.PodList
		var events corev1.EventList
		if err := json.Unmarshal(files[KubePods], &pods); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(files[KubeEvents], &events); err != nil {
			t.Fatal(err)
		}
		var podNames, eventNames []string
		for _, p := range pods.Items {
			podNames = append(podNames, p.Name)
		}
		for _, e := range events.Items {
			eventNames = append(eventNames, e.Name)
		}
		wantPods := map[string][]string{"node-b": {"web-1"}, "node-c": {"db-0"}}[n]
		wantEvents := map[string][]string{"node-a": {"e2"}, "node-b": {"e1"}}[n]
		if !slices.Equal(podNames, wantPods) || !slices.Equal(eventNames, wantEvents) {
			t.Errorf("%s: pods %v events %v, want %v %v", n, podNames, eventNames, wantPods, wantEvents)
		}
		if _, ok := files["kubelet/log.txt"]; ok {
			t.Errorf("%s: a log.txt from a kubelet without log query", n)
		}
		skipped := 0
		for _, s := range m.Sources {
			if s.Status == bundle.StatusSkipped {
				skipped++
			}
			if s.Name == bundle.SourceKubelet && s.Status != bundle.StatusOK {
				t.Errorf("%s: kubelet source %+v (log query 404 must be a note, not a failure)", n, s)
			}
		}
		if skipped != len(sourcesNodeOnly) {
			t.Errorf("%s: %d skipped sources, want %d", n, skipped, len(sourcesNodeOnly))
		}
	}
	if len(f.srv.Created()) != 0 {
		t.Errorf("API mode created pods: %v", f.srv.Created())
	}
}

func TestHungKubeletIsCutAndTheRestFinish(t *testing.T) {
	f := newFixture(t, "node-a", "node-b", "node-hang")
	for _, p := range []string{"/stats/summary", "/pods", "/configz", "/metrics/cadvisor", "/metrics/resource", "/debug/pprof/heap", "/logs/"} {
		f.srv.Fault("node-hang", p, "hang")
	}
	start := time.Now()
	cl := f.run(t, context.Background(), Options{Mode: ModeAPI, All: true, Parallel: 1, EndpointTimeout: 200 * time.Millisecond})
	// Every endpoint of the hung node is cut at its own timeout, at once:
	// the bound only stops a hang (≥3× margin on a loaded machine).
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("run took %s", d)
	}
	if r := node(cl, "node-hang"); r.Status != NodePartial || r.Bundle == "" || !strings.Contains(strings.Join(r.Problems, "\n"), "no answer within 200ms") {
		t.Errorf("hung node: %+v", r)
	}
	for _, n := range []string{"node-a", "node-b"} {
		if r := node(cl, n); r.Status != NodeOK {
			t.Errorf("%s: %+v", n, r)
		}
	}
	if cl.ExitCode() != 0 {
		t.Errorf("exit %d: a partial bundle is still a bundle", cl.ExitCode())
	}
}

func TestNodeProxyForbiddenSaysWhatIsMissing(t *testing.T) {
	f := newFixture(t, "node-a")
	f.srv.Deny["get nodes/proxy"] = true
	f.srv.Deny["create pods"] = true
	cl := f.run(t, context.Background(), Options{Nodes: []string{"node-a"}})
	r := node(cl, "node-a")
	if r.Mode != ModeAPI || r.Status != NodePartial {
		t.Fatalf("%+v", r)
	}
	all := strings.Join(r.Problems, "\n")
	for _, want := range []string{"API mode lacks permissions: get nodes/proxy", "forbidden: the user needs get on nodes/proxy"} {
		if !strings.Contains(all, want) {
			t.Errorf("problems %q lack %q", all, want)
		}
	}
	if !strings.Contains(r.Fallback, "create pods in namespace memsnap") {
		t.Errorf("fallback %q", r.Fallback)
	}
	files, _ := bundleFiles(t, filepath.Join(f.dir, r.Bundle))
	if _, ok := files[bundle.KubeNode]; !ok {
		t.Errorf("kube/node.json missing: %v", files)
	}
}

// fakeExec plays the collector pod's container: the first exec receives
// the collector, the second writes a bundle.
type fakeExec struct {
	mu       sync.Mutex
	received map[string][]byte // pod → collector bytes
	runArgs  map[string][]string
	corrupt  bool
	block    chan struct{} // when set, the run exec waits on it (or ctx)
}

func (e *fakeExec) Exec(ctx context.Context, ns, pod, container string, cmd []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if container != containerName {
		return fmt.Errorf("container %q", container)
	}
	if stdin != nil {
		b, err := io.ReadAll(stdin)
		if err != nil {
			return err
		}
		e.mu.Lock()
		if e.received == nil {
			e.received = map[string][]byte{}
		}
		e.received[pod] = b
		e.mu.Unlock()
		fmt.Fprintf(stdout, "%d\n", len(b))
		return nil
	}
	e.mu.Lock()
	if e.runArgs == nil {
		e.runArgs = map[string][]string{}
	}
	e.runArgs[pod] = cmd
	block := e.block
	e.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	var buf bytes.Buffer
	w, err := bundle.NewWriter(&buf, bundle.WriterOptions{})
	if err != nil {
		return err
	}
	w.AddBytes(bundle.NodeMeminfo, []byte("MemTotal: 1000 kB\n"))
	w.AddBytes("cgroup/kubepods/memory.stat", []byte("anon 1\n"))
	w.Close(&bundle.Manifest{Collector: bundle.Collector{Name: "memsnap-collect", Mode: "binary"}})
	b := buf.Bytes()
	if e.corrupt {
		b = corruptFile(b)
	}
	_, err = stdout.Write(b)
	return err
}

// corruptFile changes one file's content but not its manifest entry.
func corruptFile(b []byte) []byte { return tamper(b) }

func TestNodeModeStreamsTheCollectorAndDeletesThePod(t *testing.T) {
	f := newFixture(t, "node-a", "node-b")
	f.srv.SetNode("node-b", func(n *corev1.Node) { n.Status.NodeInfo.Architecture = "arm64" })
	cl := f.run(t, context.Background(), Options{Mode: ModeNode, Nodes: []string{"node-a", "node-b"}, Since: time.Hour,
		CollectorArgs: []string{"--insecure"}, Watch: 2 * time.Minute, Every: 5 * time.Second})
	if cl.ExitCode() != 0 {
		t.Fatalf("%+v", cl.Nodes)
	}
	for n, arch := range map[string]string{"node-a": "collector-amd64-bytes", "node-b": "collector-arm64"} {
		r := node(cl, n)
		if r.Mode != ModeNode || r.Status != NodeOK || r.Pod == "" || r.DurationMS <= 0 && r.Bytes <= 0 {
			t.Fatalf("%s: %+v", n, r)
		}
		if got := string(f.exec.received[r.Pod]); got != arch {
			t.Errorf("%s: pod received %q, want %q", n, got, arch)
		}
		args := strings.Join(f.exec.runArgs[r.Pod], " ")
		for _, want := range []string{"--host-root /host", "-o -", "--node-name " + n, "--since 1h0m0s", "--insecure", "--watch 2m0s", "--every 5s"} {
			if !strings.Contains(args, want) {
				t.Errorf("%s: collector args %q lack %q", n, args, want)
			}
		}
		files, m := bundleFiles(t, filepath.Join(f.dir, r.Bundle))
		if m.Collector.Name != "memsnap-collect" || string(files[bundle.NodeMeminfo]) != "MemTotal: 1000 kB\n" {
			t.Errorf("%s: %+v %q", n, m, files)
		}
	}
	if len(f.srv.Created()) != 2 || !slices.Equal(sorted(f.srv.Created()), sorted(f.srv.Deleted())) || len(f.srv.CollectorPods()) != 0 {
		t.Errorf("created %v deleted %v left %v", f.srv.Created(), f.srv.Deleted(), f.srv.CollectorPods())
	}
	entries, _ := os.ReadDir(f.dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".partial") {
			t.Errorf("left %s", e.Name())
		}
	}
}

func TestCollectorPodSpec(t *testing.T) {
	o := Options{Namespace: "ns", Image: "registry.local/sh:1", ImagePullPolicy: "Never"}
	o.setDefaults()
	p := collectorPod(&o, "run1", "node-a")
	c := p.Spec.Containers[0]
	switch {
	case p.Spec.NodeName != "node-a", !p.Spec.HostPID, !p.Spec.HostNetwork, c.SecurityContext == nil || !*c.SecurityContext.Privileged:
		t.Errorf("pinning/privileges: %+v", p.Spec)
	case len(p.Spec.Tolerations) != 1 || p.Spec.Tolerations[0].Operator != corev1.TolerationOpExists || p.Spec.Tolerations[0].Key != "" || p.Spec.Tolerations[0].Effect != "":
		t.Errorf("must tolerate every taint: %+v", p.Spec.Tolerations)
	case p.Spec.AutomountServiceAccountToken == nil || *p.Spec.AutomountServiceAccountToken:
		t.Errorf("token mounted by default")
	case c.Image != "registry.local/sh:1" || c.ImagePullPolicy != "Never":
		t.Errorf("image %q %q", c.Image, c.ImagePullPolicy)
	case p.Spec.ActiveDeadlineSeconds == nil || *p.Spec.ActiveDeadlineSeconds <= int64(o.NodeTimeout/time.Second):
		t.Errorf("activeDeadlineSeconds %v", p.Spec.ActiveDeadlineSeconds)
	case p.Labels[LabelRun] != "run1" || p.Labels[LabelApp] != appName:
		t.Errorf("labels %v", p.Labels)
	case c.Resources.Requests.Memory().Value() > 64<<20:
		t.Errorf("requests %v", c.Resources.Requests)
	}
	var host *corev1.Volume
	for i := range p.Spec.Volumes {
		if p.Spec.Volumes[i].HostPath != nil {
			host = &p.Spec.Volumes[i]
		}
	}
	if host == nil || host.HostPath.Path != "/" {
		t.Fatalf("no host / volume: %+v", p.Spec.Volumes)
	}
	for _, m := range c.VolumeMounts {
		if m.Name == host.Name && (m.MountPath != "/host" || !m.ReadOnly) {
			t.Errorf("host mount %+v", m)
		}
	}
}

func TestPendingPodIsDeletedAndTheNodeFallsBackToAPIMode(t *testing.T) {
	f := newFixture(t, "node-a", "node-full")
	f.srv.PodPhase = corev1.PodPending
	cl := f.run(t, context.Background(), Options{Mode: ModeAuto, Nodes: []string{"node-full"}, PodTimeout: 300 * time.Millisecond})
	r := node(cl, "node-full")
	if r.Mode != ModeAPI || r.Status != NodeOK || !strings.Contains(r.Fallback, "still Pending after --pod-timeout 300ms") {
		t.Fatalf("%+v", r)
	}
	if len(f.srv.Created()) != 1 || len(f.srv.CollectorPods()) != 0 {
		t.Errorf("created %v left %v", f.srv.Created(), f.srv.CollectorPods())
	}
}

func TestAutoModeWithoutPodRightsUsesAPIMode(t *testing.T) {
	f := newFixture(t, "node-a")
	f.srv.Deny["create pods/exec"] = true
	cl := f.run(t, context.Background(), Options{Nodes: []string{"node-a"}})
	r := node(cl, "node-a")
	if r.Mode != ModeAPI || r.Status != NodeOK || !strings.Contains(r.Fallback, "create pods/exec") {
		t.Fatalf("%+v", r)
	}
	if len(f.srv.Created()) != 0 {
		t.Errorf("created pods without the right to exec in them: %v", f.srv.Created())
	}
	if !cl.Access.Can(ModeAPI) || cl.Access.Can(ModeNode) {
		t.Errorf("access %+v", cl.Access)
	}
}

func TestCorruptBundleFailsTheChecksumAndFallsBack(t *testing.T) {
	f := newFixture(t, "node-a")
	f.exec.corrupt = true
	cl := f.run(t, context.Background(), Options{Nodes: []string{"node-a"}})
	r := node(cl, "node-a")
	if r.Mode != ModeAPI || !strings.Contains(r.Fallback, "sha256") {
		t.Fatalf("%+v", r)
	}
}

func TestInterruptDeletesEveryPod(t *testing.T) {
	f := newFixture(t, "node-a", "node-b", "node-c")
	f.exec.block = make(chan struct{})
	ctx, cancel := context.WithCancelCause(context.Background())
	done := make(chan *Cluster)
	go func() { done <- f.run(t, ctx, Options{Mode: ModeNode, All: true}) }()
	// Wait until every node's collector runs, then interrupt.
	deadline := time.Now().Add(60 * time.Second)
	for {
		f.exec.mu.Lock()
		n := len(f.exec.runArgs)
		f.exec.mu.Unlock()
		if n == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("collectors did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel(errors.New("interrupted by interrupt"))
	cl := <-done
	if len(f.srv.CollectorPods()) != 0 || len(f.srv.Created()) != 3 {
		t.Errorf("pods left %v (created %v)", f.srv.CollectorPods(), f.srv.Created())
	}
	if cl.Interrupted != "interrupted by interrupt" || cl.ExitCode() != 3 {
		t.Errorf("interrupted %q exit %d", cl.Interrupted, cl.ExitCode())
	}
	for _, r := range cl.Nodes {
		if r.Status != NodeFailed || !strings.Contains(r.Error, "interrupted") {
			t.Errorf("%+v", r)
		}
	}
}

func TestDeletedNodeFailsAloneAndExitIsOne(t *testing.T) {
	f := newFixture(t, "node-a", "node-gone")
	f.srv.DeleteNode("node-gone")
	cl := f.run(t, context.Background(), Options{Nodes: []string{"node-a", "node-gone"}})
	if r := node(cl, "node-gone"); r.Status != NodeFailed || !strings.Contains(r.Error, "not found") {
		t.Errorf("%+v", r)
	}
	if r := node(cl, "node-a"); r.Status != NodeOK {
		t.Errorf("%+v", r)
	}
	if cl.ExitCode() != 1 {
		t.Errorf("exit %d", cl.ExitCode())
	}
}

func TestProblemNodes(t *testing.T) {
	f := newFixture(t, "calm", "pressure", "oom-pod", "oom-event", "evicted", "old-oom")
	now := time.Now()
	f.srv.SetNode("pressure", func(n *corev1.Node) {
		n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionTrue}}
	})
	oom := func(name, node string, at time.Time) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "a", UID: types.UID(name)}, Spec: corev1.PodSpec{NodeName: node}}
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", LastTerminationState: corev1.ContainerState{
			Terminated: &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137, FinishedAt: metav1.NewTime(at)}}}}
		return p
	}
	f.srv.AddPod(oom("leaky", "oom-pod", now.Add(-time.Hour)))
	f.srv.AddPod(oom("ancient", "old-oom", now.Add(-48*time.Hour)))
	f.srv.AddPod(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "victim", Namespace: "a", UID: "victim"}, Spec: corev1.PodSpec{NodeName: "evicted"}})
	f.srv.AddEvent(corev1.Event{Reason: "OOMKilling", LastTimestamp: metav1.NewTime(now), InvolvedObject: corev1.ObjectReference{Kind: "Node", Name: "oom-event"}})
	f.srv.AddEvent(corev1.Event{Reason: "Evicted", LastTimestamp: metav1.NewTime(now), InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "a", Name: "victim", UID: "victim"}})
	f.srv.AddEvent(corev1.Event{Reason: "SystemOOM", LastTimestamp: metav1.NewTime(now.Add(-72 * time.Hour)), InvolvedObject: corev1.ObjectReference{Kind: "Node", Name: "calm"}})
	o := Options{ProblemNodes: true, Since: 24 * time.Hour}
	o.setDefaults()
	sel, err := SelectNodes(context.Background(), f.cs, &o)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range sel {
		got = append(got, s.Name)
		if len(s.Reasons) == 0 {
			t.Errorf("%s without a reason", s.Name)
		}
	}
	if want := []string{"evicted", "oom-event", "oom-pod", "pressure"}; !slices.Equal(got, want) {
		t.Errorf("problem nodes %v, want %v (%+v)", got, want, sel)
	}
}

func TestSelectorAndNames(t *testing.T) {
	f := newFixture(t, "a", "b", "c")
	f.srv.SetNode("b", func(n *corev1.Node) { n.Labels["pool"] = "mem" })
	o := Options{Nodes: []string{"c"}, Selector: "pool=mem"}
	o.setDefaults()
	sel, err := SelectNodes(context.Background(), f.cs, &o)
	if err != nil || len(sel) != 2 || sel[0].Name != "c" || sel[1].Name != "b" {
		t.Errorf("%+v %v", sel, err)
	}
	o = Options{Nodes: []string{"../etc"}}
	o.setDefaults()
	if _, err := SelectNodes(context.Background(), f.cs, &o); err == nil || !strings.Contains(err.Error(), "not a valid node name") {
		t.Errorf("err %v", err)
	}
}

func sorted(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

func TestProgressLines(t *testing.T) {
	var out bytes.Buffer
	p := newProgress(&out, false, 2)
	p.start()
	p.addBytes(2048)
	p.done("node-a", &NodeResult{Status: NodeOK, Mode: ModeAPI, Bytes: 2048, DurationMS: 1500}, true)
	p.done("node-b", &NodeResult{Status: NodeFailed, Error: "not started: deadline"}, false)
	p.stop()
	want := "node-a: ok (api mode, 2.0 KiB, 1.5s)\nnode-b: failed: not started: deadline\n"
	if out.String() != want {
		t.Errorf("progress:\n%q\nwant\n%q", out.String(), want)
	}
	if p.running != 0 || p.failed != 1 || p.done_ != 2 {
		t.Errorf("counters running %d failed %d done %d", p.running, p.failed, p.done_)
	}
	var tty bytes.Buffer
	p = newProgress(&tty, true, 1)
	p.start()
	p.done("node-a", &NodeResult{Status: NodeOK, Mode: ModeNode}, true)
	p.stop()
	if !strings.Contains(tty.String(), "\r\x1b[Knodes 1/1 done, 0 failed, 0 running") {
		t.Errorf("tty progress %q", tty.String())
	}
}

// TestWatchExtendsTheNodeDeadline: a watched node samples for --watch before
// its bundle comes back, so neither the pod's activeDeadlineSeconds nor the
// node's deadline may cut it at --node-timeout.
func TestWatchExtendsTheNodeDeadline(t *testing.T) {
	o := Options{NodeTimeout: time.Minute, Watch: 10 * time.Minute}
	o.setDefaults()
	p := collectorPod(&o, "run1", "node-a")
	if d := p.Spec.ActiveDeadlineSeconds; d == nil || *d <= int64((11*time.Minute).Seconds()) {
		t.Errorf("activeDeadlineSeconds %v, want more than node-timeout + watch (660 s)", d)
	}
	if got := o.nodeBudget(); got != 11*time.Minute {
		t.Errorf("node budget %s, want 11m", got)
	}
}

// TestAPIModeRedactsSecrets: API mode passes what leaves the cluster through
// the collector's redaction — a pod's env secret, a token in the kubelet's
// /pods answer — keeps everything else byte for byte and lists each
// replacement in the manifest; the heap profile stays byte-exact.
func TestAPIModeRedactsSecrets(t *testing.T) {
	f := newFixture(t)
	files := kubeletFiles("node-s")
	files["/pods"] = []byte(`{"kind":"PodList","apiVersion":"v1","items":[{"metadata":{"name":"api-0"},"spec":{"containers":[{"name":"app","env":[{"name":"API_TOKEN","value":"tok-9f8e7d"},{"name":"LOG_LEVEL","value":"debug"}]}]}}]}`)
	files["/debug/pprof/heap"] = []byte("\x1f\x8b password=keep-these-bytes")
	f.srv.AddNode("node-s", "amd64", files)
	f.srv.AddPod(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "db-0", Namespace: "shop", UID: "uid-db-0"},
		Spec: corev1.PodSpec{NodeName: "node-s", Containers: []corev1.Container{{Name: "db",
			Env: []corev1.EnvVar{{Name: "DB_PASSWORD", Value: "hunter2"}, {Name: "GOMEMLIMIT", Value: "900MiB"}}}}}})
	cl := f.run(t, context.Background(), Options{Mode: ModeAPI, All: true})
	r := node(cl, "node-s")
	if r.Status != NodeOK {
		t.Fatalf("%+v", r)
	}
	got, m := bundleFiles(t, filepath.Join(f.dir, r.Bundle))
	for _, secret := range []string{"hunter2", "tok-9f8e7d"} {
		for p, b := range got {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s holds the secret %q", p, secret)
			}
		}
	}
	for p, keep := range map[string]string{KubePods: `"value":"900MiB"`, bundle.KubeletPods: `"value":"debug"`} {
		if !bytes.Contains(got[p], []byte(keep)) || !bytes.Contains(got[p], []byte("REDACTED")) {
			t.Errorf("%s: want the secret REDACTED and %s kept: %s", p, keep, got[p])
		}
	}
	if !bytes.Equal(got["pprof/kubelet/heap.pb.gz"], files["/debug/pprof/heap"]) {
		t.Errorf("the heap profile was changed: %q", got["pprof/kubelet/heap.pb.gz"])
	}
	paths := map[string]bool{}
	for _, rd := range m.Redactions {
		paths[rd.Path] = rd.Count > 0
	}
	if !paths[KubePods] || !paths[bundle.KubeletPods] || len(paths) != 2 {
		t.Errorf("manifest redactions %+v, want kube/pods.json and kubelet/pods.json", m.Redactions)
	}
}
