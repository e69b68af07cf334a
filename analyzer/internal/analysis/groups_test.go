package analysis

import (
	"slices"
	"testing"

	"github.com/memsnap/memsnap/report/schema"
)

func TestGroupFindingsByRuleAndOwner(t *testing.T) {
	oom := func(node, pod, kind, owner, sev string) schema.Finding {
		return schema.Finding{Rule: "oom-kill", Severity: sev, Node: node, Namespace: "shop", Pod: pod, PodUID: pod + "-uid",
			OwnerKind: kind, Owner: owner, Subject: "shop/" + pod + "/app"}
	}
	fs := []schema.Finding{
		oom("node-a", "web-7d9f-aaaaa", "Deployment", "web", schema.Warning),
		oom("node-b", "web-7d9f-bbbbb", "Deployment", "web", schema.Critical),
		oom("node-c", "web-7d9f-ccccc", "Deployment", "web", schema.Warning),
		oom("node-c", "web-7d9f-ccccc", "Deployment", "web", schema.Warning), // a second kill of the same pod
		oom("node-a", "db-0", "StatefulSet", "db", schema.Warning),
		oom("node-a", "lonely", "", "", schema.Warning),
		oom("node-b", "lonely2", "", "", schema.Warning),
		{Rule: "kubepods-limit-drift", Severity: schema.Critical, Node: "node-a", Subject: "kubepods"},
		{Rule: "kubepods-limit-drift", Severity: schema.Critical, Node: "node-b", Subject: "kubepods"},
		{Rule: "heap-profile-top", Severity: schema.Info, Node: "node-a", Subject: "node:node-a/pprof/cadvisor"},
		{Rule: "heap-profile-top", Severity: schema.Info, Node: "node-b", Subject: "node:node-b/pprof/cadvisor"},
		{Rule: "tmpfs-memory", Severity: schema.Warning, Node: "node-b", Namespace: "shop", Pod: "web-7d9f-bbbbb", OwnerKind: "Deployment", Owner: "web"},
	}
	gs := groupFindings(fs)
	type summary struct {
		rule, subject string
		nodes, pods   int
		findings      []int
		sev           string
	}
	var got []summary
	for _, g := range gs {
		got = append(got, summary{g.Rule, g.Subject, len(g.Nodes), len(g.Pods), g.Findings, g.Severity})
	}
	want := []summary{
		{"oom-kill", "Deployment shop/web", 3, 3, []int{0, 1, 2, 3}, schema.Critical},
		{"kubepods-limit-drift", "kubepods", 2, 0, []int{7, 8}, schema.Critical},
		{"oom-kill", "Pod shop/lonely", 1, 1, []int{5}, schema.Warning},
		{"oom-kill", "Pod shop/lonely2", 1, 1, []int{6}, schema.Warning},
		{"oom-kill", "StatefulSet shop/db", 1, 1, []int{4}, schema.Warning},
		{"tmpfs-memory", "Deployment shop/web", 1, 1, []int{11}, schema.Warning},
		{"heap-profile-top", "pprof/cadvisor", 2, 0, []int{9, 10}, schema.Info},
	}
	if len(got) != len(want) {
		t.Fatalf("groups %+v", got)
	}
	for i := range want {
		if got[i].rule != want[i].rule || got[i].subject != want[i].subject || got[i].nodes != want[i].nodes ||
			got[i].pods != want[i].pods || !slices.Equal(got[i].findings, want[i].findings) || got[i].sev != want[i].sev {
			t.Errorf("group %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if !slices.Equal(gs[0].Nodes, []string{"node-a", "node-b", "node-c"}) {
		t.Errorf("nodes %v", gs[0].Nodes)
	}
}
