package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
)

// Host reads the node being collected. Every host path goes through Root
// (--host-root), so a privileged pod reads /host/proc/meminfo and a test
// reads its fixture tree with the same code (node_exporter's paths.go habit,
// but as a value instead of a global).
type Host struct {
	Root string // "/" on the node itself
}

// Path maps an absolute host path to the collector's view of it.
func (h Host) Path(p string) string {
	if h.Root == "" || h.Root == "/" {
		return path.Clean("/" + p)
	}
	return filepath.Join(h.Root, p)
}

// HostMountPoint maps a mount point read from mountinfo to the host's own
// path. On the node, and in a privileged pod reading /host/proc/1/mountinfo,
// mount points are already host paths. But when --host-root is a directory
// whose /proc is a bind mount of the collector's own /proc (the scenario lab,
// a debug container), the mounts below the host root appear with the host
// root in front (/tmp/labroot/var/lib/kubelet/pods/…); that prefix is taken
// off so the path can be compared with kubelet paths and re-rooted by Path.
func (h Host) HostMountPoint(p string) string {
	if h.Root == "" || h.Root == "/" {
		return p
	}
	root, err := filepath.Abs(h.Root)
	if err != nil {
		return p
	}
	if rest, ok := strings.CutPrefix(p, strings.TrimSuffix(root, "/")+"/"); ok {
		return "/" + rest
	}
	return p
}

// Resolve follows symlinks in the last component of p the way the host
// would: an absolute target (/etc/os-release -> /usr/lib/os-release, a
// kubelet --config symlink) is re-rooted below Root instead of leaking out
// into the collector's own container.
func (h Host) Resolve(p string) string {
	p = path.Clean("/" + p)
	for range 8 {
		fi, err := os.Lstat(h.Path(p))
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			return p
		}
		target, err := os.Readlink(h.Path(p))
		if err != nil {
			return p
		}
		if !path.IsAbs(target) {
			target = path.Join(path.Dir(p), target)
		}
		p = path.Clean(target)
	}
	return p
}

// Open opens a host file, resolving a symlinked last component. Only
// regular files are read: the open is non-blocking and anything else (a
// FIFO without a writer would block until --timeout, a device could stream
// forever) is refused with an error naming what it is.
func (h Host) Open(p string) (*os.File, error) {
	// Most host files are not links: open without following one first and
	// resolve only when the kernel says the last component is a link
	// (ELOOP), which saves an lstat per file on a walk of 20,000 files.
	name := h.Path(p)
	fd, err := syscall.Open(name, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC|syscall.O_NOFOLLOW, 0)
	if err == syscall.ELOOP {
		name = h.Path(h.Resolve(p))
		fd, err = syscall.Open(name, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	f := os.NewFile(uintptr(fd), name)
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, &os.PathError{Op: "open", Path: name, Err: fmt.Errorf("not a regular file (%s)", st.Mode().Type())}
	}
	return f, nil
}

// ReadSmall reads at most limit bytes of a host file (procfs and sysfs
// files report a size of 0 or 4096, so it reads to EOF).
func (h Host) ReadSmall(p string, limit int64) ([]byte, error) {
	f, err := h.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit))
}

// ReadString is ReadSmall trimmed, for one-value files.
func (h Host) ReadString(p string) (string, error) {
	b, err := h.ReadSmall(p, 64<<10)
	return strings.TrimSpace(string(b)), err
}

// Exists reports whether the host path exists (without following a
// symlinked last component out of Root).
func (h Host) Exists(p string) bool {
	_, err := os.Stat(h.Path(h.Resolve(p)))
	return err == nil
}

// IsDir reports whether the host path is a directory.
func (h Host) IsDir(p string) bool {
	fi, err := os.Stat(h.Path(h.Resolve(p)))
	return err == nil && fi.IsDir()
}

// Cmdline reads /proc/<pid>/cmdline as argv.
func (h Host) Cmdline(pid string) ([]string, error) {
	b, err := h.ReadSmall("/proc/"+pid+"/cmdline", 1<<20)
	if err != nil {
		return nil, err
	}
	b = bytes.TrimRight(b, "\x00")
	if len(b) == 0 {
		return nil, nil
	}
	return strings.Split(string(b), "\x00"), nil
}

// PIDs lists the numeric entries of /proc, at most limit of them.
func (h Host) PIDs(limit int) (pids []string, truncated bool, err error) {
	d, err := os.Open(h.Path("/proc"))
	if err != nil {
		return nil, false, err
	}
	defer d.Close()
	for {
		names, err := d.Readdirnames(1024)
		for _, n := range names {
			if n == "" || strings.Trim(n, "0123456789") != "" {
				continue
			}
			if len(pids) == limit {
				return pids, true, nil
			}
			pids = append(pids, n)
		}
		if errors.Is(err, io.EOF) || len(names) == 0 {
			return pids, false, nil
		}
		if err != nil {
			return pids, false, err
		}
	}
}

// FindProcess returns the pid and argv of the first process whose comm is
// one of names.
func (h Host) FindProcess(names ...string) (string, []string) {
	pids, _, _ := h.PIDs(200000)
	for _, pid := range pids {
		comm, err := h.ReadString("/proc/" + pid + "/comm")
		if err != nil {
			continue
		}
		for _, n := range names {
			if comm == n {
				argv, _ := h.Cmdline(pid)
				return pid, argv
			}
		}
	}
	return "", nil
}

// FlagValue finds --name=value or --name value (or a single dash) in argv.
func FlagValue(argv []string, name string) (string, bool) {
	for i, a := range argv {
		a2 := strings.TrimLeft(a, "-")
		if len(a2) == len(a) {
			continue
		}
		if v, ok := strings.CutPrefix(a2, name+"="); ok {
			return v, true
		}
		if a2 == name && i+1 < len(argv) {
			return argv[i+1], true
		}
	}
	return "", false
}

// Mount is one line of mountinfo that the collector cares about.
type Mount struct {
	MountPoint string
	FSType     string
	Super      string // super options (cgroup v1 lists its controllers here)
}

// Mountinfo parses /proc/<pid>/mountinfo (proc(5)): fields 5 (mount point)
// and, after the "-" separator, fstype and super options. Octal escapes
// (\040 for a blank) are decoded.
func Mountinfo(r io.Reader) []Mount {
	var out []Mount
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		sep := -1
		for i, x := range f {
			if x == "-" && i >= 6 {
				sep = i
				break
			}
		}
		if sep < 0 || len(f) < sep+3 {
			continue
		}
		m := Mount{MountPoint: unescapeOctal(f[4]), FSType: f[sep+1]}
		if len(f) > sep+3 {
			m.Super = f[sep+3]
		}
		out = append(out, m)
	}
	return out
}

func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) && isOctal(s[i+1:i+4]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if s[i] < '0' || s[i] > '7' {
			return false
		}
	}
	return true
}
