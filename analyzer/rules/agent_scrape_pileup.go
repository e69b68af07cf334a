package rules

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/memsnap/memsnap/analyzer/internal/agentlog"

	"github.com/memsnap/memsnap/analyzer/internal/heap"
	"github.com/memsnap/memsnap/analyzer/internal/snapshot"
	"github.com/memsnap/memsnap/analyzer/internal/units"
	"github.com/memsnap/memsnap/report/schema"
)

// AgentScrapePileup finds monitoring agents whose memory goes to overlapping scrapes.
var AgentScrapePileup = &Rule{
	ID:       "agent-scrape-pileup",
	Severity: schema.Critical,
	NeedsAny: []snapshot.Data{snapshot.DataHeapProfiles, snapshot.DataAgentLog},
	Doc: `A monitoring agent's memory goes to scrapes that pile up
What: a monitoring agent (a pprof target or container named like cAdvisor, node-exporter,
kube-state-metrics, …, or a profile with their functions) that spends at least scrape_path_share
(50 %) of its allocations in its scrape/collection path, or whose log shows disk-usage scans slower
than the scrape interval (scrape_interval, default 30 s, or the interval the bundle states);
critical when the agent was also OOM-killed.
Why: cAdvisor's /metrics builds a fresh registry and a full container-info snapshot per request,
and promhttp has no in-flight limit: when collection is slower than the scrape interval (slow du
over large container filesystems, CPU-throttled), scrapes overlap and each holds its own copy —
memory grows with scrape_duration / scrape_interval until the agent is OOM-killed; a higher limit
only delays it (seed 004).
Evidence: the heap profile's alloc_space share under Gather/collectContainersInfo, fsHandler log
lines with their durations, the agent pod's last termination reason and OOM kills.
Fix: make collection faster than the scrape interval (more CPU for the agent, disable the disk
metrics, --docker_only), scrape less often or with a timeout shorter than the interval, and
limit concurrent scrapes.
References: google/cadvisor#2212, google/cadvisor#2855, google/cadvisor#2856, google/cadvisor@v0.49.0:container/common/fsHandler.go`,
	Run: runAgentScrapePileup,
}

var (
	agentName  = regexp.MustCompile(`(?i)cadvisor|node[-_]?exporter|kube-state-metrics|prometheus|telegraf|datadog|scrape|metrics-agent`)
	scrapePath = regexp.MustCompile(`collectContainersInfo|GetRequestedContainersInfo|\.Gather$|\(\*registry\)\.Gather|promhttp|\.Collect$|metricsHandler|ServeHTTP.*[Mm]etrics`)
)

func runAgentScrapePileup(p *Pass) {
	cfg := p.Config.Rules.AgentScrapePileup
	s := p.Snap
	reported := false
	for _, h := range s.Heaps {
		if h.Profile == nil {
			continue
		}
		share := heap.PathShare(h.Profile, scrapePath.MatchString, "alloc_space")
		if !agentName.MatchString(h.Name) && share == 0 {
			continue // not a monitoring agent
		}
		interval, from := scrapeInterval(h, time.Duration(cfg.ScrapeInterval))
		slow := slowScans(s, interval)
		if share < cfg.ScrapePathShare && len(slow) == 0 {
			continue
		}
		f := schema.Finding{Severity: schema.Warning, Subject: "node:" + s.NodeName + "/pprof/" + h.Name}
		f.Summary = fmt.Sprintf("Monitoring agent %s spends %.0f %% of its allocations in the scrape path", h.Name, 100*share)
		f.Evidence = append(f.Evidence, schema.Evidence{File: h.File, Key: "alloc_space",
			Text: fmt.Sprintf("%.0f %% of alloc_space is under the scrape path (Gather, collectContainersInfo, promhttp, metrics handlers)", 100*share)})
		if h.Profile.InuseBytes != nil {
			f.Evidence = append(f.Evidence, schema.Evidence{File: h.File, Key: "inuse_space", Value: num(*h.Profile.InuseBytes), Text: "in use " + units.Bytes(*h.Profile.InuseBytes)})
		}
		agent := h.Container
		if agent == nil {
			agent = findAgentContainer(s, h.Name)
		}
		reportPileup(p, f, agent, interval, from, slow)
		reported = true
	}
	if reported || s.AgentLog == nil {
		return
	}
	// No profile says it: the agent's own log can, when scans outlast the interval.
	interval := time.Duration(cfg.ScrapeInterval)
	if slow := slowScans(s, interval); len(slow) > 0 {
		agent := findAgentContainer(s, "cadvisor")
		f := schema.Finding{Severity: schema.Warning, Subject: "node:" + s.NodeName + "/cadvisor"}
		f.Summary = "The monitoring agent's collection is slower than its scrape interval"
		reportPileup(p, f, agent, interval, "memsnap default", slow)
	}
}

func scrapeInterval(h *snapshot.HeapTarget, def time.Duration) (time.Duration, string) {
	from := strings.TrimSuffix(h.File, "heap.pb.gz") + "target.json"
	if v, ok := h.Target["scrape_interval"].(string); ok {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			return d, from
		}
	}
	if v, ok := h.Target["scrape_interval_seconds"].(float64); ok && v > 0 {
		return time.Duration(v * float64(time.Second)), from
	}
	return def, "memsnap default (agent-scrape-pileup.scrape_interval)"
}

func slowScans(s *snapshot.Snapshot, interval time.Duration) []agentlog.FSScan {
	var out []agentlog.FSScan
	if s.AgentLog != nil {
		for _, sc := range s.AgentLog.FSScans {
			if sc.Duration > interval {
				out = append(out, sc)
			}
		}
	}
	return out
}

func reportPileup(p *Pass, f schema.Finding, agent *snapshot.Container, interval time.Duration, from string, slow []agentlog.FSScan) {
	s := p.Snap
	if agent != nil {
		agent.Fill(&f)
	}
	if len(slow) > 0 {
		slowest := slow[0].Duration
		for _, sc := range slow {
			if sc.Duration > slowest {
				slowest = sc.Duration
			}
		}
		f.Summary += fmt.Sprintf(", and %d disk-usage scans took longer than the %s scrape interval (slowest %s): scrapes overlap and each holds its own snapshot", len(slow), interval, slowest.Round(time.Millisecond))
	}
	f.Summary += "."
	f.Evidence = append(f.Evidence, schema.Evidence{File: from, Key: "scrape_interval", Text: "scrape interval " + interval.String()})
	for i, sc := range slow {
		if i == 5 {
			break
		}
		f.Evidence = append(f.Evidence, citeLine("cadvisor/log.txt", sc.Line, fmt.Sprintf("disk usage scan took %s over %d dir(s)", sc.Duration, len(sc.Dirs))))
	}
	if agent != nil {
		if agent.Spec != nil && agent.Spec.LastTerminationReason == "OOMKilled" {
			f.Severity = schema.Critical
			f.Summary += fmt.Sprintf(" The agent container was OOMKilled (restartCount %d).", agent.Spec.RestartCount)
			f.Evidence = append(f.Evidence, schema.Evidence{File: "kubelet/pods.json", Key: "lastState.terminated.reason", Text: fmt.Sprintf("%s: OOMKilled, restartCount %d", agent.Name, agent.Spec.RestartCount)})
		}
		for _, e := range s.OOMEvents {
			if e.Container == agent && !e.FromCounter {
				f.Severity = schema.Critical
				f.Evidence = append(f.Evidence, citeLine("logs/kernel.log", e.Raw.Line, fmt.Sprintf("OOM kill of %s (pid %d)", e.Raw.Process, e.Raw.PID)))
				break
			}
		}
	}
	f.Remediation = "Make collection faster than the scrape interval (give the agent more CPU, disable disk metrics, restrict it to the runtime's containers), scrape less often with a scrape timeout below the interval, and limit concurrent scrapes; raising the memory limit only delays the OOM."
	f.References = []string{"google/cadvisor#2212", "google/cadvisor#2856"}
	p.Report(f)
}

// findAgentContainer matches a pprof target name to a container.
func findAgentContainer(s *snapshot.Snapshot, target string) *snapshot.Container {
	var match *snapshot.Container
	for _, pod := range s.Pods {
		for _, c := range pod.Containers {
			if c.Sandbox || c.Name == "" {
				continue
			}
			if c.Name == target || (agentName.MatchString(c.Name) && agentName.FindString(c.Name) == agentName.FindString(target)) {
				match = c
			}
		}
	}
	return match
}
