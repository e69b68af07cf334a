package main

import (
	"context"
	"io/fs"
	"path"
	"path/filepath"
	"strings"

	"github.com/memsnap/memsnap/bundle"
)

// systemdUnits are shown with systemctl show: kubepods.slice and its QoS
// slices carry the MemoryLimit/MemoryMax that kubernetes/kubernetes#88197
// lets drift from the cgroup file; the runtime units for context.
var systemdUnits = []string{
	"kubepods.slice", "kubepods-burstable.slice", "kubepods-besteffort.slice",
	"kubelet.service", "containerd.service", "crio.service", "docker.service",
}

// systemdDirs hold unit files and drop-ins; read without systemd running.
var systemdDirs = []string{
	"/run/systemd/transient",
	"/run/systemd/system",
	"/etc/systemd/system",
	"/usr/lib/systemd/system/kubelet.service.d",
	"/lib/systemd/system/kubelet.service.d",
}

// Single unit files that matter even though their directory is huge.
var systemdFiles = []string{
	"/usr/lib/systemd/system/kubelet.service",
	"/lib/systemd/system/kubelet.service",
	"/usr/lib/systemd/system/containerd.service",
	"/lib/systemd/system/containerd.service",
}

const maxUnitFiles = 2000

func collectSystemd(ctx context.Context, c *collection, s *sink) error {
	h := c.host
	if ok, why := c.tools.systemd(); !ok {
		s.skip("systemctl: %s", why)
	} else if tool, found := c.tools.find("systemctl"); !found {
		s.skip("systemctl: not installed on the host")
	} else {
		for _, u := range systemdUnits {
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			if c.dry != nil {
				c.dry.action(s.name, "run systemctl show %s", u)
				continue
			}
			if err := c.tools.run(ctx, s, bundle.SystemdDir+u+".show", capSmall, tool, "show", "--no-pager", u); err != nil {
				s.fail("%v", err)
			}
		}
	}
	n := 0
	copyUnit := func(hostPath string) {
		if n == maxUnitFiles {
			s.markTruncated()
			return
		}
		name := bundle.SystemdFilesDir + strings.TrimPrefix(path.Clean(hostPath), "/")
		if ok, err := s.hostFile(h, name, hostPath, text, capSmall); err != nil {
			if !strings.Contains(err.Error(), "already in the bundle") {
				s.fail("%s: %v", hostPath, err)
			}
		} else if ok {
			n++
		}
	}
	for _, dir := range systemdDirs {
		root := h.Path(dir)
		// WalkDir does not follow symlinks: /etc/systemd/system/*.wants are
		// links to units elsewhere, and an absolute link would leave --host-root.
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || ctx.Err() != nil {
				return fs.SkipDir
			}
			if d.Type().IsRegular() {
				rel, _ := filepath.Rel(root, p)
				copyUnit(path.Join(dir, filepath.ToSlash(rel)))
			}
			return nil
		})
	}
	for _, f := range systemdFiles {
		copyUnit(f)
	}
	return nil
}
