package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/memsnap/memsnap/e2e/testbed"
)

// cluster.json as kubectl-memsnap writes it (plugin/run.go,
// "memsnap-cluster/v1"), the fields these tests assert.
type clusterRecord struct {
	Schema      string `json:"schema"`
	Interrupted string `json:"interrupted"`
	Nodes       []struct {
		Name, Mode, Bundle, Status, Error, Fallback, Pod string
		Problems                                         []string
		DurationMS                                       int64 `json:"duration_ms"`
	} `json:"nodes"`
	PodsLeft []string `json:"pods_left"`
}

func (c *clusterRecord) node(t *testing.T, name string) (n struct {
	Name, Mode, Bundle, Status, Error, Fallback, Pod string
	Problems                                         []string
	DurationMS                                       int64 `json:"duration_ms"`
}) {
	t.Helper()
	for _, x := range c.Nodes {
		if x.Name == name {
			return x
		}
	}
	t.Fatalf("cluster.json has no node %s: %+v", name, c.Nodes)
	return
}

func readCluster(t testing.TB, dir string) *clusterRecord {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "cluster.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c clusterRecord
	if err := json.Unmarshal(b, &c); err != nil || c.Schema != "memsnap-cluster/v1" {
		t.Fatalf("cluster.json (%v): %s", err, b)
	}
	return &c
}

// pluginNamespace receives the node-mode pods.
const pluginNamespace = "memsnap-plugin"

// plugin runs kubectl-memsnap with kubeconfig and returns its exit code
// and output.
func plugin(t *testing.T, ctx context.Context, bed *testbed.Bed, kubeconfig string, args ...string) (int, string) {
	t.Helper()
	cmd := pluginCmd(ctx, bed, kubeconfig, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("kubectl-memsnap: %v", err)
	}
	t.Logf("kubectl-memsnap %s: exit %d after %s\n%s", strings.Join(args, " "), code, time.Since(start).Round(10*time.Millisecond), out.String())
	return code, out.String()
}

func pluginCmd(ctx context.Context, bed *testbed.Bed, kubeconfig string, args ...string) *exec.Cmd {
	// The collector the testbed just built from source, never a stale
	// embedded one.
	full := append([]string{"collect", "--kubeconfig", kubeconfig, "-n", pluginNamespace,
		"--collector", "amd64=" + bed.Bin.Path("memsnap-collect")}, args...)
	return exec.CommandContext(ctx, bed.Bin.Path("kubectl-memsnap"), full...)
}

// collectorPods lists the pods kubectl-memsnap created that still exist.
func collectorPods(t *testing.T, ctx context.Context, bed *testbed.Bed) []string {
	t.Helper()
	l, err := bed.Client.CoreV1().Pods("").List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=kubectl-memsnap"})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range l.Items {
		out = append(out, p.Namespace+"/"+p.Name+" on "+p.Spec.NodeName+" "+string(p.Status.Phase))
	}
	return out
}

// kubeletAnswers maps bundle paths to what the stand-in serves for them
// (its tree's kubelet/ directory, agents' profiles aside).
func kubeletAnswers(t *testing.T, n *testbed.StandinNode) map[string][]byte {
	t.Helper()
	paths := map[string]string{"stats/summary": "kubelet/summary.json", "pods": "kubelet/pods.json", "configz": "kubelet/configz.json",
		"metrics/cadvisor": "kubelet/metrics-cadvisor.prom", "metrics/resource": "kubelet/metrics-resource.prom",
		"debug/pprof/heap": "pprof/kubelet/heap.pb.gz"}
	out := map[string][]byte{}
	root := filepath.Join(n.Tree, "kubelet")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(rel, "agents/") {
			return nil
		}
		dst, ok := paths[rel]
		if !ok {
			t.Errorf("%s serves %s, which API mode does not fetch", n.Name, rel)
			return nil
		}
		b, err := os.ReadFile(p)
		out[dst] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var (
	ruleListPodsEvents = rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods", "events"}, Verbs: []string{"list"}}
)

// TestPlugin: kubectl-memsnap against the real kube-apiserver with TLS
// kubelet stand-ins: API mode bundles are file for file what the kubelets
// serve; a hanging and a resetting kubelet are cut and reported; a node
// whose pod stays Pending falls back to API mode; RBAC without pods makes
// auto mode use API mode, RBAC without nodes/proxy is reported; Ctrl-C and a
// node deleted mid-run leave no pod.
func TestPlugin(t *testing.T) {
	bed := testbed.Start(t)
	shapes := []testbed.StandinOptions{
		{Pods: 4, ContainersPerPod: 2, Seed: 21},
		{Pods: 6, ContainersPerPod: 1, Seed: 22},
		{Pods: 3, ContainersPerPod: 3, Seed: 23},
	}
	nodes, err := bed.AddStandinNodes(shapes...)
	if err != nil {
		t.Fatal(err)
	}
	hang, err := bed.AddStandinNode("kubelet-hangs", 3, testbed.StandinOptions{Faults: []string{"hang"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bed.AddStandinNode("kubelet-resets", 4, testbed.StandinOptions{Faults: []string{"reset"}}); err != nil {
		t.Fatal(err)
	}
	// Nodes with no kubelet at all: a pod bound to them stays Pending.
	for i, name := range []string{"no-kubelet", "doomed", "no-kubelet-2"} {
		if _, err := bed.RegisterNode(testbed.NodeSpec{Name: name, IP: testbed.NodeIP(5 + i), Port: testbed.KubeletPort, MemoryBytes: 8 << 30}); err != nil {
			t.Fatal(err)
		}
	}
	if err := bed.Namespace(pluginNamespace); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(bed.Context(), 15*time.Minute)
	defer cancel()
	_ = hang

	t.Run("api-mode-file-for-file", func(t *testing.T) {
		dir := t.TempDir()
		code, _ := plugin(t, ctx, bed, bed.Kubeconfig, "standin-a", "standin-b", "standin-c", "--mode", "api", "-o", dir,
			"--analyze", "--format", "json", "--format", "html")
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
		cl := readCluster(t, dir)
		for _, n := range nodes {
			r := cl.node(t, n.Name)
			if r.Mode != "api" || r.Status != "ok" {
				t.Errorf("%s: %+v", n.Name, r)
				continue
			}
			files := bundleFiles(t, filepath.Join(dir, r.Bundle))
			want := kubeletAnswers(t, n)
			if len(want) < 5 {
				t.Fatalf("%s: the stand-in serves only %d answers", n.Name, len(want))
			}
			for p, w := range want {
				if !bytes.Equal(files[p], w) {
					t.Errorf("%s: %s is %d bytes, the kubelet serves %d: %s", n.Name, p, len(files[p]), len(w), firstDiff(files[p], w))
				}
			}
			var node corev1.Node
			if err := json.Unmarshal(files["kube/node.json"], &node); err != nil || node.Name != n.Name {
				t.Errorf("%s: kube/node.json: %v", n.Name, err)
			}
			for _, p := range []string{"kube/pods.json", "kube/events.json", "kubelet/version.txt", "manifest.json"} {
				if _, ok := files[p]; !ok {
					t.Errorf("%s: bundle lacks %s", n.Name, p)
				}
			}
			var m struct {
				Collector struct{ Name, Mode string }
				Files     []struct{ Path string }
			}
			if err := json.Unmarshal(files["manifest.json"], &m); err != nil || m.Collector.Mode != "api" || len(m.Files) != len(files)-1 {
				t.Errorf("%s: manifest %+v (%v), %d files in the bundle", n.Name, m, err, len(files))
			}
		}
		rep := readReport(t, filepath.Join(dir, "memsnap-report.json"))
		if len(rep.Bundles) != 3 {
			t.Fatalf("report bundles: %+v", rep.Bundles)
		}
		got := map[string]bool{}
		for _, b := range rep.Bundles {
			got[b.Node] = true
		}
		for _, n := range nodes {
			if !got[n.Name] {
				t.Errorf("report lacks node %s (%+v)", n.Name, rep.Bundles)
			}
		}
		if st, err := os.Stat(filepath.Join(dir, "memsnap-report.html")); err != nil || st.Size() == 0 {
			t.Errorf("html report: %v", err)
		}
		if pods := collectorPods(t, ctx, bed); len(pods) != 0 {
			t.Errorf("API mode left pods: %v", pods)
		}
	})

	t.Run("hanging-and-resetting-kubelets", func(t *testing.T) {
		dir := t.TempDir()
		start := time.Now()
		code, _ := plugin(t, ctx, bed, bed.Kubeconfig, "kubelet-hangs", "kubelet-resets", "standin-a", "--mode", "api", "-o", dir,
			"--endpoint-timeout", "5s", "--parallel", "3")
		wall := time.Since(start)
		// Every endpoint of a node is fetched at once, each cut at 5 s:
		// the bound only stops a hang (the run is ~5 s plus start-up).
		if wall > 90*time.Second {
			t.Errorf("run took %s", wall)
		}
		if code != 0 {
			t.Errorf("exit %d: partial bundles are bundles", code)
		}
		cl := readCluster(t, dir)
		h := cl.node(t, "kubelet-hangs")
		if h.Status != "partial" || h.Bundle == "" || !strings.Contains(strings.Join(h.Problems, "\n"), "no answer within 5s") {
			t.Errorf("hanging kubelet: %+v", h)
		}
		r := cl.node(t, "kubelet-resets")
		if r.Status != "partial" || r.Bundle == "" || len(r.Problems) == 0 {
			t.Errorf("resetting kubelet: %+v", r)
		}
		files := bundleFiles(t, filepath.Join(dir, h.Bundle))
		if _, ok := files["kube/node.json"]; !ok {
			t.Errorf("hung node's bundle lacks the Node object")
		}
		if a := cl.node(t, "standin-a"); a.Status != "ok" {
			t.Errorf("standin-a beside the faulty ones: %+v", a)
		}
	})

	t.Run("pending-pod-falls-back", func(t *testing.T) {
		dir := t.TempDir()
		code, _ := plugin(t, ctx, bed, bed.Kubeconfig, "no-kubelet", "--mode", "auto", "--pod-timeout", "5s", "--endpoint-timeout", "5s", "-o", dir)
		cl := readCluster(t, dir)
		r := cl.node(t, "no-kubelet")
		if r.Mode != "api" || r.Bundle == "" || !strings.Contains(r.Fallback, "still Pending after --pod-timeout 5s") {
			t.Errorf("%+v", r)
		}
		if code != 0 {
			t.Errorf("exit %d", code)
		}
		if pods := collectorPods(t, ctx, bed); len(pods) != 0 {
			t.Errorf("pods left: %v", pods)
		}
	})

	t.Run("rbac-forbids-pods", func(t *testing.T) {
		u, err := bed.User("plugin-no-pods", testbed.RuleReadNodes, testbed.RuleNodeProxy, ruleListPodsEvents)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		code, _ := plugin(t, ctx, bed, u.Kubeconfig, "standin-b", "-o", dir)
		if code != 0 {
			t.Errorf("exit %d", code)
		}
		r := readCluster(t, dir).node(t, "standin-b")
		if r.Mode != "api" || r.Status != "ok" || !strings.Contains(r.Fallback, "create pods in namespace "+pluginNamespace) {
			t.Errorf("%+v", r)
		}
		files := bundleFiles(t, filepath.Join(dir, r.Bundle))
		if want := kubeletAnswers(t, nodes[1]); !bytes.Equal(files["kubelet/summary.json"], want["kubelet/summary.json"]) {
			t.Errorf("summary differs from the kubelet's")
		}
	})

	t.Run("rbac-forbids-node-proxy", func(t *testing.T) {
		u, err := bed.User("plugin-no-proxy", testbed.RuleReadNodes, ruleListPodsEvents)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		code, _ := plugin(t, ctx, bed, u.Kubeconfig, "standin-c", "-o", dir, "--analyze", "--format", "json")
		r := readCluster(t, dir).node(t, "standin-c")
		all := strings.Join(r.Problems, "\n")
		if r.Mode != "api" || r.Status != "partial" || !strings.Contains(all, "get nodes/proxy") || !strings.Contains(all, "forbidden") {
			t.Errorf("%+v", r)
		}
		if code != 0 {
			t.Errorf("exit %d", code)
		}
		files := bundleFiles(t, filepath.Join(dir, r.Bundle))
		for _, p := range []string{"kube/node.json", "kube/pods.json", "kube/events.json"} {
			if _, ok := files[p]; !ok {
				t.Errorf("bundle lacks %s", p)
			}
		}
		if _, ok := files["kubelet/summary.json"]; ok {
			t.Errorf("a summary without nodes/proxy")
		}
		var m struct {
			Sources []struct{ Name, Status, Error string }
		}
		json.Unmarshal(files["manifest.json"], &m)
		found := false
		for _, s := range m.Sources {
			// partial: kubelet/version.txt comes from the Node object
			found = found || (s.Name == "kubelet" && s.Status != "ok" && strings.Contains(s.Error, "forbidden: the user needs get on nodes/proxy"))
		}
		if !found {
			t.Errorf("manifest sources do not say nodes/proxy is missing: %+v", m.Sources)
		}
	})

	t.Run("ctrl-c-deletes-every-pod", func(t *testing.T) {
		dir := t.TempDir()
		cmd := pluginCmd(ctx, bed, bed.Kubeconfig, "no-kubelet", "no-kubelet-2", "--mode", "node", "--pod-timeout", "10m", "-o", dir)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitPods(t, ctx, bed, 2)
		if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		err := cmd.Wait()
		t.Logf("after SIGINT: %v\n%s", err, out.String())
		if pods := collectorPods(t, ctx, bed); len(pods) != 0 {
			t.Errorf("pods left after Ctrl-C: %v", pods)
		}
		cl := readCluster(t, dir)
		if !strings.Contains(cl.Interrupted, "interrupt") || cmd.ProcessState.ExitCode() != 3 {
			t.Errorf("interrupted %q, exit %d", cl.Interrupted, cmd.ProcessState.ExitCode())
		}
	})

	t.Run("node-deleted-mid-run", func(t *testing.T) {
		dir := t.TempDir()
		cmd := pluginCmd(ctx, bed, bed.Kubeconfig, "doomed", "standin-a", "--mode", "node", "--pod-timeout", "20s", "--endpoint-timeout", "5s", "-o", dir)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitPods(t, ctx, bed, 1)
		if err := bed.Client.CoreV1().Nodes().Delete(ctx, "doomed", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		err := cmd.Wait()
		t.Logf("exit: %v\n%s", err, out.String())
		cl := readCluster(t, dir)
		d := cl.node(t, "doomed")
		if d.Status != "failed" || !strings.Contains(d.Error+strings.Join(d.Problems, " "), "not found") {
			t.Errorf("doomed: %+v", d)
		}
		// standin-a's pod stays Pending too (a stand-in runs no pods): API mode.
		if a := cl.node(t, "standin-a"); a.Mode != "api" || a.Bundle == "" {
			t.Errorf("standin-a: %+v", a)
		}
		if cmd.ProcessState.ExitCode() != 1 {
			t.Errorf("exit %d, want 1 (some nodes failed)", cmd.ProcessState.ExitCode())
		}
		if pods := collectorPods(t, ctx, bed); len(pods) != 0 {
			t.Errorf("pods left: %v", pods)
		}
	})

	t.Run("nothing-left-behind", func(t *testing.T) {
		if err := bed.Close(); err != nil {
			t.Fatal(err)
		}
		testbed.CheckClean(t)
	})
}

// waitPods waits until n collector pods exist.
func waitPods(t *testing.T, ctx context.Context, bed *testbed.Bed, n int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for len(collectorPods(t, ctx, bed)) < n {
		if time.Now().After(deadline) {
			t.Fatalf("the plugin created %d of %d pods in 2 minutes", len(collectorPods(t, ctx, bed)), n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func readReport(t *testing.T, path string) *report {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &r
}

// TestPluginNodeMode: node mode end to end on the bed's real kubelet. The
// plugin's pod (the bed's busybox shell image, as an air-gapped user names
// one from their registry) receives the collector over exec stdin, streams
// the bundle back over stdout, the bundle passes its sha256 check and
// analyses, and the pod is gone afterwards.
func TestPluginNodeMode(t *testing.T) {
	bed := testbed.Start(t)
	node, err := bed.StartKubelet("real-node", 10)
	if err != nil {
		t.Fatal(err)
	}
	if err := bed.Namespace(pluginNamespace); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(bed.Context(), 10*time.Minute)
	defer cancel()
	dir := t.TempDir()
	code, out := plugin(t, ctx, bed, bed.Kubeconfig, node.Name, "--mode", "node", "-o", dir,
		"--image", testbed.ShellImage, "--image-pull-policy", "Never", "--pod-timeout", "3m",
		"--collector-arg=--kubelet-ca=/host"+node.Dir+"/kubelet-serving.crt", "--collector-arg=--apiserver=off",
		"--analyze", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	r := readCluster(t, dir).node(t, node.Name)
	if r.Mode != "node" || r.Status != "ok" || r.Pod == "" || r.Fallback != "" {
		t.Fatalf("%+v", r)
	}
	files := bundleFiles(t, filepath.Join(dir, r.Bundle))
	var m struct {
		Collector struct{ Name, Mode string }
		Node      struct {
			NodeName string `json:"node_name"`
		}
		Sources []struct{ Name, Status, Error string }
	}
	if err := json.Unmarshal(files["manifest.json"], &m); err != nil {
		t.Fatal(err)
	}
	if m.Collector.Name != "memsnap-collect" || m.Collector.Mode != "binary" || m.Node.NodeName != node.Name {
		t.Errorf("manifest %+v", m)
	}
	cgroupFiles := 0
	for p := range files {
		if strings.HasPrefix(p, "cgroup/") {
			cgroupFiles++
		}
	}
	if cgroupFiles == 0 || len(files["node/meminfo"]) == 0 || len(files["kubelet/summary.json"]) == 0 {
		t.Errorf("node-mode bundle: %d cgroup files, meminfo %d bytes, summary %d bytes; sources %+v",
			cgroupFiles, len(files["node/meminfo"]), len(files["kubelet/summary.json"]), m.Sources)
	}
	rep := readReport(t, filepath.Join(dir, "memsnap-report.json"))
	if len(rep.Bundles) != 1 || rep.Bundles[0].Node != node.Name || !rep.Bundles[0].Manifest {
		t.Errorf("report bundles %+v", rep.Bundles)
	}
	if pods := collectorPods(t, ctx, bed); len(pods) != 0 {
		t.Errorf("pods left: %v", pods)
	}
	// The pod's events say it ran on the node.
	evs, _ := bed.Client.CoreV1().Events(pluginNamespace).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + r.Pod})
	t.Logf("pod %s: %d events", r.Pod, len(evs.Items))

	t.Run("nothing-left-behind", func(t *testing.T) {
		if err := bed.Close(); err != nil {
			t.Fatal(err)
		}
		testbed.CheckClean(t)
	})
}
