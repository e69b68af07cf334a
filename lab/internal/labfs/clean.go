package labfs

import (
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

// RemoveTree empties and removes a lab cgroup and everything below it,
// deepest first: SIGKILL to each process still inside (they are the lab's
// own — nothing else is ever moved into a lab cgroup), wait for the
// cgroup to empty, then rmdir. Charges of pages still in use (tmpfs) move
// to the parent on rmdir (cgroup-v1/memory.rst §4.3), so a root removed
// last releases them only when its tmpfs is unmounted first.
func (h Hierarchy) RemoveTree(rel string) error {
	if err := h.guard(rel); err != nil {
		return err
	}
	var dirs []string
	err := filepath.WalkDir(h.Dir(rel), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	var errs []error
	for i := len(dirs) - 1; i >= 0; i-- {
		r, _ := filepath.Rel(h.Mount, dirs[i])
		cg := "/" + filepath.ToSlash(r)
		if err := h.killAll(cg); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := rmdirRetry(dirs[i]); err != nil {
			errs = append(errs, fmt.Errorf("rmdir %s: %w", dirs[i], err))
		}
	}
	return errors.Join(errs...)
}

// killAll kills the processes of one lab cgroup and waits until it is
// empty (an exiting process stays listed until it has released its mm).
func (h Hierarchy) killAll(cg string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		pids, err := h.Procs(cg)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cgroup %s still holds pids %v after SIGKILL", cg, pids)
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// rmdirRetry: rmdir of a cgroup whose last task just exited can fail with
// EBUSY for a moment while the kernel finishes the exit.
func rmdirRetry(dir string) error {
	var err error
	for range 100 {
		err = syscall.Rmdir(dir)
		if err == nil || errors.Is(err, syscall.ENOENT) {
			return nil
		}
		if !errors.Is(err, syscall.EBUSY) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
	return err
}

// LeftoverCgroups lists lab roots anywhere in the hierarchy (a crashed run
// of another session leaves them below that session's cgroup). It does
// not descend into them, and stops after maxDirs directories.
func (h Hierarchy) LeftoverCgroups(maxDirs int) ([]string, error) {
	var out []string
	seen := 0
	err := filepath.WalkDir(h.Mount, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // cgroups come and go during the walk
		}
		if !d.IsDir() {
			return nil
		}
		if seen++; seen > maxDirs {
			return fs.SkipAll
		}
		if strings.HasPrefix(d.Name(), Prefix) {
			r, _ := filepath.Rel(h.Mount, p)
			out = append(out, "/"+filepath.ToSlash(r))
			return fs.SkipDir
		}
		return nil
	})
	return out, err
}

// RemoveLeftover removes a lab root found by LeftoverCgroups, which may
// sit below another process's cgroup than this one's Base.
func (h Hierarchy) RemoveLeftover(rel string) error {
	other := h
	other.Base = path.Dir(path.Clean("/" + rel))
	return other.RemoveTree(rel)
}

// LabMounts returns the mount points that lie inside a lab directory (a
// path component starting with Prefix), deepest first, so they can be
// unmounted in order.
func LabMounts(mounts []Mount) []string {
	var out []string
	for _, m := range mounts {
		if InLabDir(m.Point) {
			out = append(out, m.Point)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	return slices.Compact(out)
}

// InLabDir reports whether an absolute path has a component naming a lab
// directory.
func InLabDir(p string) bool {
	for _, c := range strings.Split(p, "/") {
		if strings.HasPrefix(c, Prefix) {
			return true
		}
	}
	return false
}

// Unmount detaches a lab mount; it refuses anything outside a lab dir.
func Unmount(point string) error {
	if !InLabDir(point) {
		return fmt.Errorf("lab refuses to unmount %s: not in a %s* directory", point, Prefix)
	}
	err := syscall.Unmount(point, 0)
	if errors.Is(err, syscall.EBUSY) {
		// A process still holding a file open: detach now, the kernel
		// frees it with the last reference (umount2(2) MNT_DETACH).
		err = syscall.Unmount(point, syscall.MNT_DETACH)
	}
	if err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
		return fmt.Errorf("umount %s: %w", point, err)
	}
	return nil
}

// RemoveDir deletes a lab directory without ever leaving its file system:
// a bind mount of /sys or /proc that survived (it must not) would
// otherwise turn RemoveAll into an rmdir of real cgroups.
func RemoveDir(dir string) error {
	if !strings.HasPrefix(filepath.Base(dir), Prefix) {
		return fmt.Errorf("lab refuses to remove %s: name does not start with %s", dir, Prefix)
	}
	var root syscall.Stat_t
	if err := syscall.Lstat(dir, &root); err != nil {
		if errors.Is(err, syscall.ENOENT) {
			return nil
		}
		return err
	}
	var dirs []string
	var errs []error
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			return nil
		}
		if st.Dev != root.Dev {
			errs = append(errs, fmt.Errorf("%s is still a mount point; not removed", p))
			return fs.SkipDir
		}
		if d.IsDir() {
			dirs = append(dirs, p)
			return nil
		}
		if err := os.Remove(p); err != nil {
			errs = append(errs, err)
		}
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := os.Remove(dirs[i]); err != nil && len(errs) == 0 {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
