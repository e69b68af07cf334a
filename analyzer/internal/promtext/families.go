package promtext

import "strings"

// memoryPrefixes and memoryNames are the metric families memsnap reads, from
// cAdvisor's exporter (google/cadvisor@v0.49.0:metrics/prometheus.go, plus
// HEAD's lib/metrics/prometheus.go additions such as
// container_memory_events_{high,max}_total and container_pressure_memory_*)
// and the kubelet's /metrics/resource endpoint
// (kubernetes/kubernetes:pkg/kubelet/metrics/collectors/resource_metrics.go),
// the one metrics-server ≥ v0.6.0 reads for `kubectl top` (DOMAIN §2.2, §2.5).
var memoryPrefixes = []string{
	"container_memory_",          // usage, working set, rss, cache, swap, failcnt, failures, events, …
	"container_spec_memory_",     // limit, reservation (soft limit / memory.min), swap limit
	"container_pressure_memory_", // PSI stalled/waiting seconds
}

var memoryNames = map[string]bool{
	"container_oom_events_total":    true,
	"machine_memory_bytes":          true, // cAdvisor's MemTotal: the node capacity kubelet reports
	"node_memory_working_set_bytes": true, // /metrics/resource
	"pod_memory_working_set_bytes":  true, // /metrics/resource
	"node_swap_usage_bytes":         true, // /metrics/resource, kubelet ≥ 1.28 swap support
	"pod_swap_usage_bytes":          true,
	"container_swap_usage_bytes":    true,
	"container_swap_limit_bytes":    true,
	"scrape_error":                  true, // /metrics/resource: 1 when the last stats fetch failed
	"container_scrape_error":        true, // /metrics/cadvisor: same, for cAdvisor's own scrape
}

// MemoryFamilies is the keep function for the families rules use. Pass it to
// Parse; anything else in a 40 MB cAdvisor scrape is dropped unparsed.
func MemoryFamilies(family string) bool {
	if memoryNames[family] {
		return true
	}
	for _, p := range memoryPrefixes {
		if strings.HasPrefix(family, p) {
			return true
		}
	}
	return false
}
