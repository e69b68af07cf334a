package lab

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/memsnap/memsnap/report/schema"
)

// holdJava is the lab's JVM workload, run by the java launcher's
// single-file source mode (JEP 330; the jdk.compiler module it needs ships
// in Debian's openjdk-17-jre-headless lib/modules): it fills 64 MiB of
// heap, says ready and holds until stdin closes.
const holdJava = `public class Hold {
    public static void main(String[] args) throws Exception {
        byte[][] keep = new byte[64][];
        for (int i = 0; i < keep.length; i++) {
            keep[i] = new byte[1 << 20];
            keep[i][0] = 1;
        }
        System.out.println("ready");
        System.out.flush();
        while (System.in.read() >= 0) {
        }
        System.out.println(keep.length);
    }
}
`

// labEnvSecret is set in the environment of the lab's JVM beside its
// JAVA_TOOL_OPTIONS: the collector must drop it before writing anything.
const labEnvSecret = "MEMSNAP_LAB_DB_PASSWORD=labEnvS3cret"

// 6. runtime-heap-vs-limit: a real JVM (Debian's openjdk-17-jre-headless;
// scripts/lab-deps.sh installs it) with -Xmx1g in a 384 MiB container, and
// the Go workload with GOMEMLIMIT=512MiB in a 128 MiB container. Both are
// critical on the lab's own bundle, read from the processes' real
// /proc/<pid>/cmdline and environ.
func testRuntimeHeapVsLimit(t *testing.T, e *labEnv) {
	java, err := exec.LookPath("java")
	if err != nil {
		t.Fatal("no java on PATH: run scripts/lab-deps.sh (make lab does) to install openjdk-17-jre-headless")
	}
	n := setupNode(t, e, 0, nil)
	p := newPod(n.Root, "memsnap-lab", "heap-ceilings", "burstable", -1)
	jc := p.addContainer("jvm", 384*mib)
	jc.Env = []string{"JAVA_TOOL_OPTIONS=-XX:MaxRAMPercentage=90", labEnvSecret}
	gc := p.addContainer("gosvc", 128*mib)
	gc.Env = []string{"GOMEMLIMIT=512MiB", "GOGC=100"}
	if err := n.createPod(p); err != nil {
		t.Fatal(err)
	}
	n.kubelet.setPods(p)
	src := filepath.Join(n.Dir, "Hold.java")
	if err := os.WriteFile(src, []byte(holdJava), 0o644); err != nil {
		t.Fatal(err)
	}
	jvm, err := n.start(jc, "exec", "--", java, "-Xmx1g", "-XX:+UseSerialGC", src)
	if err != nil {
		t.Fatal(err)
	}
	// Compiling the source in the JVM takes seconds on a loaded machine.
	if err := jvm.waitReady(3 * time.Minute); err != nil || jvm.exited() {
		t.Fatalf("JVM not ready (%v, exited %v, state %v): last output %q", err, jvm.exited(), jvm.state, jvm.lastLine())
	}
	gosvc, err := n.start(gc, "alloc", "-step", strconv.FormatInt(4*mib, 10), "-max", strconv.FormatInt(16*mib, 10))
	if err != nil || gosvc.exited() {
		t.Fatalf("Go workload: %v (exited %v)", err, gosvc.exited())
	}

	r := n.collect(t, e, "runtime-heap")
	var jf, gf *schema.Finding
	for _, f := range r.findings("runtime-heap-vs-limit", p.UID) {
		switch f.Container {
		case "jvm":
			jf = &f
		case "gosvc":
			gf = &f
		}
	}
	if jf == nil || gf == nil {
		t.Fatalf("runtime-heap-vs-limit findings: jvm %v, gosvc %v; all: %+v", jf, gf, r.findings("runtime-heap-vs-limit", ""))
	}
	t.Logf("jvm: %s: %s", jf.Severity, jf.Summary)
	t.Logf("gosvc: %s: %s", gf.Severity, gf.Summary)
	if jf.Severity != schema.Critical || !strings.Contains(jf.Summary, "-Xmx1g (argv)") || !strings.Contains(jf.Summary, "container limit of 384 MiB") {
		t.Errorf("JVM finding: %s %s", jf.Severity, jf.Summary)
	}
	if gf.Severity != schema.Critical || !strings.Contains(gf.Summary, "GOMEMLIMIT=512MiB (environ)") || !strings.Contains(gf.Summary, "container limit of 128 MiB") {
		t.Errorf("Go finding: %s %s", gf.Severity, gf.Summary)
	}
	// The collector kept the runtime variables and nothing else.
	env, ok := r.file(path.Join("proc", strconv.Itoa(jvm.PID), "environ"))
	if !ok || string(env) != "JAVA_TOOL_OPTIONS=-XX:MaxRAMPercentage=90\n" {
		t.Errorf("proc/%d/environ = %q (present %v), want only JAVA_TOOL_OPTIONS", jvm.PID, env, ok)
	}
	for _, name := range r.Bundle.List("") {
		if b, ok := r.file(name); ok && bytes.Contains(b, []byte("labEnvS3cret")) {
			t.Errorf("%s carries the JVM's secret environment variable", name)
		}
	}
}

// 7. dying-memcgs: one process leaves 256 KiB of page cache in each of 600
// child cgroups of a job pod and the lab removes them: the charges keep
// the memcgs alive (removed, not freed), which /proc/cgroups (v1) or the
// parent's cgroup.stat nr_dying_descendants (v2) counts.
func testDyingMemcgs(t *testing.T, e *labEnv) {
	const children = 600
	n := setupNode(t, e, 0, nil)
	p := newPod(n.Root, "memsnap-lab", "job-churn", "burstable", 512*mib)
	c := p.addContainer("runner", 512*mib)
	if err := n.createPod(p); err != nil {
		t.Fatal(err)
	}
	n.kubelet.setPods(p)
	churn := path.Join(p.Cgroup, "churn")
	if err := n.H.Mkdir(churn); err != nil {
		t.Fatal(err)
	}
	for i := range children {
		if err := n.H.Mkdir(path.Join(churn, fmt.Sprintf("c%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	before, beforeOK := memoryCgroups()
	dataDir := filepath.Join(n.Dir, "churn-data")
	if err := os.Mkdir(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	proc, err := n.start(c, "spread", "-dir", n.H.Dir(churn), "-n", strconv.Itoa(children), "-size", strconv.FormatInt(256*kib, 10), "-file", filepath.Join(dataDir, "f"))
	if err != nil || proc.exited() {
		t.Fatalf("spread: %v (exited %v, %q)", err, proc.exited(), proc.lastLine())
	}
	for i := range children {
		if err := n.H.RemoveTree(path.Join(churn, fmt.Sprintf("c%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	after, afterOK := memoryCgroups()
	t.Logf("/proc/cgroups memory num_cgroups: %d before the removal (with the %d children), %d after", before, children, after)
	if n.H.Version == 1 && beforeOK && afterOK && after < before-children/2 {
		t.Fatalf("the kernel freed the removed cgroups at once (%d → %d): their page cache did not keep them alive here", before, after)
	}

	r := n.collect(t, e, "dying-memcgs")
	fs := r.findings("dying-memcgs", "")
	if len(fs) == 0 {
		var rules []string
		for _, s := range r.Report.Rules {
			if s.ID == "dying-memcgs" {
				rules = append(rules, s.Status+": "+s.Reason)
			}
		}
		t.Fatalf("no dying-memcgs finding (rule %v)", rules)
	}
	f := fs[0]
	t.Logf("finding %s %s: %s", f.Severity, f.Subject, f.Summary)
	if f.Severity != schema.Warning || !strings.Contains(f.Summary, "removed") {
		t.Errorf("finding %s %s", f.Severity, f.Summary)
	}
	if n.H.Version == 1 {
		b, ok := r.file("node/cgroups")
		if !ok || !strings.Contains(string(b), "memory") {
			t.Errorf("bundle node/cgroups = %q (present %v)", b, ok)
		}
	}
	proc.stop()
}

// memoryCgroups is /proc/cgroups' num_cgroups of the memory controller.
func memoryCgroups() (int64, bool) {
	b, err := os.ReadFile("/proc/cgroups")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == "memory" {
			n, err := strconv.ParseInt(f[2], 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// 8. thp-inflation: with THP enabled=always or madvise (this test changes
// no host setting), a container maps 320 MiB with MADV_HUGEPAGE and
// touches one byte per 2 MiB: the kernel charges whole huge pages.
func testTHPInflation(t *testing.T, e *labEnv) {
	mode, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil {
		t.Fatalf("no THP on this kernel (%v): the scenario cannot run here", err)
	}
	if strings.Contains(string(mode), "[never]") {
		t.Fatalf("THP is %q on this host; the lab does not change host-wide settings, so thp-inflation cannot be provoked here", strings.TrimSpace(string(mode)))
	}
	const size = 320 * mib
	n := setupNode(t, e, 0, nil)
	p := newPod(n.Root, "memsnap-lab", "huge", "burstable", 512*mib)
	c := p.addContainer("app", 512*mib)
	if err := n.createPod(p); err != nil {
		t.Fatal(err)
	}
	n.kubelet.setPods(p)
	proc, err := n.start(c, "thp", "-size", strconv.FormatInt(size, 10))
	if err != nil || proc.exited() {
		t.Fatalf("thp workload: %v (exited %v, %q)", err, proc.exited(), proc.lastLine())
	}
	st, err := n.H.Stat(c.Cgroup)
	if err != nil {
		t.Fatal(err)
	}
	huge := st["anon_thp"]
	if n.H.Version == 1 {
		huge = st["total_rss_huge"]
	}
	t.Logf("THP %s; container memory.stat huge %d, anon %d", strings.TrimSpace(string(mode)), huge, st[n.H.Files().Anon])
	if huge < 256*mib {
		t.Fatalf("only %d MiB of the %d MiB region became huge pages (no free 2 MiB blocks? defrag policy?): the scenario needs ≥ 256 MiB", huge/mib, size/mib)
	}

	r := n.collect(t, e, "thp-inflation")
	f := requireFinding(t, r, "thp-inflation", p.UID)
	if f.Container != "app" || f.Severity != schema.Warning || !strings.Contains(f.Summary, "transparent huge pages") {
		t.Errorf("finding %s %s %s", f.Container, f.Severity, f.Summary)
	}
	if b, ok := r.file("node/transparent_hugepage/enabled"); !ok || string(b) != string(mode) {
		t.Errorf("bundle node/transparent_hugepage/enabled = %q, the host's %q", b, mode)
	}
	proc.stop()
}
