package lab

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	kubeletconfig "k8s.io/kubelet/config/v1beta1"
	"sigs.k8s.io/yaml"

	"github.com/memsnap/memsnap/report/schema"
)

// The lab node's reservations (a typical kubeadm-style node): kubepods'
// expected limit E = MemTotal − kube − system reserved; allocatable
// A = E − evictionHard (DOMAIN §5).
const (
	kubeReserved   = 512 * mib
	systemReserved = 512 * mib
	evictionHard   = 100 * mib
)

func labKubeletConfig() *kubeletconfig.KubeletConfiguration {
	yes := true
	return &kubeletconfig.KubeletConfiguration{
		CgroupDriver: "systemd", CgroupsPerQOS: &yes,
		EnforceNodeAllocatable: []string{"pods"},
		KubeReserved:           map[string]string{"memory": "512Mi"},
		SystemReserved:         map[string]string{"memory": "512Mi"},
		EvictionHard:           map[string]string{"memory.available": "100Mi"},
	}
}

// node is one scenario's lab with its host root and kubelet running.
type node struct {
	*Lab
	kubelet  *kubelet
	memTotal int64
}

// expectedKubepods is E for this machine.
func (n *node) expectedKubepods() int64 { return n.memTotal - kubeReserved - systemReserved }

// setupNode opens a lab, sets the kubepods limit (the kubelet's E unless
// kubepodsLimit is given), builds the host root with the kubelet config
// fixture plus extra fixtures, and starts the lab kubelet.
func setupNode(t *testing.T, e *labEnv, kubepodsLimit int64, fixtures map[string]string) *node {
	t.Helper()
	l := e.open(t)
	total, ok := memTotal()
	if !ok {
		t.Fatal("/proc/meminfo: no MemTotal")
	}
	n := &node{Lab: l, memTotal: total}
	if kubepodsLimit == 0 {
		kubepodsLimit = n.expectedKubepods()
	}
	if err := l.H.SetLimit(kubepodsCgroup(l.Root), kubepodsLimit); err != nil {
		t.Fatal(err)
	}
	cfg := labKubeletConfig()
	y, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"/var/lib/kubelet/config.yaml": fixtureHeader + "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n" + string(y),
	}
	for k, v := range fixtures {
		files[k] = v
	}
	if err := l.buildHostRoot(files); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	n.kubelet = newKubelet(l.H, host, cfg)
	t.Cleanup(n.kubelet.Close)
	return n
}

// collect runs collector and analyzer; the result is closed with t and,
// under make samples-from-lab, exported as samples/lab-<scenario>/.
func (n *node) collect(t *testing.T, e *labEnv, scenario string, extra ...string) *Result {
	t.Helper()
	r, err := n.Lab.collect(e.ctx, n.kubelet.URL(), extra...)
	t.Cleanup(r.Close)
	if err != nil {
		t.Fatalf("collect and analyze: %v", err)
	}
	checkRealCgroupSource(t, n, r)
	if dir := os.Getenv("MEMSNAP_LAB_SAMPLES"); dir != "" {
		sc := n.exportScope()
		dst, st, err := r.exportSample(dir, scenario, sc)
		if err != nil {
			t.Fatalf("export sample: %v", err)
		}
		t.Logf("exported %s (trimmed: %v)", dst, st)
		checkExport(t, e, n, r, dst, sc)
	}
	return r
}

// checkExport analyses the trimmed sample and compares it with the full
// bundle: the same findings (rule, subject, severity) once those about
// cgroups outside the lab subtree (other runs' OOM kills in the shared
// kernel log) are set aside, the same OOM events of the lab's cgroups, and
// no problem reading it (a manifest entry that does not match its file
// would be one).
func checkExport(t *testing.T, e *labEnv, n *node, r *Result, dst string, sc exportScope) {
	t.Helper()
	out, err := run(e.ctx, n.logf, n.Bin.Analyzer, "analyze", "--format", "json", "-o", "-", dst)
	if err != nil {
		t.Fatalf("memsnap analyze %s: %v", dst, err)
	}
	var doc schema.Document
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("memsnap analyze %s: JSON report: %v", dst, err)
	}
	foreign := func(cg string) bool { return cg != "" && cg != "/" && !sc.ownsCgroup(cg) }
	var want, got []string
	for _, f := range r.Report.Findings {
		if !foreign(f.Cgroup) {
			want = append(want, f.Rule+"\t"+f.Subject+"\t"+f.Severity)
		}
	}
	for _, f := range doc.Findings {
		got = append(got, f.Rule+"\t"+f.Subject+"\t"+f.Severity)
		if foreign(f.Cgroup) {
			t.Errorf("trimmed sample has a finding about cgroup %s outside the lab subtree %s", f.Cgroup, sc.Root)
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(want, got) {
		t.Errorf("trimmed sample's findings differ from the full bundle's\n got: %q\nwant: %q", got, want)
	}
	var wantEv, gotEv []string
	for _, ev := range r.Report.OOMEvents {
		if !foreign(ev.TaskMemcg) {
			wantEv = append(wantEv, fmt.Sprintf("%d %s %s %s", ev.PID, ev.TaskMemcg, ev.LimitScope, ev.FilledBy))
		}
	}
	for _, ev := range doc.OOMEvents {
		gotEv = append(gotEv, fmt.Sprintf("%d %s %s %s", ev.PID, ev.TaskMemcg, ev.LimitScope, ev.FilledBy))
	}
	if !slices.Equal(wantEv, gotEv) {
		t.Errorf("trimmed sample's OOM events differ from the lab's own in the full bundle\n got: %q\nwant: %q", gotEv, wantEv)
	}
	for _, b := range doc.Bundles {
		for _, p := range b.Problems {
			t.Errorf("trimmed sample: problem: %s", p)
		}
	}
}

// checkRealCgroupSource: the manifest says the cgroup data came from the
// memory hierarchy the lab wrote to, and the bundle holds the very limit
// the lab set on its kubepods cgroup.
func checkRealCgroupSource(t *testing.T, n *node, r *Result) {
	t.Helper()
	m := r.Bundle.Manifest()
	if m == nil {
		t.Fatal("bundle has no manifest")
	}
	if m.Node.CgroupVersion != n.H.Version {
		t.Errorf("manifest cgroup_version %d, the lab's memory hierarchy is v%d", m.Node.CgroupVersion, n.H.Version)
	}
	for _, s := range m.Sources {
		if s.Status != "ok" {
			t.Logf("manifest: source %s %s: %s", s.Name, s.Status, s.Error)
		}
		if s.Name == "cgroup" && s.Status != "ok" {
			t.Errorf("manifest: cgroup source %s: %s", s.Status, s.Error)
		}
	}
	kp := kubepodsCgroup(n.Root)
	limitFile := n.H.Files().Limit
	want, err := os.ReadFile(filepath.Join(n.H.Dir(kp), limitFile))
	if err != nil {
		t.Fatal(err)
	}
	got, ok := r.file(path.Join("cgroup", strings.TrimPrefix(kp, "/"), limitFile))
	if !ok || string(got) != string(want) {
		t.Errorf("bundle cgroup%s/%s = %q (present %v), the kernel's file says %q", kp, limitFile, got, ok, want)
	}
}

// requireFinding returns the first finding of rule for the pod, failing
// the test with the findings that did appear otherwise.
func requireFinding(t *testing.T, r *Result, rule, podUID string) schema.Finding {
	t.Helper()
	fs := r.findings(rule, podUID)
	if len(fs) == 0 {
		var got []string
		for _, f := range r.Report.Findings {
			got = append(got, f.Rule+" "+f.Subject+" ("+f.PodUID+")")
		}
		var rules []string
		for _, s := range r.Report.Rules {
			if s.ID == rule {
				rules = append(rules, s.Status+": "+s.Reason)
			}
		}
		t.Fatalf("no %s finding for pod %s; rule %v; findings: %v", rule, podUID, rules, got)
	}
	t.Logf("finding %s (%s) %s: %s", rule, fs[0].Severity, fs[0].Subject, fs[0].Summary)
	return fs[0]
}

// evidenceValue finds a numeric evidence item by key.
func evidenceValue(f schema.Finding, key string) (int64, bool) {
	for _, ev := range f.Evidence {
		if ev.Key == key && ev.Value != "" {
			n, err := strconv.ParseInt(ev.Value.String(), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// requireOOM returns the lab's one OOM event for a pod, checking the
// victim is the process the lab started.
func requireOOM(t *testing.T, r *Result, p *Pod, pid int) schema.OOMEvent {
	t.Helper()
	evs := r.oomEvents(p.UID)
	if len(evs) != 1 {
		t.Fatalf("want 1 OOM event for pod %s, got %d (all events: %+v)", p.UID, len(evs), r.Report.OOMEvents)
	}
	ev := evs[0]
	t.Logf("OOM event: pid %d (%s) %s/%s scope %s filled by %s, oom_memcg %s", ev.PID, ev.Process, ev.Pod, ev.Container, ev.LimitScope, ev.FilledBy, ev.OOMMemcg)
	if ev.PID != pid {
		t.Errorf("OOM victim pid %d, the lab started pid %d", ev.PID, pid)
	}
	return ev
}

// 1. page cache (seed 000): a container writes its log file on a disk and
// reads it back twice; the re-read pages sit on the active file list and
// the kernel's working set passes 80 % of the limit with almost no anon.
func testPageCache(t *testing.T, e *labEnv) {
	n := setupNode(t, e, 0, nil)
	const limit = 256 * mib
	// 230 MiB in a 256 MiB cgroup, read back: 92 % working set on 6.18 v1
	// (DOMAIN §2.6 [obs]); 200 MiB gave only 80 %, on the threshold.
	const size = 230 * mib
	p := newPod(n.Root, "memsnap-lab", "log-writer", "burstable", limit)
	c := p.addContainer("app", limit)
	if err := n.createPod(p); err != nil {
		t.Fatal(err)
	}
	n.kubelet.setPods(p)
	logDir := filepath.Join(n.Dir, "app-logs")
	if err := os.Mkdir(logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(logDir, "app.log")
	proc, err := n.start(c, "pagecache", "-file", logFile, "-size", strconv.FormatInt(size, 10), "-reads", "2")
	if err != nil {
		t.Fatal(err)
	}
	if proc.exited() {
		t.Fatalf("workload exited early: %v", proc.state)
	}
	k := readKernel(t, n.Lab, c.Cgroup)
	t.Logf("kernel, container %s: %v (limit %d)", c.Name, k, limit)
	if k.workingSet() < limit*8/10 {
		t.Fatalf("on this kernel a %d MiB file read back twice gives a working set of only %d%% of %d MiB: the scenario's sizes do not hold here (%v)",
			size/mib, k.workingSet()*100/limit, limit/mib, k)
	}
	if k.anon > 16*mib {
		t.Fatalf("anon %d is not small: the workload should hold only page cache", k.anon)
	}

	r := n.collect(t, e, "page-cache")
	f := requireFinding(t, r, "working-set-page-cache", p.UID)
	if f.Container != "app" || f.Pod != p.Name {
		t.Errorf("finding names %s/%s, want %s/app", f.Pod, f.Container, p.Name)
	}
	if !strings.Contains(f.Summary, logFile) {
		t.Errorf("finding does not name the log file %s (from fds.tsv): %s", logFile, f.Summary)
	}
	if ws, ok := evidenceValue(f, "working_set"); !ok || !within(ws, k.workingSet(), 0.03) {
		t.Errorf("finding's working set %d (present %v), the kernel's %d", ws, ok, k.workingSet())
	}
	if w := r.workload(p.UID, "app"); w == nil || w.AnonBytes == nil || *w.AnonBytes > 16*mib {
		t.Errorf("report's anon for the container should be small: %+v", w)
	}
}

// 2. anon OOM (seed 001): a container allocates anonymous memory past its
// 64 MiB limit and the kernel kills it.
func testAnonOOM(t *testing.T, e *labEnv) {
	n := setupNode(t, e, 0, nil)
	// The sidecar has no limit, so the kubelet sets none on the pod
	// (ResourceConfigForPod): only the container limit can fire.
	p := newPod(n.Root, "memsnap-lab", "leaky", "burstable", -1)
	c := p.addContainer("app", 64*mib)
	p.addContainer("sidecar", -1)
	if err := n.createPod(p); err != nil {
		t.Fatal(err)
	}
	proc, err := n.start(c, "alloc", "-step", strconv.FormatInt(4*mib, 10))
	if err != nil {
		t.Fatal(err)
	}
	st, err := proc.wait(60 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !oomKilled(st) {
		t.Fatalf("workload ended with %v after %q, want SIGKILL from the OOM killer", st, proc.lastLine())
	}
	if kills := oomKills(t, n.Lab, c.Cgroup); kills < 1 {
		t.Fatalf("container cgroup's oom_kill counter is %d after the kill", kills)
	}
	c.LastOOMKill = true
	n.kubelet.setPods(p)

	r := n.collect(t, e, "anon-oom")
	ev := requireOOM(t, r, p, proc.PID)
	if ev.Container != "app" || ev.ContainerID != c.ID {
		t.Errorf("OOM attributed to container %q (%s), want app (%s)", ev.Container, ev.ContainerID, c.ID)
	}
	if ev.LimitScope != "container" {
		t.Errorf("limit_scope %q, want container", ev.LimitScope)
	}
	if ev.FilledBy != "anon" {
		t.Errorf("filled_by %q, want anon", ev.FilledBy)
	}
	if ev.MemcgLimitBytes == nil || *ev.MemcgLimitBytes != 64*mib {
		t.Errorf("memcg limit from the kernel's report %v, want %d", ev.MemcgLimitBytes, 64*mib)
	}
	f := requireFinding(t, r, "oom-kill", p.UID)
	if f.Container != "app" {
		t.Errorf("oom-kill finding for container %q, want app", f.Container)
	}
}

// 3. tmpfs + restart (seed 003): container 1 fills the pod's memory
// emptyDir, exits and its cgroup is removed (a restart); container 2
// allocates until the pod limit kills it. The tmpfs pages stay charged to
// the pod (cgroup-v1/memory.rst §4.3), so shmem fills the pod's limit.
func testTmpfsRestart(t *testing.T, e *labEnv) {
	n := setupNode(t, e, 0, nil)
	const limit = 128 * mib
	const written = 80 * mib
	p := newPod(n.Root, "memsnap-lab", "cache-restart", "burstable", limit)
	c := p.addContainer("app", limit)
	if err := n.createPod(p); err != nil {
		t.Fatal(err)
	}
	vol, err := n.mountTmpfs(p, "cache", limit) // sized to the pod limit, as the kubelet does
	if err != nil {
		t.Fatal(err)
	}
	n.kubelet.setPods(p)
	first, err := n.start(c, "fill", "-file", filepath.Join(vol.HostPath, "blob"), "-size", strconv.FormatInt(written, 10))
	if err != nil {
		t.Fatal(err)
	}
	if st, err := first.wait(30 * time.Second); err != nil || !st.Success() {
		t.Fatalf("container 1: %v %v", st, err)
	}
	if err := n.restart(p, c); err != nil {
		t.Fatal(err)
	}
	k := readKernel(t, n.Lab, p.Cgroup)
	t.Logf("kernel, pod after restart: %v", k)
	if !within(k.shmem, written, 0.05) {
		t.Fatalf("pod shmem %d after the restart, want the %d bytes written to tmpfs ±5 %%", k.shmem, written)
	}
	second, err := n.start(c, "alloc", "-step", strconv.FormatInt(2*mib, 10))
	if err != nil {
		t.Fatal(err)
	}
	st, err := second.wait(60 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !oomKilled(st) {
		t.Fatalf("container 2 ended with %v after %q, want SIGKILL from the OOM killer", st, second.lastLine())
	}
	c.LastOOMKill = true
	n.kubelet.setPods(p)

	r := n.collect(t, e, "tmpfs-restart")
	requireFinding(t, r, "pod-orphaned-memory", p.UID)
	requireFinding(t, r, "tmpfs-memory", p.UID)
	ev := requireOOM(t, r, p, second.PID)
	if ev.LimitScope != "pod" {
		t.Errorf("limit_scope %q, want pod", ev.LimitScope)
	}
	if ev.FilledBy != "shmem" {
		t.Errorf("filled_by %q, want shmem", ev.FilledBy)
	}
	requireFinding(t, r, "oom-kill", p.UID)
	if w := r.workload(p.UID, ""); w == nil || w.ShmemBytes == nil || !within(*w.ShmemBytes, written, 0.05) {
		t.Errorf("report's pod shmem should be the %d bytes written ±5 %%: %+v", written, w)
	}
	checkTmpfsListing(t, r, vol, written)
}

// checkTmpfsListing: the collector lists the lab's emptyDir in
// volumes/tmpfs.tsv (path, size, used; DESIGN §2) under its node path —
// the lab's tmpfs sits below the host root, the collector strips that
// prefix — with statfs's used bytes within 5 % of what container 1 wrote.
func checkTmpfsListing(t *testing.T, r *Result, vol *Volume, written int64) {
	t.Helper()
	b, ok := r.file("volumes/tmpfs.tsv")
	if !ok {
		t.Errorf("bundle has no volumes/tmpfs.tsv")
		return
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			t.Errorf("volumes/tmpfs.tsv: %q: want path, size, used", line)
			continue
		}
		p := f[0]
		if uq, err := strconv.Unquote(p); err == nil {
			p = uq // a path with a tab, newline or backslash is Go-quoted
		}
		if p != vol.NodePath {
			continue
		}
		size, err1 := strconv.ParseInt(f[1], 10, 64)
		used, err2 := strconv.ParseInt(f[2], 10, 64)
		if err1 != nil || err2 != nil {
			t.Errorf("volumes/tmpfs.tsv: %q: size and used must be byte counts", line)
			return
		}
		t.Logf("volumes/tmpfs.tsv: %s size %d used %d (written %d)", p, size, used, written)
		if size != vol.SizeBytes {
			t.Errorf("volumes/tmpfs.tsv: %s size %d, the lab mounted it with size=%d", p, size, vol.SizeBytes)
		}
		if !within(used, written, 0.05) {
			t.Errorf("volumes/tmpfs.tsv: %s used %d, container 1 wrote %d (±5 %%)", p, used, written)
		}
		return
	}
	t.Errorf("volumes/tmpfs.tsv does not list the lab's tmpfs %s:\n%s", vol.NodePath, b)
}

// 4a. kubepods drift (seed 002, kernel part): the kubepods cgroup limit is
// far below the node's allocatable; a pod is OOM-killed at the kubepods
// level while the scheduler would still place pods. systemd's drop-in is
// a fixture in the #88197 shape (the unit keeps total RAM).
func testKubepodsDrift(t *testing.T, e *labEnv) {
	const kubepodsLimit = 128 * mib
	total, _ := memTotal()
	dropIn := fixtureHeader + "# kubernetes/kubernetes#88197: the unit kept MemoryLimit = total RAM.\n[Slice]\nMemoryLimit=" + strconv.FormatInt(total, 10) + "\n"
	n := setupNode(t, e, kubepodsLimit, map[string]string{
		"/run/systemd/system/kubepods.slice.d/50-MemoryLimit.conf": dropIn,
	})
	p := newPod(n.Root, "memsnap-lab", "batch", "besteffort", -1)
	c := p.addContainer("app", -1)
	if err := n.createPod(p); err != nil {
		t.Fatal(err)
	}
	proc, err := n.start(c, "alloc", "-step", strconv.FormatInt(4*mib, 10))
	if err != nil {
		t.Fatal(err)
	}
	st, err := proc.wait(60 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !oomKilled(st) {
		t.Fatalf("workload ended with %v, want SIGKILL from the OOM killer", st)
	}
	c.LastOOMKill = true
	n.kubelet.setPods(p)

	r := n.collect(t, e, "kubepods-drift")
	f := requireFinding(t, r, "kubepods-limit-drift", "")
	if f.Severity != "critical" {
		t.Errorf("kubepods-limit-drift severity %s, want critical (limit below allocatable)", f.Severity)
	}
	mem := r.Report.Bundles[0].Memory
	allocatable := n.expectedKubepods() - evictionHard
	if mem.KubepodsLimitBytes == nil || *mem.KubepodsLimitBytes != kubepodsLimit {
		t.Errorf("report's kubepods limit %v, the lab set %d", mem.KubepodsLimitBytes, kubepodsLimit)
	}
	if mem.AllocatableBytes == nil || *mem.AllocatableBytes != allocatable {
		t.Errorf("report's allocatable %v, MemTotal %d − reserved − eviction = %d", mem.AllocatableBytes, total, allocatable)
	}
	ev := requireOOM(t, r, p, proc.PID)
	if ev.LimitScope != "kubepods" {
		t.Errorf("limit_scope %q, want kubepods", ev.LimitScope)
	}
}

// 4b. scrape pile-up (seed 004): the scrape-agent program runs in a lab
// container, is scraped concurrently by three clients whose timeout
// equals their interval, and its real heap profile is collected with
// --pprof while its log sits where the kubelet keeps container logs.
func testScrapePileup(t *testing.T, e *labEnv) {
	n := setupNode(t, e, 0, nil)
	p := newPod(n.Root, "kube-system", "cadvisor-lab", "burstable", 512*mib)
	c := p.addContainer("cadvisor", 512*mib)
	if err := n.createPod(p); err != nil {
		t.Fatal(err)
	}
	n.kubelet.setPods(p)
	rootfs := filepath.Join(n.Dir, "agent-rootfs")
	for i := range 24 {
		id := randomHex(32)
		files := 10
		if i%4 == 3 {
			files = 400 // a few containers with many small files, as on the seed's node
		}
		for _, d := range []string{filepath.Join(rootfs, "DATA/docker/overlay2", id, "diff"), filepath.Join(rootfs, "DATA/docker/containers", id)} {
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
	logPath, err := n.podLogFile(p, c)
	if err != nil {
		t.Fatal(err)
	}
	logFile, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	addrFile := filepath.Join(n.Dir, "agent.addr")
	proc, err := n.startLogged(c, logFile, "exec", "--", n.Bin.ScrapeAgent, "-listen", "127.0.0.1:0", "-addr-file", addrFile,
		"-root", rootfs, "-scan-delay", "2ms", "-containers", "300", "-history", "60", "-log-pid", "1")
	if err != nil {
		t.Fatal(err)
	}
	var addr string
	for deadline := time.Now().Add(30 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if b, err := os.ReadFile(addrFile); err == nil && len(b) > 0 {
			addr = string(b)
		}
		if proc.exited() {
			t.Fatalf("scrape agent exited: %v", proc.state)
		}
	}
	if addr == "" {
		t.Fatal("scrape agent did not write its address")
	}
	base := "http://" + addr
	// Prometheus abandons a scrape at scrape_timeout (= interval here);
	// the agent keeps working on it, so scrapes overlap (DOMAIN §6).
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

	r := n.collect(t, e, "scrape-pileup", "--pprof", fmt.Sprintf("cadvisor=%s/debug/pprof/heap,pid=%d", base, proc.PID))
	if b, ok := r.file("pprof/cadvisor/heap.pb.gz"); !ok || len(b) == 0 {
		t.Fatal("bundle has no pprof/cadvisor/heap.pb.gz")
	}
	if tj, ok := r.file("pprof/cadvisor/target.json"); !ok || !strings.Contains(string(tj), fmt.Sprintf(`"pid": %d`, proc.PID)) {
		t.Errorf("target.json does not carry the agent's pid %d: %s", proc.PID, tj)
	}
	if lg, ok := r.file("cadvisor/log.txt"); !ok || !strings.Contains(string(lg), "fsHandler.go") {
		t.Errorf("bundle's cadvisor/log.txt lacks the agent's slow-scan lines (present %v)", ok)
	}
	requireFinding(t, r, "agent-scrape-pileup", "")
}
