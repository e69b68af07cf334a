package nodegen

import (
	"bytes"
	"fmt"

	"github.com/google/pprof/profile"
)

// heapTargets are the processes whose heap profiles a collector on a busy
// node would take: the kubelet and the monitoring agents (DESIGN §2 pprof/).
var heapTargets = []string{"kubelet", "cadvisor", "node-exporter", "kube-state-metrics", "containerd", "fluent-bit"}

// heapProfile builds a Go heap profile (alloc_objects, alloc_space,
// inuse_objects, inuse_space, as runtime/pprof writes it) with a few hundred
// functions and a few thousand stacks, gzip-compressed by profile.Write.
func (n *node) heapProfile(target string) ([]byte, error) {
	p := &profile.Profile{
		SampleType: []*profile.ValueType{
			{Type: "alloc_objects", Unit: "count"}, {Type: "alloc_space", Unit: "bytes"},
			{Type: "inuse_objects", Unit: "count"}, {Type: "inuse_space", Unit: "bytes"},
		},
		DefaultSampleType: "inuse_space",
		PeriodType:        &profile.ValueType{Type: "space", Unit: "bytes"},
		Period:            512 * 1024,
		TimeNanos:         n.created.UnixNano(),
	}
	p.Mapping = []*profile.Mapping{{ID: 1, Start: 0x400000, Limit: 0x4000000, File: "/usr/bin/" + target, HasFunctions: true}}
	pkgs := []string{"net/http", "encoding/json", "bufio", "runtime", "github.com/google/cadvisor/manager", "github.com/prometheus/client_golang/prometheus",
		"k8s.io/kubernetes/pkg/kubelet/stats", "github.com/google/cadvisor/fs", "compress/gzip", "k8s.io/apimachinery/pkg/util/cache"}
	var locs []*profile.Location
	for i := 0; i < 300; i++ {
		fn := &profile.Function{ID: uint64(i + 1), Name: fmt.Sprintf("%s.(*worker%d).handle%d", pkgs[i%len(pkgs)], i%17, i), SystemName: "", Filename: fmt.Sprintf("%s/file%d.go", pkgs[i%len(pkgs)], i%23)}
		p.Function = append(p.Function, fn)
		loc := &profile.Location{ID: uint64(i + 1), Mapping: p.Mapping[0], Address: 0x400000 + uint64(i)*0x40, Line: []profile.Line{{Function: fn, Line: int64(10 + i%400)}}}
		p.Location = append(p.Location, loc)
		locs = append(locs, loc)
	}
	for s := 0; s < 3000; s++ {
		depth := 4 + n.rng.IntN(20)
		stack := make([]*profile.Location, depth)
		for d := range stack {
			stack[d] = locs[n.rng.IntN(len(locs))]
		}
		objs := int64(1 + n.rng.IntN(5000))
		size := int64(16 << n.rng.IntN(12))
		inuse := objs / int64(1+n.rng.IntN(10))
		p.Sample = append(p.Sample, &profile.Sample{Location: stack, Value: []int64{objs, objs * size, inuse, inuse * size},
			NumLabel: map[string][]int64{"bytes": {size}}})
	}
	var b bytes.Buffer
	if err := p.Write(&b); err != nil {
		return nil, fmt.Errorf("heap profile %s: %w", target, err)
	}
	return b.Bytes(), nil
}
