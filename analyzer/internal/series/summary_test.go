package series

import (
	"strings"
	"testing"

	"github.com/memsnap/memsnap/bundle"
)

const summaryUID = "0b9f5c1e-1111-2222-3333-444455556666"

// Two samples of the kubelet summary as the collector writes them, and a
// third where the kubelet did not answer in time.
const summaryTSV = "ts_ms\tstat_ms\tnode\tnamespace\tpod\tpod_uid\tcontainer\tworkingSetBytes\tusageBytes\trssBytes\tavailableBytes\terror\n" +
	"1000\t990\tn1\t\t\t\t\t6000000\t7000000\t\t2000000\t\n" +
	"1000\t990\tn1\tshop\tapi-0\t" + summaryUID + "\t\t300\t400\t\t\t\n" +
	"1000\t990\tn1\tshop\tapi-0\t" + summaryUID + "\tapi\t200\t300\t150\t\t\n" +
	"2000\t1990\tn1\t\t\t\t\t6500000\t7500000\t\t1500000\t\n" +
	"2000\t1990\tn1\tshop\tapi-0\t" + summaryUID + "\t\t350\t450\t\t\t\n" +
	"2000\t1990\tn1\tshop\tapi-0\t" + summaryUID + "\tapi\t250\t350\t180\t\t\n" +
	"3000\t\t\t\t\t\t\t\t\t\t\tGET http://127.0.0.1/stats/summary: cut at 250ms\n"

const summaryCgroups = "ts_ms\tcgroup\tmemory.current\tmemory.stat:inactive_file\n" +
	"1000\t/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + "0b9f5c1e_1111_2222_3333_444455556666" + ".slice\t500\t100\n" +
	"2000\t/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + "0b9f5c1e_1111_2222_3333_444455556666" + ".slice\t600\t100\n"

func TestLoadKubeletSummary(t *testing.T) {
	v := bundle.MapView{
		bundle.SeriesCgroups:        gz(summaryCgroups),
		bundle.SeriesNode:           gz(nodeTSV),
		bundle.SeriesKubeletSummary: gz(summaryTSV),
	}
	s := Load(v, Options{})
	if s.Summary == nil || s.Summary.Failed != 1 || len(s.Summary.Tracks) != 2 {
		t.Fatalf("summary %+v; problems %v", s.Summary, s.Problems)
	}
	if !strings.Contains(strings.Join(s.Problems, "\n"), "1 samples where the kubelet did not answer") {
		t.Errorf("failed sample not reported: %v", s.Problems)
	}
	// The node track has the kubelet's working set and available next to
	// the ones derived from meminfo.
	n := s.Node("")
	if ws := n.Get(KubeletWorkingSet); len(ws) != 2 || ws[1] != (Point{2000, 6500000}) {
		t.Errorf("node kubelet working set %v", ws)
	}
	if av, _ := n.Last(KubeletAvailable); av.V != 1500000 {
		t.Errorf("node kubelet available %v", av)
	}
	if len(n.Get(Available)) != 2 {
		t.Errorf("the node's own available is gone: %v", n.Metrics)
	}
	// The pod cgroup (systemd UID form) has the pod's summary next to its
	// cgroup working set (usage − inactive_file).
	if len(s.Tracks) != 1 {
		t.Fatalf("tracks %d (summary tracks must not be counted twice)", len(s.Tracks))
	}
	pod := s.Tracks[0]
	if ws, _ := pod.Last(WorkingSet); ws.V != 500 {
		t.Errorf("pod cgroup working set %v", ws)
	}
	if ws := pod.Get(KubeletWorkingSet); len(ws) != 2 || ws[1].V != 350 {
		t.Errorf("pod kubelet working set %v", ws)
	}
	// A container track named by the snapshot gets its container's.
	ctr := newTrack(Key{Namespace: "shop", Pod: "api-0", Container: "api", Cgroup: "/x"}, bundle.SeriesCgroups)
	if !s.Attach(ctr) {
		t.Fatal("Attach found no summary for shop/api-0/api")
	}
	if rss, _ := ctr.Last(KubeletRSS); rss.V != 180 {
		t.Errorf("container kubelet rss %v", rss)
	}
	if s.Attach(newTrack(Key{Namespace: "shop", Pod: "api-0", Container: "sidecar"}, "")) {
		t.Error("Attach matched a container the summary does not have")
	}
}

// TestLoadKubeletSummaryOnly: a watch whose node series is unreadable
// still gets a node track from the summary.
func TestLoadKubeletSummaryOnly(t *testing.T) {
	s := Load(bundle.MapView{bundle.SeriesKubeletSummary: gz(summaryTSV)}, Options{})
	if n := s.Node(""); n == nil || n.Key.Node != "n1" || len(n.Get(KubeletUsage)) != 2 {
		t.Fatalf("node %+v; problems %v", n, s.Problems)
	}
}
