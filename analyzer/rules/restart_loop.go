package rules

import (
	"fmt"
	"sort"

	"github.com/memsnap/memsnap/analyzer/internal/podpath"
	"github.com/memsnap/memsnap/analyzer/internal/series"
	"github.com/memsnap/memsnap/analyzer/internal/snapshot"
	"github.com/memsnap/memsnap/report/schema"
)

// RestartLoop finds containers restarted or OOM-killed during the window.
var RestartLoop = &Rule{
	ID:       "restart-loop",
	Severity: schema.Critical,
	Needs:    []snapshot.Data{snapshot.DataSeries},
	Doc: `A container restarted or was OOM-killed during the watch
What: within the watch (or the Prometheus range), a container cgroup of a pod vanished and a new
one appeared in the same pod — the runtime makes a new cgroup for every restart, so the pair is a
restart — or a container's oom_kill counter (v1 memory.oom_control, v2 memory.events,
container_oom_events_total) or kube_pod_container_status_restarts_total rose. Warning; critical
at critical_restarts (3) or more in the window.
Why: a restart loop hides in a snapshot (the new container looks young and small); over time it
shows as memory climbing to the limit, dropping to zero and climbing again.
Evidence: the series events file with the vanished and appeared cgroups and their times, or the
counter's first and last sample.
Fix: see oom-kill and memory-growth for what fills the container; raise the limit or fix the
growth, and check the liveness probe if the restarts are not OOM kills.
References: https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#restart-policy`,
	Run: runRestartLoop,
}

type restarts struct {
	subjectTrack *series.Track // a track of the container, for the subject
	pod          *snapshot.Pod
	podUID       string
	count        int
	evidence     []schema.Evidence
}

func runRestartLoop(p *Pass) {
	cfg := p.Config.Rules.RestartLoop
	byKey := map[string]*restarts{}
	get := func(key string) *restarts {
		if byKey[key] == nil {
			byKey[key] = &restarts{}
		}
		return byKey[key]
	}
	// Pairs: a container cgroup vanishing, then one appearing in the same pod.
	tracks := map[string]*series.Track{}
	for _, t := range p.Snap.Series.Tracks {
		if t.Key.Cgroup != "" {
			tracks[t.Key.Cgroup] = t
		}
	}
	pending := map[string][]series.Event{}
	for _, ev := range p.Snap.Series.Events {
		ref := podpath.Parse(ev.Cgroup)
		if ref.Level != podpath.LevelContainer || ref.PodUID == "" || ref.ContainerID == "" {
			continue
		}
		if ev.Kind == "vanished" {
			pending[ref.PodUID] = append(pending[ref.PodUID], ev)
			continue
		}
		old := pending[ref.PodUID]
		if len(old) == 0 {
			continue
		}
		gone := old[0]
		pending[ref.PodUID] = old[1:]
		key := ref.PodUID
		r := get(key)
		r.podUID = ref.PodUID
		r.pod = p.Snap.PodsByUID[ref.PodUID]
		if t := tracks[ev.Cgroup]; t != nil && p.Snap.SeriesContainers[t] != nil {
			r.subjectTrack = t
		}
		r.count++
		r.evidence = append(r.evidence, schema.Evidence{File: ev.File, Key: "restart",
			Text: fmt.Sprintf("cgroup %s vanished at %s; %s appeared at %s", gone.Cgroup, stamp(gone.T), ev.Cgroup, stamp(ev.T))})
	}
	// Counters that rose.
	for _, t := range containerTracks(p) {
		for _, m := range []series.Metric{series.OOMKill, series.Restarts} {
			pts := t.Get(m)
			if len(pts) < 2 {
				continue
			}
			rise := counterRise(pts)
			if rise <= 0 {
				continue
			}
			key := t.Key.Namespace + "/" + t.Key.Pod + "/" + t.Key.Container + "|" + t.Key.Cgroup
			if ref := podpath.Parse(t.Key.Cgroup); ref.PodUID != "" && t.Key.Pod == "" {
				key = ref.PodUID
			}
			r := get(key)
			r.subjectTrack = t
			r.count = max(r.count, int(rise))
			r.evidence = append(r.evidence, schema.Evidence{File: t.File, Key: string(m),
				Text: fmt.Sprintf("%s rose by %.0f between %s and %s", m, rise, stamp(pts[0].T), stamp(pts[len(pts)-1].T))})
		}
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		r := byKey[k]
		f := schema.Finding{Severity: schema.Warning}
		switch {
		case r.subjectTrack != nil:
			fillTrack(p, r.subjectTrack, &f)
		case r.pod != nil:
			r.pod.Fill(&f)
		default:
			f.Subject, f.PodUID = "pod:"+r.podUID, r.podUID
		}
		if r.count >= cfg.CriticalRestarts {
			f.Severity = schema.Critical
		}
		f.Summary = fmt.Sprintf("%s restarted or was OOM-killed %d time(s) during the window.", f.Subject, r.count)
		f.Evidence = r.evidence
		if len(f.Evidence) > 10 {
			f.Evidence = f.Evidence[:10]
		}
		f.Remediation = "Find what fills the container before each restart (memory-growth, oom-kill findings) and fix the growth or size the limit; if they are not OOM kills, check the liveness probe."
		p.Report(f)
	}
}

// counterRise sums the increases of a counter, so a counter reset (a new
// process, a new cgroup) does not read as a fall.
func counterRise(pts []series.Point) float64 {
	var rise float64
	for i := 1; i < len(pts); i++ {
		if d := pts[i].V - pts[i-1].V; d > 0 {
			rise += d
		}
	}
	return rise
}
