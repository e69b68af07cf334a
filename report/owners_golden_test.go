package report

import (
	"fmt"

	"github.com/memsnap/memsnap/report/schema"
)

// ownersDoc is a small cluster: two nodes running three replicas of
// Deployment shop/web (two flagged by limit-rightsizing, grouped into one
// verdict), a StatefulSet and a bare pod; Owners is derived from its rows.
func ownersDoc() *schema.Document {
	b := func(v int64) *int64 { return &v }
	r := func(v int32) *int32 { return &v }
	doc := &schema.Document{Schema: schema.ID, Generated: "2024-05-06T07:08:09Z", MemsnapVersion: "test"}
	for i, n := range []string{"node-a", "node-b"} {
		doc.Bundles = append(doc.Bundles, schema.Bundle{Index: i, Node: n, Source: n + ".tar.gz", Manifest: true,
			Problems: []string{}, Sources: []schema.Source{{Name: "cgroup", Status: "ok"}}})
	}
	pods := []struct {
		bundle             int
		name, kind, owner  string
		ws, peak, restarts int64
	}{
		{0, "web-7d9f8c6b5-aaaaa", "Deployment", "web", 120 << 20, 140 << 20, 0},
		{1, "web-7d9f8c6b5-bbbbb", "Deployment", "web", 150 << 20, 180 << 20, 2},
		{1, "web-7d9f8c6b5-ccccc", "Deployment", "web", 300 << 20, 400 << 20, 1},
		{0, "db-0", "StatefulSet", "db", 900 << 20, 1000 << 20, 0},
		{1, "debug", "", "", 10 << 20, 12 << 20, 0},
	}
	for k, p := range pods {
		node := doc.Bundles[p.bundle].Node
		uid := fmt.Sprintf("0000000%d-0000-4000-8000-000000000000", k)
		cg := "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uid + ".slice"
		doc.Workloads = append(doc.Workloads,
			schema.Workload{Bundle: p.bundle, Node: node, Namespace: "shop", Pod: p.name, PodUID: uid, OwnerKind: p.kind, Owner: p.owner,
				QoS: "Burstable", Cgroup: cg, UsageBytes: b(p.ws + 20<<20), WorkingSetBytes: b(p.ws), LimitBytes: b(2 << 30), RequestBytes: b(1 << 30)},
			schema.Workload{Bundle: p.bundle, Node: node, Namespace: "shop", Pod: p.name, PodUID: uid, Container: "app", OwnerKind: p.kind, Owner: p.owner,
				QoS: "Burstable", Cgroup: cg + "/cri-containerd-" + uid + ".scope", UsageBytes: b(p.ws + 20<<20), WorkingSetBytes: b(p.ws),
				LimitBytes: b(2 << 30), RequestBytes: b(1 << 30), PeakBytes: b(p.peak), RestartCount: r(int32(p.restarts))})
	}
	doc.OOMEvents = []schema.OOMEvent{{Bundle: 0, Node: "node-a", Namespace: "shop", Pod: "db-0", PodUID: "00000003-0000-4000-8000-000000000000",
		Container: "app", Process: "postgres", PID: 4242, File: "logs/kernel.log", Line: 7}}
	for _, k := range []int{0, 1} {
		p := pods[k]
		doc.Findings = append(doc.Findings, schema.Finding{Rule: "limit-rightsizing", Severity: schema.Info, Bundle: p.bundle, Node: doc.Bundles[p.bundle].Node,
			Namespace: "shop", Pod: p.name, Container: "app", OwnerKind: "Deployment", Owner: "web", Subject: "shop/" + p.name + "/app",
			Title:    "A container's memory limit is far from what it has ever used",
			Summary:  fmt.Sprintf("shop/%s/app has never used more than %d MiB: oversized.", p.name, p.peak>>20),
			Evidence: []schema.Evidence{{File: "cgroup/" + p.name + "/memory.peak", Text: "peak"}}, Basis: []string{"cgroup"},
			Remediation: "Set resources.requests.memory for this container.", References: []string{}})
	}
	doc.FindingGroups = []schema.FindingGroup{{Rule: "limit-rightsizing", Severity: schema.Info, Title: doc.Findings[0].Title, Namespace: "shop",
		OwnerKind: "Deployment", Owner: "web", Subject: "Deployment shop/web", Nodes: []string{"node-a", "node-b"},
		Pods: []string{"shop/" + pods[0].name, "shop/" + pods[1].name}, Findings: []int{0, 1},
		Summary:     "Over its 3 pod(s) on 2 node(s), app peaked at 400 MiB (pod shop/web-7d9f8c6b5-ccccc on node-b), 19.5% of its 2 GiB limit: oversized by 1.6 GiB. Suggested for every replica: request 440 MiB, limit 520 MiB.",
		Remediation: "In the Deployment template set resources.requests.memory ≈ 440 MiB and resources.limits.memory ≈ 520 MiB for container app.",
		Rightsizing: []schema.Rightsizing{{Container: "app", Pods: 3, PeakBytes: 400 << 20, PeakPod: "shop/" + pods[2].name, PeakNode: "node-b",
			PeakCgroup: doc.Workloads[5].Cgroup, LimitBytes: b(2 << 30), RequestBytes: b(1 << 30), Verdict: "oversized",
			SuggestedRequestBytes: 440 << 20, SuggestedLimitBytes: 520 << 20}}}}
	doc.Owners = Owners(doc)
	return doc
}
