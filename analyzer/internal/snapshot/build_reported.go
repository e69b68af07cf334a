package snapshot

import (
	"fmt"
	"math"

	"github.com/memsnap/memsnap/analyzer/internal/promtext"
	"github.com/memsnap/memsnap/bundle"
)

// Reported is what the kubelet and cAdvisor said about a pod or container,
// each number with the file and key it came from: the numbers a workload has
// when the bundle holds no cgroup tree (kubectl-only evidence). nil = not
// stated; never a zero that was not measured.
type Reported struct {
	Usage, WorkingSet, RSS, Cache, Limit *Figure
	Unlimited                            bool
}

// Any reports whether any number is known.
func (r *Reported) Any() bool {
	return r != nil && (r.Usage != nil || r.WorkingSet != nil || r.RSS != nil || r.Cache != nil || r.Limit != nil || r.Unlimited)
}

// buildReported fills Pod.Reported and Container.Reported from the summary
// and the kubelet's cAdvisor metrics (container_memory_* by namespace, pod
// and container label; google/cadvisor metrics/prometheus.go).
func (s *Snapshot) buildReported() {
	cad := s.Metrics[bundle.KubeletMetricsCadvisor]
	if cad == nil {
		cad = s.Metrics[bundle.CadvisorMetrics]
	}
	for _, p := range s.Pods {
		r := &Reported{}
		if st := p.Stats; st != nil && st.Memory != nil {
			key := fmt.Sprintf("pods[%s/%s].memory.", p.Namespace, p.Name)
			r.Usage = u64Figure(st.Memory.UsageBytes, bundle.KubeletSummary, key+"usageBytes")
			r.WorkingSet = u64Figure(st.Memory.WorkingSetBytes, bundle.KubeletSummary, key+"workingSetBytes")
			r.RSS = u64Figure(st.Memory.RSSBytes, bundle.KubeletSummary, key+"rssBytes")
		}
		s.fromCadvisor(r, cad, p.Namespace, p.Name, "")
		if sp := p.Spec; sp != nil && r.Limit == nil && !r.Unlimited && len(sp.Containers) > 0 {
			// The pod spec's limits, summed as the kubelet sizes the pod
			// cgroup (kube.podMemory); none is unlimited.
			if sp.MemoryLimit != nil {
				r.Limit = &Figure{Bytes: *sp.MemoryLimit, File: sp.File, Key: "spec.containers[*].resources.limits.memory"}
			} else {
				r.Unlimited = true
			}
		}
		p.Reported = r
		for _, c := range p.Containers {
			cr := &Reported{}
			if st := c.Stats; st != nil && st.Memory != nil {
				key := fmt.Sprintf("pods[%s/%s].containers[%s].memory.", p.Namespace, p.Name, c.Name)
				cr.Usage = u64Figure(st.Memory.UsageBytes, bundle.KubeletSummary, key+"usageBytes")
				cr.WorkingSet = u64Figure(st.Memory.WorkingSetBytes, bundle.KubeletSummary, key+"workingSetBytes")
				cr.RSS = u64Figure(st.Memory.RSSBytes, bundle.KubeletSummary, key+"rssBytes")
			}
			if c.Name != "" && !c.Sandbox {
				s.fromCadvisor(cr, cad, p.Namespace, p.Name, c.Name)
			}
			if sc := c.Spec; sc != nil && cr.Limit == nil && !cr.Unlimited && p.Spec != nil {
				if sc.MemoryLimit != nil {
					cr.Limit = &Figure{Bytes: *sc.MemoryLimit, File: p.Spec.File, Key: "containers[" + c.Name + "].resources.limits.memory"}
				} else {
					cr.Unlimited = true
				}
			}
			c.Reported = cr
		}
	}
}

func (s *Snapshot) fromCadvisor(r *Reported, m *promtext.Metrics, ns, pod, container string) {
	if m == nil || pod == "" {
		return
	}
	file := bundle.KubeletMetricsCadvisor
	if s.Metrics[bundle.KubeletMetricsCadvisor] == nil {
		file = bundle.CadvisorMetrics
	}
	get := func(family string) *Figure {
		for _, smp := range m.ForContainer(family, ns, pod, container) {
			if math.IsNaN(smp.Value) || smp.Value < 0 || smp.Value > math.MaxInt64/2 {
				continue
			}
			// Pod-level series (container="") also exist per cgroup id; the
			// one with an id is the pod cgroup.
			key := fmt.Sprintf("%s{namespace=%q,pod=%q,container=%q}", family, ns, pod, container)
			return &Figure{Bytes: int64(smp.Value), File: file, Key: key}
		}
		return nil
	}
	if r.RSS == nil {
		r.RSS = get("container_memory_rss")
	}
	if r.Cache == nil {
		r.Cache = get("container_memory_cache")
	}
	if r.WorkingSet == nil {
		r.WorkingSet = get("container_memory_working_set_bytes")
	}
	if r.Usage == nil {
		r.Usage = get("container_memory_usage_bytes")
	}
	if l := get("container_spec_memory_limit_bytes"); l != nil {
		// cAdvisor reports 0 for a cgroup without a limit (and the v1
		// sentinel or v2 "max" as a huge number).
		if l.Bytes == 0 || l.Bytes >= 1<<62 {
			r.Unlimited = true
		} else {
			r.Limit = l
		}
	}
}

func u64Figure(v *uint64, file, key string) *Figure {
	if v == nil || *v > math.MaxInt64 {
		return nil
	}
	return &Figure{Bytes: int64(*v), File: file, Key: key}
}

// metricsNodeName takes the node from a metrics label (kube_node / node /
// instance as monitoring relabels add them), "" when none says.
func (s *Snapshot) metricsNodeName() string {
	for _, p := range metricsPaths {
		m := s.Metrics[p]
		if m == nil {
			continue
		}
		for _, fam := range []string{"machine_memory_bytes", "container_memory_working_set_bytes"} {
			for _, smp := range m.Samples(fam) {
				for _, l := range []string{"node", "kubernetes_io_hostname"} {
					if v, ok := smp.Labels.Get(l); ok && v != "" {
						return v
					}
				}
				break
			}
		}
	}
	return ""
}
