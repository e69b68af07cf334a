package main

import (
	"context"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/memsnap/memsnap/bundle"
)

// Bounds for the proc source: a node runs a few thousand processes; an
// application can hold tens of thousands of fds (only regular files are
// listed, the first maxFDs of them).
const (
	maxProcs = 5000
	maxFDs   = 4096
)

// agentComms are the node's own memory-relevant daemons, collected even
// outside kubepods: kubelet, runtimes, and monitoring agents (seed 004).
var agentComms = []string{
	"kubelet", "containerd", "dockerd", "crio", "conmon", "cri-dockerd",
	"cadvisor", "node_exporter", "kube-proxy", "fluent-bit", "fluentd", "td-agent",
	"promtail", "vector", "otelcol", "otelcol-contrib", "datadog-agent", "agent",
	"telegraf", "prometheus", "metrics-server", "kube-state-metr", "systemd-journal",
}

var procFiles = []string{"status", "smaps_rollup", "cgroup", "cmdline", "oom_score_adj"}

func collectProc(ctx context.Context, c *collection, s *sink) error {
	h := c.host
	pids, truncated, err := h.PIDs(1 << 20)
	if err != nil {
		return err
	}
	if truncated {
		s.markTruncated()
	}
	kept := 0
	for _, pid := range pids {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if !wantProcess(h, pid) {
			continue
		}
		if kept == maxProcs {
			s.markTruncated()
			s.skip("stopped after %d processes", maxProcs)
			break
		}
		kept++
		for _, f := range procFiles {
			// A process exiting mid-walk is normal: its files just vanish.
			k := binary
			if f == "cmdline" {
				k = text
			}
			if _, err := s.hostFile(h, path.Join(bundle.ProcDir, pid, f), "/proc/"+pid+"/"+f, k, capSmall); err != nil && !unreadable(err) {
				s.fail("/proc/%s/%s: %v", pid, f, err)
			}
		}
		if inKubepods(h, pid) {
			if env, ok := runtimeEnviron(h, pid); ok {
				if err := s.write(path.Join(bundle.ProcDir, pid, bundle.ProcEnvironFile), []byte(env), text); err != nil {
					s.fail("/proc/%s/environ: %v", pid, err)
				}
			}
		}
		fds, cut := openFiles(h, pid)
		if cut {
			s.markTruncated()
		}
		if err := s.write(path.Join(bundle.ProcDir, pid, "fds.tsv"), []byte(fds), text); err != nil {
			s.fail("/proc/%s/fd: %v", pid, err)
		}
	}
	if kept == 0 {
		s.skip("no process in kubepods and no node agent (%s, …)", strings.Join(agentComms[:4], ", "))
	}
	return nil
}

// inKubepods reports whether pid runs in a pod's cgroup.
func inKubepods(h Host, pid string) bool {
	cg, err := h.ReadSmall("/proc/"+pid+"/cgroup", 64<<10)
	return err == nil && strings.Contains(string(cg), "kubepods")
}

// runtimeEnviron reads a container process's environment and keeps only the
// runtime memory settings of bundle.EnvironKeep, one KEY=VALUE a line; every
// other variable (credentials live there) is dropped here, before anything
// reaches the sink. ok is false when the process has none of them. A value
// holding a newline is cut at it: collect.sh, reading line by line, keeps the
// same first line.
func runtimeEnviron(h Host, pid string) (string, bool) {
	raw, err := h.ReadSmall("/proc/"+pid+"/environ", capSmall)
	if err != nil {
		return "", false
	}
	var b strings.Builder
	for _, kv := range strings.Split(string(raw), "\x00") {
		kv, _, _ = strings.Cut(kv, "\n")
		key, _, ok := strings.Cut(kv, "=")
		if ok && slices.Contains(bundle.EnvironKeep, key) {
			b.WriteString(kv)
			b.WriteByte('\n')
		}
	}
	return b.String(), b.Len() > 0
}

// wantProcess: processes in kubepods, and the node's agents.
func wantProcess(h Host, pid string) bool {
	cg, err := h.ReadSmall("/proc/"+pid+"/cgroup", 64<<10)
	if err != nil {
		return false
	}
	if strings.Contains(string(cg), "kubepods") {
		return true
	}
	comm, _ := h.ReadString("/proc/" + pid + "/comm")
	for _, a := range agentComms {
		if comm == a || strings.HasPrefix(comm, "containerd-shim") {
			return true
		}
	}
	return false
}

// openFiles lists the regular files a process holds open with their sizes
// (fds.tsv): a log file of 889 MB kept in page cache is what seed 000's
// working set consisted of. The size comes from stat through the fd's
// magic link, which works across mount namespaces; a fixture's plain
// symlink falls back to the path below the host root.
func openFiles(h Host, pid string) (string, bool) {
	dir := h.Path("/proc/" + pid + "/fd")
	d, err := os.Open(dir)
	if err != nil {
		return "", false
	}
	defer d.Close()
	var b strings.Builder
	n := 0
	for {
		names, err := d.Readdirnames(256)
		for _, fd := range names {
			target, err := os.Readlink(dir + "/" + fd)
			if err != nil || !strings.HasPrefix(target, "/") {
				continue // socket:[…], pipe:[…], anon_inode:…
			}
			fi, err := os.Stat(dir + "/" + fd)
			if err != nil {
				fi, err = os.Stat(h.Path(strings.TrimSuffix(target, " (deleted)")))
			}
			if err != nil || !fi.Mode().IsRegular() {
				continue
			}
			if n == maxFDs {
				return b.String(), true
			}
			n++
			b.WriteString(tsv(target, strconv.FormatInt(fi.Size(), 10)))
		}
		if err != nil || len(names) == 0 {
			return b.String(), false
		}
	}
}
