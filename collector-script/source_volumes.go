package main

import (
	"context"
	"strconv"
	"strings"
	"syscall"

	"github.com/memsnap/memsnap/bundle"
)

// collectVolumes lists tmpfs mounts below the kubelet's pods directory with
// their size and used bytes (seed 003: a memory-medium emptyDir holds
// memory charged to the pod). Used bytes come from statfs, as the kubelet's
// own volume metrics do for capacity (DOMAIN §7).
func collectVolumes(ctx context.Context, c *collection, s *sink) error {
	h := c.host
	f, err := h.Open("/proc/1/mountinfo")
	if err != nil {
		if f, err = h.Open("/proc/self/mountinfo"); err != nil {
			return err
		}
	}
	mounts := Mountinfo(f)
	f.Close()
	podsDir := "/var/lib/kubelet/pods/"
	if v, ok := FlagValue(c.kubeletProcess(), "root-dir"); ok {
		podsDir = strings.TrimSuffix(v, "/") + "/pods/"
	}
	var b strings.Builder
	for _, m := range mounts {
		mp := h.HostMountPoint(m.MountPoint)
		if m.FSType != "tmpfs" || !strings.HasPrefix(mp, podsDir) {
			continue
		}
		var st syscall.Statfs_t
		if err := syscall.Statfs(h.Path(mp), &st); err != nil {
			if !isGone(err) {
				s.fail("statfs %s: %v", mp, err)
			}
			continue
		}
		size := int64(st.Blocks) * st.Bsize
		used := int64(st.Blocks-st.Bfree) * st.Bsize
		b.WriteString(tsv(mp, strconv.FormatInt(size, 10), strconv.FormatInt(used, 10)))
	}
	if b.Len() == 0 {
		s.skip("no tmpfs mounts under %s", podsDir)
		return nil
	}
	return s.write(bundle.TmpfsVolumes, []byte(b.String()), text)
}
