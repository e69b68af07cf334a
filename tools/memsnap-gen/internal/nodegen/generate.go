package nodegen

import (
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/memsnap/memsnap/bundle"
)

// Stats counts what a generation wrote, for the command's summary line.
type Stats struct {
	Files, Cgroups, Pods, Containers, OOMKills int
	Bytes                                      int64
}

// sink receives the node's files under their bundle paths.
type sink interface {
	put(source, name string, data []byte) error
}

// WriteBundle writes the node described by opt as a gzip-compressed bundle
// (DESIGN §2) to out, manifest.json last with the sha256 of every file.
func WriteBundle(out io.Writer, opt Options) (Stats, error) {
	if err := opt.defaults(); err != nil {
		return Stats{}, err
	}
	n := newNode(opt)
	w, err := bundle.NewWriter(out, bundle.WriterOptions{ModTime: n.created})
	if err != nil {
		return Stats{}, err
	}
	bs := &bundleSink{w: w, sources: map[string]*bundle.Source{}}
	st, err := n.emit(bs)
	if err != nil {
		return st, err
	}
	m := &bundle.Manifest{
		Collector: bundle.Collector{Name: "memsnap-gen", Version: "0.1.0", Mode: "binary"},
		Created:   n.created.Format(time.RFC3339),
		Node: bundle.NodeInfo{
			Hostname: strings.SplitN(n.name, ".", 2)[0], NodeName: n.name, Kernel: "6.8.0-1015-aws",
			CgroupMode: map[int]string{1: "legacy", 2: "unified"}[opt.CgroupVersion], CgroupVersion: opt.CgroupVersion,
			CgroupDriver: opt.Driver, PageSize: 4096, MemTotalBytes: n.memTotal, BootTime: n.boot.Format(time.RFC3339),
		},
	}
	for _, name := range bs.order {
		m.Sources = append(m.Sources, *bs.sources[name])
	}
	if err := w.Close(m); err != nil {
		return st, err
	}
	return st, nil
}

type bundleSink struct {
	w       *bundle.Writer
	sources map[string]*bundle.Source
	order   []string
}

func (s *bundleSink) put(source, name string, data []byte) error {
	src := s.sources[source]
	if src == nil {
		src = &bundle.Source{Name: source, Paths: []string{source + "/"}, Status: bundle.StatusOK, Started: "2026-11-23T09:59:58Z", DurationMS: 10}
		s.sources[source] = src
		s.order = append(s.order, source)
	}
	src.Files++
	src.Bytes += int64(len(data))
	if _, err := s.w.AddBytes(name, data); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// emit hands every file of the node to s, in a fixed order.
func (n *node) emit(s sink) (Stats, error) {
	var st Stats
	put := func(source, name string, data []byte) error {
		st.Files++
		st.Bytes += int64(len(data))
		return s.put(source, name, data)
	}
	for _, f := range n.nodeFiles() {
		if err := put(bundle.SourceNode, "node/"+f.name, []byte(f.content)); err != nil {
			return st, err
		}
	}
	for _, c := range n.cgroups {
		st.Cgroups++
		for _, f := range n.cgroupFiles(c) {
			if err := put(bundle.SourceCgroup, path.Join("cgroup", c.path, f.name), []byte(f.content)); err != nil {
				return st, err
			}
		}
	}
	pods, err := n.podsJSON()
	if err != nil {
		return st, err
	}
	summary, err := n.summaryJSON()
	if err != nil {
		return st, err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{
		{bundle.KubeletSummary, summary}, {bundle.KubeletPods, pods}, {bundle.KubeletConfigz, n.configzJSON()},
		{bundle.KubeletFlags, []byte(n.kubeletFlags())}, {bundle.KubeletVersion, []byte("Kubernetes v1.29.4\n")},
		{bundle.KubeletMetricsCadvisor, n.cadvisorMetrics()}, {bundle.KubeletMetricsResource, n.resourceMetrics()},
	} {
		if err := put(bundle.SourceKubelet, f.name, f.data); err != nil {
			return st, err
		}
	}
	for i := 0; i < n.opt.HeapProfiles; i++ {
		target := heapTarget(i)
		prof, err := n.heapProfile(target)
		if err != nil {
			return st, err
		}
		if err := put(bundle.SourcePprof, "pprof/"+target+"/heap.pb.gz", prof); err != nil {
			return st, err
		}
		meta := fmt.Sprintf(`{"name":%q,"url":"http://127.0.0.1:%d/debug/pprof/heap","pid":%d,"started":"2026-11-23T09:59:59Z","duration_ms":120,"bytes":%d,"truncated":false}`,
			target, 6060+i, 900+i, len(prof))
		if err := put(bundle.SourcePprof, "pprof/"+target+"/target.json", []byte(meta)); err != nil {
			return st, err
		}
	}
	if err := put(bundle.SourceLogs, bundle.KernelLog, n.kernelLog()); err != nil {
		return st, err
	}
	if err := put(bundle.SourceLogs, bundle.PodsIndex, []byte(n.podsIndex())); err != nil {
		return st, err
	}
	for _, p := range n.pods {
		st.Pods++
		for _, c := range p.Containers {
			st.Containers++
			for _, f := range n.procFiles(c) {
				if err := put(bundle.SourceProc, fmt.Sprintf("proc/%d/%s", c.PID, f.name), []byte(f.content)); err != nil {
					return st, err
				}
			}
		}
	}
	st.OOMKills = len(n.oomVictim)
	return st, nil
}
