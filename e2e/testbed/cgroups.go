package testbed

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// hierarchy is one mounted cgroup hierarchy: a v1 controller set or the
// v2 unified mount.
type hierarchy struct {
	Mount       string // /sys/fs/cgroup/memory
	Controllers string // "memory", "cpu", "name=systemd", "" for v2
	V2          bool
}

// hierarchies lists the mounted cgroup hierarchies from mountinfo.
func hierarchies() ([]hierarchy, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var hs []hierarchy
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent maj:min root mountpoint opts ... - fstype source superopts
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		pf, qf := strings.Fields(pre), strings.Fields(post)
		if len(pf) < 5 || len(qf) < 3 || pf[3] != "/" {
			continue
		}
		h := hierarchy{Mount: pf[4]}
		switch qf[0] {
		case "cgroup":
			var ctl []string
			for _, o := range strings.Split(qf[2], ",") {
				switch o {
				case "rw", "ro", "relatime", "nosuid", "nodev", "noexec", "clone_children", "noprefix", "xattr", "cpuset_v2_mode", "favordynmods":
				default:
					if !strings.HasPrefix(o, "release_agent=") {
						ctl = append(ctl, o)
					}
				}
			}
			h.Controllers = strings.Join(ctl, ",")
		case "cgroup2":
			h.V2 = true
		default:
			continue
		}
		if !seen[h.Mount] {
			seen[h.Mount] = true
			hs = append(hs, h)
		}
	}
	return hs, sc.Err()
}

func (h hierarchy) has(ctl string) bool {
	return slices.Contains(strings.Split(h.Controllers, ","), ctl)
}

// ownMemoryCgroup is this process's memory cgroup path ("/process_api/…"):
// the machine lets us create cgroups only below it (docs/e2e.md).
func ownMemoryCgroup() (string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) == 3 && slices.Contains(strings.Split(f[1], ","), "memory") {
			return f[2], nil
		}
	}
	return "", errors.New("/proc/self/cgroup: no memory controller line (a cgroup v1 memory hierarchy is needed for the real kubelet)")
}

// runCgroupBase is where a run's cgroups live in every hierarchy.
func runCgroupBase(runID string) (string, error) {
	own, err := ownMemoryCgroup()
	if err != nil {
		return "", err
	}
	return path.Join(own, runID), nil
}

// createdRecord lists, in the run directory, the cgroup directories the
// run created above its own base (the base's parents in hierarchies where
// they did not exist), so teardown removes them again, and only them.
const createdRecord = "cgroups-created.txt"

// makeCgroup creates cg (a path like /process_api/x/memsnap-e2e-1/node) in
// every hierarchy, creating missing parents, copying cpuset.cpus and
// cpuset.mems down each new cpuset level (v1 starts them empty, and a
// cgroup with empty cpus takes no task).
func makeCgroup(work, cg string) error {
	hs, err := hierarchies()
	if err != nil {
		return err
	}
	rec, err := os.OpenFile(filepath.Join(work, createdRecord), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer rec.Close()
	for _, h := range hs {
		dir := h.Mount
		for _, part := range strings.Split(strings.Trim(cg, "/"), "/") {
			parent := dir
			dir = filepath.Join(dir, part)
			if err := os.Mkdir(dir, 0o755); err != nil {
				if errors.Is(err, fs.ErrExist) {
					continue
				}
				return fmt.Errorf("cgroup %s: %w", dir, err)
			}
			fmt.Fprintln(rec, dir)
			if h.has("cpuset") {
				for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
					v, err := os.ReadFile(filepath.Join(parent, f))
					if err != nil {
						return err
					}
					if err := os.WriteFile(filepath.Join(dir, f), v, 0); err != nil {
						return fmt.Errorf("cgroup %s/%s: %w", dir, f, err)
					}
				}
			}
		}
	}
	return nil
}

// removeRun removes the run's cgroups in every hierarchy (bottom-up,
// killing what is still in them: only the run's own processes can be
// there) and the parents it created, then the run directory.
func removeRun(runID, work string) error {
	var errs []error
	base, err := runCgroupBase(runID)
	if err != nil {
		errs = append(errs, err)
	}
	hs, err := hierarchies()
	if err != nil {
		errs = append(errs, err)
	}
	if base != "" {
		for _, h := range hs {
			if err := removeTree(filepath.Join(h.Mount, base)); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := removeCreatedParents(work); err != nil {
		errs = append(errs, err)
	}
	if err := removeDir(work); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// removeCreatedParents removes the cgroup directories a run recorded
// creating above its base, deepest first; one another run still uses
// stays (EBUSY, ENOTEMPTY), as does one that holds a task.
func removeCreatedParents(work string) error {
	b, err := os.ReadFile(filepath.Join(work, createdRecord))
	if err != nil {
		return nil
	}
	created := strings.Fields(string(b))
	slices.SortFunc(created, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	var errs []error
	for _, d := range created {
		if !strings.HasPrefix(d, "/sys/fs/cgroup/") {
			continue
		}
		if err := syscall.Rmdir(d); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.EBUSY) && !errors.Is(err, syscall.ENOTEMPTY) {
			errs = append(errs, fmt.Errorf("rmdir %s: %w", d, err))
		}
	}
	return errors.Join(errs...)
}

// removeTree removes a cgroup directory tree bottom-up. A cgroup whose
// tasks are dying is busy for a moment: retry for a while.
func removeTree(top string) error {
	if !strings.Contains(top, RunPrefix) {
		return fmt.Errorf("refusing to remove cgroup %s: not a %s* cgroup", top, RunPrefix)
	}
	if _, err := os.Stat(top); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	var dirs []string
	filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	slices.Reverse(dirs) // children before parents
	var last error
	for _, d := range dirs {
		deadline := time.Now().Add(20 * time.Second)
		for {
			killTasks(d)
			err := syscall.Rmdir(d)
			if err == nil || errors.Is(err, fs.ErrNotExist) {
				break
			}
			if time.Now().After(deadline) {
				last = fmt.Errorf("rmdir %s: %w", d, err)
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return last
}

func killTasks(dir string) {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return
	}
	for _, f := range strings.Fields(string(b)) {
		var pid int
		if _, err := fmt.Sscan(f, &pid); err == nil && pid > 1 && pid != os.Getpid() {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// removeDir removes a run directory without ever crossing into a mount
// (a run directory still mounted somewhere is a leftover, not rubbish).
func removeDir(dir string) error {
	if !strings.HasPrefix(filepath.Base(dir), RunPrefix) {
		return fmt.Errorf("refusing to remove %s: not a %s* directory", dir, RunPrefix)
	}
	if mounted := mountsUnder(dir); len(mounted) > 0 {
		return fmt.Errorf("not removing %s: still mounted below it: %s", dir, strings.Join(mounted, ", "))
	}
	return os.RemoveAll(dir)
}

// mountsUnder lists this mount namespace's mount points at or below dir.
func mountsUnder(dir string) []string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			out = append(out, f[4])
		}
	}
	return out
}
