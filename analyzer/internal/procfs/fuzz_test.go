package procfs

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func seed(f *testing.F, names ...string) {
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join("testdata", n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzParseStatBtime(f *testing.F) {
	seed(f, "stat-6.18")
	f.Add([]byte("btime -1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tm, err := ParseStatBtime(bytes.NewReader(b))
		if err == nil && (tm.Unix() <= 0 || tm.Year() > 9999) {
			t.Fatalf("accepted %v", tm)
		}
	})
}

func FuzzParseUptime(f *testing.F) {
	seed(f, "uptime-6.18")
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := ParseUptime(bytes.NewReader(b))
		if err == nil && (v < 0 || v != v) {
			t.Fatalf("accepted %v", v)
		}
	})
}

func FuzzParseStatus(f *testing.F) {
	seed(f, "status-6.18")
	f.Fuzz(func(t *testing.T, b []byte) {
		s, _ := ParseStatus(bytes.NewReader(b))
		if s == nil || len(s.Fields) > kvMaxFields {
			t.Fatal("nil or unbounded")
		}
		if s.VmRSS != nil && *s.VmRSS < 0 {
			t.Fatalf("negative VmRSS %d", *s.VmRSS)
		}
	})
}

func FuzzParseSmapsRollup(f *testing.F) {
	seed(f, "smaps_rollup-6.18")
	f.Fuzz(func(t *testing.T, b []byte) {
		s, _ := ParseSmapsRollup(bytes.NewReader(b))
		if s == nil || len(s.Fields) > kvMaxFields {
			t.Fatal("nil or unbounded")
		}
	})
}

func FuzzParseCgroupFile(f *testing.F) {
	seed(f, "cgroup-hybrid", "cgroup-unified")
	f.Add([]byte("5:cpu,memory:/a:b:c\n0::\n::\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, _ := ParseCgroupMembership(bytes.NewReader(b))
		p, v, ok := c.MemoryPath()
		if ok && (p == "" || p[0] != '/' || v < 1 || v > 2) {
			t.Fatalf("bad memory path %q v%d", p, v)
		}
		if q, err := ParseCgroupFile(bytes.NewReader(b)); q != p || (err == nil && !ok) {
			t.Fatalf("ParseCgroupFile = %q, %v; membership says %q, %v", q, err, p, ok)
		}
	})
}

func FuzzParseMountinfo(f *testing.F) {
	seed(f, "mountinfo-k8s-hybrid", "mountinfo-k8s-unified")
	f.Fuzz(func(t *testing.T, b []byte) {
		ms, _ := ParseMountinfo(bytes.NewReader(b))
		for _, m := range ms {
			if n, ok := m.TmpfsSize(); ok && n < 0 {
				t.Fatalf("negative size %d", n)
			}
			PodVolume(m.MountPoint)
		}
		MemoryCgroupMount(ms)
	})
}
