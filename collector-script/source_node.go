package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/memsnap/memsnap/bundle"
)

// nodeFiles are copied verbatim from the host's /proc. mountinfo comes from
// PID 1, whose mount namespace is the host's when the collector runs with
// hostPID; /proc/self would describe the collector's own container.
var nodeFiles = []struct {
	name, host string
	optional   bool // absent on some kernels or unreadable unprivileged: not a failure
}{
	{bundle.NodeMeminfo, "/proc/meminfo", false},
	{bundle.NodeVmstat, "/proc/vmstat", false},
	{bundle.NodePressure, "/proc/pressure/memory", false},
	{bundle.NodeUptime, "/proc/uptime", false},
	{bundle.NodeStat, "/proc/stat", false},
	{bundle.NodeCmdline, "/proc/cmdline", false},
	{bundle.NodeMountinfo, "/proc/1/mountinfo", false},
	// Rule catalogue II: free lists by order (fragmentation-oom), cgroup
	// counts (dying-memcgs on v1), THP policy (thp-inflation). pagetypeinfo
	// is mode 0400 and THP needs CONFIG_TRANSPARENT_HUGEPAGE.
	{bundle.NodeBuddyinfo, "/proc/buddyinfo", true},
	{bundle.NodePagetypeinfo, "/proc/pagetypeinfo", true},
	{bundle.NodeCgroups, "/proc/cgroups", true},
	{bundle.NodeTHPEnabled, "/sys/kernel/mm/transparent_hugepage/enabled", true},
	{bundle.NodeTHPDefrag, "/sys/kernel/mm/transparent_hugepage/defrag", true},
}

func collectNode(ctx context.Context, c *collection, s *sink) error {
	h := c.host
	for _, f := range nodeFiles {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		ok, err := s.hostFile(h, f.name, f.host, text, capSmall)
		if err != nil && f.optional {
			s.skip("%s: %v", f.host, err)
			continue
		}
		if err != nil {
			s.fail("%s: %v", f.host, err)
		} else if !ok {
			if f.name == bundle.NodeMountinfo {
				if ok, _ := s.hostFile(h, f.name, "/proc/self/mountinfo", text, capSmall); ok {
					continue
				}
			}
			// PSI needs CONFIG_PSI and psi=1: absent is normal.
			if f.name != bundle.NodePressure && !f.optional {
				s.fail("%s: missing", f.host)
			}
		}
	}
	for _, p := range []string{"/etc/os-release", "/usr/lib/os-release"} {
		if ok, _ := s.hostFile(h, bundle.NodeOSRelease, p, text, capSmall); ok {
			break
		}
	}
	uname := hostUname(h)
	if err := s.write(bundle.NodeUname, []byte(uname+"\n"), text); err != nil {
		s.fail("uname: %v", err)
	}
	nodeFacts(c)
	return nil
}

// hostUname is "uname -a" for the host: names from the host's procfs (the
// collector may sit in another UTS namespace), the machine from the kernel.
func hostUname(h Host) string {
	read := func(p string) string {
		v, _ := h.ReadString(p)
		return v
	}
	var u syscall.Utsname
	machine := ""
	if syscall.Uname(&u) == nil {
		machine = cString(u.Machine[:])
	}
	return strings.Join([]string{
		read("/proc/sys/kernel/ostype"), read("/proc/sys/kernel/hostname"),
		read("/proc/sys/kernel/osrelease"), read("/proc/sys/kernel/version"), machine,
	}, " ")
}

func cString(b []int8) string {
	var out []byte
	for _, c := range b {
		if c == 0 {
			break
		}
		out = append(out, byte(c))
	}
	return string(out)
}

// nodeFacts fills the manifest's node section from what the host says.
func nodeFacts(c *collection) {
	h := c.host
	hostname, _ := h.ReadString("/proc/sys/kernel/hostname")
	kernel, _ := h.ReadString("/proc/sys/kernel/osrelease")
	var memTotal int64
	if b, err := h.ReadSmall("/proc/meminfo", capSmall); err == nil {
		memTotal = meminfoKB(b, "MemTotal") * 1024
	}
	var boot string
	if b, err := h.ReadSmall("/proc/stat", capSmall); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "btime "); ok {
				if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
					boot = time.Unix(n, 0).UTC().Format(time.RFC3339)
				}
			}
		}
	}
	c.setNode(func(n *bundle.NodeInfo) {
		n.Hostname, n.Kernel, n.MemTotalBytes, n.BootTime = hostname, kernel, memTotal, boot
		if n.NodeName == "" {
			n.NodeName = strings.ToLower(hostname)
		}
	})
}

// meminfoKB returns a "Key: N kB" value of /proc/meminfo (0 if absent).
func meminfoKB(b []byte, key string) int64 {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != key {
			continue
		}
		f := strings.Fields(v)
		if len(f) > 0 {
			n, _ := strconv.ParseInt(f[0], 10, 64)
			return n
		}
	}
	return 0
}

// uptimeUsec is the host's /proc/uptime in µs, to turn --since into a
// printk-time cut-off.
func uptimeUsec(h Host) (uint64, error) {
	s, err := h.ReadString("/proc/uptime")
	if err != nil {
		return 0, err
	}
	f := strings.Fields(s)
	if len(f) == 0 {
		return 0, fmt.Errorf("/proc/uptime: empty")
	}
	sec, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return 0, fmt.Errorf("/proc/uptime: %w", err)
	}
	return uint64(sec * 1e6), nil
}
