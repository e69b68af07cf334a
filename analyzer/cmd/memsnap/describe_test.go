package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/memsnap/memsnap/internal/testcorpus"
)

// TestLooseDescribe: `kubectl describe pod` and `kubectl describe node`
// text (the real corpus files, under names that say nothing) is evidence:
// the pod with its container, limit and OOMKilled last state, the node's
// capacity and allocatable.
func TestLooseDescribe(t *testing.T) {
	dir := t.TempDir()
	for name, src := range map[string]string{
		"attachment-1.txt": "describe-pod-oomkilled-kind-busybox-tail-dev-zero-50Mi.txt",
		"attachment-2.txt": "describe-node-eks-1.30-t3.medium-mem-limits-163pct.txt",
	} {
		data, err := os.ReadFile(testcorpus.Path(t, "kubectl", src))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, name), data, 0o644)
	}
	doc := analyzeJSON(t, dir)
	if len(doc.Bundles) != 1 {
		t.Fatalf("%d bundles", len(doc.Bundles))
	}
	mem := doc.Bundles[0].Memory
	if mem.CapacityBytes == nil || *mem.CapacityBytes != 3943312<<10 || mem.AllocatableReportedBytes == nil || *mem.AllocatableReportedBytes != 3388304<<10 {
		t.Errorf("capacity %v allocatable %v, want describe node's 3943312Ki / 3388304Ki", mem.CapacityBytes, mem.AllocatableReportedBytes)
	}
	oom := false
	for _, f := range doc.Findings {
		if f.Rule == "oom-kill" && f.Subject == "app-02/giant-narwhal-6958c5bdd8-69gtn/main" {
			oom = true
			if len(f.Evidence) == 0 || f.Evidence[0].File != "attachment-1.txt" {
				t.Errorf("oom-kill evidence %+v does not cite attachment-1.txt", f.Evidence)
			}
		}
	}
	if !oom {
		t.Errorf("no oom-kill on app-02/giant-narwhal-6958c5bdd8-69gtn/main: %+v", doc.Findings)
	}
	found := false
	for _, w := range doc.Workloads {
		if w.Namespace == "app-02" && w.Pod == "giant-narwhal-6958c5bdd8-69gtn" && w.Container == "main" {
			found = true
			if w.LimitBytes == nil || *w.LimitBytes != 50<<20 {
				t.Errorf("container limit %v, want 50Mi", w.LimitBytes)
			}
			if w.RestartCount == nil || *w.RestartCount != 16 {
				t.Errorf("restart count %v, want 16", w.RestartCount)
			}
		}
	}
	if !found {
		t.Errorf("no workload for the described container: %+v", doc.Workloads)
	}
}
