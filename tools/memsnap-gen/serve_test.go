package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/memsnap/memsnap/tools/memsnap-gen/internal/nodegen"
)

// startServe writes a small host tree and serves it with so until the
// test ends; it returns the tree and the base URL printed on the first line.
func startServe(t *testing.T, so serveOptions) (dir, base string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "tree")
	opt := nodegen.Options{Pods: 3, ContainersPerPod: 1, CgroupVersion: 1, Driver: "cgroupfs", Seed: 7, KernelNoiseLines: 10}
	if _, err := nodegen.WriteHostTree(dir, opt); err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- serveTree(dir, opt, so, pw, stop); pw.Close() }()
	t.Cleanup(func() {
		close(stop)
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serveTree: %v", err)
		}
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("serveTree printed no arguments line: %v", err)
	}
	go io.Copy(io.Discard, pr)
	f := strings.Fields(line)
	for i := range f[:len(f)-1] {
		if f[i] == "--kubelet" {
			return dir, f[i+1]
		}
	}
	t.Fatalf("no --kubelet in %q", line)
	return "", ""
}

// TestServeTLS: --tls serves the tree's kubelet answers over HTTPS with a
// self-signed certificate written beside the tree, which verifies the
// address it was made for; every answer is the file, byte for byte.
func TestServeTLS(t *testing.T) {
	dir, base := startServe(t, serveOptions{addr: "127.0.0.1:0", tls: true})
	if !strings.HasPrefix(base, "https://127.0.0.1:") {
		t.Fatalf("base URL %s, want https://127.0.0.1:PORT", base)
	}
	pemBytes, err := os.ReadFile(filepath.Join(dir, "kubelet-serving.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatal("kubelet-serving.crt holds no certificate")
	}
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	for _, p := range []string{"stats/summary", "pods", "configz", "metrics/cadvisor"} {
		resp, err := hc.Get(base + "/" + p)
		if err != nil {
			t.Fatalf("GET /%s: %v", p, err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET /%s: %s %v", p, resp.Status, err)
		}
		want, err := os.ReadFile(filepath.Join(dir, nodegen.KubeletDir, p))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) || len(want) == 0 {
			t.Errorf("GET /%s: %d bytes, the tree's file has %d (or differs)", p, len(got), len(want))
		}
	}
}

// TestServeFaults: each fault mode misbehaves on its path only.
func TestServeFaults(t *testing.T) {
	_, base := startServe(t, serveOptions{addr: "127.0.0.1:0", faults: []nodegen.Fault{
		{Mode: "hang", Path: "/metrics/cadvisor"}, {Mode: "reset", Path: "/pods"}, {Mode: "500", Path: "/configz"},
	}})
	hc := &http.Client{Timeout: 2 * time.Second}
	if resp, err := hc.Get(base + "/stats/summary"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("/stats/summary without a fault: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	start := time.Now()
	_, err := hc.Get(base + "/metrics/cadvisor")
	var ne interface{ Timeout() bool }
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("hang: GET /metrics/cadvisor = %v, want the client's timeout", err)
	}
	if d := time.Since(start); d < 2*time.Second {
		t.Errorf("hang: the request ended after %s, before the client's 2s timeout", d)
	}
	_, err = hc.Get(base + "/pods")
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("reset: GET /pods = %v, want connection reset by peer", err)
	}
	resp, err := hc.Get(base + "/configz")
	if err != nil || resp.StatusCode != 500 {
		t.Errorf("500: GET /configz = %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
}

func TestParseFault(t *testing.T) {
	for in, want := range map[string]nodegen.Fault{"hang": {Mode: "hang"}, "reset:/pods": {Mode: "reset", Path: "/pods"}, "slow:/metrics/": {Mode: "slow", Path: "/metrics/"}} {
		if got, err := nodegen.ParseFault(in); err != nil || got != want {
			t.Errorf("ParseFault(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "explode", "hang:pods"} {
		if _, err := nodegen.ParseFault(bad); err == nil {
			t.Errorf("ParseFault(%q) accepted", bad)
		}
	}
}
