package cgroup

import (
	"fmt"
	"testing"

	"github.com/memsnap/memsnap/bundle"
)

// syntheticNode builds a v1 systemd tree of the reference node's size
// (DESIGN §5): 250 pods × (pause + 2 containers) under three QoS slices,
// ~1,000 cgroups with the usual seven files each.
func syntheticNode(pods int) bundle.MapView {
	v := bundle.MapView{}
	stat := func(rss, cache int64) []byte {
		return fmt.Appendf(nil, "cache %d\nrss %d\nrss_huge 0\nshmem 0\nmapped_file 0\ndirty 0\nwriteback 0\nswap 0\n"+
			"pgpgin 1\npgpgout 1\npgfault 1\npgmajfault 0\ninactive_anon 0\nactive_anon %d\ninactive_file %d\nactive_file %d\nunevictable 0\n"+
			"hierarchical_memory_limit 9223372036854771712\nhierarchical_memsw_limit 9223372036854771712\n"+
			"total_cache %d\ntotal_rss %d\ntotal_rss_huge 0\ntotal_shmem 0\ntotal_mapped_file 0\ntotal_dirty 0\ntotal_writeback 0\ntotal_swap 0\n"+
			"total_pgpgin 1\ntotal_pgpgout 1\ntotal_pgfault 1\ntotal_pgmajfault 0\ntotal_inactive_anon 0\ntotal_active_anon %d\n"+
			"total_inactive_file %d\ntotal_active_file %d\ntotal_unevictable 0\n",
			cache, rss, rss, cache/2, cache/2, cache, rss, rss, cache/2, cache/2)
	}
	add := func(dir string, rss, cache int64) {
		v[dir+"memory.stat"] = stat(rss, cache)
		v[dir+"memory.usage_in_bytes"] = fmt.Appendf(nil, "%d\n", rss+cache)
		v[dir+"memory.limit_in_bytes"] = []byte("9223372036854771712\n")
		v[dir+"memory.max_usage_in_bytes"] = fmt.Appendf(nil, "%d\n", rss+cache)
		v[dir+"memory.failcnt"] = []byte("0\n")
		v[dir+"memory.oom_control"] = []byte("oom_kill_disable 0\nunder_oom 0\noom_kill 0\n")
		v[dir+"cgroup.procs"] = []byte("1234\n1240\n")
		v[dir+"memory.numa_stat"] = []byte("total=1 N0=1\n") // present, never read
	}
	add("cgroup/", 1<<30, 1<<31)
	add("cgroup/kubepods.slice/", 1<<29, 1<<30)
	qos := []string{"kubepods-burstable", "kubepods-besteffort", "kubepods-guaranteed"}
	for _, q := range qos {
		add("cgroup/kubepods.slice/"+q+".slice/", 1<<28, 1<<29)
	}
	for i := range pods {
		q := qos[i%3]
		pod := fmt.Sprintf("cgroup/kubepods.slice/%s.slice/%s-pod%08x_1111_2222_3333_444455556666.slice/", q, q, i)
		add(pod, 1<<26, 1<<27)
		for c := range 3 {
			add(fmt.Sprintf("%scri-containerd-%064x.scope/", pod, i*3+c), 1<<24, 1<<25)
		}
	}
	return v
}

func BenchmarkLoad1000Cgroups(b *testing.B) {
	v := syntheticNode(250)
	b.ReportAllocs()
	for b.Loop() {
		tr, probs := Load(v, 0)
		if len(tr.Nodes) < 1000 || len(probs) != 0 {
			b.Fatalf("%d nodes, %v", len(tr.Nodes), probs)
		}
	}
}

func TestSyntheticNodeSize(t *testing.T) {
	tr, probs := Load(syntheticNode(250), 0)
	if len(probs) != 0 {
		t.Fatal(probs)
	}
	checkTreeInvariants(t, tr)
	// root + kubepods + 3 QoS + 250 pods + 750 containers
	if len(tr.Nodes) != 1005 {
		t.Errorf("%d nodes, want 1005", len(tr.Nodes))
	}
}
