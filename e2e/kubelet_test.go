package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/memsnap/memsnap/e2e/testbed"
)

const mib = 1 << 20

// Scenario timeouts, bounded and generous: alone each step takes seconds
// (docs/e2e.md has the measured figures); a loaded 2-core machine may take
// several times that.
const (
	podTimeout     = 3 * time.Minute // start, OOM kill, restart back-off (10 s)
	collectTimeout = 4 * time.Minute // the collector pod, start to Succeeded
	scenarioNS     = "memsnap-e2e"
	agentPort      = 19100 // the scrape agent, hostNetwork, on 127.0.0.1
)

// TestRealKubelet runs the lab's founding incidents (docs/lab.md) as real
// pods with real limits on a real kubelet v1.37.2 with containerd and
// runc, collects the node with memsnap-collect running as a real
// privileged pod, and asserts the analyzer's findings on the real
// kubelet's summary, pods and configz and the kernel's own OOM reports.
func TestRealKubelet(t *testing.T) {
	bed := testbed.Start(t)
	node, err := bed.StartKubelet("real-node", 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{scenarioNS, "kube-system"} {
		if err := bed.Namespace(ns); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(bed.Context(), 15*time.Minute)
	defer cancel()
	c := bed.Client.CoreV1()

	// The scrape agent's fake container root (seed 004's node): 24
	// container directories, a few with many small files, for its slow du.
	agentRoot := filepath.Join(bed.Dir, "agent-rootfs")
	for i := range 24 {
		files := 10
		if i%4 == 3 {
			files = 400
		}
		id := fmt.Sprintf("%032x", i+1)
		for _, d := range []string{filepath.Join(agentRoot, "DATA/docker/overlay2", id, "diff"), filepath.Join(agentRoot, "DATA/docker/containers", id)} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
			for j := range files {
				if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("f%05d", j)), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}

	pods := map[string]*corev1.Pod{
		// anon OOM (seed 001): 64 MiB container limit, anonymous memory
		// in 4 MiB steps. The sidecar has no limit, so the pod has none:
		// only the container limit can fire. It waits 3 s before its first
		// allocation: containerd arms its OOM watch only after the start
		// (lab/workload, -delay), and on a loaded machine a kill in the
		// first moments was reported as Error, exit 137.
		"anon-oom": pod(node.Name, "leaky", corev1.RestartPolicyNever,
			container("app", 64*mib, "/bin/workload", "alloc", "-delay", "3s", "-step", strconv.Itoa(4*mib)),
			container("sidecar", 0, "/bin/workload", "-hold", "alloc", "-step", strconv.Itoa(mib), "-max", strconv.Itoa(mib))),
		// page cache (seed 000): a 230 MiB log file on the pod's disk
		// emptyDir, read back twice, in a 256 MiB container.
		"page-cache": withVolume(pod(node.Name, "log-writer", corev1.RestartPolicyNever,
			container("app", 256*mib, "/bin/workload", "-hold", "pagecache", "-file", "/data/app.log", "-size", strconv.Itoa(230*mib), "-reads", "2")),
			"data", "/data", corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}),
		// tmpfs + restart (seed 003): the first run writes 80 MiB to a
		// memory-backed emptyDir and exits 1; the kubelet restarts the
		// container, the file survives (charged to the pod), and the next
		// run allocates until the pod's 128 MiB limit kills it.
		"tmpfs-restart": withVolume(pod(node.Name, "cache-restart", corev1.RestartPolicyOnFailure,
			container("app", 128*mib, "/bin/workload", "refill", "-file", "/cache/blob", "-size", strconv.Itoa(80*mib), "-step", strconv.Itoa(2*mib))),
			"cache", "/cache", corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}),
		// scrape pile-up (seed 004): the scrape agent, scraped
		// concurrently; its log goes where the kubelet keeps container logs.
		"scrape-pileup": withVolume(hostNetwork(pod(node.Name, "cadvisor-e2e", corev1.RestartPolicyNever,
			container("cadvisor", 512*mib, "/bin/scrapeagent", "-listen", fmt.Sprintf("127.0.0.1:%d", agentPort), "-root", "/rootfs",
				"-scan-delay", "2ms", "-containers", "300", "-history", "60", "-log-pid", "1"))),
			"rootfs", "/rootfs", corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: agentRoot}}),
	}
	pods["scrape-pileup"].Namespace = "kube-system"
	// MEMSNAP_E2E_SCENARIOS=anon-oom,page-cache runs only those (docs/e2e.md).
	selected := func(name string) bool {
		only := os.Getenv("MEMSNAP_E2E_SCENARIOS")
		return only == "" || slices.Contains(strings.Split(only, ","), name)
	}
	for name := range pods {
		if !selected(name) {
			delete(pods, name)
		}
	}
	if len(pods) == 0 {
		t.Fatalf("MEMSNAP_E2E_SCENARIOS=%s selects none of anon-oom, page-cache, tmpfs-restart, scrape-pileup", os.Getenv("MEMSNAP_E2E_SCENARIOS"))
	}
	created := map[string]*corev1.Pod{}
	for name, p := range pods {
		got, err := c.Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("%s: create pod: %v", name, err)
		}
		created[name] = got
	}

	// Wait for every scenario's state, in parallel: the kernel acts, the
	// kubelet reports.
	var wg sync.WaitGroup
	var mu sync.Mutex
	errs := make(chan error, len(created))
	wait := func(name, what string, cond func(*corev1.Pod) (bool, error)) {
		p := created[name]
		if p == nil {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := bed.WaitPod(ctx, p.Namespace, p.Name, podTimeout, what, cond)
			if err != nil {
				errs <- fmt.Errorf("%s: %w", name, err)
				return
			}
			mu.Lock()
			created[name] = got
			mu.Unlock()
		}()
	}
	wait("anon-oom", "app OOMKilled", func(p *corev1.Pod) (bool, error) {
		cs := status(p, "app")
		return cs != nil && cs.State.Terminated != nil && cs.State.Terminated.Reason == "OOMKilled", nil
	})
	wait("page-cache", "running", running("app"))
	wait("tmpfs-restart", "killed after its restart", func(p *corev1.Pod) (bool, error) {
		cs := status(p, "app")
		return cs != nil && cs.RestartCount >= 2 && cs.LastTerminationState.Terminated != nil && cs.LastTerminationState.Terminated.ExitCode == 137, nil
	})
	wait("scrape-pileup", "running", running("cadvisor"))
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}

	var kernelPC, kernelTmpfs memcgNumbers
	if p := created["page-cache"]; p != nil {
		// The page-cache workload prints "ready" once it has read its file back.
		if err := waitLog(ctx, bed, p, "app", "ready", podTimeout); err != nil {
			t.Fatal(err)
		}
		kernelPC = readMemcg(t, node, p, "app")
		t.Logf("kernel, page-cache container: working set %d, anon %d, limit %d", kernelPC.workingSet(), kernelPC.anon, 256*mib)
	}
	if p := created["tmpfs-restart"]; p != nil {
		kernelTmpfs = readMemcg(t, node, p, "")
		t.Logf("kernel, tmpfs-restart pod: shmem %d", kernelTmpfs.shmem)
	}
	var pprof []string
	agentPID := 0
	if p := created["scrape-pileup"]; p != nil {
		// Scrape the agent as Prometheus would: 3 clients, a timeout equal
		// to the interval, 5 rounds (DOMAIN §6).
		scrapeAgent(t, fmt.Sprintf("http://127.0.0.1:%d", agentPort))
		agentPID = containerPID(t, node, p, "cadvisor")
		pprof = append(pprof, "--pprof", fmt.Sprintf("cadvisor=http://127.0.0.1:%d/debug/pprof/heap,pid=%d", agentPort, agentPID))
	}

	// memsnap-collect as a real privileged pod (hostPID, hostNetwork, the
	// node's root at /host), reading the real kubelet with its serving
	// certificate and this node's Node object with a restricted token.
	bundle := collectInPod(t, ctx, bed, node, pprof...)
	files := bundleFiles(t, bundle)
	r := analyze(t, bed.Bin.Path("memsnap"), bundle)
	for _, s := range r.Bundles[0].Sources {
		t.Logf("source %s: %s %s", s.Name, s.Status, s.Error)
	}
	for _, p := range r.Bundles[0].Problems {
		t.Logf("bundle problem: %s", p)
	}
	scenario := func(name string, f func(t *testing.T, p *corev1.Pod)) {
		t.Run(name, func(t *testing.T) {
			p := created[name]
			if p == nil {
				t.Skip("not selected by MEMSNAP_E2E_SCENARIOS")
			}
			f(t, p)
		})
	}

	t.Run("real-kubelet-sources", func(t *testing.T) {
		checkRealKubeletFiles(t, files, node, created)
	})
	scenario("anon-oom", func(t *testing.T, p *corev1.Pod) {
		cs := status(p, "app")
		if cs.State.Terminated.ExitCode != 137 {
			t.Errorf("pod status: app exit code %d, want 137", cs.State.Terminated.ExitCode)
		}
		checkKernelOOMReport(t, files, p)
		evs := r.oomEvents(string(p.UID))
		if len(evs) != 1 {
			t.Fatalf("want 1 OOM event for pod %s, got %d: %+v", p.UID, len(evs), evs)
		}
		ev := evs[0]
		t.Logf("OOM event: pid %d (%s) %s/%s scope %s filled by %s, oom_memcg %s", ev.PID, ev.Process, ev.Pod, ev.Container, ev.LimitScope, ev.FilledBy, ev.OOMMemcg)
		if ev.Container != "app" || "containerd://"+ev.ContainerID != cs.ContainerID {
			t.Errorf("OOM attributed to container %q (%s), the pod status says app (%s)", ev.Container, ev.ContainerID, cs.ContainerID)
		}
		if ev.LimitScope != "container" || ev.FilledBy != "anon" {
			t.Errorf("limit_scope %q filled_by %q, want container, anon", ev.LimitScope, ev.FilledBy)
		}
		if ev.MemcgLimitBytes == nil || *ev.MemcgLimitBytes != 64*mib {
			t.Errorf("memcg limit from the kernel's report %v, want %d", ev.MemcgLimitBytes, 64*mib)
		}
		if f := r.requireFinding(t, "oom-kill", string(p.UID)); f.Container != "app" {
			t.Errorf("oom-kill finding for container %q, want app", f.Container)
		}
	})
	scenario("page-cache", func(t *testing.T, p *corev1.Pod) {
		if kernelPC.workingSet() < 256*mib*8/10 || kernelPC.anon > 16*mib {
			t.Fatalf("kernel: working set %d (%d%% of 256 MiB), anon %d: the scenario's sizes do not hold on this kernel",
				kernelPC.workingSet(), kernelPC.workingSet()*100/(256*mib), kernelPC.anon)
		}
		f := r.requireFinding(t, "working-set-page-cache", string(p.UID))
		if f.Container != "app" || f.Pod != p.Name {
			t.Errorf("finding names %s/%s, want %s/app", f.Pod, f.Container, p.Name)
		}
		if !strings.Contains(f.Summary, "/data/app.log") {
			t.Errorf("finding does not name the log file /data/app.log (from fds.tsv): %s", f.Summary)
		}
		if ws, ok := f.evidenceInt("working_set"); !ok || !within(ws, kernelPC.workingSet(), 0.05) {
			t.Errorf("finding's working set %d (present %v), the kernel's %d", ws, ok, kernelPC.workingSet())
		}
		if w := r.workload(string(p.UID), "app"); w == nil || w.AnonBytes == nil || *w.AnonBytes > 16*mib {
			t.Errorf("report's anon for the container should be small: %+v", w)
		}
	})
	scenario("tmpfs-restart", func(t *testing.T, p *corev1.Pod) {
		if !within(kernelTmpfs.shmem, 80*mib, 0.05) {
			t.Errorf("kernel: pod shmem %d after the restarts, want the %d bytes written ±5 %%", kernelTmpfs.shmem, 80*mib)
		}
		checkKernelOOMReport(t, files, p)
		r.requireFinding(t, "pod-orphaned-memory", string(p.UID))
		r.requireFinding(t, "tmpfs-memory", string(p.UID))
		r.requireFinding(t, "oom-kill", string(p.UID))
		evs := r.oomEvents(string(p.UID))
		if len(evs) == 0 {
			t.Fatalf("no OOM event for pod %s", p.UID)
		}
		for _, ev := range evs {
			if ev.LimitScope != "pod" || ev.FilledBy != "shmem" {
				t.Errorf("OOM event pid %d: limit_scope %q filled_by %q, want pod, shmem", ev.PID, ev.LimitScope, ev.FilledBy)
			}
		}
		if w := r.workload(string(p.UID), ""); w == nil || w.ShmemBytes == nil || !within(*w.ShmemBytes, 80*mib, 0.05) {
			t.Errorf("report's pod shmem should be the %d bytes written ±5 %%: %+v", 80*mib, w)
		}
		want := fmt.Sprintf("/var/lib/kubelet/pods/%s/volumes/kubernetes.io~empty-dir/cache\t", p.UID)
		if !strings.Contains(string(files["volumes/tmpfs.tsv"]), want) {
			t.Errorf("volumes/tmpfs.tsv does not list the pod's memory emptyDir %q:\n%s", want, files["volumes/tmpfs.tsv"])
		}
	})
	scenario("scrape-pileup", func(t *testing.T, _ *corev1.Pod) {
		if len(files["pprof/cadvisor/heap.pb.gz"]) == 0 {
			t.Error("bundle has no pprof/cadvisor/heap.pb.gz")
		}
		if tj := string(files["pprof/cadvisor/target.json"]); !strings.Contains(tj, fmt.Sprintf(`"pid": %d`, agentPID)) {
			t.Errorf("target.json does not carry the agent's pid %d: %s", agentPID, tj)
		}
		if lg := string(files["cadvisor/log.txt"]); !strings.Contains(lg, "fsHandler.go") {
			t.Errorf("bundle's cadvisor/log.txt (from the kubelet's container log) lacks the agent's slow-scan lines: %.300q", lg)
		}
		r.requireFinding(t, "agent-scrape-pileup", "")
	})
	t.Run("nothing-left-behind", func(t *testing.T) {
		if err := bed.Close(); err != nil {
			t.Fatal(err)
		}
		testbed.CheckClean(t)
	})
}

func pod(nodeName, name string, restart corev1.RestartPolicy, cs ...corev1.Container) *corev1.Pod {
	no := false
	var zero int64
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: scenarioNS},
		Spec: corev1.PodSpec{
			NodeName:                      nodeName, // no scheduler in the bed
			RestartPolicy:                 restart,
			Containers:                    cs,
			AutomountServiceAccountToken:  &no,
			EnableServiceLinks:            &no,
			TerminationGracePeriodSeconds: &zero,
		},
	}
}

func container(name string, limit int64, argv ...string) corev1.Container {
	c := corev1.Container{Name: name, Image: testbed.ToolsImage, ImagePullPolicy: corev1.PullNever, Command: argv}
	if limit > 0 {
		q := *resource.NewQuantity(limit, resource.BinarySI)
		c.Resources = corev1.ResourceRequirements{
			Limits:   corev1.ResourceList{corev1.ResourceMemory: q},
			Requests: corev1.ResourceList{corev1.ResourceMemory: *resource.NewQuantity(limit/2, resource.BinarySI), corev1.ResourceCPU: resource.MustParse("10m")},
		}
	}
	return c
}

func withVolume(p *corev1.Pod, name, mountPath string, src corev1.VolumeSource) *corev1.Pod {
	p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: name, VolumeSource: src})
	for i := range p.Spec.Containers {
		p.Spec.Containers[i].VolumeMounts = append(p.Spec.Containers[i].VolumeMounts, corev1.VolumeMount{Name: name, MountPath: mountPath})
	}
	return p
}

func hostNetwork(p *corev1.Pod) *corev1.Pod {
	p.Spec.HostNetwork = true
	return p
}

func status(p *corev1.Pod, name string) *corev1.ContainerStatus {
	for i := range p.Status.ContainerStatuses {
		if p.Status.ContainerStatuses[i].Name == name {
			return &p.Status.ContainerStatuses[i]
		}
	}
	return nil
}

func hasRunning(p *corev1.Pod) bool {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Running != nil {
			return true
		}
	}
	return false
}

func running(name string) func(*corev1.Pod) (bool, error) {
	return func(p *corev1.Pod) (bool, error) {
		cs := status(p, name)
		if cs != nil && cs.State.Terminated != nil {
			return false, fmt.Errorf("container %s terminated: %s exit %d", name, cs.State.Terminated.Reason, cs.State.Terminated.ExitCode)
		}
		return cs != nil && cs.State.Running != nil, nil
	}
}

func within(got, want int64, frac float64) bool {
	d := float64(got - want)
	return d <= frac*float64(want) && -d <= frac*float64(want)
}

// waitLog waits until a container's log (through the API server and the
// kubelet) contains text.
func waitLog(ctx context.Context, bed *testbed.Bed, p *corev1.Pod, container, text string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		b, err := bed.Client.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: container}).DoRaw(ctx)
		if err == nil && strings.Contains(string(b), text) {
			return nil
		}
		last = fmt.Sprintf("%q %v", b, err)
		time.Sleep(500 * time.Millisecond)
	}
	return fmt.Errorf("pod %s/%s container %s: log has no %q after %s (last: %.300s)", p.Namespace, p.Name, container, text, timeout, last)
}

// memcgNumbers are the kernel's own figures for a cgroup (v1 memory.stat
// totals and usage).
type memcgNumbers struct{ usage, inactiveFile, anon, shmem int64 }

func (k memcgNumbers) workingSet() int64 { return k.usage - k.inactiveFile }

// podCgroup is a pod's (container "" ) or container's memory cgroup
// directory under the node's cgroupRoot (cgroupfs driver:
// kubepods/<qos>/pod<uid>/<container id>).
func podCgroup(t *testing.T, node *testbed.KubeletNode, p *corev1.Pod, container string) string {
	t.Helper()
	qos := strings.ToLower(string(p.Status.QOSClass))
	dir := filepath.Join("/sys/fs/cgroup/memory", node.CgroupRoot, "kubepods")
	if qos != "guaranteed" {
		dir = filepath.Join(dir, qos)
	}
	dir = filepath.Join(dir, "pod"+string(p.UID))
	if container != "" {
		cs := status(p, container)
		if cs == nil || cs.ContainerID == "" {
			t.Fatalf("pod %s: no container ID for %s", p.Name, container)
		}
		dir = filepath.Join(dir, strings.TrimPrefix(cs.ContainerID, "containerd://"))
	}
	return dir
}

func readMemcg(t *testing.T, node *testbed.KubeletNode, p *corev1.Pod, container string) memcgNumbers {
	t.Helper()
	dir := podCgroup(t, node, p, container)
	stat, err := os.ReadFile(filepath.Join(dir, "memory.stat"))
	if err != nil {
		t.Fatal(err)
	}
	usage, err := os.ReadFile(filepath.Join(dir, "memory.usage_in_bytes"))
	if err != nil {
		t.Fatal(err)
	}
	var k memcgNumbers
	k.usage, _ = strconv.ParseInt(strings.TrimSpace(string(usage)), 10, 64)
	for _, line := range strings.Split(string(stat), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "total_inactive_file":
			k.inactiveFile = v
		case "total_rss":
			k.anon = v
		case "total_shmem":
			k.shmem = v
		}
	}
	return k
}

// containerPID is the pid (in the bed's PID namespace, which the
// collector's hostPID pod shares) of a container's process.
func containerPID(t *testing.T, node *testbed.KubeletNode, p *corev1.Pod, container string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(podCgroup(t, node, p, container), "cgroup.procs"))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		t.Fatalf("pod %s container %s: no process in its cgroup", p.Name, container)
	}
	pid, _ := strconv.Atoi(f[0])
	return pid
}

func scrapeAgent(t *testing.T, base string) {
	t.Helper()
	const interval, rounds, clients = 3 * time.Second, 5, 3
	var wg sync.WaitGroup
	for cl := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(cl) * time.Second)
			hc := &http.Client{Timeout: interval}
			for range rounds {
				go func() {
					if resp, err := hc.Get(base + "/metrics"); err == nil {
						resp.Body.Close()
					}
				}()
				time.Sleep(interval)
			}
		}()
	}
	wg.Wait()
}

// collectInPod runs memsnap-collect as a privileged pod on the node and
// returns the bundle's path (a hostPath directory the test shares, being in
// the node's mount namespace).
func collectInPod(t *testing.T, ctx context.Context, bed *testbed.Bed, node *testbed.KubeletNode, extra ...string) string {
	t.Helper()
	user, err := bed.User("memsnap-collect", testbed.RuleReadNodes)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(bed.Dir, "collect-out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(bed.Dir, "collect-token")
	if err := os.WriteFile(tokenFile, []byte(user.Token), 0o600); err != nil {
		t.Fatal(err)
	}
	host := func(p string) string { return "/host" + p } // the node's paths, seen from the pod
	yes := true
	p := pod(node.Name, "memsnap-collect", corev1.RestartPolicyNever, corev1.Container{
		Name: "collect", Image: testbed.ToolsImage, ImagePullPolicy: corev1.PullNever,
		Command: []string{"/bin/memsnap-collect", "--host-root", "/host", "-o", "/out/bundle.tar.gz",
			"--kubelet", fmt.Sprintf("https://127.0.0.1:%d", testbed.KubeletPort), "--kubelet-ca", host(node.Dir + "/kubelet-serving.crt"),
			"--apiserver", bed.APIServerURL, "--apiserver-token-file", host(tokenFile), "--apiserver-ca", host(bed.CAFile),
			"--since", "1h", "--timeout", "30s", "--deadline", "3m"},
		Env:             []corev1.EnvVar{{Name: "NODE_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}}},
		SecurityContext: &corev1.SecurityContext{Privileged: &yes},
		VolumeMounts:    []corev1.VolumeMount{{Name: "host", MountPath: "/host", ReadOnly: true}, {Name: "out", MountPath: "/out"}},
	})
	p.Spec.Containers[0].Command = append(p.Spec.Containers[0].Command, extra...)
	p.Spec.HostPID, p.Spec.HostNetwork = true, true
	p.Spec.Volumes = []corev1.Volume{
		{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}},
		{Name: "out", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: out}}},
	}
	if _, err := bed.Client.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	got, err := bed.WaitPod(ctx, p.Namespace, p.Name, collectTimeout, "Succeeded", func(p *corev1.Pod) (bool, error) {
		if p.Status.Phase == corev1.PodFailed {
			return false, fmt.Errorf("collector pod failed: %s", containerStates(p))
		}
		return p.Status.Phase == corev1.PodSucceeded, nil
	})
	logs, _ := bed.Client.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{}).DoRaw(ctx)
	t.Logf("memsnap-collect pod log:\n%s", logs)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("memsnap-collect pod %s succeeded after %s", got.Name, time.Since(start).Round(100*time.Millisecond))
	return filepath.Join(out, "bundle.tar.gz")
}

func containerStates(p *corev1.Pod) string {
	b, _ := json.Marshal(p.Status.ContainerStatuses)
	return string(b)
}

// checkRealKubeletFiles: the bundle's kubelet files are the real
// kubelet's answers: the summary names this node and the scenario pods,
// pods.json carries the kubelet's own OOMKilled status, configz is the
// running configuration (cgroupRoot below this test's cgroup), and the
// Node object came from the API server.
func checkRealKubeletFiles(t *testing.T, files map[string][]byte, node *testbed.KubeletNode, pods map[string]*corev1.Pod) {
	var summary struct {
		Node struct {
			NodeName string `json:"nodeName"`
		} `json:"node"`
		Pods []struct {
			PodRef struct{ UID string } `json:"podRef"`
		} `json:"pods"`
	}
	if err := json.Unmarshal(files["kubelet/summary.json"], &summary); err != nil {
		t.Fatalf("kubelet/summary.json: %v", err)
	}
	if summary.Node.NodeName != node.Name {
		t.Errorf("summary nodeName %q, want %q", summary.Node.NodeName, node.Name)
	}
	inSummary := map[string]bool{}
	for _, p := range summary.Pods {
		inSummary[p.PodRef.UID] = true
	}
	var list corev1.PodList
	if err := json.Unmarshal(files["kubelet/pods.json"], &list); err != nil {
		t.Fatalf("kubelet/pods.json: %v", err)
	}
	byUID := map[string]*corev1.Pod{}
	for i := range list.Items {
		byUID[string(list.Items[i].UID)] = &list.Items[i]
	}
	for name, p := range pods {
		if byUID[string(p.UID)] == nil {
			t.Errorf("%s: pods.json lacks pod %s", name, p.UID)
		}
		// The real kubelet leaves a pod out of /stats/summary while none
		// of its containers runs (tmpfs-restart in its restart back-off,
		// as the kubelet's own pods.json of the same moment says): memsnap
		// must not need it there, the cgroup files suffice.
		if kp := byUID[string(p.UID)]; kp != nil && hasRunning(kp) && !inSummary[string(p.UID)] {
			t.Errorf("%s: summary lacks pod %s, which has a running container", name, p.UID)
		} else if !inSummary[string(p.UID)] {
			t.Logf("%s: pod %s is not in the real kubelet's summary (no running container)", name, p.UID)
		}
	}
	if p := pods["anon-oom"]; p != nil {
		cs := (*corev1.ContainerStatus)(nil)
		if kp := byUID[string(p.UID)]; kp != nil {
			cs = status(kp, "app")
		}
		if cs == nil || cs.State.Terminated == nil || cs.State.Terminated.Reason != "OOMKilled" {
			t.Errorf("pods.json: the kubelet's own status of leaky/app is not OOMKilled: %+v", cs)
		}
	}
	var configz struct {
		KubeletConfig struct {
			CgroupRoot   string `json:"cgroupRoot"`
			CgroupDriver string `json:"cgroupDriver"`
		} `json:"kubeletconfig"`
	}
	if err := json.Unmarshal(files["kubelet/configz.json"], &configz); err != nil {
		t.Fatalf("kubelet/configz.json: %v", err)
	}
	if configz.KubeletConfig.CgroupRoot != node.CgroupRoot || configz.KubeletConfig.CgroupDriver != "cgroupfs" {
		t.Errorf("configz: cgroupRoot %q driver %q, the bed's kubelet runs with %q, cgroupfs", configz.KubeletConfig.CgroupRoot, configz.KubeletConfig.CgroupDriver, node.CgroupRoot)
	}
	var n corev1.Node
	if err := json.Unmarshal(files["kube/node.json"], &n); err != nil || n.Name != node.Name {
		t.Errorf("kube/node.json: %v, name %q, want %q", err, n.Name, node.Name)
	}
	if !strings.Contains(string(files["kubelet/flags.txt"]), "--hostname-override="+node.Name) {
		t.Errorf("kubelet/flags.txt is not the real kubelet's argv:\n%s", files["kubelet/flags.txt"])
	}
}

// checkKernelOOMReport: the bundle's kernel log holds the kernel's own
// memcg OOM report for a pod — its cgroup path names the pod UID — and the
// kill line. Other engineers' runs share the kernel log; only this pod's
// report counts.
func checkKernelOOMReport(t *testing.T, files map[string][]byte, p *corev1.Pod) {
	t.Helper()
	log := string(files["logs/kernel.log"])
	uid := string(p.UID)
	var report, kill bool
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "oom-kill:") && strings.Contains(line, uid) {
			report = true
		}
		if strings.Contains(line, "Memory cgroup out of memory: Killed process") {
			kill = true
		}
	}
	if !report || !kill {
		t.Errorf("logs/kernel.log: no memcg OOM report naming pod %s (oom-kill line %v, kill line %v)", uid, report, kill)
	}
}
