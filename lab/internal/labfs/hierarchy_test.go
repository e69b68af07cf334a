package labfs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mustDetect(t *testing.T, procCgroup, mountinfo, v2Base string, read func(string) ([]byte, error)) (Hierarchy, error) {
	t.Helper()
	pc, err := ParseProcCgroup("cgroup", strings.NewReader(procCgroup))
	if err != nil {
		t.Fatal(err)
	}
	ms, err := ParseMountinfo("mountinfo", strings.NewReader(mountinfo))
	if err != nil {
		t.Fatal(err)
	}
	return Detect(pc, ms, v2Base, read)
}

func noRead(p string) ([]byte, error) { return nil, os.ErrNotExist }

func TestDetectV1Hybrid(t *testing.T) {
	h, err := mustDetect(t, hybridProcCgroup, hybridMountinfo, "", noRead)
	if err != nil {
		t.Fatal(err)
	}
	want := Hierarchy{Version: 1, Mount: "/sys/fs/cgroup/memory", Self: "/process_api/b288ddfee1e3fae7a85d94a115c76305", Base: "/process_api/b288ddfee1e3fae7a85d94a115c76305"}
	if h != want {
		t.Errorf("got %+v, want %+v", h, want)
	}
	if f := h.Files(); f.Limit != "memory.limit_in_bytes" || f.InactiveFile != "total_inactive_file" || f.Shmem != "total_shmem" {
		t.Errorf("v1 files: %+v", f)
	}
}

func TestDetectV2(t *testing.T) {
	fixture := func(controllers string) func(string) ([]byte, error) {
		return func(p string) ([]byte, error) {
			if p != "/sys/fs/cgroup/user.slice/user-0.slice/session-1.scope/cgroup.controllers" {
				t.Errorf("read %s", p)
			}
			return []byte(controllers), nil
		}
	}
	h, err := mustDetect(t, v2ProcCgroup, v2Mountinfo, "", fixture("cpu io memory pids\n"))
	if err != nil {
		t.Fatal(err)
	}
	if h.Version != 2 || h.Mount != "/sys/fs/cgroup" || h.Base != "/user.slice/user-0.slice/session-1.scope" {
		t.Errorf("got %+v", h)
	}
	if f := h.Files(); f.Limit != "memory.max" || f.Usage != "memory.current" || f.InactiveFile != "inactive_file" {
		t.Errorf("v2 files: %+v", f)
	}
	if _, err := mustDetect(t, v2ProcCgroup, v2Mountinfo, "", fixture("cpu pids\n")); err == nil || !strings.Contains(err.Error(), "memory controller is not available") {
		t.Errorf("no memory controller: got %v", err)
	}
	h, err = mustDetect(t, v2ProcCgroup, v2Mountinfo, "/user.slice/user-0.slice", fixture("memory"))
	if err != nil || h.Base != "/user.slice/user-0.slice" {
		t.Errorf("delegated base: %+v %v", h, err)
	}
	if _, err := mustDetect(t, v2ProcCgroup, v2Mountinfo, "/system.slice", fixture("memory")); err == nil || !strings.Contains(err.Error(), "does not contain") {
		t.Errorf("a base outside our cgroup must be refused, got %v", err)
	}
}

// fixtureTree makes a hierarchy mount in a temp dir with Base present.
func fixtureTree(t *testing.T, version int, base string) Hierarchy {
	t.Helper()
	mount := t.TempDir()
	if err := os.MkdirAll(filepath.Join(mount, base), 0o755); err != nil {
		t.Fatal(err)
	}
	if version == 2 {
		if err := os.WriteFile(filepath.Join(mount, base, "cgroup.subtree_control"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return Hierarchy{Version: version, Mount: mount, Self: base, Base: base}
}

func readFixture(t *testing.T, h Hierarchy, cg, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(h.Dir(cg), file))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The v2 path: every level the lab creates hands the memory controller
// to its children before they are made; limits are "max" or bytes.
func TestV2FixtureTree(t *testing.T) {
	const base = "/user.slice/lab.scope"
	h := fixtureTree(t, 2, base)
	root, err := h.CreateRoot(Prefix + "t1")
	if err != nil {
		t.Fatal(err)
	}
	if got := readFixture(t, h, base, "cgroup.subtree_control"); got != "+memory" {
		t.Errorf("base subtree_control %q, want +memory", got)
	}
	kp := root + "/kubepods.slice"
	pod := kp + "/kubepods-burstable.slice"
	for _, cg := range []string{kp, pod} {
		if err := h.Mkdir(cg); err != nil {
			t.Fatal(err)
		}
	}
	for _, cg := range []string{root, kp} {
		if got := readFixture(t, h, cg, "cgroup.subtree_control"); got != "+memory" {
			t.Errorf("%s subtree_control %q, want +memory", cg, got)
		}
	}
	if err := h.SetLimit(pod, -1); err != nil {
		t.Fatal(err)
	}
	if got := readFixture(t, h, pod, "memory.max"); got != "max" {
		t.Errorf("unlimited v2 limit %q, want max", got)
	}
	if err := h.SetLimit(kp, 128<<20); err != nil {
		t.Fatal(err)
	}
	if got := readFixture(t, h, kp, "memory.max"); got != "134217728" {
		t.Errorf("v2 limit %q", got)
	}
	if err := h.AddProc(pod, 4242); err != nil {
		t.Fatal(err)
	}
	if got := readFixture(t, h, pod, "cgroup.procs"); got != "4242" {
		t.Errorf("cgroup.procs %q", got)
	}
	if err := os.WriteFile(filepath.Join(h.Dir(kp), "memory.current"), []byte("max\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if n, err := h.ReadInt(kp, "memory.current"); err != nil || n != -1 {
		t.Errorf("ReadInt(max) = %d, %v", n, err)
	}
	// An already enabled controller is not written again.
	if err := os.WriteFile(filepath.Join(h.Dir(base), "cgroup.subtree_control"), []byte("cpu memory\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := h.CreateRoot(Prefix + "t2"); err != nil {
		t.Fatal(err)
	}
	if got := readFixture(t, h, base, "cgroup.subtree_control"); got != "cpu memory\n" {
		t.Errorf("subtree_control rewritten: %q", got)
	}
}

func TestV1FixtureTree(t *testing.T) {
	const base = "/process_api/abc"
	h := fixtureTree(t, 1, base)
	root, err := h.CreateRoot(Prefix + "t1")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Mkdir(root + "/kubepods.slice"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(h.Dir(base), "cgroup.subtree_control")); err == nil {
		t.Error("v1 has no subtree_control; none may be written")
	}
	if err := h.SetLimit(root+"/kubepods.slice", -1); err != nil {
		t.Fatal(err)
	}
	if got := readFixture(t, h, root+"/kubepods.slice", "memory.limit_in_bytes"); got != "-1" {
		t.Errorf("unlimited v1 limit %q, want -1", got)
	}
}

// The lab refuses to touch anything outside its own roots.
func TestGuard(t *testing.T) {
	h := fixtureTree(t, 1, "/process_api/abc")
	for _, cg := range []string{"/process_api/abc", "/process_api/other", "/process_api/abc/not-lab", "/", "/process_api/abc/../x/" + Prefix + "1",
		"/process_api/abcd/" + Prefix + "1"} {
		if err := h.SetLimit(cg, 1); err == nil {
			t.Errorf("SetLimit(%s) allowed", cg)
		}
		if err := h.RemoveTree(cg); err == nil || !strings.Contains(err.Error(), "refuses") {
			t.Errorf("RemoveTree(%s): %v", cg, err)
		}
	}
	if _, err := h.CreateRoot("kubepods"); err == nil {
		t.Error("CreateRoot without the prefix allowed")
	}
	if err := Unmount("/sys"); err == nil {
		t.Error("Unmount(/sys) allowed")
	}
	if err := RemoveDir(t.TempDir()); err == nil {
		t.Error("RemoveDir of a directory without the prefix allowed")
	}
}

func TestLabMounts(t *testing.T) {
	ms := []Mount{
		{Point: "/sys"}, {Point: "/tmp/" + Prefix + "a/hostroot/sys"},
		{Point: "/tmp/" + Prefix + "a/hostroot/sys/fs/cgroup/memory"}, {Point: "/tmp/" + Prefix + "a/hostroot/sys/fs/cgroup"},
		{Point: "/var/lib/kubelet/pods/x"},
	}
	got := LabMounts(ms)
	want := []string{"/tmp/" + Prefix + "a/hostroot/sys/fs/cgroup/memory", "/tmp/" + Prefix + "a/hostroot/sys/fs/cgroup", "/tmp/" + Prefix + "a/hostroot/sys"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got %v, want deepest first %v", got, want)
	}
}

func TestRemoveDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), Prefix+"x")
	if err := os.MkdirAll(filepath.Join(dir, "a/b"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a/b/f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := RemoveDir(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("still there: %v", err)
	}
}
