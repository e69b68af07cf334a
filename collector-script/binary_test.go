package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/memsnap/memsnap/bundle"
	"github.com/memsnap/memsnap/collector-script/internal/hostfixture"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// collectorBinary builds the real static binary once per test run.
func collectorBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "memsnap-collect-test")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "memsnap-collect")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-X main.version=test", "-o", binPath, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = err
			binPath = string(out)
		}
	})
	if buildErr != nil {
		t.Fatalf("go build: %v\n%s", buildErr, binPath)
	}
	return binPath
}

// TestSIGTERMWhileBlocked sends a real SIGTERM to the real binary while it
// waits on a kubelet that never answers.
func TestSIGTERMWhileBlocked(t *testing.T) {
	bin := collectorBinary(t)
	h, k := fixture(t, 1, "systemd", hostfixture.KubeletOptions{Mode: hostfixture.Slow})
	// The signal goes out once the collector is blocked on the kubelet, that
	// is after the local sources: waiting for the request, not a guessed
	// sleep, keeps the test right on a slow machine.
	blocked := make(chan struct{}, 1)
	srv := faultKubelet(t, k, map[string]http.HandlerFunc{
		"/stats/summary": func(w http.ResponseWriter, r *http.Request) {
			select {
			case blocked <- struct{}{}:
			default:
			}
			<-r.Context().Done()
		},
	})
	out := filepath.Join(t.TempDir(), "b.tar.gz")
	cmd := exec.Command(bin, "--host-root", h.Root, "--kubelet", srv.URL, "--cadvisor", "off", "--timeout", "60s", "-o", out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-blocked:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("the collector never asked the kubelet\n%s", stderr.String())
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("did not finish after SIGTERM")
	}
	rb := readBundle(t, out)
	if s := rb.source(t, "kubelet"); !strings.Contains(s.Error, "interrupted") {
		t.Errorf("kubelet: %s %q", s.Status, s.Error)
	}
	if s := rb.source(t, "cgroup"); s.Status != bundle.StatusOK {
		t.Errorf("cgroup: %s", s.Status)
	}
}

// TestBinaryOnThisMachine: the real binary on the test machine, which has
// no kubelet: a valid bundle whose manifest says why kubelet failed, with
// node, cgroup and logs ok.
func TestBinaryOnThisMachine(t *testing.T) {
	bin := collectorBinary(t)
	out := filepath.Join(t.TempDir(), "b.tar.gz")
	cmd := exec.Command(bin, "--kubelet", "https://127.0.0.1:1", "--cadvisor", "off", "--timeout", "5s", "-o", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	rb := readBundle(t, out)
	for _, name := range []string{"node", "cgroup", "logs"} {
		if s := rb.source(t, name); s.Status != bundle.StatusOK {
			t.Errorf("%s: %s %s", name, s.Status, s.Error)
		}
	}
	if s := rb.source(t, "kubelet"); s.Status != bundle.StatusFailed || !strings.Contains(s.Error, "connection refused") {
		t.Errorf("kubelet: %s %q", s.Status, s.Error)
	}
	if rb.manifest.Node.CgroupVersion == 0 || rb.manifest.Node.Kernel == "" {
		t.Errorf("node: %+v", rb.manifest.Node)
	}
}

// mountTmpfs mounts a 1 MiB tmpfs. It needs root; not being root fails the
// test unless MEMSNAP_LAB=skip says this environment cannot do it.
func mountTmpfs(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("MEMSNAP_LAB") == "skip" {
			t.Skip("MEMSNAP_LAB=skip: not root, cannot mount a tmpfs")
		}
		t.Fatal("this test mounts a 1 MiB tmpfs and needs root (set MEMSNAP_LAB=skip to skip it explicitly)")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

func TestFullDisk(t *testing.T) {
	h, k := fixture(t, 1, "systemd", hostfixture.KubeletOptions{Profiles: 2, ProfileBytes: 2 << 20})
	t.Run("free-space check", func(t *testing.T) {
		dir := mountTmpfs(t)
		o := testOptions(t, h, k)
		o.Output, o.MinFree = filepath.Join(dir, "b.tar.gz"), 64<<20
		if code := Run(context.Background(), o); code != exitNoWrite {
			t.Fatalf("exit %d, want %d", code, exitNoWrite)
		}
		assertEmpty(t, dir)
	})
	t.Run("disk fills while writing", func(t *testing.T) {
		dir := mountTmpfs(t)
		o := testOptions(t, h, k)
		o.Output, o.MinFree, o.SpoolDir = filepath.Join(dir, "b.tar.gz"), 0, t.TempDir()
		if code := Run(context.Background(), o); code != exitNoWrite {
			t.Fatalf("exit %d, want %d\n%s", code, exitNoWrite, o.Stderr)
		}
		if !strings.Contains(o.Stderr.(*bytes.Buffer).String(), "no space left on device") {
			t.Errorf("stderr does not name the cause:\n%s", o.Stderr)
		}
		assertEmpty(t, dir)
	})
}

func assertEmpty(t *testing.T, dir string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		t.Errorf("left behind: %s", e.Name())
	}
}
