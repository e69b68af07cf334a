package kernfail

import (
	"os"
	"strings"
	"testing"

	"github.com/memsnap/memsnap/internal/testcorpus"
)

func parseFile(t *testing.T, elem ...string) *Result {
	t.Helper()
	f, err := os.Open(testcorpus.Path(t, append([]string{"kernel-failures"}, elem...)...))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The real public logs of corpus/kernel-failures (SOURCES.md).
func TestCorpusAllocFailures(t *testing.T) {
	for _, tc := range []struct {
		file              string
		n, order, zones   int
		process           string
		oom               bool
		normalOrder0Count int64
	}{
		// md5sum on btrfs, Debian 5.19: two order-4 GFP_NOFS failures, each with its free areas.
		{"lkml-btrfs-debian-5.19-order4-GFP_NOFS-page-allocation-failure.log", 2, 4, 3, "md5sum", false, 10995},
		// chromium's fork on Arch 4.7.2: an order-2 OOM with 28673 free order-0 pages in Normal.
		{"arch-4.7.2-order2-fork-oom-free-memory-fragmented-4space-indent.log", 1, 2, 3, "chromium", true, 28673},
		// EL7 3.10 syslog: order-6 failure creating a memcg kmem cache.
		{"el7-3.10.0-514-k8s-node-order6-memcg-kmem-cache-create-fragmentation/kern.log", 1, 6, -1, "exe", false, -1},
		// dd on 6.8-rc6, dmesg -T wrapped: order=3 is on the third line of the report.
		{"lkml-cgroupv1-memcg-oom-all-file-dirty-6.8-rc6-dmesg-T-wrapped.log", 1, 3, -1, "dd", true, -1},
	} {
		t.Run(tc.file, func(t *testing.T) {
			r := parseFile(t, strings.Split(tc.file, "/")...)
			if len(r.Allocs) != tc.n {
				t.Fatalf("%d failures, want %d: %+v", len(r.Allocs), tc.n, r.Allocs)
			}
			a := r.Allocs[0]
			if a.Order != tc.order || a.Process != tc.process || a.OOM != tc.oom {
				t.Errorf("first failure %+v", a)
			}
			if tc.zones >= 0 && len(a.Free) != tc.zones {
				t.Errorf("%d free-area zones, want %d", len(a.Free), tc.zones)
			}
			if tc.normalOrder0Count >= 0 {
				last := a.Free[len(a.Free)-1]
				if last.Zone != "Normal" || last.Counts[0] != tc.normalOrder0Count || last.PageKB != 4 || len(last.Counts) != 11 {
					t.Errorf("Normal zone %+v", last)
				}
			}
		})
	}
}

func TestCorpusSlub(t *testing.T) {
	r := parseFile(t, "k8s-node-el7-slub-unable-to-allocate-memcg-cache-dmesg-reltime.log")
	if len(r.Slub) < 3 {
		t.Fatalf("%d SLUB failures", len(r.Slub))
	}
	s := r.Slub[0]
	if s.Node != "-1" || s.GFP != "0x8020" || s.Cache != "blkdev_ioc" || !strings.HasPrefix(s.Memcg, "480:73b7c7b6") {
		t.Errorf("%+v", s)
	}
	r = parseFile(t, "k8s-el7-3.10-kmem-accounting-dmesg-T-grep-zh-locale", "01-dmesg-T-grep-SLUB.txt")
	if len(r.Slub) != 2 || r.Slub[0].GFP != "0x80d0" {
		t.Errorf("zh-locale dmesg -T: %+v", r.Slub)
	}
	r = parseFile(t, "k8s-el7-3.10-kmem-accounting-dmesg-T-grep-zh-locale", "02-dmesg-T-grep-kmem.txt")
	if len(r.Kmem) != 2 || r.Kmem[0].UsageKB != 3868836 || r.Kmem[0].LimitKB != 9007199254740988 {
		t.Errorf("kmem lines: %+v", r.Kmem)
	}
}

func TestCorpusBuddyinfo(t *testing.T) {
	f, err := os.Open(testcorpus.Path(t, "kernel-failures", "el7-3.10.0-514-k8s-node-order6-memcg-kmem-cache-create-fragmentation", "buddyinfo-failing-node.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zones, errs := ParseBuddyinfo(f, 4)
	// The file keeps the "$cat /proc/buddyinfo" prompt of the blog post: one error naming line 1.
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "line 1") {
		t.Errorf("errs %v", errs)
	}
	if len(zones) != 3 || zones[2].Zone != "Normal" || zones[2].Counts[0] != 40153 {
		t.Fatalf("%+v", zones)
	}
	if got := zones[2].FreeAtOrKB(6); got != 0 {
		t.Errorf("Normal order ≥ 6 free = %d kB, want 0", got)
	}
	if got := zones[2].FreeKB(); got != 40153*4+12774*8+302*16+17*32 {
		t.Errorf("Normal free = %d kB", got)
	}
}

func TestProcCgroupsAndTHP(t *testing.T) {
	m, err := ParseProcCgroups(strings.NewReader("#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpuset\t3\t1\t1\nmemory\t4\t3112\t1\n"))
	if err != nil || m["memory"] != 3112 {
		t.Errorf("%v %v", m, err)
	}
	if _, err := ParseProcCgroups(strings.NewReader("memory 4 x 1\n")); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("bad num_cgroups: %v", err)
	}
	if m, err := ParseTHPMode(strings.NewReader("always [madvise] never\n")); m != "madvise" || err != nil {
		t.Errorf("%q %v", m, err)
	}
	if _, err := ParseTHPMode(strings.NewReader("madvise\n")); err == nil {
		t.Error("no brackets accepted")
	}
}

func FuzzParse(f *testing.F) {
	f.Add("x: page allocation failure: order:4, mode:0x40c40(GFP_NOFS)\nNode 0 Normal: 1*4kB (U) 2*8kB = 20kB\nSLUB: Unable to allocate memory on node -1 (gfp=0x8020)\n  cache: a(1:b), object size: 1\nkmem: usage 1kB, limit 2kB, failcnt 3\n")
	f.Add("dd invoked oom-killer:\ngfp_mask=0x0,\norder=99999999999999999999, oom_score_adj=0\n")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(strings.NewReader(s))
		if err != nil || r == nil {
			t.Fatalf("%v", err)
		}
		for _, a := range r.Allocs {
			for _, fa := range a.Free {
				_ = fa.FreeKB()
			}
		}
	})
}

func FuzzParseBuddyinfo(f *testing.F) {
	f.Add("Node 0, zone   Normal  48211  20110   9022\nNode x, zone\n")
	f.Fuzz(func(t *testing.T, s string) {
		zones, _ := ParseBuddyinfo(strings.NewReader(s), 4)
		for _, z := range zones {
			if z.FreeKB() < 0 && len(z.Counts) < 20 {
				t.Fatalf("negative free %+v", z)
			}
		}
		ParseProcCgroups(strings.NewReader(s))
		ParseTHPMode(strings.NewReader(s))
	})
}
