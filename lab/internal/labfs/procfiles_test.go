package labfs

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/memsnap/memsnap/internal/testcorpus"
)

// Observed on this project's machines (hybrid: v1 controllers + unified).
const hybridProcCgroup = `9:name=systemd:/
4:memory:/process_api/b288ddfee1e3fae7a85d94a115c76305
3:cpuset:/
0::/
`

const hybridMountinfo = `26 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`

// A v2-only host (systemd, delegated user session).
const v2ProcCgroup = "0::/user.slice/user-0.slice/session-1.scope\n"

const v2Mountinfo = `25 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
30 25 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`

func TestParseProcCgroup(t *testing.T) {
	pc, err := ParseProcCgroup("hybrid", strings.NewReader(hybridProcCgroup))
	if err != nil {
		t.Fatal(err)
	}
	if !pc.HasV1Memory || pc.V1Memory != "/process_api/b288ddfee1e3fae7a85d94a115c76305" || !pc.HasV2 || pc.V2 != "/" {
		t.Errorf("hybrid: %+v", pc)
	}
	pc, err = ParseProcCgroup("v2", strings.NewReader(v2ProcCgroup))
	if err != nil {
		t.Fatal(err)
	}
	if pc.HasV1Memory || pc.V2 != "/user.slice/user-0.slice/session-1.scope" {
		t.Errorf("v2: %+v", pc)
	}
	// Controllers listed together (a co-mounted hierarchy) still count.
	pc, _ = ParseProcCgroup("comount", strings.NewReader("5:cpuset,memory:/a\n"))
	if pc.V1Memory != "/a" {
		t.Errorf("co-mounted: %+v", pc)
	}
	_, err = ParseProcCgroup("/proc/self/cgroup", strings.NewReader("0::/\ngarbage\n"))
	if err == nil || !strings.Contains(err.Error(), "/proc/self/cgroup:2:") {
		t.Errorf("want an error naming file and line 2, got %v", err)
	}
}

func TestParseMountinfo(t *testing.T) {
	ms, err := ParseMountinfo("hybrid", strings.NewReader(hybridMountinfo+`41 26 0:40 / /tmp/memsnap-lab-1/with\040blank rw - tmpfs tmpfs rw,size=1024k
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 6 {
		t.Fatalf("got %d mounts", len(ms))
	}
	if m := ms[3]; m.Point != "/sys/fs/cgroup/memory" || m.FSType != "cgroup" || m.Super != "rw,memory" {
		t.Errorf("memory mount: %+v", m)
	}
	if ms[5].Point != "/tmp/memsnap-lab-1/with blank" {
		t.Errorf("octal escape not decoded: %q", ms[5].Point)
	}
	// Optional fields ("shared:1") sit before the separator.
	ms, err = ParseMountinfo("v2", strings.NewReader(v2Mountinfo))
	if err != nil || ms[1].FSType != "cgroup2" || ms[1].Point != "/sys/fs/cgroup" {
		t.Errorf("v2: %+v %v", ms, err)
	}
	if _, err := ParseMountinfo("mi", strings.NewReader("1 2 3:4 / /x rw\n")); err == nil || !strings.Contains(err.Error(), "mi:1:") {
		t.Errorf("want an error naming line 1, got %v", err)
	}
}

func TestParseMemoryStat(t *testing.T) {
	for _, tc := range []struct {
		file []string
		keys []string
	}{
		{[]string{"cgroup", "docker-v1-container-memory.stat"}, []string{"total_inactive_file", "total_active_file", "total_rss"}},
		{[]string{"cgroup", "docker-v2-container-scope", "memory.stat"}, []string{"inactive_file", "active_file", "anon", "shmem"}},
	} {
		p := testcorpus.Path(t, tc.file...)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		st, err := ParseMemoryStat(p, bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		for _, k := range tc.keys {
			if _, ok := st[k]; !ok {
				t.Errorf("%s: no %s", p, k)
			}
		}
	}
	if _, err := ParseMemoryStat("memory.stat", strings.NewReader("cache 1\nrss x\n")); err == nil || !strings.Contains(err.Error(), "memory.stat:2: rss") {
		t.Errorf("want an error naming line 2 and the key, got %v", err)
	}
}

func corpusSeeds(f *testing.F, files ...[]string) {
	for _, elems := range files {
		b, err := os.ReadFile(testcorpus.Path(f, elems...))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzParseProcCgroup(f *testing.F) {
	f.Add([]byte(hybridProcCgroup))
	f.Add([]byte(v2ProcCgroup))
	f.Add([]byte("1:memory\n::\n0::\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		pc, err := ParseProcCgroup("fuzz", bytes.NewReader(b))
		if err == nil && pc.HasV1Memory && !strings.HasPrefix(pc.V1Memory, "/") {
			t.Fatalf("accepted a relative path %q", pc.V1Memory)
		}
	})
}

func FuzzParseMountinfo(f *testing.F) {
	f.Add([]byte(hybridMountinfo))
	f.Add([]byte(v2Mountinfo))
	f.Add([]byte(`1 2 3:4 / /a\1 rw - t s o` + "\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ms, err := ParseMountinfo("fuzz", bytes.NewReader(b))
		if err == nil {
			for _, m := range ms {
				if m.FSType == "" {
					t.Fatalf("mount without fstype: %+v", m)
				}
			}
		}
	})
}

func FuzzParseMemoryStat(f *testing.F) {
	corpusSeeds(f, []string{"cgroup", "docker-v1-container-memory.stat"}, []string{"cgroup", "docker-v2-container-scope", "memory.stat"},
		[]string{"cgroup", "oomd-fixture-v2-early-memory.stat"})
	f.Add([]byte("a 1\n\n b  2 \nc -3\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseMemoryStat("fuzz", bytes.NewReader(b))
	})
}
