package promtext

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// cadvisorFamilies is a standalone cAdvisor scrape's family list
// (google/cadvisor@v0.49.0:metrics/prometheus.go): 63 families, 17 of them
// memory series per container.
var cadvisorFamilies = []struct {
	name, typ string
	dims      []string // extra label sets per container ("" = none)
}{
	{"container_blkio_device_usage_total", "counter", []string{`device="/dev/sda",major="8",minor="0",operation="Read"`, `device="/dev/sda",major="8",minor="0",operation="Write"`}},
	{"container_cpu_cfs_periods_total", "counter", nil},
	{"container_cpu_cfs_throttled_periods_total", "counter", nil},
	{"container_cpu_cfs_throttled_seconds_total", "counter", nil},
	{"container_cpu_load_average_10s", "gauge", nil},
	{"container_cpu_system_seconds_total", "counter", nil},
	{"container_cpu_usage_seconds_total", "counter", []string{`cpu="total"`}},
	{"container_cpu_user_seconds_total", "counter", nil},
	{"container_file_descriptors", "gauge", nil},
	{"container_fs_inodes_free", "gauge", []string{`device="/dev/sda1"`}},
	{"container_fs_inodes_total", "gauge", []string{`device="/dev/sda1"`}},
	{"container_fs_io_current", "gauge", []string{`device="/dev/sda1"`}},
	{"container_fs_io_time_seconds_total", "counter", []string{`device="/dev/sda1"`}},
	{"container_fs_io_time_weighted_seconds_total", "counter", []string{`device="/dev/sda1"`}},
	{"container_fs_limit_bytes", "gauge", []string{`device="/dev/sda1"`}},
	{"container_fs_read_seconds_total", "counter", []string{`device="/dev/sda1"`}},
	{"container_fs_reads_bytes_total", "counter", []string{`device="/dev/sda1"`}},
	{"container_fs_reads_merged_total", "counter", []string{`device="/dev/sda1"`}},
	{"container_fs_reads_total", "counter", []string{`device="/dev/sda1"`}},
	{"container_fs_sector_reads_total", "counter", []string{`device="/dev/sda1"`}},
	{"container_fs_sector_writes_total", "counter", []string{`device="/dev/sda1"`}},
	{"container_fs_usage_bytes", "gauge", []string{`device="/dev/sda1"`}},
	{"container_fs_write_seconds_total", "counter", []string{`device="/dev/sda1"`}},
	{"container_fs_writes_bytes_total", "counter", []string{`device="/dev/sda1"`}},
	{"container_fs_writes_merged_total", "counter", []string{`device="/dev/sda1"`}},
	{"container_fs_writes_total", "counter", []string{`device="/dev/sda1"`}},
	{"container_last_seen", "gauge", nil},
	{"container_memory_cache", "gauge", nil},
	{"container_memory_failcnt", "counter", nil},
	{"container_memory_failures_total", "counter", []string{`failure_type="pgfault",scope="container"`, `failure_type="pgfault",scope="hierarchy"`, `failure_type="pgmajfault",scope="container"`, `failure_type="pgmajfault",scope="hierarchy"`}},
	{"container_memory_kernel_usage", "gauge", nil},
	{"container_memory_mapped_file", "gauge", nil},
	{"container_memory_max_usage_bytes", "gauge", nil},
	{"container_memory_rss", "gauge", nil},
	{"container_memory_swap", "gauge", nil},
	{"container_memory_usage_bytes", "gauge", nil},
	{"container_memory_working_set_bytes", "gauge", nil},
	{"container_network_receive_bytes_total", "counter", []string{`interface="eth0"`}},
	{"container_network_receive_errors_total", "counter", []string{`interface="eth0"`}},
	{"container_network_receive_packets_dropped_total", "counter", []string{`interface="eth0"`}},
	{"container_network_receive_packets_total", "counter", []string{`interface="eth0"`}},
	{"container_network_transmit_bytes_total", "counter", []string{`interface="eth0"`}},
	{"container_network_transmit_errors_total", "counter", []string{`interface="eth0"`}},
	{"container_network_transmit_packets_dropped_total", "counter", []string{`interface="eth0"`}},
	{"container_network_transmit_packets_total", "counter", []string{`interface="eth0"`}},
	{"container_oom_events_total", "counter", nil},
	{"container_processes", "gauge", nil},
	{"container_sockets", "gauge", nil},
	{"container_spec_cpu_period", "gauge", nil},
	{"container_spec_cpu_quota", "gauge", nil},
	{"container_spec_cpu_shares", "gauge", nil},
	{"container_spec_memory_limit_bytes", "gauge", nil},
	{"container_spec_memory_reservation_limit_bytes", "gauge", nil},
	{"container_spec_memory_swap_limit_bytes", "gauge", nil},
	{"container_start_time_seconds", "gauge", nil},
	{"container_tasks_state", "gauge", []string{`state="iowaiting"`, `state="running"`, `state="sleeping"`, `state="stopped"`, `state="uninterruptible"`}},
	{"container_threads", "gauge", nil},
	{"container_threads_max", "gauge", nil},
	{"container_ulimits_soft", "gauge", []string{`ulimit="max_open_files"`}},
	{"container_spec_cpu_quota_extra", "gauge", nil},
	{"container_pressure_cpu_stalled_seconds_total", "counter", nil},
	{"container_pressure_memory_stalled_seconds_total", "counter", nil},
	{"container_pressure_memory_waiting_seconds_total", "counter", nil},
}

// generateCadvisor writes a standalone-cAdvisor-shaped exposition of about
// target bytes: 250 pods × 3 containers with systemd-driver ids, digests in
// images and the container_label_* labels cAdvisor copies from the runtime
// (the source of its long lines).
func generateCadvisor(target int) []byte {
	const containers = 750
	labels := make([]string, containers)
	for i := range labels {
		pod := fmt.Sprintf("%08x_%04x_%04x_%04x_%012x", i*7919, i, i*3, i*5, i*104729)
		ctr := fmt.Sprintf("%064x", uint64(i)*0x9e3779b97f4a7c15)
		labels[i] = fmt.Sprintf(`container="app-%d",container_label_io_kubernetes_container_name="app-%d",`+
			`container_label_io_kubernetes_pod_name="workload-%d-7c9f8d6b5-x2k4p",container_label_io_kubernetes_pod_namespace="team-%d",`+
			`container_label_io_kubernetes_pod_uid="%s",container_label_io_kubernetes_container_restart_count="0",`+
			`id="/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod%s.slice/cri-containerd-%s.scope",`+
			`image="registry.example.com/team-%d/service-%d@sha256:%064x",name="%s",namespace="team-%d",pod="workload-%d-7c9f8d6b5-x2k4p"`,
			i%3, i%3, i/3, i%40, strings.ReplaceAll(pod, "_", "-"), pod, ctr, i%40, i/3, uint64(i)*0xc2b2ae3d27d4eb4f, ctr, i%40, i/3)
	}
	var b bytes.Buffer
	for b.Len() < target {
		for _, f := range cadvisorFamilies {
			fmt.Fprintf(&b, "# HELP %s A cAdvisor metric.\n# TYPE %s %s\n", f.name, f.name, f.typ)
			dims := f.dims
			if dims == nil {
				dims = []string{""}
			}
			for i, l := range labels {
				for _, d := range dims {
					sep := ""
					if d != "" {
						sep = ","
					}
					fmt.Fprintf(&b, "%s{%s%s%s} %d 1711632089716\n", f.name, d, sep, l, i*4096+len(d))
				}
			}
		}
	}
	return b.Bytes()
}

var (
	benchOnce  sync.Once
	benchInput []byte
)

// BenchmarkParse measures a 40 MB cAdvisor scrape of the reference node
// (DESIGN §5). `go test -bench Parse -benchmem ./analyzer/internal/promtext/`
// reports MB/s and allocations.
func BenchmarkParse(b *testing.B) {
	benchOnce.Do(func() { benchInput = generateCadvisor(40 << 20) })
	b.SetBytes(int64(len(benchInput)))
	b.ReportAllocs()
	var m *Metrics
	for b.Loop() {
		var probs []Problem
		m, probs = Parse(bytes.NewReader(benchInput), MemoryFamilies)
		if len(probs) != 0 {
			b.Fatal(probs)
		}
	}
	b.ReportMetric(float64(m.Series), "series")
}
