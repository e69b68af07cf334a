package main

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/memsnap/memsnap/internal/testcorpus"
	"github.com/memsnap/memsnap/report/schema"
	"golang.org/x/tools/txtar"
)

// oomEventsOf runs analyze and returns its oom_events without the node
// field (a bundle directory and a loose file are named differently).
func oomEventsOf(t *testing.T, stdin []byte, arg string) string {
	t.Helper()
	code, out, stderr := memsnap(t, stdin, "analyze", "--format", "json", "-o", "-", "--now", fixedNow, arg)
	if code > 1 {
		t.Fatalf("analyze %s: exit %d: %s", arg, code, stderr)
	}
	var doc schema.Document
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("invalid JSON: %v", err)
	}
	for i := range doc.OOMEvents {
		doc.OOMEvents[i].Node = ""
	}
	b, _ := json.Marshal(doc.OOMEvents)
	return string(b)
}

// TestLooseKernelLog: every corpus OOM log analysed as a plain file, on
// stdin and gzip-compressed gives the oom_events of the same log inside a
// bundle (a directory holding it as logs/kernel.log).
func TestLooseKernelLog(t *testing.T) {
	dir := testcorpus.Path(t, "oom-logs")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if e.Name() == "EXPECTED.json" {
			continue
		}
		n++
		t.Run(e.Name(), func(t *testing.T) {
			path := filepath.Join(dir, e.Name())
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			bdir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(bdir, "logs"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(bdir, "logs", "kernel.log"), data, 0o644); err != nil {
				t.Fatal(err)
			}
			want := oomEventsOf(t, nil, bdir)
			if want == "[]" || want == "null" {
				t.Fatalf("the bundle gives no oom_events")
			}
			if got := oomEventsOf(t, nil, path); got != want {
				t.Errorf("analyze FILE:\n got %s\nwant %s", got, want)
			}
			if got := oomEventsOf(t, data, "-"); got != want {
				t.Errorf("cat FILE | analyze -:\n got %s\nwant %s", got, want)
			}
			gz := filepath.Join(t.TempDir(), "attachment.gz")
			writeGzip(t, gz, data)
			if got := oomEventsOf(t, nil, gz); got != want {
				t.Errorf("analyze FILE.gz:\n got %s\nwant %s", got, want)
			}
			// Quoted in a mail reply and dropped in a ticket directory
			// among other files, it still gives the same events.
			tdir := t.TempDir()
			quoted := "> " + strings.ReplaceAll(strings.TrimSuffix(string(data), "\n"), "\n", "\n> ") + "\n"
			os.WriteFile(filepath.Join(tdir, "mail.txt"), []byte(quoted), 0o644)
			os.WriteFile(filepath.Join(tdir, "notes.txt"), []byte("customer says it happens every night\n"), 0o644)
			if got := oomEventsOf(t, nil, tdir); got != want {
				t.Errorf("ticket directory with the quoted log:\n got %s\nwant %s", got, want)
			}
			// Copied out of a node agent's container log (CRI records,
			// long lines split into partials; docker json-file records)
			// it gives the same events: the envelope is removed.
			cri := filepath.Join(t.TempDir(), "0.log")
			os.WriteFile(cri, []byte(wrapCRI(string(data))), 0o644)
			if got := oomEventsOf(t, nil, cri); got != want {
				t.Errorf("CRI-wrapped:\n got %s\nwant %s", got, want)
			}
			docker := filepath.Join(t.TempDir(), "container-json.log")
			os.WriteFile(docker, []byte(wrapDocker(string(data))), 0o644)
			if got := oomEventsOf(t, nil, docker); got != want {
				t.Errorf("docker-json-wrapped:\n got %s\nwant %s", got, want)
			}
			// journalctl -k -o json holds the messages without printk
			// stamps, timed by the journal: the same kills, differently
			// timed.
			journal := filepath.Join(t.TempDir(), "journal.json")
			os.WriteFile(journal, []byte(wrapJournal(string(data))), 0o644)
			if got, want := untimed(t, oomEventsOf(t, nil, journal)), untimed(t, want); got != want {
				t.Errorf("journalctl -o json:\n got %s\nwant %s", got, want)
			}
		})
	}
	if n == 0 {
		t.Fatal("no corpus OOM logs")
	}
}

// wrapCRI puts each line in CRI log records as the kubelet writes them
// under /var/log/pods, a line longer than 48 bytes split into partials.
func wrapCRI(text string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		for len(l) > 48 {
			b.WriteString("2026-12-03T10:00:00.000000001Z stdout P " + l[:48] + "\n")
			l = l[48:]
		}
		b.WriteString("2026-12-03T10:00:00.000000001Z stdout F " + l + "\n")
	}
	return b.String()
}

// wrapDocker writes docker json-file records, splitting long lines as
// dockerd splits lines over 16 KiB (here at 64 bytes).
func wrapDocker(text string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(text, "\n") {
		for len(l) > 0 {
			piece := l[:min(len(l), 64)]
			l = l[len(piece):]
			rec, _ := json.Marshal(map[string]string{"log": piece, "stream": "stderr", "time": "2026-12-03T10:00:00.5Z"})
			b.Write(rec)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

var (
	syslogKernelPrefix = regexp.MustCompile(`^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d (\S+ )?kernel: `)
	printkPrefix       = regexp.MustCompile(`^\[\s*\d+\.\d+\](\[\s*[TC]\d+\])? ?`)
)

// wrapJournal writes the lines as `journalctl -o json` entries: kernel
// messages without the syslog or printk prefix, one microsecond apart.
func wrapJournal(text string) string {
	var b strings.Builder
	us := int64(1764756000000000)
	for _, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		rec := map[string]string{"__REALTIME_TIMESTAMP": fmt.Sprint(us), "_HOSTNAME": "worker-3", "_TRANSPORT": "kernel", "SYSLOG_IDENTIFIER": "kernel"}
		us++
		if loc := syslogKernelPrefix.FindStringIndex(l); loc != nil {
			l = l[loc[1]:]
		}
		if loc := printkPrefix.FindStringIndex(l); loc != nil {
			l = l[loc[1]:]
		} else if !strings.Contains(l, "oom") && !strings.Contains(l, "Memory cgroup") {
			rec["_TRANSPORT"], rec["SYSLOG_IDENTIFIER"] = "syslog", "cron"
		}
		rec["MESSAGE"] = l
		j, _ := json.Marshal(rec)
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

// untimed drops the fields that depend on how a line is timed and where it
// sits: the same kills read from differently stamped logs.
func untimed(t *testing.T, events string) string {
	t.Helper()
	var evs []schema.OOMEvent
	if err := json.Unmarshal([]byte(events), &evs); err != nil {
		t.Fatal(err)
	}
	for i := range evs {
		evs[i].Time, evs[i].TimeNote, evs[i].UptimeSeconds, evs[i].File, evs[i].Line = "", "", nil, "", 0
	}
	b, _ := json.Marshal(evs)
	return string(b)
}

func writeGzip(t *testing.T, path string, data []byte) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	zw.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// summaryFacts reads a kubelet summary generically (not through memsnap's
// parser): the node name and, per "ns/pod" and "ns/pod/container", the
// working set.
func summaryFacts(t *testing.T, path string) (string, map[string]float64) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Node struct {
			NodeName string `json:"nodeName"`
		} `json:"node"`
		Pods []struct {
			PodRef struct{ Name, Namespace string } `json:"podRef"`
			Memory *struct {
				WorkingSetBytes *float64 `json:"workingSetBytes"`
			} `json:"memory"`
			Containers []struct {
				Name   string `json:"name"`
				Memory *struct {
					WorkingSetBytes *float64 `json:"workingSetBytes"`
				} `json:"memory"`
			} `json:"containers"`
		} `json:"pods"`
	}
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, p := range s.Pods {
		key := p.PodRef.Namespace + "/" + p.PodRef.Name
		out[key] = -1
		if p.Memory != nil && p.Memory.WorkingSetBytes != nil {
			out[key] = *p.Memory.WorkingSetBytes
		}
		for _, c := range p.Containers {
			out[key+"/"+c.Name] = -1
			if c.Memory != nil && c.Memory.WorkingSetBytes != nil {
				out[key+"/"+c.Name] = *c.Memory.WorkingSetBytes
			}
		}
	}
	return s.Node.NodeName, out
}

// TestLooseSummaryOnly: a directory holding only a real kubelet summary
// (kubectl get --raw …/stats/summary) gives one node named as in the summary
// and every pod and container as a workload with the summary's working set;
// adding that node's real cAdvisor metrics adds rss and cache per container.
func TestLooseSummaryOnly(t *testing.T) {
	for _, name := range []string{"nri-kubernetes-k8s-1_16-stats-summary.json", "nri-kubernetes-k8s-1_28-stats-summary.json"} {
		t.Run(name, func(t *testing.T) {
			src := testcorpus.Path(t, "kubelet-summary", name)
			node, want := summaryFacts(t, src)
			dir := t.TempDir()
			data, _ := os.ReadFile(src)
			os.WriteFile(filepath.Join(dir, "summary.txt"), data, 0o644)
			doc := analyzeJSON(t, dir)
			if len(doc.Bundles) != 1 || doc.Bundles[0].Node != node {
				t.Fatalf("bundles %+v, want one node %q", doc.Bundles, node)
			}
			if len(doc.Workloads) != len(want) {
				t.Errorf("%d workloads, want %d (pods + containers of the summary)", len(doc.Workloads), len(want))
			}
			for _, w := range doc.Workloads {
				key := w.Namespace + "/" + w.Pod
				if w.Container != "" {
					key += "/" + w.Container
				}
				ws, ok := want[key]
				if !ok {
					t.Errorf("workload %s is not in the summary", key)
					continue
				}
				switch {
				case ws < 0 && w.WorkingSetReportedBytes != nil:
					t.Errorf("%s: working set %d, but the summary states none", key, *w.WorkingSetReportedBytes)
				case ws >= 0 && (w.WorkingSetReportedBytes == nil || float64(*w.WorkingSetReportedBytes) != ws):
					t.Errorf("%s: working set %v, want %v", key, w.WorkingSetReportedBytes, ws)
				}
				if w.WorkingSetBytes != nil || w.AnonBytes != nil || w.ShmemBytes != nil {
					t.Errorf("%s: a number no file measured is not blank: %+v", key, w)
				}
				if ws >= 0 && !strings.Contains(w.Sources["working_set_reported_bytes"], "summary.txt") {
					t.Errorf("%s: source of the working set %q does not name the file", key, w.Sources["working_set_reported_bytes"])
				}
			}
			if !strings.Contains(name, "1_16") {
				return
			}
			// The same node's cAdvisor metrics.
			cad, _ := os.ReadFile(testcorpus.Path(t, "cadvisor-metrics", "nri-kubernetes-k8s-1_16-kubelet-metrics-cadvisor.txt"))
			os.WriteFile(filepath.Join(dir, "metrics.txt"), cad, 0o644)
			doc = analyzeJSON(t, dir)
			rss := cadvisorValues(t, string(cad), "container_memory_rss")
			cache := cadvisorValues(t, string(cad), "container_memory_cache")
			checked := 0
			for _, w := range doc.Workloads {
				if w.Container == "" {
					continue
				}
				key := w.Namespace + "/" + w.Pod + "/" + w.Container
				r, ok := rss[key]
				if !ok {
					continue
				}
				checked++
				if w.CacheBytes == nil || float64(*w.CacheBytes) != cache[key] {
					t.Errorf("%s: cache %v, want %v (container_memory_cache)", key, w.CacheBytes, cache[key])
				}
				// The summary's rssBytes wins when it states one; both are
				// cAdvisor's number, so they agree.
				if w.RSSBytes == nil || float64(*w.RSSBytes) != r {
					t.Errorf("%s: rss %v, want %v", key, w.RSSBytes, r)
				}
			}
			if checked < 5 {
				t.Errorf("only %d containers matched between summary and metrics", checked)
			}
		})
	}
}

// cadvisorValues reads one family's container-level samples by
// namespace/pod/container with a plain regexp (not memsnap's parser).
func cadvisorValues(t *testing.T, text, family string) map[string]float64 {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + family + `\{([^}]*)\} (\S+)`)
	lab := regexp.MustCompile(`(\w+)="([^"]*)"`)
	out := map[string]float64{}
	for _, m := range re.FindAllStringSubmatch(text, -1) {
		l := map[string]string{}
		for _, kv := range lab.FindAllStringSubmatch(m[1], -1) {
			l[kv[1]] = kv[2]
		}
		if l["container"] == "" || l["container"] == "POD" {
			continue
		}
		var v float64
		if _, err := fmt.Sscan(m[2], &v); err != nil {
			t.Fatal(err)
		}
		out[l["namespace"]+"/"+l["pod"]+"/"+l["container"]] = v
	}
	if len(out) == 0 {
		t.Fatalf("no %s samples", family)
	}
	return out
}

// TestLooseOOMFromPodStatus: kubectl-only evidence (a pod list) still shows
// the OOM kill, from lastState.terminated.reason, citing the file sent.
func TestLooseOOMFromPodStatus(t *testing.T) {
	dir := t.TempDir()
	data, _ := os.ReadFile(testcorpus.Path(t, "kubectl", "get-pods-json-minikube-job-oomkilled.json"))
	os.WriteFile(filepath.Join(dir, "attachment-1"), data, 0o644)
	doc := analyzeJSON(t, dir)
	found := false
	for _, f := range doc.Findings {
		if f.Rule == "oom-kill" {
			found = true
			if len(f.Evidence) == 0 || f.Evidence[0].File != "attachment-1" {
				t.Errorf("evidence %+v does not cite attachment-1", f.Evidence)
			}
		}
	}
	if !found {
		t.Errorf("no oom-kill finding from the pod status: %+v", doc.Findings)
	}
}

// TestInspectTicket: inspect on a ticket directory lists every file and what
// it was taken as, ignored files with the reason.
func TestInspectTicket(t *testing.T) {
	dir := t.TempDir()
	copyTo := func(name string, elem ...string) {
		data, err := os.ReadFile(testcorpus.Path(t, elem...))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, name), data, 0o644)
	}
	copyTo("a.txt", "oom-logs", "k8s-v1-docker-memcg-oom-anon-4.18.log")
	copyTo("b.json", "kubelet-summary", "nri-kubernetes-k8s-1_28-stats-summary.json")
	copyTo("c", "kubectl", "describe-pod-oomkilled-kind-memory-eater-100Mi.txt")
	copyTo("d.log", "kubectl", "top-pods-A-kind-multinode.txt")
	os.WriteFile(filepath.Join(dir, "dmesg.txt"), []byte{0, 1, 2, 3, 0xff, 0xfe}, 0o644)
	code, out, stderr := memsnap(t, nil, "inspect", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"a.txt  kernel log  logs/kernel.log",
		"b.json  kubelet /stats/summary  kubelet/summary.json",
		"c  kubectl describe pod",
		"d.log  kubectl top pod",
		"dmesg.txt  ignored: binary data",
	} {
		re := regexp.MustCompile(strings.ReplaceAll(regexp.QuoteMeta(want), "  ", `\s+`))
		if !re.MatchString(out) {
			t.Errorf("inspect output lacks %q:\n%s", want, out)
		}
	}
}

// TestLoosePrometheusRange: a customer's Prometheus range exports, sent as
// attachments under any names, are classified by content, read as series and
// give the time-axis finding of the same export inside a bundle (seed 000 over
// 6 h: the page cache grows toward the limit while rss stays flat).
func TestLoosePrometheusRange(t *testing.T) {
	ar, err := txtar.ParseFile(filepath.Join("..", "..", "rules", "testdata", "page-cache-growth", "prometheus-seed-000.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	n := 0
	for _, f := range ar.Files {
		if !strings.HasPrefix(f.Name, "series/prometheus/") {
			continue
		}
		n++
		// The second export is promtool's bare matrix with __name__ kept;
		// names say nothing: attachment-N.txt.
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("attachment-%d.txt", n)), f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if n != 2 {
		t.Fatalf("%d exports in the fixture, want 2", n)
	}
	doc := analyzeJSON(t, dir)
	var got []string
	for _, f := range doc.Findings {
		got = append(got, f.Rule+" "+f.Subject)
	}
	want := "page-cache-growth monitor/selfmon-0/selfmon"
	if !slices.Contains(got, want) {
		t.Errorf("findings %v, want %q", got, want)
	}
}

// TestLooseTopPods: real `kubectl top pods -A` output alone gives every pod
// of the table as a workload with metrics-server's working set, cited to the
// file; beside a pod list that names the same pod, the pod list's pod takes
// the figure (no second row).
func TestLooseTopPods(t *testing.T) {
	src := testcorpus.Path(t, "kubectl", "top-pods-A-kind-multinode.txt")
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{}
	for _, l := range strings.Split(string(data), "\n")[1:] {
		f := strings.Fields(l)
		if len(f) == 4 {
			var mi int64
			fmt.Sscanf(f[3], "%dMi", &mi)
			want[f[0]+"/"+f[1]] = mi << 20
		}
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "top.txt"), data, 0o644)
	doc := analyzeJSON(t, dir)
	if len(doc.Workloads) != len(want) || len(want) < 50 {
		t.Fatalf("%d workloads, want the table's %d pods", len(doc.Workloads), len(want))
	}
	for _, w := range doc.Workloads {
		key := w.Namespace + "/" + w.Pod
		if w.WorkingSetReportedBytes == nil || *w.WorkingSetReportedBytes != want[key] {
			t.Errorf("%s: working set %v, want %d", key, w.WorkingSetReportedBytes, want[key])
		}
		if !strings.HasPrefix(w.Sources["working_set_reported_bytes"], "top.txt ") {
			t.Errorf("%s: sources %v, want top.txt cited", key, w.Sources)
		}
		if w.UsageBytes != nil || w.LimitBytes != nil {
			t.Errorf("%s: usage/limit stated though top gives neither", key)
		}
	}
	// The same pod in a pod list: one workload, named by the list, with
	// top's working set.
	pod := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"tempo-querier-67474d8b6c-b5q7j","namespace":"tempo","uid":"u-1"},"spec":{"containers":[{"name":"querier"}]}}`
	os.WriteFile(filepath.Join(dir, "pod.json"), []byte(pod), 0o644)
	doc = analyzeJSON(t, dir)
	n := 0
	for _, w := range doc.Workloads {
		if w.Pod == "tempo-querier-67474d8b6c-b5q7j" && w.Container == "" {
			n++
			if w.PodUID != "u-1" || w.WorkingSetReportedBytes == nil || *w.WorkingSetReportedBytes != 54<<20 {
				t.Errorf("pod row %+v, want uid u-1 and 54Mi", w)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d rows for the pod, want 1", n)
	}
}
