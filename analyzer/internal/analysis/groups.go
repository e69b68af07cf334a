package analysis

import (
	"slices"
	"sort"
	"strings"

	"github.com/memsnap/memsnap/analyzer/internal/snapshot"
	"github.com/memsnap/memsnap/report/schema"
)

// findingOwner is the workload of the finding's pod, from pods.json's
// ownerReferences (kube.Pod.OwnerKind): "" when the bundle does not say.
func findingOwner(s *snapshot.Snapshot, f *schema.Finding) (kind, name string) {
	if f.PodUID == "" && f.Pod == "" {
		return "", ""
	}
	for _, p := range s.Pods {
		if (f.PodUID != "" && p.UID == f.PodUID) || (f.PodUID == "" && p.Name == f.Pod && p.Namespace == f.Namespace) {
			if p.Spec != nil {
				return p.Spec.OwnerKind, p.Spec.Owner
			}
			return "", ""
		}
	}
	return "", ""
}

// groupFindings gathers findings across bundles: one group per rule and
// workload owner (namespace, kind, name). A pod without a known owner stands
// alone (kind "Pod"); a finding about no pod groups by its subject, so the
// same node-level finding on two nodes stays two groups only when the
// subjects differ. Groups come worst first, then by how many nodes they span.
func groupFindings(fs []schema.Finding) []schema.FindingGroup {
	type key struct{ rule, ns, kind, owner, subject string }
	idx := map[key]int{}
	var out []schema.FindingGroup
	for i, f := range fs {
		k := key{rule: f.Rule, ns: f.Namespace}
		switch {
		case f.Owner != "":
			k.kind, k.owner = f.OwnerKind, f.Owner
		case f.Pod != "":
			k.kind, k.owner = "Pod", f.Pod
		default:
			// Node-level subjects often name the node ("node:N/pprof/x"):
			// without it the same finding on several nodes is one group.
			k.subject = strings.TrimPrefix(f.Subject, "node:"+f.Node)
		}
		g, ok := idx[k]
		if !ok {
			g = len(out)
			idx[k] = g
			subject := f.Subject
			if k.subject != f.Subject {
				subject = strings.TrimPrefix(k.subject, "/")
			}
			if k.owner != "" {
				subject = k.kind + " " + k.owner
				if k.ns != "" {
					subject = k.kind + " " + k.ns + "/" + k.owner
				}
			}
			out = append(out, schema.FindingGroup{Rule: f.Rule, Severity: f.Severity, Title: f.Title, Namespace: f.Namespace,
				OwnerKind: k.kind, Owner: k.owner, Subject: subject, Nodes: []string{}, Pods: []string{}})
		}
		grp := &out[g]
		if schema.SeverityRank(f.Severity) > schema.SeverityRank(grp.Severity) {
			grp.Severity = f.Severity
		}
		if f.Node != "" && !slices.Contains(grp.Nodes, f.Node) {
			grp.Nodes = append(grp.Nodes, f.Node)
		}
		if f.Pod != "" {
			p := f.Pod
			if f.Namespace != "" {
				p = f.Namespace + "/" + f.Pod
			}
			if !slices.Contains(grp.Pods, p) {
				grp.Pods = append(grp.Pods, p)
			}
		}
		grp.Findings = append(grp.Findings, i)
	}
	for i := range out {
		sort.Strings(out[i].Nodes)
		sort.Strings(out[i].Pods)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if ra, rb := schema.SeverityRank(a.Severity), schema.SeverityRank(b.Severity); ra != rb {
			return ra > rb
		}
		if len(a.Nodes) != len(b.Nodes) {
			return len(a.Nodes) > len(b.Nodes)
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		return a.Subject < b.Subject
	})
	return out
}
