package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/memsnap/memsnap/bundle"
	"github.com/memsnap/memsnap/internal/redact"
)

// pprofTarget is one --pprof NAME=URL[,pid=N].
type pprofTarget struct {
	Name string
	URL  string
	PID  int
}

var targetName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

func parsePprofTarget(v string) (pprofTarget, error) {
	name, rest, ok := strings.Cut(v, "=")
	if !ok || !targetName.MatchString(name) || name == "kubelet" {
		return pprofTarget{}, fmt.Errorf("--pprof %q: want NAME=URL[,pid=N] with NAME of [A-Za-z0-9._-] (not \"kubelet\")", v)
	}
	t := pprofTarget{Name: name, URL: rest}
	if u, p, ok := strings.Cut(rest, ",pid="); ok {
		pid, err := strconv.Atoi(p)
		if err != nil || pid <= 0 {
			return pprofTarget{}, fmt.Errorf("--pprof %q: bad pid", v)
		}
		t.URL, t.PID = u, pid
	}
	u, err := url.Parse(t.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return pprofTarget{}, fmt.Errorf("--pprof %q: want an http(s) URL", v)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/debug/pprof/heap"
	}
	t.URL = u.String()
	return t, nil
}

// targetJSON is pprof/<target>/target.json (DESIGN §2).
type targetJSON struct {
	Name       string `json:"name"`
	URL        string `json:"url"`
	PID        int    `json:"pid,omitempty"`
	Started    string `json:"started"`
	DurationMS int64  `json:"duration_ms"`
	Bytes      int64  `json:"bytes"`
	Truncated  bool   `json:"truncated"`
	Error      string `json:"error,omitempty"`
}

func collectPprof(ctx context.Context, c *collection, s *sink) error {
	targets := append([]pprofTarget(nil), c.opt.Pprof...)
	clients := make([]*http.Client, len(targets))
	tokens := make([]string, len(targets))
	plain := newHTTPClient(nil)
	for i := range targets {
		clients[i] = plain
	}
	// The kubelet's own heap comes last, when its API answered at all: a
	// kubelet that hung for the kubelet source would cost a second
	// --timeout here.
	c.mu.Lock()
	kubeletOK := c.kubeletOK
	c.mu.Unlock()
	kubeletHeap := -1
	if c.opt.KubeletURL == "off" || (!kubeletOK && c.dry == nil) {
		s.skip("kubelet heap: kubelet API not reachable")
	} else if kc, token, err := c.kubeletClient(); err == nil {
		t := pprofTarget{Name: "kubelet", URL: strings.TrimSuffix(c.opt.KubeletURL, "/") + "/debug/pprof/heap"}
		if pid, _ := c.host.FindProcess("kubelet"); pid != "" {
			t.PID, _ = strconv.Atoi(pid)
		}
		kubeletHeap = len(targets)
		targets, clients, tokens = append(targets, t), append(clients, kc), append(tokens, token)
	}
	errs, stopped := fetchShared(ctx, len(targets), func(ctx context.Context, i int) error {
		return fetchProfile(ctx, c, s, clients[i], tokens[i], targets[i])
	})
	for i, err := range errs {
		switch {
		case err == nil || errors.Is(err, errNotStarted):
		case i == kubeletHeap:
			// Profiling is off on most kubelets (enableProfilingHandler) or
			// needs nodes/proxy: a note, not a failure of the explicit targets.
			s.skip("kubelet heap: %v", err)
		default:
			s.fail("%s: %v", targets[i].Name, err)
		}
	}
	return stopped
}

// fetchProfile stores the heap profile bytes untouched, then target.json.
func fetchProfile(ctx context.Context, c *collection, s *sink, client *http.Client, token string, t pprofTarget) error {
	if c.dry != nil {
		c.dry.action(s.name, "GET %s", redactURL(t.URL))
		return nil
	}
	if t.PID == 0 {
		t.PID = pidByPort(c.host, t.URL)
	}
	started := time.Now()
	dir := path.Join(bundle.PprofDir, t.Name)
	err := get(ctx, client, token, t.URL, s, path.Join(dir, bundle.PprofHeapFile), binary, capProfile)
	if errors.Is(err, errFirstShare) {
		return err // tried again; target.json is written once, by the last try
	}
	tj := targetJSON{
		Name: t.Name, URL: redactURL(t.URL), PID: t.PID,
		Started: started.UTC().Format(time.RFC3339), DurationMS: time.Since(started).Milliseconds(),
	}
	if err == nil {
		tj.Bytes, tj.Truncated = s.lastFile()
	}
	if err != nil {
		tj.Error = err.Error()
	}
	b, _ := json.MarshalIndent(tj, "", "  ")
	if werr := s.write(path.Join(dir, bundle.PprofTargetFile), append(b, '\n'), text); werr != nil && err == nil {
		err = werr
	}
	return err
}

func redactURL(u string) string {
	r, _ := redact.String(u)
	return r
}

// pidByPort finds the process listening on a local URL's port: the
// listening socket's inode in /proc/net/tcp{,6}, then the process holding
// socket:[inode]. It answers 0 when unsure.
func pidByPort(h Host, rawURL string) int {
	u, err := url.Parse(rawURL)
	if err != nil {
		return 0
	}
	host, port := u.Hostname(), u.Port()
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return 0
	}
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	p, _ := strconv.Atoi(port)
	inode := ""
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		if inode = listenInode(h, f, p); inode != "" {
			break
		}
	}
	if inode == "" {
		return 0
	}
	want := "socket:[" + inode + "]"
	pids, _, _ := h.PIDs(maxProcs * 4)
	for _, pid := range pids {
		fds, err := os.ReadDir(h.Path("/proc/" + pid + "/fd"))
		if err != nil {
			continue
		}
		for _, fd := range fds {
			if l, _ := os.Readlink(h.Path("/proc/" + pid + "/fd/" + fd.Name())); l == want {
				n, _ := strconv.Atoi(pid)
				return n
			}
		}
	}
	return 0
}

// listenInode reads proc(5) /proc/net/tcp: "sl local rem st ... inode",
// local as HEXIP:HEXPORT, st 0A = LISTEN.
func listenInode(h Host, file string, port int) string {
	f, err := h.Open(file)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	hexPort := fmt.Sprintf(":%04X", port)
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		if len(fl) > 9 && strings.HasSuffix(fl[1], hexPort) && fl[3] == "0A" {
			return fl[9]
		}
	}
	return ""
}
