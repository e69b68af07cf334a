package testbed

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// Leftovers lists what of run runID still exists, as seen from the host:
// processes in its network namespace (netns, an inode; 0 = unknown) or in
// its cgroups, the namespace itself (held by any process), its cgroups in
// any hierarchy, mounts naming it, and its directory.
func Leftovers(runID, work string, netns uint64) []string {
	var left []string
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if netns != 0 {
			if ino, err := nsInode(pid, "net"); err == nil && ino == netns {
				left = append(left, fmt.Sprintf("process %d (%s) in the run's network namespace", pid, comm(pid)))
				continue
			}
		}
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid)); err == nil && strings.Contains(string(b), "/"+runID) {
			left = append(left, fmt.Sprintf("process %d (%s) in a cgroup of the run", pid, comm(pid)))
		}
	}
	left = append(left, cgroupsOf(runID)...)
	if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, runID) {
				left = append(left, "mount: "+line)
			}
		}
	}
	if work != "" {
		if _, err := os.Lstat(work); err == nil {
			left = append(left, "directory "+work)
		}
	}
	return left
}

// cgroupsOf finds the run's cgroup directories in every hierarchy: below
// this process's memory cgroup path, where a run creates them.
func cgroupsOf(runID string) []string {
	base, err := runCgroupBase(runID)
	if err != nil {
		return []string{"cgroups: " + err.Error()}
	}
	hs, err := hierarchies()
	if err != nil {
		return []string{"cgroups: " + err.Error()}
	}
	var left []string
	for _, h := range hs {
		d := filepath.Join(h.Mount, base)
		if _, err := os.Stat(d); err == nil {
			left = append(left, "cgroup "+d)
		} else if !errors.Is(err, fs.ErrNotExist) {
			left = append(left, fmt.Sprintf("cgroup %s: %v", d, err))
		}
	}
	return left
}

func comm(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(b))
}

// CheckClean fails t if anything of the run is left inside the namespaces
// after the beds closed: a process other than the namespace's init and this
// test, a mount below the run directory, a cgroup of the run. The outer
// stage checks again from the host once the namespaces are gone.
func CheckClean(t testing.TB) {
	t.Helper()
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid == 1 || pid == os.Getpid() {
			continue
		}
		st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		t.Errorf("left behind: process %d (%s): %s", pid, comm(pid), strings.TrimSpace(string(st)))
	}
	for _, m := range mountsUnder(os.Getenv(envWork)) {
		t.Errorf("left behind: mount %s", m)
	}
	for _, m := range bedMounts() {
		t.Errorf("left behind: mount %s", m)
	}
	runID := os.Getenv(envRun)
	base, err := runCgroupBase(runID)
	if err != nil {
		t.Error(err)
		return
	}
	hs, _ := hierarchies()
	for _, h := range hs {
		ents, err := os.ReadDir(filepath.Join(h.Mount, base))
		if err != nil {
			continue
		}
		for _, e := range ents {
			if e.IsDir() {
				t.Errorf("left behind: cgroup %s", filepath.Join(h.Mount, base, e.Name()))
			}
		}
	}
}

// CleanStale removes what interrupted runs left (make e2e-clean): every
// memsnap-e2e-<pid> cgroup in any hierarchy and memsnap-e2e-<pid>
// directory in parents (default $TMPDIR) whose run — the outer test
// process <pid> — is no longer alive. Live runs are left alone. It kills
// only tasks inside those cgroups, which only a run can have put there.
func CleanStale(w io.Writer, parents ...string) error {
	if len(parents) == 0 {
		parents = []string{os.TempDir()}
	}
	stale := func(name string) bool {
		pid, err := strconv.Atoi(strings.TrimPrefix(name, RunPrefix))
		if err != nil || !strings.HasPrefix(name, RunPrefix) {
			return false
		}
		return syscall.Kill(pid, 0) == syscall.ESRCH
	}
	var errs []error
	hs, err := hierarchies()
	if err != nil {
		return err
	}
	for _, h := range hs {
		filepath.WalkDir(h.Mount, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.IsDir() || p == h.Mount {
				return nil
			}
			if stale(d.Name()) {
				fmt.Fprintf(w, "e2e-clean: cgroup %s\n", p)
				if err := removeTree(p); err != nil {
					errs = append(errs, err)
				}
				return filepath.SkipDir
			}
			return nil
		})
	}
	for _, parent := range parents {
		ents, _ := os.ReadDir(parent)
		for _, e := range ents {
			if e.IsDir() && stale(e.Name()) {
				d := filepath.Join(parent, e.Name())
				fmt.Fprintf(w, "e2e-clean: directory %s\n", d)
				if err := removeCreatedParents(d); err != nil {
					errs = append(errs, err)
				}
				if err := removeDir(d); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	// Mounts live in the runs' private mount namespaces, which die with
	// them; one seen from here would be a bug worth a look, not a guess.
	for _, m := range mountPoints() {
		if strings.Contains(m, RunPrefix) {
			errs = append(errs, fmt.Errorf("mount %s is visible from the host: unmount it by hand after a look", m))
		}
	}
	return errors.Join(errs...)
}
