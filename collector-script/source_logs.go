package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/memsnap/memsnap/bundle"
	"github.com/memsnap/memsnap/collector-script/internal/kmsg"
)

// maxPodLogDirs bounds the /var/log/pods listing (a directory listing only).
const maxPodLogDirs = 50000

func collectLogs(ctx context.Context, c *collection, s *sink) error {
	kernelErr := kernelLog(ctx, c, s)
	if kernelErr != nil {
		s.fail("kernel log: %v", kernelErr)
	}
	if err := podsIndex(c.host, s); err != nil {
		s.fail("%s: %v", bundle.PodsIndex, err)
	}
	return nil
}

// kernelLog reads /dev/kmsg without blocking (O_NONBLOCK: read until
// EAGAIN), else journalctl -k, else dmesg — the latter two only when they
// can act on this host (see tools).
func kernelLog(ctx context.Context, c *collection, s *sink) error {
	h := c.host
	up, err := uptimeUsec(h)
	var minUsec uint64
	if err == nil && uint64(c.opt.Since.Microseconds()) < up {
		minUsec = up - uint64(c.opt.Since.Microseconds())
	}
	fd, kerr := syscall.Open(h.Path("/dev/kmsg"), syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if kerr == nil {
		defer syscall.Close(fd)
		r := kmsg.NewReader(rawFile{fd}, minUsec)
		if err := s.copy(bundle.KernelLog, r, text, capLog); err != nil {
			return fmt.Errorf("/dev/kmsg: %w", err)
		}
		if r.Lost > 0 {
			s.skip("%d kernel log records were overwritten while reading", r.Lost)
		}
		return nil
	}
	since := "-" + strconv.FormatInt(int64(c.opt.Since.Seconds()), 10) + "s"
	if ok, why := c.tools.journald(); ok {
		if tool, found := c.tools.find("journalctl"); found {
			if c.dry != nil {
				c.dry.action(s.name, "run journalctl -k")
				return nil
			}
			return c.tools.run(ctx, s, bundle.KernelLog, capLog, tool, "-k", "--no-pager", "-o", "short-precise", "--since", since)
		}
	} else {
		s.skip("journalctl: %s", why)
	}
	if tool, found := c.tools.find("dmesg"); found {
		// dmesg reads the running kernel's buffer: right for any host root
		// that is this machine; never blocks (no --follow).
		if c.dry != nil {
			c.dry.action(s.name, "run dmesg")
			return nil
		}
		return c.tools.run(ctx, s, bundle.KernelLog, capLog, tool)
	}
	return fmt.Errorf("/dev/kmsg: %v; no journald and no dmesg on the host", kerr)
}

// rawFile reads with read(2) directly: os.File would park a non-blocking
// character device in the poller and wait instead of returning EAGAIN.
type rawFile struct{ fd int }

func (r rawFile) Read(p []byte) (int, error) {
	for {
		n, err := syscall.Read(r.fd, p)
		if err == syscall.EINTR {
			continue
		}
		if n < 0 {
			n = 0
		}
		if err == nil && n == 0 {
			return 0, io.EOF
		}
		return n, err
	}
}

// podsIndex lists /var/log/pods/<ns>_<pod>_<uid>/<container>/<n>.log as
// namespace, pod, uid, container, restart (DESIGN §2), and the container ID
// of that instance when a /var/log/containers link points at the log: it
// names pods and containers offline when the kubelet API is down.
func podsIndex(h Host, s *sink) error {
	ids := containerLogIDs(h)
	root := h.Path("/var/log/pods")
	pods, err := os.ReadDir(root)
	if err != nil {
		if isGone(err) {
			s.skip("/var/log/pods does not exist")
			return nil
		}
		return err
	}
	var lines []string
	for _, p := range pods {
		if len(lines) >= maxPodLogDirs {
			s.markTruncated()
			break
		}
		parts := strings.SplitN(p.Name(), "_", 3)
		if !p.IsDir() || len(parts) != 3 {
			continue
		}
		containers, err := os.ReadDir(root + "/" + p.Name())
		if err != nil {
			continue
		}
		for _, ctr := range containers {
			if !ctr.IsDir() {
				continue
			}
			logs, _ := os.ReadDir(root + "/" + p.Name() + "/" + ctr.Name())
			for _, l := range logs {
				n, ok := strings.CutSuffix(l.Name(), ".log")
				if !ok || strings.Trim(n, "0123456789") != "" || n == "" {
					continue
				}
				fields := []string{parts[0], parts[1], parts[2], ctr.Name(), n}
				if id := ids[p.Name()+"/"+ctr.Name()+"/"+l.Name()]; id != "" {
					fields = append(fields, id)
				}
				lines = append(lines, tsv(fields...))
			}
		}
	}
	sort.Strings(lines)
	return s.write(bundle.PodsIndex, []byte(strings.Join(lines, "")), text)
}

// tsv joins fields with tabs; a field holding a tab, newline, backslash or
// invalid UTF-8 is Go-quoted (DESIGN §2).
// containerLogIDs maps "<ns>_<pod>_<uid>/<container>/<n>.log" to the
// container ID kubelet's /var/log/containers/<pod>_<ns>_<container>-<id>.log
// link names (kubernetes/kubernetes:pkg/kubelet/kuberuntime/helpers.go,
// logSymlink). The link's target is read, never followed.
func containerLogIDs(h Host) map[string]string {
	ids := map[string]string{}
	dir := h.Path("/var/log/containers")
	links, err := os.ReadDir(dir)
	if err != nil {
		return ids
	}
	for i, l := range links {
		if i == maxPodLogDirs*4 {
			break
		}
		base, ok := strings.CutSuffix(l.Name(), ".log")
		dash := strings.LastIndexByte(base, '-')
		if !ok || dash < 0 || !isHex64(base[dash+1:]) {
			continue
		}
		target, err := os.Readlink(dir + "/" + l.Name())
		if err != nil {
			continue
		}
		_, rel, ok := strings.Cut(target, "/var/log/pods/")
		if ok {
			ids[rel] = base[dash+1:]
		}
	}
	return ids
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func tsv(fields ...string) string {
	var b strings.Builder
	for i, f := range fields {
		if i > 0 {
			b.WriteByte('\t')
		}
		b.WriteString(tsvField(f))
	}
	b.WriteByte('\n')
	return b.String()
}

func tsvField(f string) string {
	if strings.ContainsAny(f, "\t\n\r\\") || !utf8.ValidString(f) {
		return strconv.Quote(f)
	}
	return f
}
