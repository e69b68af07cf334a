package snapshot

import (
	"github.com/memsnap/memsnap/analyzer/internal/podpath"
	"github.com/memsnap/memsnap/analyzer/internal/series"
	"github.com/memsnap/memsnap/bundle"
)

// buildSeries reads the time axis (issue #15): the collector's watch
// samples and Prometheus range exports, and ties every cgroup track to its
// pod and container — by the cgroup path for the collector's tracks (a
// restarted container's old cgroup by pods.json's lastState), by names for
// Prometheus'.
func (s *Snapshot) buildSeries() {
	if len(s.View.List(bundle.SeriesDir)) == 0 {
		return
	}
	var now int64
	if !s.Node.Created.IsZero() {
		now = s.Node.Created.UnixMilli()
	}
	if s.Manifest != nil && s.Manifest.Watch != nil && s.Manifest.Watch.EveryMS > 0 {
		defer func() {
			if s.Series != nil {
				s.Series.EveryMS = s.Manifest.Watch.EveryMS
			}
		}()
	}
	set := series.Load(s.View, series.Options{NowMS: now})
	for _, p := range set.Problems {
		s.Problemf("%s", p)
	}
	if set.Empty() {
		return
	}
	s.Series = set
	s.SeriesContainers = map[*series.Track]*Container{}
	for _, t := range set.Tracks {
		if c := s.seriesContainer(t); c != nil {
			s.SeriesContainers[t] = c
			if t.Key.Pod == "" {
				t.Key.Namespace, t.Key.Pod, t.Key.Container = c.Pod.Namespace, c.Pod.Name, c.Name
			}
		}
		// The kubelet's working set per container, next to the cgroup's.
		set.Attach(t)
	}
	s.setHas(DataSeries)
}

func (s *Snapshot) seriesContainer(t *series.Track) *Container {
	if t.Key.Pod != "" {
		for _, p := range s.Pods {
			if p.Namespace == t.Key.Namespace && p.Name == t.Key.Pod {
				for _, c := range p.Containers {
					if c.Name == t.Key.Container && !c.Sandbox {
						return c
					}
				}
			}
		}
		return nil
	}
	if t.Key.Cgroup == "" {
		return nil
	}
	if c := s.ContainerByCgroup(t.Key.Cgroup); c != nil {
		return c
	}
	ref := podpath.Parse(t.Key.Cgroup)
	if ref.ContainerID != "" {
		return s.containerByLastID(ref.ContainerID)
	}
	return nil
}

// SeriesPod finds the pod of a cgroup track by its path, when the pod is
// known to the snapshot.
func (s *Snapshot) SeriesPod(t *series.Track) *Pod {
	if c := s.SeriesContainers[t]; c != nil {
		return c.Pod
	}
	ref := podpath.Parse(t.Key.Cgroup)
	if ref.PodUID != "" {
		return s.PodsByUID[ref.PodUID]
	}
	return nil
}

// SeriesContainerTracks are the tracks of app containers: named by a
// Prometheus export, or a collector cgroup at container level (the
// sandbox is left out: it holds no workload).
func (s *Snapshot) SeriesContainerTracks() []*series.Track {
	if s.Series == nil {
		return nil
	}
	var out []*series.Track
	for _, t := range s.Series.Tracks {
		if c := s.SeriesContainers[t]; c != nil {
			if !c.Sandbox {
				out = append(out, t)
			}
			continue
		}
		k := t.Key
		if k.Pod != "" {
			if k.Container != "" && k.Container != "POD" {
				out = append(out, t)
			}
			continue
		}
		if ref := podpath.Parse(k.Cgroup); ref.Level == podpath.LevelContainer {
			out = append(out, t)
		}
	}
	return out
}

// SeriesSubject is "ns/pod/container" for a track when names are known,
// else "cgroup:<path>".
func (s *Snapshot) SeriesSubject(t *series.Track) string {
	if c := s.SeriesContainers[t]; c != nil {
		return c.Subject()
	}
	k := t.Key
	switch {
	case k.Pod != "" && k.Container != "":
		return k.Namespace + "/" + k.Pod + "/" + k.Container
	case k.Pod != "":
		return k.Namespace + "/" + k.Pod
	}
	return "cgroup:" + k.Cgroup
}
