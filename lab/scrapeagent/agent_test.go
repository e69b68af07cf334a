package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/pprof/profile"
)

// makeTree lays out <root>/DATA/docker/{overlay2/<id>/diff,containers/<id>}
// with n files per container.
func makeTree(t *testing.T, root string, ids []string, n int) {
	t.Helper()
	for _, id := range ids {
		for _, d := range []string{
			filepath.Join(root, "DATA", "docker", "overlay2", id, "diff"),
			filepath.Join(root, "DATA", "docker", "containers", id),
		} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < n; i++ {
				if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("f%04d", i)), []byte("x"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestConcurrentScrapesDominateHeap scrapes the agent concurrently on
// loopback and checks what seed 004's pprof showed: alloc_space is
// dominated by the scrape path, and slow disk walks are logged in
// cAdvisor's fsHandler wording.
func TestConcurrentScrapesDominateHeap(t *testing.T) {
	old := runtime.MemProfileRate
	runtime.MemProfileRate = 4096
	defer func() { runtime.MemProfileRate = old }()

	root := t.TempDir()
	heavy := "1259a1c0ffee"
	makeTree(t, root, []string{heavy}, 110)        // ≈ 1.3 s per walk at 6 ms/entry: logged
	makeTree(t, root, []string{"d866", "16eb"}, 5) // small dirs beside it
	var logs syncBuffer
	a := newAgent(config{root: root, scanDelay: 6 * time.Millisecond, containers: 120, history: 30, logPID: 1}, &logs)
	if len(a.dirs) != 3 {
		t.Fatalf("discovered %d container dirs, want 3", len(a.dirs))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: a.handler()}
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String()

	// Six clients, each scraping back to back for a bounded time: scrapes
	// take longer than the gap between them, so they overlap.
	deadline := time.Now().Add(3 * time.Second)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var scrapes int
	var firstBody string
	for c := 0; c < 6; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				resp, err := http.Get(base + "/metrics")
				if err != nil {
					t.Error(err)
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				mu.Lock()
				scrapes++
				if firstBody == "" {
					firstBody = string(body)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if scrapes < 6 {
		t.Fatalf("only %d scrapes completed", scrapes)
	}
	if !strings.Contains(firstBody, "container_memory_working_set_bytes{") || !strings.Contains(firstBody, `container_label_io_kubernetes_label_0="value-`) {
		t.Errorf("metrics body lacks the expected families:\n%.400s", firstBody)
	}

	resp, err := http.Get(base + "/debug/pprof/heap")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	p, err := profile.Parse(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("heap profile: %v", err)
	}
	alloc := -1
	for i, st := range p.SampleType {
		if st.Type == "alloc_space" {
			alloc = i
		}
	}
	if alloc < 0 {
		t.Fatalf("no alloc_space in %v", p.SampleType)
	}
	var total, scrapePath int64
	for _, s := range p.Sample {
		v := s.Value[alloc]
		total += v
		if stackHas(s, ".(*agent).collectContainersInfo", ".(*registry).Gather", ".(*agent).serveMetrics") {
			scrapePath += v
		}
	}
	if total == 0 || scrapePath*100/total < 60 {
		t.Errorf("scrape path holds %d of %d alloc_space bytes, want ≥ 60%%", scrapePath, total)
	}

	line := regexp.MustCompile(`(?m)^I\d{4} \d\d:\d\d:\d\d\.\d{6}       1 fsHandler\.go:135\] fs: disk usage and inodes count on following dirs took ([0-9.]+m?s): \[/rootfs/DATA/docker/overlay2/` + heavy + `/diff /rootfs/DATA/docker/containers/` + heavy + `\]; will not log again for this container unless duration exceeds 2s$`)
	m := line.FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("no fsHandler line for the heavy container in log:\n%s", logs.String())
	}
	if d, err := time.ParseDuration(m[1]); err != nil || d <= time.Second {
		t.Errorf("logged duration %q, want a measured value above the 1s threshold", m[1])
	}
}

func stackHas(s *profile.Sample, names ...string) bool {
	for _, loc := range s.Location {
		for _, l := range loc.Line {
			for _, n := range names {
				// The package is "main" in the binary and its import path in
				// the test binary: match the method suffix.
				if l.Function != nil && strings.HasSuffix(l.Function.Name, n) {
					return true
				}
			}
		}
	}
	return false
}
