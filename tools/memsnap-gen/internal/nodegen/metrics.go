package nodegen

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// family is one cAdvisor metric family (google/cadvisor metrics/prometheus.go)
// with the extra label dimensions that multiply its series.
type family struct {
	name, typ, help string
	extra           []string // extra label sets appended after the common ones, "" = none
	scope           string   // "all", "pods" (network: sandboxes only), "containers"
	value           func(n *node, c *cgroup, k int) float64
}

func (n *node) metricFamilies() []family {
	devs := make([]string, n.opt.MetricsDeviceFans)
	for i := range devs {
		devs[i] = fmt.Sprintf(`device="/dev/nvme%dn1"`, i)
	}
	fs := func(name, typ, help string) family {
		return family{name: name, typ: typ, help: help, extra: devs, scope: "all", value: func(n *node, c *cgroup, k int) float64 {
			return float64((c.tree.total()>>12)*int64(k+1) + int64(len(c.path)))
		}}
	}
	mem := func(name, help string, f func(u usage) int64) family {
		return family{name: name, typ: "gauge", help: help, extra: []string{""}, scope: "all", value: func(n *node, c *cgroup, k int) float64 { return float64(f(c.tree)) }}
	}
	counter := func(name, help string, extra []string) family {
		return family{name: name, typ: "counter", help: help, extra: extra, scope: "all", value: func(n *node, c *cgroup, k int) float64 { return float64(c.tree.total()>>(10+k)) + 0.125 }}
	}
	net := func(name, help string) family {
		return family{name: name, typ: "counter", help: help, extra: []string{`interface="eth0"`}, scope: "pods", value: func(n *node, c *cgroup, k int) float64 { return float64(c.tree.total() >> 4) }}
	}
	one := []string{""}
	fams := []family{
		counter("container_cpu_cfs_periods_total", "Number of elapsed enforcement period intervals.", one),
		counter("container_cpu_cfs_throttled_periods_total", "Number of throttled period intervals.", one),
		counter("container_cpu_cfs_throttled_seconds_total", "Total time duration the container has been throttled.", one),
		counter("container_cpu_load_average_10s", "Value of container cpu load average over the last 10 seconds.", one),
		counter("container_cpu_system_seconds_total", "Cumulative system cpu time consumed in seconds.", one),
		counter("container_cpu_usage_seconds_total", "Cumulative cpu time consumed in seconds.", []string{`cpu="total"`}),
		counter("container_cpu_user_seconds_total", "Cumulative user cpu time consumed in seconds.", one),
		counter("container_file_descriptors", "Number of open file descriptors for the container.", one),
		fs("container_fs_inodes_free", "gauge", "Number of available Inodes"),
		fs("container_fs_inodes_total", "gauge", "Number of Inodes"),
		fs("container_fs_io_current", "gauge", "Number of I/Os currently in progress"),
		fs("container_fs_io_time_seconds_total", "counter", "Cumulative count of seconds spent doing I/Os"),
		fs("container_fs_io_time_weighted_seconds_total", "counter", "Cumulative weighted I/O time in seconds"),
		fs("container_fs_limit_bytes", "gauge", "Number of bytes that can be consumed by the container on this filesystem."),
		fs("container_fs_read_seconds_total", "counter", "Cumulative count of seconds spent reading"),
		fs("container_fs_reads_bytes_total", "counter", "Cumulative count of bytes read"),
		fs("container_fs_reads_merged_total", "counter", "Cumulative count of reads merged"),
		fs("container_fs_reads_total", "counter", "Cumulative count of reads completed"),
		fs("container_fs_sector_reads_total", "counter", "Cumulative count of sector reads completed"),
		fs("container_fs_sector_writes_total", "counter", "Cumulative count of sector writes completed"),
		fs("container_fs_usage_bytes", "gauge", "Number of bytes that are consumed by the container on this filesystem."),
		fs("container_fs_write_seconds_total", "counter", "Cumulative count of seconds spent writing"),
		fs("container_fs_writes_bytes_total", "counter", "Cumulative count of bytes written"),
		fs("container_fs_writes_merged_total", "counter", "Cumulative count of writes merged"),
		fs("container_fs_writes_total", "counter", "Cumulative count of writes completed"),
		family{name: "container_last_seen", typ: "gauge", help: "Last time a container was seen by the exporter", extra: one, scope: "all", value: func(n *node, c *cgroup, k int) float64 { return float64(n.created.Unix()) }},
		mem("container_memory_cache", "Number of bytes of page cache memory.", usage.file),
		mem("container_memory_failcnt", "Number of memory usage hits limits", func(u usage) int64 { return u.failcnt }),
		{name: "container_memory_failures_total", typ: "counter", help: "Cumulative count of memory allocation failures.",
			extra: []string{`failure_type="pgfault",scope="container"`, `failure_type="pgfault",scope="hierarchy"`, `failure_type="pgmajfault",scope="container"`, `failure_type="pgmajfault",scope="hierarchy"`},
			scope: "all", value: func(n *node, c *cgroup, k int) float64 { return float64(c.tree.total()/2048 + int64(k)) }},
		mem("container_memory_mapped_file", "Size of memory mapped files in bytes.", func(u usage) int64 { return u.file() / 10 &^ 4095 }),
		mem("container_memory_max_usage_bytes", "Maximum memory usage recorded in bytes", func(u usage) int64 { return u.total() + u.total()/20&^4095 }),
		mem("container_memory_rss", "Size of RSS in bytes.", func(u usage) int64 { return u.anon }),
		mem("container_memory_swap", "Container swap usage in bytes.", func(u usage) int64 { return 0 }),
		mem("container_memory_usage_bytes", "Current memory usage in bytes, including all memory regardless of when it was accessed", usage.total),
		mem("container_memory_working_set_bytes", "Current working set in bytes.", func(u usage) int64 { return u.total() - u.inactiveFile }),
		net("container_network_receive_bytes_total", "Cumulative count of bytes received"),
		net("container_network_receive_errors_total", "Cumulative count of errors encountered while receiving"),
		net("container_network_receive_packets_dropped_total", "Cumulative count of packets dropped while receiving"),
		net("container_network_receive_packets_total", "Cumulative count of packets received"),
		net("container_network_transmit_bytes_total", "Cumulative count of bytes transmitted"),
		net("container_network_transmit_errors_total", "Cumulative count of errors encountered while transmitting"),
		net("container_network_transmit_packets_dropped_total", "Cumulative count of packets dropped while transmitting"),
		net("container_network_transmit_packets_total", "Cumulative count of packets transmitted"),
		counter("container_processes", "Number of processes running inside the container.", one),
		counter("container_sockets", "Number of open sockets for the container.", one),
		counter("container_spec_cpu_period", "CPU period of the container.", one),
		counter("container_spec_cpu_shares", "CPU share of the container.", one),
		mem("container_spec_memory_limit_bytes", "Memory limit for the container.", func(u usage) int64 { return 0 }),
		mem("container_spec_memory_reservation_limit_bytes", "Memory reservation limit for the container.", func(u usage) int64 { return 0 }),
		mem("container_spec_memory_swap_limit_bytes", "Memory swap limit for the container.", func(u usage) int64 { return 0 }),
		counter("container_start_time_seconds", "Start time of the container since unix epoch in seconds.", one),
		{name: "container_tasks_state", typ: "gauge", help: "Number of tasks in given state",
			extra: []string{`state="iowaiting"`, `state="running"`, `state="sleeping"`, `state="stopped"`, `state="uninterruptible"`},
			scope: "all", value: func(n *node, c *cgroup, k int) float64 { return float64(k % 2) }},
		counter("container_threads", "Number of threads running inside the container", one),
		counter("container_threads_max", "Maximum number of threads allowed inside the container, infinity if value is zero", one),
	}
	return fams
}

// seriesLabels are the labels kubelet's cAdvisor endpoint puts on a cgroup's
// series: container, id, image, name, namespace, pod. Cgroups outside pods
// carry empty values for all but id.
type seriesLabels struct {
	c                               *cgroup
	container, image, name, ns, pod string
	sandbox                         bool
}

func (n *node) seriesSet() []seriesLabels {
	byCgroup := map[*cgroup]seriesLabels{}
	for _, p := range n.pods {
		byCgroup[p.Cgroup] = seriesLabels{c: p.Cgroup, ns: p.Namespace, pod: p.Name}
		byCgroup[p.Sandbox.Cgroup] = seriesLabels{c: p.Sandbox.Cgroup, image: p.Sandbox.Image, name: p.Sandbox.ID, ns: p.Namespace, pod: p.Name, sandbox: true}
		for _, c := range p.Containers {
			byCgroup[c.Cgroup] = seriesLabels{c: c.Cgroup, container: c.Name, image: c.Image, name: c.ID, ns: p.Namespace, pod: p.Name}
		}
	}
	out := make([]seriesLabels, 0, len(n.cgroups))
	for _, c := range n.cgroups {
		s, ok := byCgroup[c]
		if !ok {
			s = seriesLabels{c: c}
		}
		out = append(out, s)
	}
	return out
}

// cadvisorMetrics renders kubelet/metrics-cadvisor.prom: every family for
// every cgroup, each sample with a millisecond timestamp as kubelet writes it.
func (n *node) cadvisorMetrics() []byte {
	var b bytes.Buffer
	b.Grow(len(n.cgroups) * 40 << 10)
	ts := strconv.FormatInt(n.created.UnixMilli(), 10)
	series := n.seriesSet()
	fmt.Fprintf(&b, "# HELP cadvisor_version_info A metric with a constant '1' value labeled by kernel version, OS version, docker version, cadvisor version & cadvisor revision.\n# TYPE cadvisor_version_info gauge\n")
	fmt.Fprintf(&b, "cadvisor_version_info{cadvisorRevision=\"\",cadvisorVersion=\"\",dockerVersion=\"\",kernelVersion=\"6.8.0-1015-aws\",osVersion=\"Ubuntu 22.04.4 LTS\"} 1\n")
	var lb strings.Builder
	for _, f := range n.metricFamilies() {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", f.name, f.help, f.name, f.typ)
		for _, s := range series {
			if f.scope == "pods" && !s.sandbox {
				continue
			}
			lb.Reset()
			fmt.Fprintf(&lb, `container=%q,`, s.container)
			for k, extra := range f.extra {
				b.WriteString(f.name)
				b.WriteByte('{')
				b.WriteString(lb.String())
				if extra != "" {
					b.WriteString(extra)
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, `id="/%s",image=%q,name=%q,namespace=%q,pod=%q} `, s.c.path, s.image, s.name, s.ns, s.pod)
				v := f.value(n, s.c, k)
				if strings.HasPrefix(f.name, "container_spec_memory_limit_bytes") {
					v = float64(s.c.limit)
				}
				b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
				b.WriteByte(' ')
				b.WriteString(ts)
				b.WriteByte('\n')
			}
		}
	}
	fmt.Fprintf(&b, "# HELP machine_memory_bytes Amount of memory installed on the machine.\n# TYPE machine_memory_bytes gauge\nmachine_memory_bytes %d\n", n.memTotal)
	return b.Bytes()
}

// resourceMetrics is kubelet/metrics-resource.prom (/metrics/resource):
// the working sets the metrics-server serves to `kubectl top`.
func (n *node) resourceMetrics() []byte {
	var b bytes.Buffer
	ts := strconv.FormatInt(n.created.UnixMilli(), 10)
	b.WriteString("# HELP container_memory_working_set_bytes [STABLE] Current working set of the container in bytes\n# TYPE container_memory_working_set_bytes gauge\n")
	for _, p := range n.pods {
		for _, c := range p.Containers {
			fmt.Fprintf(&b, "container_memory_working_set_bytes{container=%q,namespace=%q,pod=%q} %d %s\n", c.Name, p.Namespace, p.Name, c.Cgroup.tree.total()-c.Cgroup.tree.inactiveFile, ts)
		}
	}
	b.WriteString("# HELP node_memory_working_set_bytes [STABLE] Current working set of the node in bytes\n# TYPE node_memory_working_set_bytes gauge\n")
	root := n.byPath[""].tree
	fmt.Fprintf(&b, "node_memory_working_set_bytes %d %s\n", root.total()-root.inactiveFile, ts)
	return b.Bytes()
}
