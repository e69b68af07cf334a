package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"strings"
	"syscall"

	"github.com/memsnap/memsnap/bundle"
)

// maxCgroups bounds the walk. A 1,000-pod node has ~4,000 memory cgroups;
// far more means leaked cgroups, and the rest is recorded as truncated.
const maxCgroups = 20000

// cgroupFiles are the memory files mirrored for every cgroup (DESIGN §2).
// memory.pressure_level and memory.kmem.slabinfo are left out on purpose:
// the first only supports eventfd registration (reading fails with EINVAL),
// the second is large and per-slab.
var cgroupFiles = map[string]bool{
	"memory.stat": true, "memory.usage_in_bytes": true, "memory.current": true,
	"memory.limit_in_bytes": true, "memory.max": true, "memory.high": true,
	"memory.min": true, "memory.low": true, "memory.soft_limit_in_bytes": true,
	"memory.events": true, "memory.events.local": true, "memory.failcnt": true,
	"memory.max_usage_in_bytes": true, "memory.peak": true, "memory.oom_control": true,
	"memory.pressure": true, "memory.kmem.usage_in_bytes": true,
	"memory.kmem.limit_in_bytes": true, "memory.kmem.failcnt": true,
	"cgroup.stat": true, "cgroup.procs": true,
}

func wantCgroupFile(name string) bool {
	return cgroupFiles[name] || strings.HasPrefix(name, "memory.swap.") || strings.HasPrefix(name, "memory.memsw.")
}

// memoryHierarchy finds the hierarchy that carries the memory controller
// (DOMAIN §1.6): a v2 root listing "memory" in cgroup.controllers, else a
// v1 memory mount; a v2 "unified" mount beside v1 makes the node hybrid.
func memoryHierarchy(h Host) (mount, mode string, version int, err error) {
	if ctrl, err := h.ReadString("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		if !hasWord(ctrl, "memory") {
			return "", "unified", 2, errors.New("/sys/fs/cgroup is cgroup v2 without the memory controller")
		}
		return "/sys/fs/cgroup", "unified", 2, nil
	}
	for _, p := range []string{"/sys/fs/cgroup/memory", "/sys/fs/cgroup/memory,cpuset"} {
		if h.Exists(p + "/memory.usage_in_bytes") {
			mode := "legacy"
			if h.Exists("/sys/fs/cgroup/unified/cgroup.controllers") {
				mode = "hybrid"
			}
			return p, mode, 1, nil
		}
	}
	return "", "", 0, errors.New("no memory cgroup hierarchy under /sys/fs/cgroup")
}

func hasWord(s, w string) bool {
	for _, f := range strings.Fields(s) {
		if f == w {
			return true
		}
	}
	return false
}

// collectCgroup mirrors the memory files of every cgroup of the memory
// hierarchy, wherever the kubepods tree sits in it (it can be nested
// below another cgroup, as in the scenario lab).
func collectCgroup(ctx context.Context, c *collection, s *sink) error {
	h := c.host
	mount, mode, version, err := memoryHierarchy(h)
	c.setNode(func(n *bundle.NodeInfo) { n.CgroupMode, n.CgroupVersion = mode, version })
	if err != nil {
		return err
	}
	driver := "unknown"
	stack := []string{""}
	walked := 0
	for len(stack) > 0 {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		rel := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if walked == maxCgroups {
			s.markTruncated()
			s.skip("stopped after %d cgroups", maxCgroups)
			break
		}
		walked++
		dir := h.Path(path.Join(mount, rel))
		entries, err := os.ReadDir(dir)
		if err != nil {
			if !isGone(err) { // a cgroup removed mid-walk is normal
				s.fail("%s: %v", path.Join(mount, rel), err)
			}
			continue
		}
		// Push subdirectories in reverse so the walk is in name order.
		for i := len(entries) - 1; i >= 0; i-- {
			e := entries[i]
			if e.IsDir() {
				stack = append(stack, path.Join(rel, e.Name()))
				switch e.Name() {
				case "kubepods.slice":
					driver = "systemd"
				case "kubepods":
					if driver == "unknown" {
						driver = "cgroupfs"
					}
				}
			}
		}
		for _, e := range entries {
			if e.IsDir() || !wantCgroupFile(e.Name()) {
				continue
			}
			name := path.Join(bundle.CgroupDir, rel, e.Name())
			if _, err := s.hostFile(h, name, path.Join(mount, rel, e.Name()), binary, capSmall); err != nil && !unreadable(err) {
				s.fail("%s: %v", path.Join(mount, rel, e.Name()), err)
			}
		}
	}
	c.setNode(func(n *bundle.NodeInfo) { n.CgroupDriver = driver })
	if walked == 0 {
		return fmt.Errorf("%s: nothing readable", mount)
	}
	return nil
}

// unreadable reports kernel refusals that say "this file has no value to
// read" rather than "something is wrong": EINVAL and EOPNOTSUPP on some
// controller files, a cgroup removed between listing and reading.
func unreadable(err error) bool {
	return isGone(err) || errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.EOPNOTSUPP)
}
