package report

import (
	"slices"
	"testing"

	"github.com/memsnap/memsnap/report/schema"
)

// TestOwners: pod rows of two nodes fold into one row per owner; a sum is
// null as soon as one pod lacks the figure, an unlimited pod makes the
// limit "unlimited"; kills come from the kernel log, else from a
// container's OOMKilled last state; suppressed findings do not count.
func TestOwners(t *testing.T) {
	b := func(v int64) *int64 { return &v }
	r := func(v int32) *int32 { return &v }
	pod := func(bundle int, node, ns, name, uid, kind, owner string, ws, usage, limit, req *int64) schema.Workload {
		return schema.Workload{Bundle: bundle, Node: node, Namespace: ns, Pod: name, PodUID: uid, OwnerKind: kind, Owner: owner,
			WorkingSetBytes: ws, UsageBytes: usage, LimitBytes: limit, RequestBytes: req}
	}
	ctr := func(bundle int, ns, name, uid, c string, restarts int32, last string) schema.Workload {
		return schema.Workload{Bundle: bundle, Namespace: ns, Pod: name, PodUID: uid, Container: c, RestartCount: r(restarts), LastTermination: last}
	}
	doc := &schema.Document{
		Workloads: []schema.Workload{
			pod(0, "n0", "shop", "web-1", "u1", "Deployment", "web", b(100), b(150), b(512), b(256)),
			ctr(0, "shop", "web-1", "u1", "app", 2, ""),
			ctr(0, "shop", "web-1", "u1", "sidecar", 1, ""),
			pod(1, "n1", "shop", "web-2", "u2", "Deployment", "web", b(300), b(320), b(1024), b(256)),
			ctr(1, "shop", "web-2", "u2", "app", 4, "OOMKilled"), // the kernel log has its kill: not counted twice
			pod(1, "n1", "shop", "web-3", "u3", "Deployment", "web", b(50), b(60), b(512), b(256)),
			ctr(1, "shop", "web-3", "u3", "app", 0, ""),
			// db-0 has no cgroup on n1 (no working set) and no limit.
			pod(0, "n0", "shop", "db-0", "u4", "StatefulSet", "db", b(700), b(800), nil, nil),
			pod(1, "n1", "shop", "db-1", "u5", "StatefulSet", "db", nil, b(10), nil, nil),
			ctr(1, "shop", "db-1", "u5", "db", 3, "OOMKilled"),
			// a bare pod, unlimited.
			{Bundle: 1, Node: "n1", Namespace: "tools", Pod: "debug", PodUID: "u6", WorkingSetBytes: b(5), UsageBytes: b(6), Unlimited: true},
		},
		OOMEvents: []schema.OOMEvent{
			{Bundle: 1, Namespace: "shop", Pod: "web-2", PodUID: "u2"},
			{Bundle: 1, Namespace: "shop", Pod: "web-2", PodUID: "u2"},
			{Bundle: 0, Namespace: "kube-system", Pod: "gone", PodUID: "ux"}, // no pod row: nobody's
		},
		Findings: []schema.Finding{
			{Rule: "oom-kill", Severity: schema.Critical, Bundle: 1, Namespace: "shop", Pod: "web-2", OwnerKind: "Deployment", Owner: "web"},
			{Rule: "limit-rightsizing", Severity: schema.Info, Bundle: 0, Namespace: "shop", Pod: "web-1", OwnerKind: "Deployment", Owner: "web"},
			{Rule: "tmpfs-memory", Severity: schema.Warning, Bundle: 0, Namespace: "shop", Pod: "db-0", OwnerKind: "StatefulSet", Owner: "db"},
			{Rule: "oom-kill", Severity: schema.Critical, Bundle: 1, Namespace: "tools", Pod: "debug", Suppressed: &schema.Suppression{Reason: "known"}},
		},
	}
	got := Owners(doc)
	if len(got) != 3 {
		t.Fatalf("%d owners, want 3: %+v", len(got), got)
	}
	web, db, debug := got[0], got[1], got[2]
	if web.Kind != "Deployment" || web.Name != "web" || db.Kind != "StatefulSet" || debug.Kind != "Pod" || debug.Name != "debug" {
		t.Fatalf("order or names: %s %s, %s %s, %s %s", web.Kind, web.Name, db.Kind, db.Name, debug.Kind, debug.Name)
	}
	eq := func(name string, p *int64, want int64) {
		t.Helper()
		if p == nil || *p != want {
			t.Errorf("%s = %v, want %d", name, p, want)
		}
	}
	null := func(name string, p *int64) {
		t.Helper()
		if p != nil {
			t.Errorf("%s = %d, want null", name, *p)
		}
	}
	if web.Pods != 3 || !slices.Equal(web.Nodes, []string{"n0", "n1"}) {
		t.Errorf("web: %d pods on %v", web.Pods, web.Nodes)
	}
	eq("web Σ working set", web.WorkingSetBytes, 100+300+50)
	eq("web max working set", web.WorkingSetMaxBytes, 300)
	eq("web Σ usage", web.UsageBytes, 150+320+60)
	eq("web max usage", web.UsageMaxBytes, 320)
	eq("web Σ limit", web.LimitBytes, 512+1024+512)
	eq("web max limit", web.LimitMaxBytes, 1024)
	eq("web Σ request", web.RequestBytes, 3*256)
	eq("web max request", web.RequestMaxBytes, 256)
	if web.OOMKills != 2 || web.Restarts != 2+1+4+0 || web.Severity != schema.Critical || web.Findings != 2 {
		t.Errorf("web: kills %d restarts %d severity %q findings %d", web.OOMKills, web.Restarts, web.Severity, web.Findings)
	}
	null("db Σ working set", db.WorkingSetBytes)
	eq("db max working set", db.WorkingSetMaxBytes, 700)
	eq("db Σ usage", db.UsageBytes, 810)
	null("db Σ limit", db.LimitBytes)
	null("db Σ request", db.RequestBytes)
	if db.OOMKills != 1 || db.Restarts != 3 || db.Severity != schema.Warning {
		t.Errorf("db: kills %d restarts %d severity %q", db.OOMKills, db.Restarts, db.Severity)
	}
	if !debug.Unlimited || debug.LimitBytes != nil || debug.Severity != "" || debug.Findings != 0 {
		t.Errorf("debug: unlimited %v limit %v severity %q findings %d (its only finding is suppressed)", debug.Unlimited, debug.LimitBytes, debug.Severity, debug.Findings)
	}
}
