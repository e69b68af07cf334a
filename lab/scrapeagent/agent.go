package main

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// config is the agent's flags.
type config struct {
	root       string        // tree walked for disk usage (the host root cAdvisor sees at /rootfs)
	scanDelay  time.Duration // per directory entry, like an IO-throttled du
	containers int           // containers reported per scrape
	history    int           // stats samples kept per container (cAdvisor --storage_duration)
	logPID     int           // klog's thread id field; 1 inside a container
}

// agent reproduces the shape of seed 004's cAdvisor: /metrics builds a new
// registry per request and walks container directories synchronously, with
// no in-flight limit, so slow scrapes overlap and each holds a full
// snapshot (google/cadvisor@v0.49.0:cmd/internal/http/handlers.go,
// metrics/prometheus.go; DOMAIN §6).
type agent struct {
	cfg  config
	logw io.Writer
	now  func() time.Time

	mu         sync.Mutex
	logMu      sync.Mutex
	thresholds map[string]time.Duration // per container, as fsHandler keeps it
	dirs       []containerDirs
}

// containerDirs are the directories fsHandler measures for one container:
// its writable layer and its log directory.
type containerDirs struct {
	id   string
	dirs []string
}

func newAgent(cfg config, logw io.Writer) *agent {
	if cfg.history <= 0 {
		cfg.history = 60
	}
	a := &agent{cfg: cfg, logw: logw, now: time.Now, thresholds: map[string]time.Duration{}}
	a.dirs = discoverContainerDirs(cfg.root)
	return a
}

// discoverContainerDirs pairs <root>/DATA/docker/overlay2/<id>/diff with
// <root>/DATA/docker/containers/<id>, the layout of the seed's node.
func discoverContainerDirs(root string) []containerDirs {
	var out []containerDirs
	layers, _ := os.ReadDir(filepath.Join(root, "DATA", "docker", "overlay2"))
	for _, l := range layers {
		id := l.Name()
		out = append(out, containerDirs{id: id, dirs: []string{
			filepath.Join(root, "DATA", "docker", "overlay2", id, "diff"),
			filepath.Join(root, "DATA", "docker", "containers", id),
		}})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

func (a *agent) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", a.serveMetrics)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// serveMetrics is the /metrics handler: a fresh registry per request, as
// cAdvisor's handler does, rendered into one text buffer.
func (a *agent) serveMetrics(w http.ResponseWriter, r *http.Request) {
	reg := newRegistry()
	reg.register(&containerCollector{agent: a})
	families := reg.Gather()
	var buf bytes.Buffer
	renderText(&buf, families)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

// walkDiskUsage sums file sizes and counts inodes below dir, pausing per
// entry like a CPU- and IO-throttled du/find in a 1-CPU pod.
func (a *agent) walkDiskUsage(dir string) (bytes, inodes uint64) {
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		time.Sleep(a.cfg.scanDelay)
		inodes++
		if info, err := d.Info(); err == nil && info.Mode().IsRegular() {
			bytes += uint64(info.Size())
		}
		return nil
	})
	return bytes, inodes
}

// measureContainerFs runs the disk-usage walk for one container and logs
// the fsHandler line when it is slow. The wording is cAdvisor ≥ v0.33's
// (container/common/fsHandler.go, DOMAIN §6); the threshold starts at 1 s
// and grows by 1 s each time it is exceeded.
func (a *agent) measureContainerFs(c containerDirs) (bytes, inodes uint64) {
	start := a.now()
	for _, d := range c.dirs {
		b, i := a.walkDiskUsage(d)
		bytes += b
		inodes += i
	}
	took := a.now().Sub(start)
	a.mu.Lock()
	limit, ok := a.thresholds[c.id]
	if !ok {
		limit = time.Second
	}
	slow := took > limit
	if slow {
		a.thresholds[c.id] = limit + time.Second
	}
	a.mu.Unlock()
	if slow {
		shown := make([]string, len(c.dirs))
		for i, d := range c.dirs {
			shown[i] = a.displayPath(d)
		}
		a.logf("fsHandler.go:135", "fs: disk usage and inodes count on following dirs took %v: %v; will not log again for this container unless duration exceeds %v",
			took, shown, limit+time.Second)
	}
	return bytes, inodes
}

// displayPath shows a walked path the way a DaemonSet pod sees the host
// root: mounted at /rootfs.
func (a *agent) displayPath(p string) string {
	rel, err := filepath.Rel(a.cfg.root, p)
	if err != nil || strings.HasPrefix(rel, "..") {
		return p
	}
	if rel == "." {
		return "/rootfs"
	}
	return "/rootfs/" + filepath.ToSlash(rel)
}

// logf writes one klog-format line: Lmmdd hh:mm:ss.uuuuuu threadid file:line] msg.
func (a *agent) logf(where, format string, args ...any) {
	t := a.now()
	line := fmt.Sprintf("I%s %7d %s] %s\n", t.Format("0102 15:04:05.000000"), a.cfg.logPID, where, fmt.Sprintf(format, args...))
	a.logMu.Lock()
	defer a.logMu.Unlock()
	_, _ = io.WriteString(a.logw, line)
}
