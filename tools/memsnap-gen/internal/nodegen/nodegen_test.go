package nodegen

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/memsnap/memsnap/bundle"
)

func generate(t *testing.T, opt Options) []byte {
	t.Helper()
	var b bytes.Buffer
	if _, err := WriteBundle(&b, opt); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// entries reads a generated bundle back with the standard library.
func entries(t *testing.T, tgz []byte) map[string][]byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	out := map[string][]byte{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = b
	}
}

func TestDeterministicBySeed(t *testing.T) {
	opt := Options{Pods: 4, ContainersPerPod: 2, CgroupVersion: 2, Driver: "systemd", Seed: 7, KernelNoiseLines: 500}
	a, b := generate(t, opt), generate(t, opt)
	if !bytes.Equal(a, b) {
		t.Fatal("same options gave different bundles")
	}
	opt.Seed = 8
	if bytes.Equal(a, generate(t, opt)) {
		t.Fatal("another seed gave the same bundle")
	}
}

func TestShapes(t *testing.T) {
	for _, tc := range []struct {
		version   int
		driver    string
		container string // a file every container cgroup has
		podPrefix string
	}{
		{1, "cgroupfs", "memory.limit_in_bytes", "cgroup/kubepods/burstable/pod"},
		{1, "systemd", "memory.oom_control", "cgroup/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"},
		{2, "cgroupfs", "memory.events", "cgroup/kubepods/burstable/pod"},
		{2, "systemd", "memory.max", "cgroup/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"},
	} {
		t.Run(tc.driver+"-v"+string(rune('0'+tc.version)), func(t *testing.T) {
			const pods, per = 20, 3
			files := entries(t, generate(t, Options{Pods: pods, ContainersPerPod: per, CgroupVersion: tc.version, Driver: tc.driver, Seed: 1, KernelNoiseLines: 1000}))
			m, err := bundle.ParseManifest(bytes.NewReader(files[bundle.ManifestPath]))
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Files) != len(files)-1 || m.Node.CgroupVersion != tc.version || m.Node.CgroupDriver != tc.driver {
				t.Fatalf("manifest lists %d files of %d, node %+v", len(m.Files), len(files)-1, m.Node)
			}
			limits, burstable := 0, 0
			for name := range files {
				if strings.HasSuffix(name, "/"+tc.container) {
					limits++
				}
				if strings.HasPrefix(name, tc.podPrefix) && strings.HasSuffix(name, "/memory.stat") {
					burstable++
				}
			}
			// 12 of 20 pods are burstable: pod + sandbox + 3 containers each.
			if burstable != 12*(2+per) {
				t.Errorf("%d burstable memory.stat files, want %d", burstable, 12*(2+per))
			}
			if limits < pods*(1+per) {
				t.Errorf("%d %s files, want at least %d", limits, tc.container, pods*(1+per))
			}
			var pl struct {
				Items []struct {
					Status struct {
						ContainerStatuses []struct{ ContainerID string } `json:"containerStatuses"`
					} `json:"status"`
				} `json:"items"`
			}
			if err := json.Unmarshal(files[bundle.KubeletPods], &pl); err != nil || len(pl.Items) != pods {
				t.Fatalf("pods.json: %d items, %v", len(pl.Items), err)
			}
			// Every container ID in pods.json names a cgroup in the tree.
			for _, it := range pl.Items {
				for _, cs := range it.Status.ContainerStatuses {
					id := strings.TrimPrefix(cs.ContainerID, "containerd://")
					found := false
					for name := range files {
						if strings.Contains(name, id) && strings.HasSuffix(name, "/memory.stat") {
							found = true
							break
						}
					}
					if !found {
						t.Errorf("container %s has no cgroup", id)
					}
				}
			}
			if n := bytes.Count(files[bundle.KernelLog], []byte("\n")); n < 1000 {
				t.Errorf("kernel.log has %d lines", n)
			}
		})
	}
}

// TestReferenceNodeSize checks the reference node's scale (DESIGN §5):
// ~1,000 cgroups, cAdvisor metrics of ~40 MB, 50,000 kernel lines.
func TestReferenceNodeSize(t *testing.T) {
	if testing.Short() {
		t.Skip("generates the 250-pod reference node")
	}
	opt := Options{Pods: 250, ContainersPerPod: 3, CgroupVersion: 2, Driver: "systemd", Seed: 1}
	if err := opt.defaults(); err != nil {
		t.Fatal(err)
	}
	n := newNode(opt)
	if c := len(n.cgroups); c < 1000 || c > 1500 {
		t.Errorf("%d cgroups", c)
	}
	if size := len(n.cadvisorMetrics()); size < 30<<20 || size > 55<<20 {
		t.Errorf("cAdvisor metrics are %d MB", size>>20)
	}
	if lines := bytes.Count(n.kernelLog(), []byte("\n")); lines < 50000 {
		t.Errorf("kernel.log has %d lines", lines)
	}
}

// TestAnalyzerFindsPlantedOOMs runs the real analyzer binary over a
// generated 10-pod bundle of each shape: it must read it without problems
// and report exactly the planted OOM kills, attributed to their containers.
func TestAnalyzerFindsPlantedOOMs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the analyzer")
	}
	dir := t.TempDir()
	bin := buildTool(t, dir, "github.com/memsnap/memsnap/analyzer/cmd/memsnap")
	for _, shape := range []struct {
		version int
		driver  string
	}{{1, "cgroupfs"}, {2, "systemd"}} {
		opt := Options{Pods: 10, ContainersPerPod: 3, CgroupVersion: shape.version, Driver: shape.driver, Seed: 3}
		if err := opt.defaults(); err != nil {
			t.Fatal(err)
		}
		n := newNode(opt)
		tgz := writeBundleFile(t, filepath.Join(dir, "node.tar.gz"), opt)
		r := analyzeJSON(t, bin, tgz)
		if len(r.Bundles) != 1 || len(r.Bundles[0].Problems) != 0 || r.Bundles[0].CgroupVersion != shape.version {
			t.Fatalf("v%d %s: bundle read with problems: %+v", shape.version, shape.driver, r.Bundles)
		}
		want := map[string]bool{}
		for _, v := range n.oomVictim {
			for _, p := range n.pods {
				if p.Containers[0] == v {
					want[p.Namespace+"/"+p.Name+"/"+v.Name] = true
				}
			}
		}
		got := map[string]bool{}
		for _, f := range r.Findings {
			if f.Rule == "oom-kill" {
				got[f.Subject] = true
			}
		}
		if len(want) == 0 || len(got) != len(want) {
			t.Errorf("v%d %s: oom-kill findings %v, want %v", shape.version, shape.driver, got, want)
		}
		for s := range want {
			if !got[s] {
				t.Errorf("v%d %s: no oom-kill finding for %s", shape.version, shape.driver, s)
			}
		}
		if len(r.OOM) != len(want) {
			t.Errorf("v%d %s: %d OOM events, want %d", shape.version, shape.driver, len(r.OOM), len(want))
		}
		for _, e := range r.OOM {
			if e["limit_scope"] != "container" || e["filled_by"] != "anon" || !want[fmt.Sprint(e["namespace"], "/", e["pod"], "/", e["container"])] {
				t.Errorf("v%d %s: OOM event %+v", shape.version, shape.driver, e)
			}
		}
	}
}

// buildTool builds a command of this module into dir.
func buildTool(t *testing.T, dir, pkg string) string {
	t.Helper()
	bin := filepath.Join(dir, filepath.Base(pkg))
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, pkg)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// writeBundleFile writes the bundle of opt to path and returns path.
func writeBundleFile(t *testing.T, path string, opt Options) string {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := WriteBundle(f, opt); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}
