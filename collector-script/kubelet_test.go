package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/memsnap/memsnap/bundle"
	"github.com/memsnap/memsnap/collector-script/internal/hostfixture"
)

func TestKubeletBehaviours(t *testing.T) {
	for _, tc := range []struct {
		name      string
		ko        hostfixture.KubeletOptions
		setup     func(o *Options, k *hostfixture.Kubelet, dir string)
		status    string
		errSubstr string
	}{
		{name: "healthy", status: bundle.StatusOK},
		{name: "500", ko: hostfixture.KubeletOptions{Mode: hostfixture.Error}, status: bundle.StatusPartial, errSubstr: "500 Internal Server Error"},
		// Garbage is stored as is: the collector never parses (the analyzer
		// reports it); the run must simply not care.
		{name: "garbage", ko: hostfixture.KubeletOptions{Mode: hostfixture.Garbage}, status: bundle.StatusOK},
		{name: "token missing", ko: hostfixture.KubeletOptions{Token: "t0k"}, status: bundle.StatusPartial, errSubstr: "401 Unauthorized"},
		{name: "token given", ko: hostfixture.KubeletOptions{Token: "t0k"}, status: bundle.StatusOK,
			setup: func(o *Options, k *hostfixture.Kubelet, dir string) {
				p := filepath.Join(dir, "token")
				os.WriteFile(p, []byte("t0k\n"), 0o600)
				o.KubeletTokenFile = p
			}},
		{name: "tls unknown CA", ko: hostfixture.KubeletOptions{TLS: true}, status: bundle.StatusPartial, errSubstr: "certificate"},
		{name: "tls with CA", ko: hostfixture.KubeletOptions{TLS: true}, status: bundle.StatusOK,
			setup: func(o *Options, k *hostfixture.Kubelet, dir string) { o.KubeletCA = k.CAFile }},
		{name: "tls insecure", ko: hostfixture.KubeletOptions{TLS: true}, status: bundle.StatusOK,
			setup: func(o *Options, k *hostfixture.Kubelet, dir string) { o.Insecure = true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, k := fixture(t, 2, "systemd", tc.ko)
			o := testOptions(t, h, k)
			o.Pprof = nil
			if tc.setup != nil {
				tc.setup(o, k, t.TempDir())
			}
			if code := Run(context.Background(), o); code != exitOK {
				t.Fatalf("exit %d", code)
			}
			rb := readBundle(t, o.Output)
			s := rb.source(t, "kubelet")
			// Local kubelet files (flags, config, log) are there even when
			// the API is not: partial, never failed.
			if s.Status != tc.status || !strings.Contains(s.Error, tc.errSubstr) {
				t.Errorf("kubelet source %s %q, want %s containing %q", s.Status, s.Error, tc.status, tc.errSubstr)
			}
			_, hasPods := rb.files[bundle.KubeletPods]
			if hasPods != (tc.status == bundle.StatusOK) {
				t.Errorf("pods.json present=%v with status %s", hasPods, s.Status)
			}
			for _, local := range []string{"node", "cgroup", "logs"} {
				if st := rb.source(t, local).Status; st != bundle.StatusOK {
					t.Errorf("%s: %s", local, st)
				}
			}
		})
	}
}

// TestHungKubeletIsCut: a kubelet that never answers (the fixture hangs
// for 10 minutes) costs one --timeout, shared by its endpoints; the pprof
// source does not wait for it a second time.
func TestHungKubeletIsCut(t *testing.T) {
	h, k := fixture(t, 1, "cgroupfs", hostfixture.KubeletOptions{Mode: hostfixture.Slow})
	o := testOptions(t, h, k)
	o.Timeout = 2 * time.Second
	start := time.Now()
	if code := Run(context.Background(), o); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	// About 2.5 s of work; 30 s is a margin for -race on a loaded machine
	// that still fails a source left to hang.
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("run took %s: the hung kubelet was not cut at --timeout", d)
	}
	rb := readBundle(t, o.Output)
	s := rb.source(t, "kubelet")
	if s.Status != bundle.StatusPartial || !strings.Contains(s.Error, "/stats/summary: cut at its share of --timeout") {
		t.Errorf("kubelet: %s %q", s.Status, s.Error)
	}
	if s.DurationMS > 2*o.Timeout.Milliseconds()+5000 {
		t.Errorf("kubelet source ran %d ms for a --timeout of %s", s.DurationMS, o.Timeout)
	}
	// Structural, not timed: the pprof source skipped the kubelet's heap
	// because the kubelet API never answered.
	if p := rb.source(t, "pprof"); !strings.Contains(p.Error, "kubelet heap: kubelet API not reachable") {
		t.Errorf("pprof: %s %q, want the kubelet heap skipped", p.Status, p.Error)
	}
	for _, ok := range []string{"node", "cgroup", "logs", "proc", "systemd"} {
		if s := rb.source(t, ok); s.Status != bundle.StatusOK {
			t.Errorf("%s: %s %s", ok, s.Status, s.Error)
		}
	}
	if _, ok := rb.files["pprof/agent1/heap.pb.gz"]; !ok {
		t.Error("the pprof target (not the kubelet) should still be collected")
	}
}

// TestInterruptLeavesValidBundle: cancelling with the signal cause while a
// request is blocked ends that source and skips the rest.
func TestInterruptLeavesValidBundle(t *testing.T) {
	h, k := fixture(t, 2, "cgroupfs", hostfixture.KubeletOptions{Mode: hostfixture.Slow})
	o := testOptions(t, h, k)
	o.Timeout = 30 * time.Second
	ctx, cancel := context.WithCancelCause(context.Background())
	time.AfterFunc(1500*time.Millisecond, func() { cancel(errInterrupted) })
	start := time.Now()
	if code := Run(ctx, o); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	// The interrupt comes at 1.5 s and the run ends at once; 10 s leaves a
	// margin for -race under load while --timeout (30 s) would still fail.
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %s after the interrupt", d)
	}
	rb := readBundle(t, o.Output)
	if s := rb.source(t, "kubelet"); !strings.Contains(s.Error, "interrupted") {
		t.Errorf("kubelet: %s %q", s.Status, s.Error)
	}
	if s := rb.source(t, "pprof"); s.Status != bundle.StatusSkipped || !strings.Contains(s.Error, "interrupted") {
		t.Errorf("pprof: %s %q", s.Status, s.Error)
	}
	if s := rb.source(t, "cgroup"); s.Status != bundle.StatusOK {
		t.Errorf("cgroup: %s", s.Status)
	}
	if _, err := os.Stat(o.Output + ".partial"); err == nil {
		t.Error(".partial left behind")
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	h, k := fixture(t, 1, "systemd", hostfixture.KubeletOptions{})
	o := testOptions(t, h, k)
	o.DryRun = true
	var out strings.Builder
	o.Stdout = &out
	if code := Run(context.Background(), o); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	if _, err := os.Stat(o.Output); err == nil {
		t.Error("dry run wrote the bundle")
	}
	for _, want := range []string{"would GET " + k.URL + "/stats/summary", "would GET " + k.Targets[0], "estimated bundle size:", "cgroup "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("dry-run output lacks %q:\n%s", want, out.String())
		}
	}
}
