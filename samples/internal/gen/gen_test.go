package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	statsapi "k8s.io/kubelet/pkg/apis/stats/v1alpha1"

	"github.com/memsnap/memsnap/bundle"
	"github.com/memsnap/memsnap/internal/golden"
)

const samplesDir = "../../" // samples/, seen from samples/internal/gen

// TestSamplesUpToDate regenerates every sample in memory and compares it
// byte for byte with the committed tree: the committed samples are the
// generator's golden output. -update rewrites them.
func TestSamplesUpToDate(t *testing.T) {
	for _, s := range samples {
		t.Run(s.name, func(t *testing.T) {
			dir := filepath.Join(samplesDir, s.name)
			b := s.build()
			if err := b.adoptCaptured(dir); err != nil {
				t.Fatal(err)
			}
			if golden.Update() {
				if err := b.writeDir(dir); err != nil {
					t.Fatal(err)
				}
				return
			}
			want := map[string][]byte{}
			for p, data := range b.files {
				want[p] = data
			}
			m, err := json.MarshalIndent(b.manifest(), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			want[bundle.ManifestPath] = append(m, '\n')
			got := readTree(t, dir)
			for p, data := range want {
				if g, ok := got[p]; !ok {
					t.Errorf("%s: missing (run go run ./samples/internal/gen -o samples)", p)
				} else if !bytes.Equal(g, data) {
					t.Errorf("%s: differs from the generator's output (run go run ./samples/internal/gen -o samples)", p)
				}
			}
			for p := range got {
				if _, ok := want[p]; !ok {
					t.Errorf("%s: not produced by the generator", p)
				}
			}
		})
	}
}

func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		rel, _ := filepath.Rel(dir, path)
		out[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// built returns a sample's files as the generator makes them, manifest
// included.
func built(t *testing.T, name string) (map[string][]byte, bundle.Manifest) {
	t.Helper()
	for _, s := range samples {
		if s.name == name {
			b := s.build()
			if err := b.adoptCaptured(filepath.Join(samplesDir, name)); err != nil {
				t.Fatal(err)
			}
			return b.files, b.manifest()
		}
	}
	t.Fatalf("no sample %s", name)
	return nil, bundle.Manifest{}
}

// TestManifestsDescribeFiles checks each manifest the way memsnap inspect
// will: every file listed with its real size and sha256, sources counted.
func TestManifestsDescribeFiles(t *testing.T) {
	for _, s := range samples {
		files, m := built(t, s.name)
		if m.Format != bundle.Format || m.FormatVersion != bundle.FormatVersion || m.Node.NodeName == "" || m.Created == "" {
			t.Errorf("%s: manifest header %+v", s.name, m)
		}
		if len(m.Files) != len(files) {
			t.Errorf("%s: manifest lists %d files, bundle has %d", s.name, len(m.Files), len(files))
		}
		for _, f := range m.Files {
			sum := sha256.Sum256(files[f.Path])
			if hex.EncodeToString(sum[:]) != f.SHA256 || int64(len(files[f.Path])) != f.Bytes {
				t.Errorf("%s: %s: manifest size/sha256 do not match the file", s.name, f.Path)
			}
		}
		for _, src := range m.Sources {
			if src.Status == bundle.StatusOK && src.Files == 0 {
				t.Errorf("%s: source %s is ok but has no files", s.name, src.Name)
			}
		}
	}
}

// TestKubeletJSONDecodes decodes pods.json and summary.json with the
// Kubernetes types, as the analyzer will.
func TestKubeletJSONDecodes(t *testing.T) {
	for _, s := range samples {
		files, _ := built(t, s.name)
		var pods corev1.PodList
		dec := json.NewDecoder(bytes.NewReader(files[bundle.KubeletPods]))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&pods); err != nil || len(pods.Items) == 0 {
			t.Errorf("%s: pods.json: %v (%d pods)", s.name, err, len(pods.Items))
		}
		var sum statsapi.Summary
		dec = json.NewDecoder(bytes.NewReader(files[bundle.KubeletSummary]))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&sum); err != nil || sum.Node.Memory == nil {
			t.Errorf("%s: summary.json: %v", s.name, err)
		}
	}
}

func statValue(t *testing.T, stat []byte, key string) int64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + key + ` (\d+)$`).FindSubmatch(stat)
	if m == nil {
		t.Fatalf("no %s in memory.stat", key)
	}
	v, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return v
}

// cgroupDirOf finds the deepest cgroup directory whose memory.stat has
// key = value (hierarchical totals repeat up the tree).
func cgroupDirOf(t *testing.T, files map[string][]byte, key string, value int64) string {
	t.Helper()
	best := ""
	for p, data := range files {
		if strings.HasSuffix(p, "/memory.stat") && bytes.Contains(data, []byte("\n"+key+" "+strconv.FormatInt(value, 10)+"\n")) {
			if d := strings.TrimSuffix(p, "/memory.stat"); len(d) > len(best) {
				best = d
			}
		}
	}
	if best == "" {
		t.Fatalf("no cgroup with %s %d", key, value)
	}
	return best
}

func fileInt(t *testing.T, files map[string][]byte, p string) int64 {
	t.Helper()
	v, err := strconv.ParseInt(strings.TrimSpace(string(files[p])), 10, 64)
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return v
}

// TestSeedNumbers pins the numbers each seed quotes.
func TestSeedNumbers(t *testing.T) {
	t.Run("000", func(t *testing.T) {
		files, _ := built(t, "seed-000-page-cache")
		d := cgroupDirOf(t, files, "total_rss", 55017472)
		stat := files[d+"/memory.stat"]
		usage := fileInt(t, files, d+"/memory.usage_in_bytes")
		if usage != 962097152 || fileInt(t, files, d+"/memory.limit_in_bytes") != 999997440 ||
			statValue(t, stat, "total_inactive_file") != 111620096 || statValue(t, stat, "total_active_file") != 795275264 {
			t.Errorf("seed 000 numbers changed in %s", d)
		}
		if !bytes.Contains(files[bundle.KubeletSummary], []byte(`"workingSetBytes": 850477056`)) {
			t.Error("summary lacks the container's working set 850477056")
		}
	})
	t.Run("001", func(t *testing.T) {
		files, _ := built(t, "seed-001-anon-oom")
		log := string(files[bundle.KernelLog])
		if !regexp.MustCompile(`memory: usage 262144kB, limit 262144kB`).MatchString(log) ||
			!regexp.MustCompile(`oom-kill:constraint=CONSTRAINT_MEMCG,.*oom_memcg=/kubepods\.slice/kubepods-burstable\.slice/kubepods-burstable-pod[0-9a-f_]+\.slice/cri-containerd-[0-9a-f]{64}\.scope,task_memcg=`).MatchString(log) {
			t.Error("kernel log lacks the container-scope v2 OOM report")
		}
		if !bytes.Contains(files[bundle.KubeletPods], []byte(`"reason": "OOMKilled"`)) {
			t.Error("pods.json lacks lastState OOMKilled")
		}
	})
	t.Run("002", func(t *testing.T) {
		files, _ := built(t, "seed-002-kubepods-drift")
		if fileInt(t, files, "cgroup/kubepods.slice/memory.limit_in_bytes") != 28639567872 {
			t.Error("kubepods limit is not 27968328 kB")
		}
		// allocatable = MemTotal − kube − system reserved − evictionHard.
		if alloc := int64(seed002MemTotalKB) - 50*1024 - 50*1024 - 100*1024; alloc != 31273800 {
			t.Errorf("allocatable %dKi, want 31273800Ki", alloc)
		}
		for _, p := range []string{"systemd/kubepods.slice.show", "systemd/files/run/systemd/system/kubepods.slice.d/50-MemoryLimit.conf"} {
			if !bytes.Contains(files[p], []byte("MemoryLimit=28639567872\n")) {
				t.Errorf("%s lacks the old MemoryLimit", p)
			}
		}
		log := string(files[bundle.KernelLog])
		for _, want := range []string{"killed as a result of limit of /kubepods.slice\n", "memory: usage 27968328kB, limit 27968328kB", " 6901788 ", "ranker_service\n"} {
			if !strings.Contains(log, want) {
				t.Errorf("kernel log lacks %q", want)
			}
		}
		if !bytes.Contains(files[bundle.KubeletLog], []byte("Updated Node Allocatable limit across pods")) ||
			!bytes.Contains(files[bundle.KubeletLog], []byte(`Threshold quantity: 100Mi, available: 85300Ki. Container ranker-service was using 27683676Ki, request is 24Gi`)) {
			t.Error("kubelet log lacks the enforcement or eviction lines")
		}
	})
	t.Run("003", func(t *testing.T) {
		files, _ := built(t, "seed-003-tmpfs-restart")
		pod := cgroupDirOf(t, files, "total_shmem", seed003OrphanShmem)
		total := fileInt(t, files, pod+"/memory.usage_in_bytes")
		var live int64
		for p := range files {
			if strings.HasPrefix(p, pod+"/docker-") && strings.HasSuffix(p, "/memory.usage_in_bytes") {
				live += fileInt(t, files, p)
			}
		}
		if orphan := total - live; orphan < seed003OrphanShmem {
			t.Errorf("pod total − Σ live children = %d, want ≥ %d", orphan, seed003OrphanShmem)
		}
		if !strings.Contains(string(files[bundle.KernelLog]), "killed as a result of limit of "+strings.TrimPrefix(pod, "cgroup")+"\n") {
			t.Error("OOM is not at pod scope")
		}
	})
	t.Run("004", func(t *testing.T) {
		files, _ := built(t, "seed-004-cadvisor-oom")
		if len(files[seed004Heap]) == 0 || len(files[seed004Log]) == 0 {
			t.Skip("captured files missing: run samples/scripts/make-sample-004.sh")
		}
		if !bytes.HasPrefix(files[seed004Heap], []byte{0x1f, 0x8b}) {
			t.Error("heap profile is not gzip")
		}
		if !regexp.MustCompile(`(?m)^I0618 09:3\d:\d\d\.\d{6}       1 fsHandler\.go:135\] fs: disk usage and inodes count on following dirs took `).Match(files[seed004Log]) {
			t.Error("agent log lacks fsHandler lines")
		}
		var target map[string]any
		if err := json.Unmarshal(files["pprof/cadvisor/target.json"], &target); err != nil || int(target["bytes"].(float64)) != len(files[seed004Heap]) {
			t.Errorf("target.json: %v %v", err, target)
		}
	})
}

// TestFragmentationNumbers checks that the fragmentation sample's free
// lists agree with themselves and with meminfo: every free-area line adds
// up to its "= NkB", each Mem-Info "free:" is the three zones' sum in
// pages, no Normal block of order 6 or more is free, and buddyinfo plus
// the per-CPU pages is MemFree.
func TestFragmentationNumbers(t *testing.T) {
	files, _ := built(t, "incident-fragmentation-oom")
	log := string(files[bundle.KernelLog])
	area := regexp.MustCompile(`Node 0 (\w+): ((?:\d+\*\d+kB (?:\([A-Z]+\) )?)+)= (\d+)kB`)
	blocks := regexp.MustCompile(`(\d+)\*(\d+)kB`)
	memFree := regexp.MustCompile(` free:(\d+) free_pcp:(\d+)`)
	frees := memFree.FindAllStringSubmatch(log, -1)
	areas := area.FindAllStringSubmatch(log, -1)
	if len(frees) != 3 || len(areas) != 9 {
		t.Fatalf("%d Mem-Info blocks and %d free-area lines, want 3 and 9", len(frees), len(areas))
	}
	for i, f := range frees {
		var zonesKB int64
		for _, a := range areas[3*i : 3*i+3] {
			var sum int64
			for j, b := range blocks.FindAllStringSubmatch(a[2], -1) {
				c, _ := strconv.ParseInt(b[1], 10, 64)
				kb, _ := strconv.ParseInt(b[2], 10, 64)
				if kb != 4<<j {
					t.Fatalf("%s: block %d is %dkB", a[1], j, kb)
				}
				if a[1] == "Normal" && j >= 6 && c != 0 {
					t.Errorf("failure %d: Normal has %d free blocks of order %d", i, c, j)
				}
				sum += c * kb
			}
			if want, _ := strconv.ParseInt(a[3], 10, 64); sum != want {
				t.Errorf("failure %d: %s blocks add up to %dkB, the line says %dkB", i, a[1], sum, want)
			}
			zonesKB += sum
		}
		if pagesFree, _ := strconv.ParseInt(f[1], 10, 64); pagesFree*4 != zonesKB {
			t.Errorf("failure %d: Mem-Info free:%d pages, zones hold %dkB", i, pagesFree, zonesKB)
		}
	}
	var buddyKB int64
	for _, line := range strings.Split(strings.TrimSpace(string(files["node/buddyinfo"])), "\n") {
		f := strings.Fields(line)
		for order, c := range f[4:] {
			v, _ := strconv.ParseInt(c, 10, 64)
			if f[3] != "DMA" && order >= 6 && v != 0 {
				t.Errorf("buddyinfo %s has %d free blocks of order %d", f[3], v, order)
			}
			buddyKB += v * 4 << order
		}
	}
	m := regexp.MustCompile(`(?m)^MemFree: +(\d+) kB$`).FindSubmatch(files[bundle.NodeMeminfo])
	if m == nil {
		t.Fatal("meminfo has no MemFree")
	}
	if free, _ := strconv.ParseInt(string(m[1]), 10, 64); buddyKB+748 != free {
		t.Errorf("buddyinfo holds %dkB + 748kB per-CPU, MemFree is %dkB", buddyKB, free)
	}
}

// TestSwapHugepagesNumbers checks the swap sample against kubelet's and
// the kernel's arithmetic: LimitedSwap's memory.swap.max for the 6Gi
// container, no container over its swap.max, the summary's node swap
// equal to meminfo's, and the huge page pool equal to Hugetlb.
func TestSwapHugepagesNumbers(t *testing.T) {
	files, _ := built(t, "incident-swap-and-hugepages")
	mi := func(key string) int64 {
		m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(key) + `: +(\d+)`).FindSubmatch(files[bundle.NodeMeminfo])
		if m == nil {
			t.Fatalf("meminfo has no %s", key)
		}
		v, _ := strconv.ParseInt(string(m[1]), 10, 64)
		return v
	}
	if mi("HugePages_Total")*mi("Hugepagesize") != mi("Hugetlb") || mi("HugePages_Total") != 4096 {
		t.Errorf("pool %d × %d kB, Hugetlb %d kB", mi("HugePages_Total"), mi("Hugepagesize"), mi("Hugetlb"))
	}
	swapUsed := (mi("SwapTotal") - mi("SwapFree")) * 1024
	var sum statsapi.Summary
	if err := json.Unmarshal(files[bundle.KubeletSummary], &sum); err != nil || sum.Node.Swap == nil {
		t.Fatalf("summary.json node swap: %v", err)
	}
	if int64(*sum.Node.Swap.SwapUsageBytes) != swapUsed {
		t.Errorf("summary node swap %d, meminfo says %d", *sum.Node.Swap.SwapUsageBytes, swapUsed)
	}
	limited := 0
	var topLevel int64
	for p := range files {
		if !strings.HasSuffix(p, "/memory.swap.current") {
			continue
		}
		d := strings.TrimSuffix(p, "/memory.swap.current")
		cur := fileInt(t, files, p)
		if strings.Count(d, "/") == 1 {
			topLevel += cur
		}
		if max := strings.TrimSpace(string(files[d+"/memory.swap.max"])); max != "max" {
			m, _ := strconv.ParseInt(max, 10, 64)
			if cur > m {
				t.Errorf("%s: swap %d over swap.max %d", d, cur, m)
			}
			if m > 0 {
				limited++
			}
			if cur == 1405091840 && m != pages(int64(6<<30)*mi("SwapTotal")/mi("MemTotal")) {
				t.Errorf("%s: swap.max %d, want 6Gi / MemTotal × SwapTotal", d, m)
			}
		}
	}
	if limited == 0 || topLevel > swapUsed || topLevel == 0 {
		t.Errorf("%d containers with swap, top-level cgroups hold %d of %d swapped", limited, topLevel, swapUsed)
	}
}
