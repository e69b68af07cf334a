package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/memsnap/memsnap/e2e/testbed"
)

// BenchmarkPluginAPIMode100Nodes: kubectl-memsnap collects 100 stand-in
// nodes of 50 pods each in API mode through the real kube-apiserver at
// --parallel 10 (make bench-plugin). Reported per run: wall seconds, the
// plugin's peak RSS (and its anonymous part) and the API server's request count (its own
// apiserver_request_total, summed, before and after). Goals (issue #14):
// ≤ 30 s and ≤ 100 MB. MEMSNAP_BENCH_PLUGIN_NODES changes the node count;
// MEMSNAP_BENCH_PLUGIN_OUTPUT=FILE keeps the last run's plugin output there.
func BenchmarkPluginAPIMode100Nodes(b *testing.B) {
	nodes := 100
	if v := os.Getenv("MEMSNAP_BENCH_PLUGIN_NODES"); v != "" {
		nodes, _ = strconv.Atoi(v)
	}
	bed := testbed.Start(b)
	setup := time.Now()
	for i := 0; i < nodes; i++ {
		if _, err := bed.AddStandinNode(fmt.Sprintf("bench-%03d", i), i, testbed.StandinOptions{Pods: 50, ContainersPerPod: 1, Seed: uint64(100 + i)}); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("%d stand-ins of 50 pods up in %s", nodes, time.Since(setup).Round(time.Second))
	ctx := bed.Context()
	b.ResetTimer()
	for b.Loop() {
		dir := b.TempDir()
		before := apiRequests(b, ctx, bed)
		cmd := exec.CommandContext(ctx, bed.Bin.Path("kubectl-memsnap"), "collect", "--kubeconfig", bed.Kubeconfig,
			"--all", "--mode", "api", "--parallel", "10", "-o", dir)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		rssCh := pollRSS(cmd.Process.Pid)
		err := cmd.Wait()
		wall := time.Since(start)
		peak := <-rssCh
		if f := os.Getenv("MEMSNAP_BENCH_PLUGIN_OUTPUT"); f != "" {
			// The plugin's own output (GODEBUG=gctrace=1 lines, say), kept for a look.
			os.WriteFile(f, out.Bytes(), 0o644)
		}
		if err != nil {
			b.Fatalf("kubectl-memsnap: %v\n%s", err, out.String())
		}
		reqs := apiRequests(b, ctx, bed) - before
		rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss * 1024
		cl := readCluster(b, dir)
		if len(cl.Nodes) != nodes {
			b.Fatalf("cluster.json has %d nodes", len(cl.Nodes))
		}
		for _, n := range cl.Nodes {
			if n.Status != "ok" {
				b.Fatalf("%s: %+v", n.Name, n)
			}
		}
		b.ReportMetric(wall.Seconds(), "wall-s")
		b.ReportMetric(float64(rss)/(1<<20), "peak-rss-MiB")
		b.ReportMetric(float64(peak.anon)/(1<<20), "peak-anon-MiB")
		b.ReportMetric(float64(peak.file)/(1<<20), "peak-file-MiB")
		b.ReportMetric(float64(reqs), "apiserver-requests")
		b.Logf("%d nodes: wall %s, peak RSS %.1f MiB (anonymous %.1f MiB, file %.1f MiB), %d API server requests", nodes, wall.Round(10*time.Millisecond),
			float64(rss)/(1<<20), float64(peak.anon)/(1<<20), float64(peak.file)/(1<<20), reqs)
	}
}

// rssPeak is what pollRSS saw: the highest RssAnon and RssFile of
// /proc/PID/status, each at its own moment.
type rssPeak struct{ anon, file int64 }

// pollRSS samples the process's RssAnon and RssFile (/proc/PID/status)
// every 20 ms until it exits and sends the highest of each. The rusage peak
// also counts the binary's own file pages, mapped from the page cache (on
// this kernel often in 2 MiB pieces, smaps FilePmdMapped): shared, and
// dropped under pressure, but counted. With MEMSNAP_BENCH_SMAPS=FILE the
// process's smaps at its highest VmRSS is written there, to see which
// mappings the peak is made of.
func pollRSS(pid int) <-chan rssPeak {
	out := make(chan rssPeak, 1)
	smapsOut := os.Getenv("MEMSNAP_BENCH_SMAPS")
	go func() {
		var peak rssPeak
		var total int64
		path := fmt.Sprintf("/proc/%d/status", pid)
		field := func(b []byte, name string) (int64, bool) {
			_, after, ok := bytes.Cut(b, []byte(name))
			if !ok {
				return 0, false
			}
			f := strings.Fields(string(after))
			kb, err := strconv.ParseInt(f[0], 10, 64)
			return kb * 1024, err == nil && len(f) > 1
		}
		for {
			b, err := os.ReadFile(path)
			if err != nil {
				break
			}
			anon, ok := field(b, "RssAnon:")
			if !ok {
				break // a zombie has no memory lines: it is done
			}
			file, _ := field(b, "RssFile:")
			peak.anon, peak.file = max(peak.anon, anon), max(peak.file, file)
			if rss, _ := field(b, "VmRSS:"); rss > total && smapsOut != "" {
				total = rss
				if sm, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps", pid)); err == nil {
					_ = os.WriteFile(smapsOut, sm, 0o644)
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		out <- peak
	}()
	return out
}

// apiRequests sums the API server's apiserver_request_total.
func apiRequests(tb testing.TB, ctx context.Context, bed *testbed.Bed) int64 {
	tb.Helper()
	raw, err := bed.Client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	var total float64
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "apiserver_request_total{") {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			total += v
		}
	}
	return int64(total)
}
