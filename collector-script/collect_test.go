package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/memsnap/memsnap/bundle"
	"github.com/memsnap/memsnap/collector-script/internal/hostfixture"
)

// fixture generates a small fake host and its kubelet.
func fixture(t *testing.T, version int, driver string, ko hostfixture.KubeletOptions) (*hostfixture.Host, *hostfixture.Kubelet) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "host")
	os.Mkdir(root, 0o755)
	h, err := hostfixture.Generate(root, hostfixture.Options{CgroupVersion: version, Driver: driver, Pods: 6, Processes: 40, KmsgLines: 200})
	if err != nil {
		t.Fatal(err)
	}
	ko.Profiles = max(ko.Profiles, 1)
	k, err := h.Kubelet(ko)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Close)
	return h, k
}

func testOptions(t *testing.T, h *hostfixture.Host, k *hostfixture.Kubelet) *Options {
	out := filepath.Join(t.TempDir(), "bundle.tar.gz")
	var stderr bytes.Buffer
	o := &Options{
		Output: out, HostRoot: h.Root, KubeletURL: k.URL, CadvisorURL: "off", APIServer: "off",
		Since: 24 * time.Hour, Timeout: 5 * time.Second, Deadline: time.Minute,
		MaxBytes: 1 << 30, Version: "test", Stdout: io.Discard, Stderr: &stderr,
		Log: slog.New(slog.NewTextHandler(&stderr, nil)), Now: time.Now,
	}
	for i, u := range k.Targets {
		o.Pprof = append(o.Pprof, pprofTarget{Name: "agent" + string(rune('1'+i)), URL: u})
	}
	return o
}

// readBundle returns the decompressed tar stream, the files and the manifest.
type readBack struct {
	raw      []byte
	files    map[string][]byte
	manifest *bundle.Manifest
}

func readBundle(t *testing.T, path string) readBack {
	t.Helper()
	f, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	gz, err := gzip.NewReader(bytes.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(gz)
	if err != nil {
		t.Fatalf("gzip stream: %v", err)
	}
	rb := readBack{raw: raw, files: map[string][]byte{}}
	tr := tar.NewReader(bytes.NewReader(raw))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		name := strings.TrimPrefix(h.Name, "./")
		if _, dup := rb.files[name]; dup {
			t.Errorf("duplicate entry %s", name)
		}
		rb.files[name] = b
	}
	m, err := bundle.ParseManifest(bytes.NewReader(rb.files[bundle.ManifestPath]))
	if err != nil {
		t.Fatalf("manifest: %v", err)
	}
	rb.manifest = m
	return rb
}

func (rb readBack) source(t *testing.T, name string) bundle.Source {
	t.Helper()
	for _, s := range rb.manifest.Sources {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("source %s not in manifest", name)
	return bundle.Source{}
}

func TestCollectFixtureHosts(t *testing.T) {
	for _, tc := range []struct {
		version int
		driver  string
		mode    string
	}{{1, "systemd", "hybrid"}, {1, "cgroupfs", "hybrid"}, {2, "systemd", "unified"}, {2, "cgroupfs", "unified"}} {
		t.Run(tc.mode+"-"+tc.driver, func(t *testing.T) {
			h, k := fixture(t, tc.version, tc.driver, hostfixture.KubeletOptions{})
			o := testOptions(t, h, k)
			if code := Run(context.Background(), o); code != exitOK {
				t.Fatalf("exit %d: %s", code, o.Stderr)
			}
			rb := readBundle(t, o.Output)
			m := rb.manifest
			if m.Collector.Mode != "binary" || m.Node.CgroupVersion != tc.version || m.Node.CgroupMode != tc.mode || m.Node.CgroupDriver != tc.driver {
				t.Errorf("node facts %+v", m.Node)
			}
			if m.Node.NodeName != "node-a" || m.Node.MemTotalBytes != 16<<30 || m.Node.BootTime == "" {
				t.Errorf("node facts %+v", m.Node)
			}
			for _, name := range []string{"node", "cgroup", "logs", "proc", "volumes", "systemd", "kubelet", "pprof"} {
				if s := rb.source(t, name); s.Status != bundle.StatusOK {
					t.Errorf("source %s: %s (%s)", name, s.Status, s.Error)
				}
			}
			// Every file is listed with its sha256, and nothing else is.
			if len(m.Files) != len(rb.files)-1 {
				t.Errorf("manifest lists %d files, archive has %d", len(m.Files), len(rb.files)-1)
			}
			for _, fe := range m.Files {
				sum := sha256.Sum256(rb.files[fe.Path])
				if hex.EncodeToString(sum[:]) != fe.SHA256 || int64(len(rb.files[fe.Path])) != fe.Bytes {
					t.Errorf("%s: sha256/size mismatch", fe.Path)
				}
			}
			// The OOM-killed container's cgroup files, mirrored at their path.
			ctr := h.Pods[0].Containers[1]
			counter := "memory.oom_control"
			if tc.version == 2 {
				counter = "memory.events"
			}
			if b := rb.files["cgroup/"+ctr.Cgroup+"/"+counter]; !bytes.Contains(b, []byte("oom_kill 1")) {
				t.Errorf("%s/%s: %q", ctr.Cgroup, counter, b)
			}
			for _, never := range []string{"memory.pressure_level", "memory.kmem.slabinfo", "memory.use_hierarchy"} {
				if _, ok := rb.files["cgroup/"+ctr.Cgroup+"/"+never]; ok {
					t.Errorf("%s copied", never)
				}
			}
			if !bytes.Contains(rb.files[bundle.KernelLog], []byte("] Memory cgroup out of memory: Killed process 5001 (java)")) {
				t.Error("kernel.log lacks the OOM kill")
			}
			if !bytes.Contains(rb.files["proc/5004/fds.tsv"], []byte("/var/log/web/access.log\t889000000\n")) {
				t.Errorf("fds.tsv of the cache-heavy process: %q", rb.files["proc/5004/fds.tsv"])
			}
			if _, ok := rb.files["proc/20000/status"]; ok {
				t.Error("a process outside kubepods that is no agent was collected")
			}
			// The running instance (restart 1) is named by its /var/log/containers
			// link; the dead one (restart 0) has no link any more.
			var mainID string
			for _, c := range h.Pods[0].Containers {
				if c.Name == "main" {
					mainID = c.ID
				}
			}
			if !bytes.Contains(rb.files[bundle.PodsIndex], []byte("default\toom-app\t"+h.Pods[0].UID+"\tmain\t1\t"+mainID+"\n")) ||
				!bytes.Contains(rb.files[bundle.PodsIndex], []byte("default\toom-app\t"+h.Pods[0].UID+"\tmain\t0\n")) {
				t.Errorf("pods index: %q", rb.files[bundle.PodsIndex])
			}
			if !bytes.Contains(rb.files[bundle.TmpfsVolumes], []byte("kubernetes.io~empty-dir/scratch space\t")) {
				t.Errorf("tmpfs.tsv: %q", rb.files[bundle.TmpfsVolumes])
			}
			for _, p := range []string{bundle.KubeletSummary, bundle.KubeletPods, bundle.KubeletConfigz, bundle.KubeletMetricsCadvisor,
				bundle.KubeletMetricsResource, bundle.KubeletFlags, bundle.KubeletConfigYAML, bundle.KubeletLog,
				"systemd/files/run/systemd/system/kubepods.slice.d/50-MemoryLimit.conf", "pprof/agent1/heap.pb.gz", "pprof/agent1/target.json", "pprof/kubelet/heap.pb.gz"} {
				if _, ok := rb.files[p]; !ok {
					t.Errorf("missing %s", p)
				}
			}
			if _, ok := rb.files["systemd/files/etc/systemd/system/multi-user.target.wants/kubelet.service"]; ok {
				t.Error("followed a symlink in /etc/systemd/system")
			}
		})
	}
}

// TestRedaction: every planted secret shape is absent from the whole
// decompressed tar stream (headers and manifest included) and the manifest
// says where each was removed.
func TestRedaction(t *testing.T) {
	h, k := fixture(t, 1, "systemd", hostfixture.KubeletOptions{})
	o := testOptions(t, h, k)
	if code := Run(context.Background(), o); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	rb := readBundle(t, o.Output)
	secrets := hostfixture.Secrets()
	if len(secrets) < 10 {
		t.Fatalf("only %d secret shapes", len(secrets))
	}
	for _, s := range secrets {
		if bytes.Contains(rb.raw, []byte(s.Value)) {
			t.Errorf("%s (%s) leaked into the bundle", s.Shape, s.Where)
		}
	}
	redacted := map[string]int{}
	for _, r := range rb.manifest.Redactions {
		redacted[r.Path] += r.Count
	}
	for _, p := range []string{bundle.KubeletConfigYAML, bundle.KubeletConfigz, bundle.KubeletFlags, bundle.KubeletLog, bundle.KubeletPods,
		bundle.KubeletMetricsCadvisor, "proc/5001/cmdline", "proc/900/cmdline", "systemd/files/etc/systemd/system/kubelet.service.d/10-kubeadm.conf"} {
		if redacted[p] == 0 {
			t.Errorf("manifest lists no redaction for %s (%v)", p, rb.manifest.Redactions)
		}
	}
	if redacted[bundle.KubeletLog] < 5 || redacted[bundle.KubeletPods] < 3 {
		t.Errorf("redaction counts %v", redacted)
	}

	// --no-redact keeps them (the test would pass vacuously otherwise).
	o2 := testOptions(t, h, k)
	o2.NoRedact = true
	Run(context.Background(), o2)
	rb2 := readBundle(t, o2.Output)
	if !bytes.Contains(rb2.raw, []byte(secrets[0].Value)) {
		t.Error("--no-redact: secret missing; is the fixture planting it?")
	}
	if len(rb2.manifest.Warnings) == 0 || !strings.Contains(rb2.manifest.Warnings[0], "--no-redact") {
		t.Errorf("--no-redact leaves no warning in the manifest: %v", rb2.manifest.Warnings)
	}
	if len(rb.manifest.Warnings) != 0 {
		t.Errorf("redacted bundle carries warnings: %v", rb.manifest.Warnings)
	}
}
