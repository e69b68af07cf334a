package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/memsnap/memsnap/bundle"
)

// cadvisorPorts are where a standalone cAdvisor usually listens: its own
// default 8080, and the kubelet's old embedded port 4194.
var cadvisorPorts = []string{"8080", "4194"}

func collectCadvisor(ctx context.Context, c *collection, s *sink) error {
	client := newHTTPClient(&tls.Config{InsecureSkipVerify: c.opt.Insecure})
	switch url := c.opt.CadvisorURL; {
	case url == "off":
		s.skip("cAdvisor metrics: --cadvisor off")
	case url != "":
		base := strings.TrimSuffix(url, "/")
		if c.dry != nil {
			c.dry.action(s.name, "GET %s/metrics", base)
		} else if err := get(ctx, client, "", base+"/metrics", s, bundle.CadvisorMetrics, text, capMetrics); err != nil {
			s.fail("%v", err)
		}
	default:
		probeCadvisor(ctx, c, s, client)
	}
	if err := cadvisorLog(c.host, s); err != nil {
		s.fail("cAdvisor log: %v", err)
	}
	return nil
}

// probeCadvisor tries the usual ports and keeps an answer only when it is
// cAdvisor's: its metrics start with cadvisor_version_info (families are
// sorted by name), another exporter on 8080 is not mistaken for it.
func probeCadvisor(ctx context.Context, c *collection, s *sink, client *http.Client) {
	for _, port := range cadvisorPorts {
		url := "http://127.0.0.1:" + port + "/metrics"
		if c.dry != nil {
			c.dry.action(s.name, "probe %s", url)
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		req, _ := http.NewRequestWithContext(pctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		cancel()
		if err != nil {
			continue
		}
		br := bufio.NewReaderSize(resp.Body, 32<<10)
		head, _ := br.Peek(32 << 10)
		if resp.StatusCode == http.StatusOK && (bytes.Contains(head, []byte("cadvisor_version_info")) || bytes.Contains(head, []byte("container_memory_"))) {
			resp.Body.Close()
			if err := get(ctx, client, "", url, s, bundle.CadvisorMetrics, text, capMetrics); err != nil {
				s.fail("%v", err)
			}
			return
		}
		resp.Body.Close()
	}
	s.skip("cAdvisor metrics: no --cadvisor and nothing on 127.0.0.1:%s", strings.Join(cadvisorPorts, ", :"))
}

// cadvisorLog copies the newest log of a container whose pod name says
// cadvisor, from /var/log/pods/<ns>_<pod>_<uid>/<container>/<n>.log.
func cadvisorLog(h Host, s *sink) error {
	pods, err := os.ReadDir(h.Path("/var/log/pods"))
	if err != nil {
		return nil // podsIndex reports a missing /var/log/pods
	}
	var candidates []string
	for _, p := range pods {
		if !strings.Contains(strings.ToLower(p.Name()), "cadvisor") {
			continue
		}
		dir := path.Join("/var/log/pods", p.Name())
		ctrs, _ := os.ReadDir(h.Path(dir))
		for _, ctr := range ctrs {
			logs, _ := os.ReadDir(h.Path(path.Join(dir, ctr.Name())))
			for _, l := range logs {
				if strings.HasSuffix(l.Name(), ".log") {
					candidates = append(candidates, path.Join(dir, ctr.Name(), l.Name()))
				}
			}
		}
	}
	if len(candidates) == 0 {
		s.skip("cAdvisor log: no cadvisor pod under /var/log/pods")
		return nil
	}
	// The newest log; DESIGN §2 has one cadvisor/log.txt.
	sort.Slice(candidates, func(i, j int) bool { return mtime(h, candidates[i]) > mtime(h, candidates[j]) })
	_, err = tailFile(h, s, bundle.CadvisorLog, candidates[0], capLog)
	if err != nil {
		return fmt.Errorf("%s: %w", candidates[0], err)
	}
	return nil
}

func mtime(h Host, p string) int64 {
	fi, err := os.Stat(h.Path(p))
	if err != nil {
		return 0
	}
	return fi.ModTime().UnixNano()
}
