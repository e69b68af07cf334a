package main

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"time"
)

// collector is what a registry gathers from, like prometheus.Collector.
type collector interface {
	Collect(ch chan<- metric)
}

// metric is one sample with its label pairs.
type metric struct {
	family string
	help   string
	labels map[string]string
	value  float64
}

// metricFamily groups samples of one name, sorted for rendering.
type metricFamily struct {
	name, help string
	metrics    []metric
}

// registry is built fresh for every /metrics request (no caching), as
// cAdvisor's handler does with prometheus.NewRegistry.
type registry struct {
	collectors []collector
}

func newRegistry() *registry { return &registry{} }

func (r *registry) register(c collector) { r.collectors = append(r.collectors, c) }

// Gather runs every collector and groups the samples by family. Like
// client_golang's Gather it holds every sample until all collectors are
// done, so a slow collector keeps the whole scrape's memory alive.
func (r *registry) Gather() []metricFamily {
	ch := make(chan metric, 1024)
	done := make(chan struct{})
	byName := map[string]*metricFamily{}
	go func() {
		for m := range ch {
			f, ok := byName[m.family]
			if !ok {
				f = &metricFamily{name: m.family, help: m.help}
				byName[m.family] = f
			}
			f.metrics = append(f.metrics, m)
		}
		close(done)
	}()
	for _, c := range r.collectors {
		c.Collect(ch)
	}
	close(ch)
	<-done
	out := make([]metricFamily, 0, len(byName))
	for _, f := range byName {
		out = append(out, *f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// containerSpec and containerStats mirror the per-container info cAdvisor
// returns from GetRequestedContainersInfo: a spec with label and env maps
// and a history of stats samples.
type containerSpec struct {
	id, name, image string
	labels          map[string]string
	env             map[string]string
	creation        time.Time
	memoryLimit     uint64
}

type containerStats struct {
	timestamp                                 time.Time
	cpuUsageTotal, cpuUsageUser, cpuUsageSys  uint64
	perCPU                                    []uint64
	memUsage, memWorkingSet, memRSS, memCache uint64
	memFailcnt                                uint64
	netRx, netTx                              uint64
	fsUsage, fsInodes                         uint64
	diskIO                                    map[string]uint64
}

type containerInfo struct {
	spec  containerSpec
	stats []*containerStats
}

// containerCollector exports per-container metrics.
type containerCollector struct {
	agent *agent
}

func (c *containerCollector) Collect(ch chan<- metric) {
	infos := c.agent.collectContainersInfo()
	for _, info := range infos {
		last := info.stats[len(info.stats)-1]
		base := containerLabels(info.spec)
		emit := func(name, help string, v uint64) {
			ch <- metric{family: name, help: help, labels: base, value: float64(v)}
		}
		emit("container_memory_usage_bytes", "Current memory usage in bytes, including all memory regardless of when it was accessed", last.memUsage)
		emit("container_memory_working_set_bytes", "Current working set in bytes.", last.memWorkingSet)
		emit("container_memory_rss", "Size of RSS in bytes.", last.memRSS)
		emit("container_memory_cache", "Number of bytes of page cache memory.", last.memCache)
		emit("container_memory_failcnt", "Number of memory usage hits limits", last.memFailcnt)
		emit("container_spec_memory_limit_bytes", "Memory limit for the container.", info.spec.memoryLimit)
		emit("container_fs_usage_bytes", "Number of bytes that are consumed by the container on this filesystem.", last.fsUsage)
		emit("container_fs_inodes_total", "Number of Inodes", last.fsInodes)
		emit("container_network_receive_bytes_total", "Cumulative count of bytes received", last.netRx)
		emit("container_network_transmit_bytes_total", "Cumulative count of bytes transmitted", last.netTx)
		emit("container_cpu_usage_seconds_total", "Cumulative cpu time consumed in seconds.", last.cpuUsageTotal/1e9)
	}
}

// containerLabels builds the label set cAdvisor attaches to every sample:
// id, image, name plus one container_label_* per container label.
func containerLabels(s containerSpec) map[string]string {
	l := map[string]string{"id": "/kubepods/burstable/pod" + s.id[:8] + "/" + s.id, "image": s.image, "name": s.name}
	for k, v := range s.labels {
		l["container_label_"+sanitizeLabel(k)] = v
	}
	for k, v := range s.env {
		l["container_env_"+sanitizeLabel(k)] = v
	}
	return l
}

func sanitizeLabel(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			b[i] = '_'
		}
	}
	return string(b)
}

// collectContainersInfo allocates a full snapshot of every container (spec,
// labels, stats history) and then measures each container's disk usage
// while the snapshot is held — the shape of cAdvisor's
// collectContainersInfo → GetRequestedContainersInfo("/", Recursive).
func (a *agent) collectContainersInfo() []*containerInfo {
	now := a.now()
	infos := make([]*containerInfo, 0, a.cfg.containers)
	for i := 0; i < a.cfg.containers; i++ {
		infos = append(infos, buildContainerInfo(i, now, a.cfg.history))
	}
	for i, d := range a.dirs {
		bytes, inodes := a.measureContainerFs(d)
		if len(infos) == 0 {
			continue
		}
		info := infos[i%len(infos)]
		info.stats[len(info.stats)-1].fsUsage = bytes
		info.stats[len(info.stats)-1].fsInodes = inodes
	}
	return infos
}

// buildContainerInfo fills one container's spec and stats history.
func buildContainerInfo(i int, now time.Time, history int) *containerInfo {
	id := fmt.Sprintf("%064x", uint64(i)*0x9e3779b97f4a7c15+1)
	spec := containerSpec{
		id: id, name: "k8s_app-" + strconv.Itoa(i) + "_app-" + strconv.Itoa(i) + "-7d9c8b6f5-x2x9k_default_" + id[:8] + "_0",
		image:  "registry.example.com/team/app-" + strconv.Itoa(i%17) + ":v1." + strconv.Itoa(i%9),
		labels: map[string]string{}, env: map[string]string{},
		creation: now.Add(-time.Duration(i) * time.Hour), memoryLimit: 1 << 30,
	}
	for k := 0; k < 24; k++ {
		spec.labels["io.kubernetes.label."+strconv.Itoa(k)] = "value-" + strconv.Itoa(i) + "-" + strconv.Itoa(k)
	}
	for k := 0; k < 12; k++ {
		spec.env["ENV_"+strconv.Itoa(k)] = "setting-" + strconv.Itoa(k*i)
	}
	info := &containerInfo{spec: spec, stats: make([]*containerStats, 0, history)}
	for s := 0; s < history; s++ {
		st := &containerStats{
			timestamp:     now.Add(-time.Duration(history-s) * time.Second),
			cpuUsageTotal: uint64(s) * 1e7, perCPU: make([]uint64, 16),
			memUsage: uint64(200<<20 + s*4096), memWorkingSet: uint64(180<<20 + s*4096), memRSS: 150 << 20, memCache: 50 << 20,
			diskIO: map[string]uint64{"253:0": uint64(s) * 4096, "253:1": uint64(s) * 512},
		}
		info.stats = append(info.stats, st)
	}
	return info
}

// renderText writes the Prometheus text exposition format.
func renderText(buf *bytes.Buffer, families []metricFamily) {
	for _, f := range families {
		fmt.Fprintf(buf, "# HELP %s %s\n# TYPE %s gauge\n", f.name, f.help, f.name)
		for _, m := range f.metrics {
			keys := make([]string, 0, len(m.labels))
			for k := range m.labels {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			buf.WriteString(f.name)
			buf.WriteByte('{')
			for i, k := range keys {
				if i > 0 {
					buf.WriteByte(',')
				}
				fmt.Fprintf(buf, "%s=%q", k, m.labels[k])
			}
			buf.WriteString("} ")
			buf.WriteString(strconv.FormatFloat(m.value, 'g', -1, 64))
			buf.WriteByte('\n')
		}
	}
}
