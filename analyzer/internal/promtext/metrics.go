package promtext

import (
	"fmt"
	"sort"
)

// Label is one label pair of a series.
type Label struct {
	Name, Value string
}

// Labels is a series' label set, sorted by name. Label strings are interned
// per Parse call: 750 containers × 20 memory families repeat the same long
// `id` and `image` values, and one copy each is enough.
type Labels []Label

// Get returns the value of the label name and whether the series has it. An
// empty value and a missing label are the same thing in the exposition
// format; the bool only says whether the label was written.
func (ls Labels) Get(name string) (string, bool) {
	i := sort.Search(len(ls), func(i int) bool { return ls[i].Name >= name })
	if i < len(ls) && ls[i].Name == name {
		return ls[i].Value, true
	}
	return "", false
}

// getEither reads the current label name, falling back to the name used
// before Kubernetes 1.16 removed the cAdvisor `pod_name`/`container_name`
// labels (kubernetes/kubernetes#80376).
func (ls Labels) getEither(name, legacy string) (string, bool) {
	if v, ok := ls.Get(name); ok {
		return v, true
	}
	return ls.Get(legacy)
}

// Sample is one series' value as exposed.
type Sample struct {
	Labels      Labels
	Value       float64
	TimestampMs *int64 // nil when the exposition had no timestamp (kubelet ≥ 1.23 dropped them)
}

// Container is the identity cAdvisor attaches to each container series
// (google/cadvisor@v0.49.0:metrics/prometheus.go DefaultContainerLabels, plus
// the pod/namespace/container labels kubelet's embedded cAdvisor adds).
type Container struct {
	ID        string // cgroup path below the memory mount: "/kubepods.slice/…/docker-<id>.scope"
	Namespace string
	Pod       string
	Container string // "" for pod-level and system cgroups, "POD" for the pause container on old kubelets
	Name      string // runtime's container name
	Image     string
}

// Container returns the cAdvisor identity labels of s.
func (s Sample) Container() Container {
	var c Container
	c.ID, _ = s.Labels.Get("id")
	c.Namespace, _ = s.Labels.Get("namespace")
	c.Pod, _ = s.Labels.getEither("pod", "pod_name")
	c.Container, _ = s.Labels.getEither("container", "container_name")
	c.Name, _ = s.Labels.Get("name")
	c.Image, _ = s.Labels.Get("image")
	return c
}

// Family is one metric family: its # HELP/# TYPE text (empty when absent) and
// its samples in input order.
type Family struct {
	Name    string
	Help    string
	Type    string // counter, gauge, histogram, summary, untyped; "" when no # TYPE line
	Samples []Sample

	byID        seriesIndex[string]
	byContainer seriesIndex[[3]string]
}

// seriesIndex maps a key to the positions of its samples. Nearly every key
// has one sample, held in one without a slice of its own; only keys with
// several (families with extra dimensions) get a list in more. At 1,000 pods
// a []int per key was 14 MB of the live heap.
type seriesIndex[K comparable] struct {
	one  map[K]int32
	more map[K][]int32 // every position, in input order, when there are several
}

func (x *seriesIndex[K]) add(k K, i int32) {
	if l, ok := x.more[k]; ok {
		x.more[k] = append(l, i)
		return
	}
	if j, ok := x.one[k]; ok {
		if x.more == nil {
			x.more = map[K][]int32{}
		}
		x.more[k] = []int32{j, i}
		return
	}
	if x.one == nil {
		x.one = map[K]int32{}
	}
	x.one[k] = i
}

// pick returns copies of k's samples, in input order.
func (x *seriesIndex[K]) pick(k K, samples []Sample) []Sample {
	if l, ok := x.more[k]; ok {
		out := make([]Sample, len(l))
		for i, j := range l {
			out[i] = samples[j]
		}
		return out
	}
	if j, ok := x.one[k]; ok {
		return []Sample{samples[j]}
	}
	return nil
}

// Metrics holds the kept families of one exposition.
type Metrics struct {
	Families map[string]*Family
	Series   int // samples kept
	Dropped  int // samples of kept families not kept because the series cap was reached
}

// Problem is one thing in the input that could not be used. Line is 1-based,
// 0 when the problem is about the whole input.
type Problem struct {
	Line int
	Msg  string
}

func (p Problem) String() string {
	if p.Line == 0 {
		return p.Msg
	}
	return fmt.Sprintf("line %d: %s", p.Line, p.Msg)
}

// Family returns the named family, or nil.
func (m *Metrics) Family(name string) *Family {
	if m == nil {
		return nil
	}
	return m.Families[name]
}

// Samples returns the samples of a family, nil when it is absent.
func (m *Metrics) Samples(family string) []Sample {
	if f := m.Family(family); f != nil {
		return f.Samples
	}
	return nil
}

// ByCgroup returns the family's samples whose `id` label is the cgroup path
// id, in input order. Families with extra dimensions
// (container_memory_failures_total{failure_type,scope}) yield several.
func (m *Metrics) ByCgroup(family, id string) []Sample {
	f := m.Family(family)
	if f == nil {
		return nil
	}
	return f.byID.pick(id, f.Samples)
}

// ValueByCgroup returns the value of the family's first series for cgroup id.
func (m *Metrics) ValueByCgroup(family, id string) (float64, bool) {
	s := m.ByCgroup(family, id)
	if len(s) == 0 {
		return 0, false
	}
	return s[0].Value, true
}

// ForContainer returns the family's samples labelled with that namespace, pod
// and container. container "" selects the pod-level cgroup series.
func (m *Metrics) ForContainer(family, namespace, pod, container string) []Sample {
	f := m.Family(family)
	if f == nil {
		return nil
	}
	return f.byContainer.pick([3]string{namespace, pod, container}, f.Samples)
}

// index builds the lookup tables once, after parsing, so that rules may read
// a Metrics from several goroutines.
func (f *Family) index() {
	f.byID = seriesIndex[string]{}
	f.byContainer = seriesIndex[[3]string]{}
	for i, s := range f.Samples {
		if id, ok := s.Labels.Get("id"); ok {
			f.byID.add(id, int32(i))
		}
		ns, okNS := s.Labels.Get("namespace")
		pod, okPod := s.Labels.getEither("pod", "pod_name")
		if okNS || okPod {
			c, _ := s.Labels.getEither("container", "container_name")
			k := [3]string{ns, pod, c}
			f.byContainer.add(k, int32(i))
		}
	}
}
