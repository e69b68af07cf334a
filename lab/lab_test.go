package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/memsnap/memsnap/lab/internal/labfs"
)

const (
	kib = int64(1) << 10
	mib = int64(1) << 20
)

// TestLab runs every scenario on this machine's kernel, one after another
// in one test binary (they share nothing but must not overlap: each one's
// OOM kills and page cache would disturb the next). It fails — never
// skips — when it cannot run, unless MEMSNAP_LAB=skip says so explicitly.
func TestLab(t *testing.T) {
	if os.Getenv("MEMSNAP_LAB") == "skip" {
		t.Skip("MEMSNAP_LAB=skip: scenario lab not run")
	}
	if os.Geteuid() != 0 {
		t.Fatal("the scenario lab needs root (it creates memory cgroups and mounts); run it as root, or set MEMSNAP_LAB=skip to skip it explicitly")
	}
	h, err := labfs.SelfHierarchy(os.Getenv("MEMSNAP_LAB_V2_BASE"))
	if err != nil {
		t.Fatalf("no writable memory cgroup for the lab: %v (set MEMSNAP_LAB=skip to skip it explicitly)", err)
	}
	t.Logf("memory cgroup v%d at %s; this process in %s; lab roots below %s", h.Version, h.Mount, h.Self, h.Base)
	dir := labParentDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	binDir, err := os.MkdirTemp(dir, labfs.Prefix+"bin-")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := labfs.RemoveDir(binDir); err != nil {
			t.Error(err)
		}
	}()
	started := time.Now()
	bin, err := buildBinaries(ctx, repoRoot(t), binDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("built lab binaries in %v", time.Since(started).Round(time.Millisecond))

	env := &labEnv{h: h, bin: bin, dir: dir, ctx: ctx}
	for _, sc := range []struct {
		name string
		run  func(*testing.T, *labEnv)
	}{
		{"page-cache", testPageCache},
		{"anon-oom", testAnonOOM},
		{"tmpfs-restart", testTmpfsRestart},
		{"kubepods-drift", testKubepodsDrift},
		{"scrape-pileup", testScrapePileup},
		// Rule catalogue II (#16): catalogue2_test.go.
		{"runtime-heap-vs-limit", testRuntimeHeapVsLimit},
		{"dying-memcgs", testDyingMemcgs},
		{"thp-inflation", testTHPInflation},
		{"leak-watch", testLeakWatch},
		{"sawtooth-watch", testSawtoothWatch},
	} {
		t.Run(sc.name, func(t *testing.T) { sc.run(t, env) })
	}
	t.Run("nothing-left-behind", func(t *testing.T) { checkNothingLeft(t, env) })
}

// labEnv is what the scenarios share: the hierarchy, the binaries and
// the labs they opened (checked for leftovers at the end).
type labEnv struct {
	h    labfs.Hierarchy
	bin  Binaries
	dir  string
	ctx  context.Context
	labs []*Lab
}

// open makes a fresh lab for one scenario, closed by t.Cleanup even when
// the scenario fails.
func (e *labEnv) open(t *testing.T) *Lab {
	t.Helper()
	l, err := newLab(e.h, e.bin, e.dir, t.Logf)
	if err != nil {
		t.Fatalf("lab: %v", err)
	}
	e.labs = append(e.labs, l)
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("lab cleanup: %v (run make lab-clean)", err)
		}
	})
	return l
}

// labParentDir is where lab directories go: a disk-backed directory (the
// page-cache scenario's log file must be on a real file system, not in
// memory). MEMSNAP_LAB_DIR overrides os.TempDir.
func labParentDir(t *testing.T) string {
	dir := os.Getenv("MEMSNAP_LAB_DIR")
	if dir == "" {
		dir = os.TempDir()
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatalf("lab directory %s: %v", dir, err)
	}
	const tmpfsMagic = 0x01021994 // linux/magic.h TMPFS_MAGIC
	if st.Type == tmpfsMagic {
		t.Fatalf("lab directory %s is a tmpfs; the page-cache scenario needs a disk: set MEMSNAP_LAB_DIR to a directory on a disk", dir)
	}
	return dir
}

func repoRoot(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			t.Fatalf("no go.mod above %s", dir)
		}
	}
}

// checkNothingLeft asserts the lab's promise: no lab cgroup, mount,
// directory or process survives the scenarios.
func checkNothingLeft(t *testing.T, e *labEnv) {
	for _, l := range e.labs {
		if _, err := os.Stat(e.h.Dir(l.Root)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("cgroup %s still exists (err %v)", l.Root, err)
		}
		if _, err := os.Stat(l.Dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("directory %s still exists (err %v)", l.Dir, err)
		}
		for _, p := range l.procs {
			if !p.exited() {
				t.Errorf("process %d still running", p.PID)
			}
		}
	}
	mounts, err := labfs.Mounts()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range labfs.LabMounts(mounts) {
		for _, l := range e.labs {
			if strings.HasPrefix(m, l.Dir) {
				t.Errorf("mount %s still present", m)
			}
		}
	}
}

// kernelStat is the kernel's own view of one cgroup, read directly.
type kernelStat struct {
	usage, inactiveFile, activeFile, anon, shmem int64
}

func (k kernelStat) workingSet() int64 { return max(k.usage-k.inactiveFile, 0) }

func (k kernelStat) String() string {
	return fmt.Sprintf("usage %d, inactive_file %d, active_file %d, anon %d, shmem %d → working set %d",
		k.usage, k.inactiveFile, k.activeFile, k.anon, k.shmem, k.workingSet())
}

func readKernel(t *testing.T, l *Lab, cg string) kernelStat {
	t.Helper()
	f := l.H.Files()
	usage, err := l.H.ReadInt(cg, f.Usage)
	if err != nil {
		t.Fatal(err)
	}
	st, err := l.H.Stat(cg)
	if err != nil {
		t.Fatal(err)
	}
	return kernelStat{usage: usage, inactiveFile: st[f.InactiveFile], activeFile: st[f.ActiveFile], anon: st[f.Anon], shmem: st[f.Shmem]}
}

// oomKills is the cgroup's own kill counter: v1 memory.oom_control
// oom_kill, v2 memory.events oom_kill (DOMAIN §1.1).
func oomKills(t *testing.T, l *Lab, cg string) int64 {
	t.Helper()
	file := "memory.oom_control"
	if l.H.Version == 2 {
		file = "memory.events"
	}
	b, err := os.ReadFile(filepath.Join(l.H.Dir(cg), file))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		var n int64
		if _, err := fmt.Sscanf(line, "oom_kill %d", &n); err == nil {
			return n
		}
	}
	t.Fatalf("%s of %s has no oom_kill line", file, cg)
	return 0
}

func within(got, want int64, frac float64) bool {
	d := float64(got - want)
	return d <= frac*float64(want) && -d <= frac*float64(want)
}
