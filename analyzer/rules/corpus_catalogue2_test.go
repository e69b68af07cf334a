package rules_test

import (
	"os"
	"strings"
	"testing"

	"github.com/memsnap/memsnap/analyzer/internal/config"
	"github.com/memsnap/memsnap/analyzer/rules"
	"github.com/memsnap/memsnap/analyzer/rules/rulestest"
	"github.com/memsnap/memsnap/bundle"
	"github.com/memsnap/memsnap/internal/testcorpus"
	"github.com/memsnap/memsnap/report/schema"
)

// The kernel-text rules on the real public logs of corpus/kernel-failures
// (SOURCES.md), read in place: each becomes the logs/kernel.log of a bundle.
func corpusRun(t *testing.T, r *rules.Rule, extra map[string]string, elem ...string) []schema.Finding {
	t.Helper()
	b, err := os.ReadFile(testcorpus.Path(t, append([]string{"kernel-failures"}, elem...)...))
	if err != nil {
		t.Fatal(err)
	}
	v := bundle.MapView{bundle.KernelLog: b}
	for k, s := range extra {
		v[k] = []byte(s)
	}
	pass := rules.Execute(r, rulestest.Case{View: v}.Snapshot(), config.Default(), rules.All)
	if pass.Skipped() != "" {
		t.Fatalf("skipped: %s", pass.Skipped())
	}
	return pass.Findings()
}

func wantOne(t *testing.T, got []schema.Finding, severity string, parts ...string) {
	t.Helper()
	if len(got) != 1 {
		for _, f := range got {
			t.Logf("got %s %s %s", f.Severity, f.Subject, f.Summary)
		}
		t.Fatalf("%d findings, want 1", len(got))
	}
	f := got[0]
	if f.Severity != severity {
		t.Errorf("severity %s, want %s: %s", f.Severity, severity, f.Summary)
	}
	for _, p := range parts {
		if !strings.Contains(f.Summary, p) {
			t.Errorf("summary lacks %q: %s", p, f.Summary)
		}
	}
	if len(f.Evidence) == 0 {
		t.Errorf("evidence %+v", f.Evidence)
	}
}

func TestCorpusFragmentationOOM(t *testing.T) {
	// chromium's fork on Arch 4.7.2: an order-2 OOM kill; DMA32 (the zone with the most free) has
	// 121588 kB free, 128 kB of it (8 × 16 kB) in blocks of order ≥ 2; Normal looks the same.
	wantOne(t, corpusRun(t, rules.FragmentationOOM, nil, "arch-4.7.2-order2-fork-oom-free-memory-fragmented-4space-indent.log"),
		schema.Critical, "order-2 allocation by chromium", "zone DMA32 had 119 MiB free, only 128 KiB of it in blocks of order 2")
	// md5sum on btrfs (Debian 5.19): two order-4 GFP_NOFS failures, nothing of order ≥ 4 left in Normal.
	wantOne(t, corpusRun(t, rules.FragmentationOOM, nil, "lkml-btrfs-debian-5.19-order4-GFP_NOFS-page-allocation-failure.log"),
		schema.Warning, "order-4 allocation by md5sum", "page allocation failure", "The log holds 2 such failures")
	// EL7 3.10 syslog: order-6 failure creating a memcg slab cache on a Kubernetes node.
	wantOne(t, corpusRun(t, rules.FragmentationOOM, nil, "el7-3.10.0-514-k8s-node-order6-memcg-kmem-cache-create-fragmentation", "kern.log"),
		schema.Warning, "order-6 allocation by exe")
}

func TestCorpusFragmentationBuddyinfo(t *testing.T) {
	// A failure line without the dump falls back to node/buddyinfo: the
	// failing EL7 node's own buddyinfo (the blog's prompt line is skipped).
	b, err := os.ReadFile(testcorpus.Path(t, "kernel-failures", "el7-3.10.0-514-k8s-node-order6-memcg-kmem-cache-create-fragmentation", "buddyinfo-failing-node.txt"))
	if err != nil {
		t.Fatal(err)
	}
	got := corpusRun(t, rules.FragmentationOOM, map[string]string{bundle.NodeBuddyinfo: string(b)},
		"k8s-el7-3.10-kmem-accounting-dmesg-T-grep-zh-locale", "01-dmesg-T-grep-SLUB.txt")
	if len(got) != 0 {
		t.Errorf("SLUB lines alone are no allocation failure: %+v", got)
	}
	line := "Nov 12 15:15:41 kernel: exe: page allocation failure: order:6, mode:0x10c0d0\n"
	v := bundle.MapView{bundle.KernelLog: []byte(line), bundle.NodeBuddyinfo: b}
	pass := rules.Execute(rules.FragmentationOOM, rulestest.Case{View: v}.Snapshot(), config.Default(), rules.All)
	wantOne(t, pass.Findings(), schema.Warning, "node/buddyinfo at collection time", "only 0 B of it in blocks of order 6")
}

func TestCorpusKmemAccountingLeak(t *testing.T) {
	// A Kubernetes node on EL7 (uname from the post's 3.10.0 kernel family; the log itself is the post's).
	wantOne(t, corpusRun(t, rules.KmemAccountingLeak, map[string]string{bundle.NodeUname: "Linux node-a 3.10.0-957.el7.x86_64 #1 SMP x86_64\n", bundle.NodeCmdline: "BOOT_IMAGE=/vmlinuz-3.10.0-957.el7.x86_64 root=/dev/sda1 ro\n"},
		"k8s-node-el7-slub-unable-to-allocate-memcg-cache-dmesg-reltime.log"),
		schema.Critical, "SLUB: Unable to allocate memory on node -1", "first in cache blkdev_ioc of memcg 480:73b7c7b6", "without cgroup.memory=nokmem")
	// The zh-locale dmesg -T grep of another 3.10 master; kernel unknown.
	wantOne(t, corpusRun(t, rules.KmemAccountingLeak, nil, "k8s-el7-3.10-kmem-accounting-dmesg-T-grep-zh-locale", "01-dmesg-T-grep-SLUB.txt"),
		schema.Critical, "holds 2 \"SLUB")
	// With nokmem on the command line the same lines are a warning.
	wantOne(t, corpusRun(t, rules.KmemAccountingLeak, map[string]string{bundle.NodeCmdline: "ro cgroup.memory=nokmem\n"},
		"k8s-node-el7-slub-unable-to-allocate-memcg-cache-dmesg-reltime.log"),
		schema.Warning, "cgroup.memory=nokmem is set")
}

func TestCorpusDirtyWritebackOOM(t *testing.T) {
	// dd writing to XFS in a 1 GiB v1 memcg on 6.8-rc6 (MGLRU): 1022 MiB dirty of 1023.9 MiB usage.
	wantOne(t, corpusRun(t, rules.DirtyWritebackOOM, nil, "lkml-cgroupv1-memcg-oom-all-file-dirty-6.8-rc6-dmesg-T-wrapped.log"),
		schema.Critical, "killed dd", "100 % of its 1 GiB usage was dirty (1023 MiB)")
	// The 5.2-rc7 memcg OOM of an anon leaker: not dirty pages.
	if got := corpusRun(t, rules.DirtyWritebackOOM, nil, "lkml-cgroupv1-memcg-oom-swap-in-use-5.2-rc7.log"); len(got) != 0 {
		t.Errorf("anon OOM reported as dirty: %+v", got)
	}
}
