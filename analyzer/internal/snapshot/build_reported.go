package snapshot

import (
	"fmt"
	"math"
	"sort"

	"github.com/memsnap/memsnap/analyzer/internal/kube"
	"github.com/memsnap/memsnap/analyzer/internal/podpath"
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
	// From cAdvisor only (the summary has no such fields): the file LRU
	// lists (container_memory_total_{active,inactive}_file_bytes, added by
	// google/cadvisor#3445 in 2024; older cAdvisors and the kubelets that
	// embed them lack them), mapped file pages and the OOM event counter
	// (container_oom_events_total). nil = not in the scrape.
	ActiveFile, InactiveFile, MappedFile *Figure
	OOMEvents                            *Figure
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
	if s.Cgroups == nil && cad != nil {
		s.podsFromCadvisor(cad)
	}
	if s.Cgroups == nil {
		s.podsFromTop()
	}
	top := s.topIndex()
	for _, p := range s.Pods {
		r := &Reported{}
		if st := p.Stats; st != nil && st.Memory != nil {
			key := fmt.Sprintf("pods[%s/%s].memory.", p.Namespace, p.Name)
			r.Usage = u64Figure(st.Memory.UsageBytes, bundle.KubeletSummary, key+"usageBytes")
			r.WorkingSet = u64Figure(st.Memory.WorkingSetBytes, bundle.KubeletSummary, key+"workingSetBytes")
			r.RSS = u64Figure(st.Memory.RSSBytes, bundle.KubeletSummary, key+"rssBytes")
			r.Limit = summaryLimit(st.Memory, key)
		}
		s.fromCadvisor(r, cad, p.Namespace, p.Name, "")
		if r.WorkingSet == nil {
			r.WorkingSet = top.figure(p, "")
		}
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
				cr.Limit = summaryLimit(st.Memory, key)
			}
			if c.Name != "" && !c.Sandbox {
				s.fromCadvisor(cr, cad, p.Namespace, p.Name, c.Name)
				if cr.WorkingSet == nil {
					cr.WorkingSet = top.figure(p, c.Name)
				}
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
	r.ActiveFile = get("container_memory_total_active_file_bytes")
	r.InactiveFile = get("container_memory_total_inactive_file_bytes")
	r.MappedFile = get("container_memory_mapped_file")
	r.OOMEvents = get("container_oom_events_total")
	if container == "" {
		// Pod-level: the series whose cgroup id is the pod cgroup itself,
		// not the sandbox's that newer kubelets also label container="".
		for _, smp := range m.ForContainer("container_oom_events_total", ns, pod, "") {
			id, _ := smp.Labels.Get("id")
			if ref := podpath.Parse(id); ref.Level == podpath.LevelPod && ref.Child == "" && smp.Value >= 0 && smp.Value < math.MaxInt64/2 {
				r.OOMEvents = &Figure{Bytes: int64(smp.Value), File: file,
					Key: fmt.Sprintf("container_oom_events_total{namespace=%q,pod=%q,container=\"\",id=%q}", ns, pod, id)}
			}
		}
	}
	if l := get("container_spec_memory_limit_bytes"); l != nil {
		// cAdvisor reports 0 for a cgroup without a limit (and the v1
		// sentinel or v2 "max" as a huge number).
		if l.Bytes == 0 || l.Bytes >= 1<<62 {
			r.Unlimited, r.Limit = true, nil
		} else {
			r.Limit = l
		}
	}
}

// summaryLimit is the cgroup's limit as the summary implies it: the kubelet
// states availableBytes only for a cgroup with a limit, as limit − working
// set (kubernetes/kubernetes:pkg/kubelet/stats/helper.go,
// cadvisorInfoToMemoryStats), so the limit is their sum. nil when the
// summary states no availableBytes (no limit, or not said).
func summaryLimit(m *kube.Memory, key string) *Figure {
	if m == nil || m.AvailableBytes == nil || m.WorkingSetBytes == nil {
		return nil
	}
	sum := *m.AvailableBytes + *m.WorkingSetBytes
	if sum > math.MaxInt64/2 || sum < *m.AvailableBytes {
		return nil
	}
	return &Figure{Bytes: int64(sum), File: bundle.KubeletSummary, Key: key + "workingSetBytes + availableBytes",
		Note: "the kubelet states availableBytes = limit − working set only for a limited cgroup"}
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

// podsFromCadvisor adds, when there is no cgroup tree, the pods and
// containers only cAdvisor's series name (a ticket with a /metrics/cadvisor
// dump and nothing else): one per namespace/pod/container label set of
// container_memory_working_set_bytes, the UID from the series' cgroup id
// when it parses as a pod cgroup. The pause container ("POD" on old
// kubelets, or a container-less series with an image) and pod-level series
// (container="") make no container.
func (s *Snapshot) podsFromCadvisor(m *promtext.Metrics) {
	if s.PodsByUID == nil {
		s.PodsByUID = map[string]*Pod{}
	}
	byName := map[string]*Pod{}
	for _, p := range s.Pods {
		byName[p.Namespace+"/"+p.Name] = p
	}
	added := false
	for _, smp := range m.Samples("container_memory_working_set_bytes") {
		c := smp.Container()
		if c.Pod == "" || c.Namespace == "" {
			continue
		}
		key := c.Namespace + "/" + c.Pod
		p := byName[key]
		if p == nil {
			uid := podpath.Parse(c.ID).PodUID
			if uid != "" && s.PodsByUID[uid] != nil {
				continue // the same pod under another name: leave it alone
			}
			p = &Pod{UID: uid, Namespace: c.Namespace, Name: c.Pod}
			if uid != "" {
				s.PodsByUID[uid] = p
			}
			byName[key] = p
			s.Pods = append(s.Pods, p)
			added = true
		} else if p.Stats != nil || p.Spec != nil {
			continue // the summary or the pod list already said which containers it has
		}
		if c.Container == "" || c.Container == "POD" {
			continue
		}
		known := false
		for _, x := range p.Containers {
			known = known || x.Name == c.Container
		}
		if !known {
			p.Containers = append(p.Containers, &Container{Pod: p, Name: c.Container})
			sort.SliceStable(p.Containers, func(i, j int) bool { return p.Containers[i].Name < p.Containers[j].Name })
		}
	}
	if added {
		sort.SliceStable(s.Pods, func(i, j int) bool {
			a, b := s.Pods[i], s.Pods[j]
			if a.Namespace != b.Namespace {
				return a.Namespace < b.Namespace
			}
			if a.Name != b.Name {
				return a.Name < b.Name
			}
			return a.UID < b.UID
		})
	}
}

// CadvisorFile is the bundle path of the cAdvisor exposition the reported
// numbers came from: the kubelet's, else a standalone cAdvisor's.
func (s *Snapshot) CadvisorFile() string {
	if s.Metrics[bundle.KubeletMetricsCadvisor] == nil && s.Metrics[bundle.CadvisorMetrics] != nil {
		return bundle.CadvisorMetrics
	}
	return bundle.KubeletMetricsCadvisor
}

// topRows indexes `kubectl top pod` rows by pod (and container). A row
// without a namespace (kubectl top pod without -A prints none) matches the
// one pod of that name; a name several namespaces share matches none.
type topRows struct {
	byKey  map[string]kube.TopRow // "ns/pod" or "ns/pod/container"
	byName map[string][]kube.TopRow
}

func (s *Snapshot) topIndex() *topRows {
	t := &topRows{byKey: map[string]kube.TopRow{}, byName: map[string][]kube.TopRow{}}
	for _, row := range s.TopPods {
		if row.Pod == "" {
			continue
		}
		if row.Namespace == "" {
			key := row.Pod + "/" + row.Container
			t.byName[key] = append(t.byName[key], row)
			continue
		}
		k := row.Namespace + "/" + row.Pod
		if row.Container != "" {
			k += "/" + row.Container
		}
		t.byKey[k] = row
	}
	return t
}

// figure is metrics-server's working set of the pod (container "") or of
// one of its containers, nil when no row names it.
func (t *topRows) figure(p *Pod, container string) *Figure {
	if t == nil || len(t.byKey)+len(t.byName) == 0 {
		return nil
	}
	k := p.Namespace + "/" + p.Name
	if container != "" {
		k += "/" + container
	}
	row, ok := t.byKey[k]
	if !ok {
		if rows := t.byName[p.Name+"/"+container]; len(rows) == 1 {
			row, ok = rows[0], true
		}
	}
	if !ok {
		return nil
	}
	key := "kubectl top pod " + p.Name
	if container != "" {
		key += " --containers: " + container
	}
	return &Figure{Bytes: row.Bytes, File: row.File, Key: fmt.Sprintf("%s (line %d)", key, row.Line),
		Note: "metrics-server's working set, rounded by kubectl to whole Mi"}
}

// podsFromTop adds, when there is no cgroup tree, the pods (and with
// --containers their containers) that only `kubectl top pod` names.
func (s *Snapshot) podsFromTop() {
	byName := map[string][]*Pod{}
	for _, p := range s.Pods {
		byName[p.Name] = append(byName[p.Name], p)
	}
	for _, row := range s.TopPods {
		if row.Pod == "" {
			continue
		}
		var p *Pod
		for _, q := range byName[row.Pod] {
			if row.Namespace == "" || q.Namespace == row.Namespace {
				p = q
				break
			}
		}
		if p == nil {
			p = &Pod{Namespace: row.Namespace, Name: row.Pod}
			byName[row.Pod] = append(byName[row.Pod], p)
			s.Pods = append(s.Pods, p)
		} else if p.Stats != nil || p.Spec != nil {
			continue // the summary or the pod list says which containers it has
		}
		if row.Container == "" {
			continue
		}
		known := false
		for _, c := range p.Containers {
			known = known || c.Name == row.Container
		}
		if !known {
			p.Containers = append(p.Containers, &Container{Pod: p, Name: row.Container})
		}
	}
}
