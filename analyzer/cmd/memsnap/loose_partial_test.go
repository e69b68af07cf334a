package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/memsnap/memsnap/internal/testcorpus"
	"github.com/memsnap/memsnap/report/schema"
)

// orphanCandidates reads a kubelet summary generically and returns the
// "ns/pod" whose pod workingSetBytes exceeds the sum of its containers' by at
// least minBytes and minRatio of the pod limit (workingSetBytes +
// availableBytes when the pod states availableBytes, else its working set).
func orphanCandidates(t *testing.T, path string, minBytes, minRatio float64) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	type mem struct {
		WorkingSetBytes *float64 `json:"workingSetBytes"`
		AvailableBytes  *float64 `json:"availableBytes"`
	}
	var s struct {
		Pods []struct {
			PodRef     struct{ Name, Namespace string } `json:"podRef"`
			Memory     *mem                             `json:"memory"`
			Containers []struct {
				Memory *mem `json:"memory"`
			} `json:"containers"`
		} `json:"pods"`
	}
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	var out []string
pods:
	for _, p := range s.Pods {
		if p.Memory == nil || p.Memory.WorkingSetBytes == nil || len(p.Containers) == 0 {
			continue
		}
		var live float64
		for _, c := range p.Containers {
			if c.Memory == nil || c.Memory.WorkingSetBytes == nil {
				continue pods
			}
			live += *c.Memory.WorkingSetBytes
		}
		gap := *p.Memory.WorkingSetBytes - live
		base := *p.Memory.WorkingSetBytes
		if p.Memory.AvailableBytes != nil {
			base += *p.Memory.AvailableBytes
		}
		if gap >= minBytes && gap >= minRatio*base {
			out = append(out, p.PodRef.Namespace+"/"+p.PodRef.Name)
		}
	}
	sort.Strings(out)
	return out
}

// TestLoosePodOrphanedFromSummary: with only a real kubelet summary, the
// partial path of pod-orphaned-memory runs (no cgroup tree) and reports, at
// info, exactly the pods whose pod working set exceeds Σ containers' by the
// thresholds — computed here from the file itself. The corpus pods differ by
// their pause containers only (< 1 MiB), so the test lowers the thresholds
// with --config to make the real numbers cross them.
func TestLoosePodOrphanedFromSummary(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(cfg, []byte("rules:\n  pod-orphaned-memory:\n    min_bytes: 200Ki\n    min_ratio: 0.03\n"), 0o644)
	for _, name := range []string{"nri-kubernetes-k8s-1_16-stats-summary.json", "nri-kubernetes-k8s-1_28-stats-summary.json"} {
		t.Run(name, func(t *testing.T) {
			src := testcorpus.Path(t, "kubelet-summary", name)
			want := orphanCandidates(t, src, 200*1024, 0.03)
			if len(want) == 0 {
				t.Fatal("no pod of the corpus file crosses the test thresholds: choose others")
			}
			dir := t.TempDir()
			data, _ := os.ReadFile(src)
			os.WriteFile(filepath.Join(dir, "summary.txt"), data, 0o644)
			// Default thresholds: nothing.
			doc := analyzeJSON(t, dir)
			if got := ruleFindings(doc, "pod-orphaned-memory"); len(got) != 0 {
				t.Errorf("default thresholds: %v, want none (the gaps are pause containers)", got)
			}
			checkRan(t, doc, "pod-orphaned-memory")
			doc = analyzeJSON(t, "--config", cfg, dir)
			var got []string
			for _, f := range doc.Findings {
				if f.Rule != "pod-orphaned-memory" {
					continue
				}
				got = append(got, f.Subject)
				if f.Severity != schema.Info {
					t.Errorf("%s: severity %s, want info (summary only)", f.Subject, f.Severity)
				}
				if !strings.Contains(f.Summary, "cannot say which") {
					t.Errorf("%s: the summary does not say why it is unsure: %s", f.Subject, f.Summary)
				}
				if len(f.Evidence) == 0 || f.Evidence[0].File != "summary.txt" {
					t.Errorf("%s: evidence does not cite summary.txt: %+v", f.Subject, f.Evidence)
				}
				if strings.Join(f.Basis, ",") != schema.BasisKubeletSummary {
					t.Errorf("%s: basis %v, want kubelet-summary", f.Subject, f.Basis)
				}
			}
			sort.Strings(got)
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("pod-orphaned-memory on %v, want %v", got, want)
			}
		})
	}
}

func ruleFindings(doc *schema.Document, rule string) []string {
	var out []string
	for _, f := range doc.Findings {
		if f.Rule == rule {
			out = append(out, f.Severity+" "+f.Subject)
		}
	}
	return out
}

func checkRan(t *testing.T, doc *schema.Document, rule string) {
	t.Helper()
	for _, r := range doc.Rules {
		if r.ID == rule {
			if r.Status != "ran" {
				t.Errorf("rule %s %s: %s", rule, r.Status, r.Reason)
			}
			return
		}
	}
	t.Errorf("rule %s not listed", rule)
}

// TestLooseMissingSourceCommands: on loose files, missing-source names the
// kubectl command that gives each absent input, with the node's name as the
// evidence states it (the summary's node.nodeName, read here from the file
// itself) or the placeholder NODE when nothing names the node.
func TestLooseMissingSourceCommands(t *testing.T) {
	src := testcorpus.Path(t, "kubelet-summary", "nri-kubernetes-k8s-1_16-stats-summary.json")
	node, _ := summaryFacts(t, src)
	dir := t.TempDir()
	data, _ := os.ReadFile(src)
	os.WriteFile(filepath.Join(dir, "from-customer.json"), data, 0o644)
	doc := analyzeJSON(t, dir)
	fixes := missingSourceFixes(doc)
	for _, want := range []string{
		"`kubectl get --raw /api/v1/nodes/" + node + "/proxy/metrics/cadvisor > cadvisor.txt`",
		"`kubectl get pods -A --field-selector spec.nodeName=" + node + " -o yaml > pods.yaml`",
		"`kubectl debug node/" + node + " -it --image=busybox -- dmesg -T > dmesg.txt`",
		"`kubectl memsnap collect " + node + " -o incident/`",
	} {
		if !strings.Contains(fixes, want) {
			t.Errorf("missing-source does not ask for %s:\n%s", want, fixes)
		}
	}
	if strings.Contains(fixes, "/proxy/stats/summary") {
		t.Errorf("asks for the summary it was given:\n%s", fixes)
	}

	// A raw dmesg (no host field) names no node: the commands say NODE.
	dir = t.TempDir()
	data, _ = os.ReadFile(testcorpus.Path(t, "oom-logs", "k8s-v1-docker-memcg-oom-anon-4.18.log"))
	os.WriteFile(filepath.Join(dir, "dmesg.txt"), data, 0o644)
	code, out, stderr := memsnap(t, nil, "analyze", "--format", "json", "-o", "-", "--now", fixedNow, dir)
	if code > 1 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var d schema.Document
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err)
	}
	fixes = missingSourceFixes(&d)
	for _, want := range []string{
		"`kubectl get --raw /api/v1/nodes/NODE/proxy/stats/summary > summary.json`",
		"NODE: the node's name",
	} {
		if !strings.Contains(fixes, want) {
			t.Errorf("missing-source without a node name does not say %q:\n%s", want, fixes)
		}
	}
	if strings.Contains(fixes, "dmesg -T > dmesg.txt") {
		t.Errorf("asks for the kernel log it was given:\n%s", fixes)
	}
}

func missingSourceFixes(doc *schema.Document) string {
	var b strings.Builder
	for _, f := range doc.Findings {
		if f.Rule == "missing-source" {
			b.WriteString(f.Remediation + "\n")
		}
	}
	return b.String()
}

// TestLooseCadvisorOnly: a real kubelet /metrics/cadvisor dump alone gives
// every container its series name as a workload with the working set and
// rss of the file (read here with a plain regexp), and the rules that can
// decide from cAdvisor (working-set-page-cache, oom-kill) run instead of
// being skipped; no-memory-limit says it lacks the node's memory.available.
func TestLooseCadvisorOnly(t *testing.T) {
	cad, err := os.ReadFile(testcorpus.Path(t, "cadvisor-metrics", "nri-kubernetes-k8s-1_16-kubelet-metrics-cadvisor.txt"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "metrics"), cad, 0o644)
	doc := analyzeJSON(t, dir)
	ws := cadvisorValues(t, string(cad), "container_memory_working_set_bytes")
	rss := cadvisorValues(t, string(cad), "container_memory_rss")
	got := map[string]bool{}
	for _, w := range doc.Workloads {
		if w.Container == "" {
			continue
		}
		key := w.Namespace + "/" + w.Pod + "/" + w.Container
		got[key] = true
		want, ok := ws[key]
		if !ok {
			t.Errorf("workload %s has no series in the file", key)
			continue
		}
		if w.WorkingSetReportedBytes == nil || float64(*w.WorkingSetReportedBytes) != want {
			t.Errorf("%s: working set %v, want %v", key, w.WorkingSetReportedBytes, want)
		}
		if w.RSSBytes == nil || float64(*w.RSSBytes) != rss[key] {
			t.Errorf("%s: rss %v, want %v", key, w.RSSBytes, rss[key])
		}
		if !strings.HasPrefix(w.Sources["working_set_reported_bytes"], "metrics ") {
			t.Errorf("%s: source %q does not name the file", key, w.Sources["working_set_reported_bytes"])
		}
	}
	for key := range ws {
		if !got[key] {
			t.Errorf("container %s of the file is not a workload", key)
		}
	}
	for _, r := range []string{"working-set-page-cache", "oom-kill"} {
		checkRan(t, doc, r)
	}
	for _, r := range doc.Rules {
		if r.ID == "no-memory-limit" && (r.Status != "skipped" || !strings.Contains(r.Reason, "memory.available")) {
			t.Errorf("no-memory-limit %s (%s), want skipped for want of memory.available", r.Status, r.Reason)
		}
	}
}

// TestTicket000Consistent: the ticket's cAdvisor dump and summary state the
// numbers of sample seed-000-page-cache's cgroup files (the same node at the
// same moment), read here from those files: working set = usage −
// total_inactive_file, rss = total_rss, cache = total_cache, the limit.
func TestTicket000Consistent(t *testing.T) {
	samples := samplesDir(t)
	cg := filepath.Join(samples, "seed-000-page-cache", "cgroup", "kubepods.slice",
		"kubepods-podd8ee7250_41a7_41b8_a0d8_ffdd78c1e106.slice",
		"cri-containerd-12805c3e7dfea52942dfb09c63cf8c17a4b285e32a17d8a65850b6a4d3cfbc44.scope")
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(cg, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	num := func(s string) float64 {
		var v float64
		if _, err := fmt.Sscan(s, &v); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		return v
	}
	stat := map[string]float64{}
	for _, line := range strings.Split(read("memory.stat"), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok {
			stat[k] = num(v)
		}
	}
	usage, limit := num(read("memory.usage_in_bytes")), num(read("memory.limit_in_bytes"))
	cad, err := os.ReadFile(filepath.Join(samples, "ticket-000", "cadvisor.txt"))
	if err != nil {
		t.Fatal(err)
	}
	const key = "ops/selfmon-7d9c8b6f5-x2x9k/selfmon"
	for family, want := range map[string]float64{
		"container_memory_usage_bytes":       usage,
		"container_memory_working_set_bytes": usage - stat["total_inactive_file"],
		"container_memory_rss":               stat["total_rss"],
		"container_memory_cache":             stat["total_cache"],
		"container_memory_mapped_file":       stat["total_mapped_file"],
		"container_spec_memory_limit_bytes":  limit,
	} {
		if got := cadvisorValues(t, string(cad), family)[key]; got != want {
			t.Errorf("cadvisor.txt %s = %v, the cgroup files say %v", family, got, want)
		}
	}
	_, ws := summaryFacts(t, filepath.Join(samples, "ticket-000", "summary.json"))
	if ws[key] != usage-stat["total_inactive_file"] {
		t.Errorf("summary.json workingSetBytes %v, the cgroup files say %v", ws[key], usage-stat["total_inactive_file"])
	}
}
