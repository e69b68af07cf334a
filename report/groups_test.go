package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/memsnap/memsnap/report/schema"
)

// TestFindingGroupsRenderOnce: with several nodes the text and Markdown
// reports show one entry per rule and workload, naming its nodes.
func TestFindingGroupsRenderOnce(t *testing.T) {
	doc := &schema.Document{Schema: schema.ID, Generated: "2026-01-01T00:00:00Z"}
	for i, n := range []string{"node-a", "node-b", "node-c"} {
		doc.Bundles = append(doc.Bundles, schema.Bundle{Index: i, Node: n, Source: n + ".tgz"})
		doc.Findings = append(doc.Findings, schema.Finding{Rule: "oom-kill", Severity: schema.Critical, Bundle: i, Node: n,
			Namespace: "shop", Pod: "web-" + n, OwnerKind: "Deployment", Owner: "web", Title: "web was OOM-killed", Subject: "shop/web-" + n + "/app"})
	}
	doc.FindingGroups = []schema.FindingGroup{{Rule: "oom-kill", Severity: schema.Critical, Subject: "Deployment shop/web",
		Nodes: []string{"node-a", "node-b", "node-c"}, Pods: []string{"shop/web-node-a", "shop/web-node-b", "shop/web-node-c"}, Findings: []int{0, 1, 2}}}
	var text, mdown bytes.Buffer
	if err := Render(&text, "text", doc, Options{}); err != nil {
		t.Fatal(err)
	}
	if err := Render(&mdown, "markdown", doc, Options{}); err != nil {
		t.Fatal(err)
	}
	out := text.String()
	if !strings.Contains(out, "Findings across nodes (3 findings in 1 groups)") || !strings.Contains(out, "Deployment shop/web  on 3 node(s): node-a, node-b, node-c") {
		t.Errorf("text:\n%s", out)
	}
	if n := strings.Count(out, "web was OOM-killed"); n != 1 {
		t.Errorf("the group's finding is told %d times", n)
	}
	var html bytes.Buffer
	if err := Render(&html, "html", doc, Options{}); err != nil {
		t.Fatal(err)
	}
	h := html.String()
	if n := strings.Count(h, "<h4>web was OOM-killed</h4>"); n != 1 {
		t.Errorf("html tells the group's finding %d times", n)
	}
	if !strings.Contains(h, "on 3 node(s): node-a, node-b, node-c") || !strings.Contains(h, "The same on other nodes and pods (2)") {
		t.Errorf("html lacks the group's nodes or its other findings")
	}
	if !strings.Contains(mdown.String(), "| oom-kill | Deployment shop/web | node-a, node-b, node-c |") {
		t.Errorf("markdown:\n%s", mdown.String())
	}
}
