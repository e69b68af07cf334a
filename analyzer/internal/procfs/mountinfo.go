package procfs

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/memsnap/memsnap/bundle"
)

// Mount is one /proc/<pid>/mountinfo line, the fields memsnap needs to find
// tmpfs volumes and the cgroup mounts
// (torvalds/linux:Documentation/filesystems/proc.rst §3.5).
type Mount struct {
	ID, ParentID int
	Root         string // the mount's root within its filesystem
	MountPoint   string // unescaped
	Options      string // per-mount options ("rw,relatime")
	FSType       string // "tmpfs", "cgroup", "cgroup2", ...
	Source       string
	SuperOptions string // per-superblock options ("rw,size=1048576k", "rw,memory")
}

const (
	mountinfoMaxLine   = 64 << 10 // overlay lowerdir lists get long
	mountinfoMaxMounts = 200000
)

// ParseMountinfo reads node/mountinfo. Malformed lines are skipped and listed
// in the error; the mounts that parsed are returned either way.
func ParseMountinfo(r io.Reader) ([]Mount, error) {
	var ms []Mount
	var le lineErrors
	err := eachLine(r, mountinfoMaxLine, func(n int, line []byte, tooLong bool) bool {
		if tooLong {
			le.add(n, "longer than %d bytes", mountinfoMaxLine)
			return true
		}
		if strings.TrimSpace(string(line)) == "" {
			return true
		}
		m, ok := parseMountLine(string(line))
		if !ok {
			le.add(n, "malformed mountinfo line %.60q", line)
			return true
		}
		if len(ms) >= mountinfoMaxMounts {
			le.add(n, "more than %d mounts; the rest is ignored", mountinfoMaxMounts)
			return false
		}
		ms = append(ms, m)
		return true
	})
	if err != nil {
		le.errs = append(le.errs, err)
	}
	if e := le.err(); e != nil {
		return ms, fmt.Errorf("%s: %w", bundle.NodeMountinfo, e)
	}
	return ms, nil
}

// parseMountLine splits "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3
// /dev/root rw,errors=continue": optional fields end at the lone "-".
func parseMountLine(line string) (Mount, bool) {
	f := strings.Fields(line)
	sep := -1
	for i := 6; i < len(f); i++ {
		if f[i] == "-" {
			sep = i
			break
		}
	}
	if sep < 0 || len(f) < sep+3 {
		return Mount{}, false
	}
	id, err1 := strconv.Atoi(f[0])
	parent, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil {
		return Mount{}, false
	}
	m := Mount{
		ID: id, ParentID: parent,
		Root: unescape(f[3]), MountPoint: unescape(f[4]), Options: f[5],
		FSType: f[sep+1], Source: unescape(f[sep+2]),
	}
	if len(f) > sep+3 {
		m.SuperOptions = f[sep+3]
	}
	return m, true
}

// unescape undoes the kernel's octal escapes of space, tab, newline and
// backslash in mountinfo paths ("\040" for a space; fs/proc_namespace.c
// mangle()).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			v := (s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0')
			b.WriteByte(v)
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// HasSuperOption reports whether the superblock options include opt, e.g.
// "memory" on a v1 cgroup mount.
func (m Mount) HasSuperOption(opt string) bool {
	for o := range strings.SplitSeq(m.SuperOptions, ",") {
		if o == opt {
			return true
		}
	}
	return false
}

// TmpfsSize returns a tmpfs mount's size limit in bytes. The kernel prints
// it as "size=<n>k" (torvalds/linux:mm/shmem.c shmem_show_options); the k/m/g
// forms accepted at mount time are read too. A tmpfs without size= is
// unlimited only in name: it defaults to half of RAM, which the caller knows.
func (m Mount) TmpfsSize() (int64, bool) {
	if m.FSType != "tmpfs" {
		return 0, false
	}
	for o := range strings.SplitSeq(m.SuperOptions, ",") {
		v, ok := strings.CutPrefix(o, "size=")
		if !ok || v == "" {
			continue
		}
		mult := int64(1)
		switch v[len(v)-1] {
		case 'k', 'K':
			mult, v = 1<<10, v[:len(v)-1]
		case 'm', 'M':
			mult, v = 1<<20, v[:len(v)-1]
		case 'g', 'G':
			mult, v = 1<<30, v[:len(v)-1]
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || n > (1<<62)/mult {
			return 0, false
		}
		return n * mult, true
	}
	return 0, false
}

// MemoryCgroupMount finds the hierarchy holding the memory controller: a v1
// "cgroup" mount with the memory option, else a cgroup2 mount (preferring
// /sys/fs/cgroup itself over a hybrid host's /sys/fs/cgroup/unified).
func MemoryCgroupMount(ms []Mount) (m Mount, version int, ok bool) {
	for _, m := range ms {
		if m.FSType == "cgroup" && m.HasSuperOption("memory") {
			return m, 1, true
		}
	}
	var found *Mount
	for i := range ms {
		if ms[i].FSType != "cgroup2" {
			continue
		}
		if ms[i].MountPoint == "/sys/fs/cgroup" {
			return ms[i], 2, true
		}
		if found == nil {
			found = &ms[i]
		}
	}
	if found != nil {
		return *found, 2, true
	}
	return Mount{}, 0, false
}

// PodVolume splits a kubelet volume mount point
// ".../pods/<uid>/volumes/<plugin>/<name>" (plugin "kubernetes.io~empty-dir"
// for emptyDir). The kubelet root dir is configurable (--root-dir), so only
// the tail is matched.
func PodVolume(mountPoint string) (podUID, plugin, volume string, ok bool) {
	parts := strings.Split(mountPoint, "/")
	for i := 0; i+4 < len(parts); i++ {
		if parts[i] == "pods" && parts[i+2] == "volumes" && i+5 == len(parts) && parts[i+1] != "" && parts[i+3] != "" && parts[i+4] != "" {
			return parts[i+1], parts[i+3], parts[i+4], true
		}
	}
	return "", "", "", false
}
