package nodegen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
)

func TestKmsgRecords(t *testing.T) {
	in := "[    0.000000] Linux version 6.8\n[ 1234.500001] a ] b\nnot a printk line\n[86400.000000] last\n"
	want := "6,0,0,-;Linux version 6.8\n6,1,1234500001,-;a ] b\n6,2,86400000000,-;last\n"
	if got := string(kmsgRecords([]byte(in))); got != want {
		t.Errorf("kmsgRecords:\n got %q\nwant %q", got, want)
	}
}

func TestHostTreeRefusesNonEmptyDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteHostTree(dir, Options{Pods: 1, ContainersPerPod: 1, CgroupVersion: 2, Driver: "systemd"}); err == nil {
		t.Fatal("WriteHostTree wrote into a non-empty directory")
	}
}

// TestHostTreeCollectedLikeBundle: the host tree is the same node as the
// bundle. The real memsnap-collect, run against the tree and its served
// kubelet, must yield a bundle the real analyzer reads into the same
// findings and the same per-workload numbers as the generated bundle.
func TestHostTreeCollectedLikeBundle(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the collector and the analyzer")
	}
	tools := t.TempDir()
	analyzer := buildTool(t, tools, "github.com/memsnap/memsnap/analyzer/cmd/memsnap")
	collector := buildTool(t, tools, "github.com/memsnap/memsnap/collector-script")
	for _, shape := range []struct {
		version int
		driver  string
	}{{1, "cgroupfs"}, {2, "systemd"}} {
		opt := Options{Pods: 12, ContainersPerPod: 2, CgroupVersion: shape.version, Driver: shape.driver, Seed: 5, KernelNoiseLines: 3000}
		name := filepath.Join(t.TempDir(), "x")
		dir := filepath.Join(t.TempDir(), "tree")
		generated := writeBundleFile(t, filepath.Join(t.TempDir(), "generated.tar.gz"), opt)
		st, err := WriteHostTree(dir, opt)
		if err != nil {
			t.Fatal(err)
		}
		if st.OOMKills == 0 {
			t.Fatal("no planted OOM kill")
		}
		h, closer, err := KubeletHandler(dir)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		args := []string{"-o", name + ".tar.gz", "--host-root", filepath.Join(dir, HostRootDir), "--kubelet", srv.URL, "--cadvisor", "off"}
		for _, a := range AgentTargets(opt) {
			args = append(args, "--pprof", a+"="+srv.URL+"/agents/"+a+"/debug/pprof/heap")
		}
		out, err := exec.Command(collector, args...).CombinedOutput()
		srv.Close()
		closer.Close()
		if err != nil {
			t.Fatalf("v%d %s: memsnap-collect: %v\n%s", shape.version, shape.driver, err, out)
		}
		gen := analyzeJSON(t, analyzer, generated)
		col := analyzeJSON(t, analyzer, name+".tar.gz")
		label := fmt.Sprintf("v%d %s", shape.version, shape.driver)
		if !reflect.DeepEqual(col.findings(), gen.findings()) {
			t.Errorf("%s: findings from the collected tree\n%v\ndiffer from the generated bundle's\n%v", label, col.findings(), gen.findings())
		}
		if len(gen.Workloads) < opt.Pods*(opt.ContainersPerPod+1) || !reflect.DeepEqual(col.Workloads, gen.Workloads) {
			t.Errorf("%s: %d workloads collected, %d generated, or their numbers differ", label, len(col.Workloads), len(gen.Workloads))
		}
		if len(col.OOM) != st.OOMKills || !reflect.DeepEqual(col.OOM, gen.OOM) {
			t.Errorf("%s: OOM events collected %v, generated %v", label, col.OOM, gen.OOM)
		}
		for _, s := range col.Bundles[0].Sources {
			if s.Status != "ok" && !slices.Contains([]string{"cadvisor", "systemd", "volumes", "kube"}, s.Name) {
				t.Errorf("%s: collector source %s is %s: %s", label, s.Name, s.Status, s.Error)
			}
		}
	}
}

// analysis is the part of memsnap's JSON report these tests read.
type analysis struct {
	Bundles []struct {
		CgroupVersion int               `json:"cgroup_version"`
		Problems      []json.RawMessage `json:"problems"`
		Sources       []struct{ Name, Status, Error string }
	}
	Findings  []struct{ Rule, Subject, Severity string }
	Workloads []map[string]any
	OOM       []map[string]any `json:"oom_events"`
}

func (a analysis) findings() []string {
	var out []string
	for _, f := range a.Findings {
		out = append(out, f.Rule+" "+f.Subject+" "+f.Severity)
	}
	return out
}

func analyzeJSON(t *testing.T, bin, bundlePath string) analysis {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "analyze", "--format", "json", "--now", "2026-11-23T10:00:00Z", "-o", "-", bundlePath)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil && cmd.ProcessState.ExitCode() != 1 { // 1 = findings at --fail-on
		t.Fatalf("analyze %s: %v\n%s", bundlePath, err, stderr.Bytes())
	}
	var a analysis
	if err := json.Unmarshal(stdout.Bytes(), &a); err != nil {
		t.Fatal(err)
	}
	// The collector keeps only --since (24 h) of the kernel log, so an
	// OOM report sits on another line of the collected logs/kernel.log.
	for _, e := range a.OOM {
		delete(e, "line")
	}
	return a
}
