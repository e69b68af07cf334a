package series

import (
	"bytes"
	"testing"
)

func FuzzReadCgroups(f *testing.F) {
	f.Add([]byte(cgroupsV1))
	f.Add([]byte(nodeTSV))
	f.Add([]byte("ts_ms\tcgroup\n\n1\t\"\\x\"\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, _, err := ReadCgroups(bytes.NewReader(b), "series/cgroups.tsv.gz", Options{})
		if err == nil {
			for _, tr := range ts {
				for _, pts := range tr.Metrics {
					for i := 1; i < len(pts); i++ {
						if pts[i].T <= pts[i-1].T {
							t.Fatalf("points out of order: %v", pts)
						}
					}
					Fit(pts)
				}
			}
		}
		ReadNode(bytes.NewReader(b), "series/node.tsv.gz", Options{})
		ReadEvents(bytes.NewReader(b), "series/events.tsv.gz", Options{})
	})
}

func FuzzReadRange(f *testing.F) {
	f.Add([]byte(rangeAnswer))
	f.Add([]byte(`[{"metric":{"namespace":"a","pod":"p"},"values":[[1,"NaN"],[2,"1e308"],[3,"-1"]]}]`))
	f.Add([]byte(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"2"]}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		LooksLikeRangeQuery(b)
		nodes, tracks, _, err := ReadRange(bytes.NewReader(b), "series/prometheus/f.json", Options{NowMS: 1_800_000_000_000})
		if err != nil {
			return
		}
		for _, tr := range append(nodes, tracks...) {
			for _, pts := range tr.Metrics {
				if tr, ok := Fit(pts); ok {
					tr.Reaches(1e12)
				}
			}
		}
	})
}

func FuzzReadSummary(f *testing.F) {
	f.Add([]byte(summaryTSV))
	f.Add([]byte(cgroupsV1))
	f.Add([]byte("ts_ms\tpod\tpod_uid\tcontainer\tworkingSetBytes\n1\t\"\\q\"\tx\t\t1e400\n2\tp\t\t\tNaN\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		sum, _, err := ReadSummary(bytes.NewReader(b), "series/kubelet-summary.tsv.gz", Options{NowMS: 1_800_000_000_000})
		if err != nil {
			return
		}
		set := &Set{Summary: sum}
		for _, tr := range sum.Tracks {
			set.Attach(newTrack(tr.Key, ""))
			for _, pts := range tr.Metrics {
				for i := 1; i < len(pts); i++ {
					if pts[i].T <= pts[i-1].T {
						t.Fatalf("points out of order: %v", pts)
					}
				}
			}
		}
		sum.attachPods([]*Track{newTrack(Key{Cgroup: "/kubepods/pod" + summaryUID}, "")})
	})
}
