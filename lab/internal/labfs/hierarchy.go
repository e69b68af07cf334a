package labfs

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Hierarchy is the cgroup hierarchy that carries the memory controller,
// as this process sees it.
type Hierarchy struct {
	Version int    // 1 (legacy/hybrid memory controller) or 2 (unified)
	Mount   string // where the hierarchy is mounted, e.g. /sys/fs/cgroup/memory
	Self    string // this process's cgroup, relative to Mount ("/" or "/a/b")
	Base    string // the cgroup the lab creates its roots below (Self unless delegated on v2)
}

// Detect finds the memory hierarchy from /proc/self/cgroup and
// /proc/self/mountinfo. A v1 mount listing "memory" wins: the controller
// can be bound to one hierarchy only, so on a hybrid machine the unified
// mount has no memory controller (DOMAIN §1.6). For v2 the memory
// controller must be listed in Self's cgroup.controllers; read returns a
// file's bytes (a seam so tests use fixture trees).
//
// v2Base is MEMSNAP_LAB_V2_BASE: on v2 a cgroup holding processes cannot
// enable controllers for its children ("no internal processes",
// torvalds/linux:Documentation/admin-guide/cgroup-v2.rst), so the lab may
// be pointed at a delegated ancestor of Self instead; it must contain Self.
func Detect(pc ProcCgroup, mounts []Mount, v2Base string, read func(string) ([]byte, error)) (Hierarchy, error) {
	if pc.HasV1Memory {
		for _, m := range mounts {
			if m.FSType == "cgroup" && slices.Contains(strings.Split(m.Super, ","), "memory") {
				self := path.Clean(pc.V1Memory)
				return Hierarchy{Version: 1, Mount: m.Point, Self: self, Base: self}, nil
			}
		}
		return Hierarchy{}, errors.New("/proc/self/cgroup names a v1 memory cgroup but no cgroup mount lists the memory controller")
	}
	if !pc.HasV2 {
		return Hierarchy{}, errors.New("/proc/self/cgroup has no memory controller line and no unified (0::) line")
	}
	for _, m := range mounts {
		if m.FSType != "cgroup2" {
			continue
		}
		self := path.Clean(pc.V2)
		b, err := read(filepath.Join(m.Point, self, "cgroup.controllers"))
		if err != nil {
			return Hierarchy{}, fmt.Errorf("cgroup v2 at %s: %v", m.Point, err)
		}
		if !slices.Contains(strings.Fields(string(b)), "memory") {
			return Hierarchy{}, fmt.Errorf("cgroup v2 at %s: the memory controller is not available to %s (its cgroup.controllers: %q); delegate it first", m.Point, self, strings.TrimSpace(string(b)))
		}
		base := self
		if v2Base != "" {
			base = path.Clean("/" + v2Base)
			if base != "/" && base != self && !strings.HasPrefix(self, base+"/") {
				return Hierarchy{}, fmt.Errorf("MEMSNAP_LAB_V2_BASE=%s does not contain this process's cgroup %s: the lab only works below its own cgroup", v2Base, self)
			}
		}
		return Hierarchy{Version: 2, Mount: m.Point, Self: self, Base: base}, nil
	}
	return Hierarchy{}, errors.New("no cgroup2 mount in /proc/self/mountinfo")
}

// Files are the per-version names of the files the lab reads and writes
// (DOMAIN §1.1, §1.2).
type Files struct {
	Limit, Usage                          string
	InactiveFile, ActiveFile, Anon, Shmem string // memory.stat keys, hierarchical
}

// Files returns the file and key names for the hierarchy's version. v1
// reads the total_* keys: they include descendants, as v2's keys do.
func (h Hierarchy) Files() Files {
	if h.Version == 2 {
		return Files{Limit: "memory.max", Usage: "memory.current",
			InactiveFile: "inactive_file", ActiveFile: "active_file", Anon: "anon", Shmem: "shmem"}
	}
	return Files{Limit: "memory.limit_in_bytes", Usage: "memory.usage_in_bytes",
		InactiveFile: "total_inactive_file", ActiveFile: "total_active_file", Anon: "total_rss", Shmem: "total_shmem"}
}

// Dir is the file system directory of a cgroup given relative to Mount.
func (h Hierarchy) Dir(rel string) string { return filepath.Join(h.Mount, path.Clean("/"+rel)) }

// owned reports whether rel lies inside a lab root below Base: the only
// cgroups the lab ever writes, kills in or removes.
func (h Hierarchy) owned(rel string) bool {
	rel = path.Clean("/" + rel)
	base := strings.TrimSuffix(h.Base, "/")
	rest, ok := strings.CutPrefix(rel, base+"/")
	if !ok {
		return false
	}
	first, _, _ := strings.Cut(rest, "/")
	return strings.HasPrefix(first, Prefix)
}

func (h Hierarchy) guard(rel string) error {
	if !h.owned(rel) {
		return fmt.Errorf("lab refuses to touch cgroup %s: not inside a %s* root below %s", rel, Prefix, h.Base)
	}
	return nil
}

// write sets a control file. O_CREATE is harmless on cgroupfs (the file
// exists or the kernel refuses) and lets fixture trees record writes.
func write(p, value string) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %q to %s: %w", value, p, err)
	}
	return nil
}

// CreateRoot makes the lab root <Base>/<name> (name must carry Prefix).
// On v2 it first makes sure Base hands the memory controller down.
func (h Hierarchy) CreateRoot(name string) (string, error) {
	if !strings.HasPrefix(name, Prefix) || strings.Contains(name, "/") {
		return "", fmt.Errorf("lab root %q must be one path component starting with %s", name, Prefix)
	}
	if h.Version == 2 {
		if err := h.enableMemory(h.Base); err != nil {
			return "", fmt.Errorf("%v (on cgroup v2 run the lab from a delegated cgroup whose subtree_control has memory, see docs/lab.md)", err)
		}
	}
	rel := path.Join(h.Base, name)
	if err := os.Mkdir(h.Dir(rel), 0o755); err != nil {
		return "", err
	}
	return rel, nil
}

// enableMemory makes cg's children get a memory controller (v2 only).
func (h Hierarchy) enableMemory(cg string) error {
	p := filepath.Join(h.Dir(cg), "cgroup.subtree_control")
	if b, err := os.ReadFile(p); err == nil && slices.Contains(strings.Fields(string(b)), "memory") {
		return nil
	}
	return write(p, "+memory")
}

// Mkdir creates a cgroup below a lab root. On v2 its parent first enables
// the memory controller for its children; the lab never puts processes
// into inner cgroups, so that write is allowed.
func (h Hierarchy) Mkdir(rel string) error {
	if err := h.guard(rel); err != nil {
		return err
	}
	if h.Version == 2 {
		if err := h.enableMemory(path.Dir(path.Clean("/" + rel))); err != nil {
			return err
		}
	}
	return os.Mkdir(h.Dir(rel), 0o755)
}

// SetLimit writes the hard limit; bytes < 0 means unlimited ("-1" on v1
// per cgroup-v1/memory.rst §3.2, "max" on v2).
func (h Hierarchy) SetLimit(rel string, bytes int64) error {
	if err := h.guard(rel); err != nil {
		return err
	}
	v := strconv.FormatInt(bytes, 10)
	if bytes < 0 {
		v = map[int]string{1: "-1", 2: "max"}[h.Version]
	}
	return write(filepath.Join(h.Dir(rel), h.Files().Limit), v)
}

// AddProc moves a process the lab started into a lab cgroup.
func (h Hierarchy) AddProc(rel string, pid int) error {
	if err := h.guard(rel); err != nil {
		return err
	}
	return write(filepath.Join(h.Dir(rel), "cgroup.procs"), strconv.Itoa(pid))
}

// Stat reads the cgroup's memory.stat.
func (h Hierarchy) Stat(rel string) (map[string]int64, error) {
	p := filepath.Join(h.Dir(rel), "memory.stat")
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseMemoryStat(p, f)
}

// ReadInt reads a one-number control file ("max" reads as -1).
func (h Hierarchy) ReadInt(rel, file string) (int64, error) {
	p := filepath.Join(h.Dir(rel), file)
	b, err := os.ReadFile(p)
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(b))
	if s == "max" {
		return -1, nil
	}
	n, err := parseInt(s)
	if err != nil {
		return 0, fmt.Errorf("%s: %v", p, err)
	}
	return n, nil
}

// Procs lists the pids in one cgroup (not its descendants).
func (h Hierarchy) Procs(rel string) ([]int, error) {
	b, err := os.ReadFile(filepath.Join(h.Dir(rel), "cgroup.procs"))
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(f); err == nil {
			pids = append(pids, n)
		}
	}
	return pids, nil
}

func parseInt(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// Counters above 2^63 do not occur in memory files; say so plainly.
		return 0, fmt.Errorf("not an integer: %q", clip(s))
	}
	return n, nil
}
