package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/memsnap/memsnap/bundle"
)

// kubeletEndpoints are fetched from the kubelet API (DESIGN §2). RBAC:
// nodes/stats for /stats, nodes/metrics for /metrics/*, nodes/proxy (or
// the fine-grained nodes/pods, nodes/configz) for the rest (DESIGN §6).
var kubeletEndpoints = []struct {
	path, name string
	limit      int64
}{
	{"/stats/summary", bundle.KubeletSummary, capMetrics},
	{"/pods", bundle.KubeletPods, capMetrics},
	{"/configz", bundle.KubeletConfigz, capSmall},
	{"/metrics/cadvisor", bundle.KubeletMetricsCadvisor, capMetrics},
	{"/metrics/resource", bundle.KubeletMetricsResource, capMetrics},
}

// kubeletLogFiles are where kubelets log when not to the journal.
var kubeletLogFiles = []string{
	"/var/log/kubelet.log", "/var/log/kubelet/kubelet.log",
	"/var/log/kubernetes/kubelet.log", "/var/log/kubelet.INFO",
}

// kubeletProcess finds the kubelet once per run.
func (c *collection) kubeletProcess() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.kubeletArgv == nil {
		_, argv := c.host.FindProcess("kubelet")
		if argv == nil {
			argv = []string{}
		}
		c.kubeletArgv = argv
		// The kubelet registers the node under --hostname-override when set.
		if v, ok := FlagValue(argv, "hostname-override"); ok && v != "" {
			c.node.NodeName = v
		}
	}
	return c.kubeletArgv
}

func collectKubelet(ctx context.Context, c *collection, s *sink) error {
	h := c.host
	argv := c.kubeletProcess()
	if len(argv) == 0 {
		s.skip("no kubelet process in /proc")
	} else if err := s.write(bundle.KubeletFlags, []byte(strings.Join(argv, "\n")+"\n"), text); err != nil {
		s.fail("flags: %v", err)
	}

	config, explicit := FlagValue(argv, "config")
	if !explicit {
		config = "/var/lib/kubelet/config.yaml" // kubeadm's default
	}
	if ok, err := s.hostFile(h, bundle.KubeletConfigYAML, config, text, capSmall); err != nil {
		s.fail("%s: %v", config, err)
	} else if !ok && explicit {
		s.fail("%s (--config): missing", config)
	}

	kubeletLog(ctx, c, s, argv)
	kubeletVersion(ctx, c, s, argv)

	if c.opt.KubeletURL == "off" {
		s.skip("kubelet API: --kubelet off")
		return nil
	}
	client, token, err := c.kubeletClient()
	if err != nil {
		s.fail("kubelet API: %v", err)
		return nil
	}
	base := strings.TrimSuffix(c.opt.KubeletURL, "/")
	if c.dry != nil {
		for _, e := range kubeletEndpoints {
			c.dry.action(s.name, "GET %s%s", base, e.path)
		}
		return nil
	}
	errs, stopped := fetchShared(ctx, len(kubeletEndpoints), func(ctx context.Context, i int) error {
		e := kubeletEndpoints[i]
		return get(ctx, client, token, base+e.path, s, e.name, text, e.limit)
	})
	for _, err := range errs {
		switch {
		case err == nil:
			c.mu.Lock()
			c.kubeletOK = true
			c.mu.Unlock()
		case !errors.Is(err, errNotStarted):
			s.fail("%v", err)
		}
	}
	return stopped
}

// kubeletLog copies the kubelet's log tail: from the journal when journald
// runs, else from its --log-file or the usual files.
func kubeletLog(ctx context.Context, c *collection, s *sink, argv []string) {
	if ok, why := c.tools.journald(); ok {
		if tool, found := c.tools.find("journalctl"); found {
			if c.dry != nil {
				c.dry.action(s.name, "run journalctl -u kubelet")
				return
			}
			since := "-" + strconv.FormatInt(int64(c.opt.Since.Seconds()), 10) + "s"
			if err := c.tools.run(ctx, s, bundle.KubeletLog, capLog, tool, "-u", "kubelet", "--no-pager", "-o", "short-precise", "--since", since); err != nil {
				s.fail("kubelet log: %v", err)
			}
			return
		}
	} else {
		s.skip("journalctl: %s", why)
	}
	files := kubeletLogFiles
	if v, ok := FlagValue(argv, "log-file"); ok {
		files = append([]string{v}, files...)
	}
	for _, f := range files {
		ok, err := tailFile(c.host, s, bundle.KubeletLog, f, capLog)
		if err != nil {
			s.fail("kubelet log %s: %v", f, err)
		}
		if ok || err != nil {
			return
		}
	}
	s.skip("kubelet log: no journal and none of %s", strings.Join(files, ", "))
}

// kubeletVersion runs "kubelet --version" on the host when it can.
func kubeletVersion(ctx context.Context, c *collection, s *sink, argv []string) {
	if len(argv) == 0 || !strings.HasPrefix(argv[0], "/") {
		s.skip("kubelet --version: kubelet binary path unknown")
		return
	}
	bin := argv[0]
	fi, err := os.Stat(c.host.Path(c.host.Resolve(bin)))
	if err != nil || fi.Mode()&0o111 == 0 || !fi.Mode().IsRegular() {
		s.skip("kubelet --version: %s is not an executable on the host", bin)
		return
	}
	if c.dry != nil {
		c.dry.action(s.name, "run %s --version", bin)
		return
	}
	if err := c.tools.run(ctx, s, bundle.KubeletVersion, 4096, bin, "--version"); err != nil {
		s.fail("kubelet --version: %v", err)
	}
}

// tailFile copies the last limit bytes of a host file, from a line start.
func tailFile(h Host, s *sink, name, hostPath string, limit int64) (bool, error) {
	f, err := h.Open(hostPath)
	if err != nil {
		if isGone(err) {
			return false, nil
		}
		return false, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return false, err
	}
	var r io.Reader = f
	if off := fi.Size() - limit; off > 0 {
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			return false, err
		}
		skipLine(f)
		s.markTruncated()
	}
	return true, s.copy(name, r, text, limit)
}

// skipLine positions f after the next newline (a tail's partial first line).
func skipLine(f *os.File) {
	var buf [4096]byte
	for range 16 {
		n, err := f.Read(buf[:])
		if i := bytes.IndexByte(buf[:n], '\n'); i >= 0 {
			f.Seek(int64(i+1-n), io.SeekCurrent)
			return
		}
		if err != nil || n == 0 {
			return
		}
	}
}
