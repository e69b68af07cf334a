package rules

import (
	"fmt"
	"sort"
	"strings"

	"github.com/memsnap/memsnap/analyzer/internal/snapshot"
	"github.com/memsnap/memsnap/report/schema"
)

// MissingSource says which inputs are absent and which rules that disabled.
var MissingSource = &Rule{
	ID:       "missing-source",
	Severity: schema.Info,
	Doc: `A source is absent or failed, and rules could not run because of it
What: for each collector source that the manifest records as failed or partial, or whose files
are absent from the bundle without the manifest saying it was deliberately skipped, the rules that
needed it and could not run.
Why: a report that is silent about a rule because its data was missing must not read as "all
clear"; this finding says what was not checked.
Evidence: manifest.json's sources[] status and error, and the absent bundle paths.
Fix: re-run memsnap-collect with access to the failed source (kubelet credentials via
--kubelet-token-file, --pprof targets, root for /proc), or accept the gap. For loose files (a
ticket without a bundle) the finding names the command that gives each absent input, with the
node's name filled in when the evidence states it: kubectl get --raw
/api/v1/nodes/NODE/proxy/stats/summary (or metrics/cadvisor, configz, debug/pprof/heap), kubectl get
pods --field-selector spec.nodeName=NODE, kubectl debug node/NODE … dmesg -T, or a collector run
(kubectl memsnap collect NODE) for what only the node has (cgroup tree, /proc, tmpfs mounts).
References: DESIGN §2 (bundle format)`,
	Run: runMissingSource,
}

func runMissingSource(p *Pass) {
	s := p.Snap
	type gap struct {
		data   []string
		rules  []string
		status string
		errmsg string
	}
	gaps := map[string]*gap{}
	get := func(src string) *gap {
		if gaps[src] == nil {
			gaps[src] = &gap{}
		}
		return gaps[src]
	}
	for _, d := range snapshot.AllData {
		// A bundle without a watch (or Prometheus export) is the normal
		// case: the time-axis rules say "skipped" in the rule list instead.
		if s.Has(d) || d == snapshot.DataSeries {
			continue
		}
		var affected []string
		for _, r := range p.Registry {
			if r.ID == "missing-source" {
				continue
			}
			if why := r.MissingNeeds(s); why != "" && strings.Contains(why, string(d)) {
				affected = append(affected, r.ID)
			}
		}
		if len(affected) == 0 {
			continue
		}
		g := get(snapshot.SourceOf(d))
		g.data = append(g.data, string(d))
		g.rules = appendUnique(g.rules, affected...)
	}
	if s.Manifest != nil {
		for _, src := range s.Manifest.Sources {
			switch {
			case src.Status == "failed" || src.Status == "partial":
			case gaps[src.Name] != nil:
				// A source that ran (ok) or was skipped but left out data
				// rules need: its status and notes say why (a kubelet
				// answering 404 on /debug/pprof/heap leaves pprof "ok").
			default:
				continue
			}
			g := get(src.Name)
			g.status, g.errmsg = src.Status, src.Error
		}
	}
	loose := s.IsLoose()
	names := make([]string, 0, len(gaps))
	for n, g := range gaps {
		// A source the collector deliberately did not run (no --pprof
		// targets, --no-proc) is listed in the report's sources, not a finding.
		if g.status == "skipped" || (g.status == "" && len(g.rules) == 0) {
			continue
		}
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		g := gaps[name]
		sort.Strings(g.rules)
		f := schema.Finding{Severity: schema.Info, Subject: "node:" + s.NodeName}
		f.Title = fmt.Sprintf("Source %q is missing or incomplete", name)
		state := "is absent from the bundle"
		if loose {
			state = "is not among the files given"
		}
		switch g.status {
		case "failed":
			state = "failed"
		case "partial":
			state = "was only partly collected"
		case "ok":
			state = "ran but produced none of the data rules need"
		}
		if g.errmsg != "" {
			state += " (" + g.errmsg + ")"
		}
		f.Summary = fmt.Sprintf("The %s source %s", name, state)
		if len(g.rules) > 0 {
			f.Summary += fmt.Sprintf("; these rules could not run: %s.", strings.Join(g.rules, ", "))
		} else {
			f.Summary += "; no rule depended on it alone."
		}
		if s.Manifest != nil {
			f.Evidence = append(f.Evidence, schema.Evidence{File: "manifest.json", Key: "sources[" + name + "]", Text: "status " + orDash(g.status) + " " + g.errmsg})
		}
		for _, d := range g.data {
			if loose {
				f.Evidence = append(f.Evidence, schema.Evidence{Text: "not in the input: " + d})
			} else {
				f.Evidence = append(f.Evidence, schema.Evidence{Text: "not in the bundle: " + d})
			}
		}
		f.Remediation = "Re-run memsnap-collect where this source is reachable (kubelet credentials, --pprof targets, root), or read the report knowing these checks were not made."
		if loose {
			node, known := s.NodeName, s.NodeNameKnown
			if !known {
				node = "NODE"
			}
			var cmds []string
			for _, d := range g.data {
				cmds = appendUnique(cmds, askFor(snapshot.Data(d), node))
			}
			f.Remediation = "Ask the customer for: " + strings.Join(cmds, "; ") + ". Put the output beside the other files (any name) and analyse the directory again."
			if !known {
				f.Remediation += " (NODE: the node's name, kubectl get pod -o wide shows it.)"
			}
		}
		f.References = []string{}
		p.Report(f)
	}
}

func appendUnique(list []string, add ...string) []string {
	for _, a := range add {
		found := false
		for _, x := range list {
			found = found || x == a
		}
		if !found {
			list = append(list, a)
		}
	}
	return list
}

// askFor is the command that gives d to a ticket without a bundle: a kubectl
// one where the API server serves it (the kubelet's endpoints through the
// node proxy, nodes/proxy RBAC; kubectl debug node/… runs a pod on the node
// with the host's root at /host), else a collector run on the node. node is
// the node's name, or the placeholder NODE.
func askFor(d snapshot.Data, node string) string {
	raw := func(ep, out string) string {
		return "`kubectl get --raw /api/v1/nodes/" + node + "/proxy/" + ep + " > " + out + "`"
	}
	debug := func(cmd, out string) string {
		return "`kubectl debug node/" + node + " -it --image=busybox -- " + cmd + " > " + out + "`"
	}
	collect := "a node bundle: `kubectl memsnap collect " + node + " -o incident/` (node mode), or `memsnap-collect -o node.tar.gz` run on the node"
	switch d {
	case snapshot.DataSummary:
		return raw("stats/summary", "summary.json")
	case snapshot.DataCadvisorMetrics:
		return raw("metrics/cadvisor", "cadvisor.txt")
	case snapshot.DataKubeletConfig:
		return raw("configz", "configz.json")
	case snapshot.DataHeapProfiles:
		return raw("debug/pprof/heap", "kubelet-heap.pb.gz") + " (the kubelet's own heap; another process's from its /debug/pprof/heap)"
	case snapshot.DataPods:
		return "`kubectl get pods -A --field-selector spec.nodeName=" + node + " -o yaml > pods.yaml`"
	case snapshot.DataKernelLog:
		return debug("dmesg -T", "dmesg.txt")
	case snapshot.DataMeminfo:
		return debug("cat /proc/meminfo", "meminfo.txt")
	case snapshot.DataKubeletLog:
		return debug("chroot /host journalctl -u kubelet --no-pager", "kubelet.log")
	case snapshot.DataSystemd:
		return debug("chroot /host systemctl show kubepods.slice", "kubepods.slice.txt")
	}
	return collect
}
