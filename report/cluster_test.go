package report

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memsnap/memsnap/report/browsertest"
	"github.com/memsnap/memsnap/report/schema"
)

// clusterDoc is a cluster report's document: nodes × pods (a pod row and
// three containers each), per node an OOM kill of the same Deployment (one
// FindingGroup over all nodes), a kernel-log excerpt, sources and memory,
// and the workloads-by-owner rows Owners derives from them.
func clusterDoc(nodes, pods int) *schema.Document {
	doc := &schema.Document{Schema: schema.ID, Generated: "2026-11-23T10:00:00Z"}
	b := func(v int64) *int64 { return &v }
	group := schema.FindingGroup{Rule: "oom-kill", Severity: schema.Critical, Subject: "Deployment shop/web"}
	for n := 0; n < nodes; n++ {
		node := fmt.Sprintf("node-%03d", n)
		doc.Bundles = append(doc.Bundles, schema.Bundle{Index: n, Node: node, Source: node + ".tar.gz", Manifest: true, Kernel: "6.1.0",
			Sources: []schema.Source{{Name: "cgroup", Status: "ok"}, {Name: "kubelet-summary", Status: "ok"}, {Name: "heap", Status: "missing", Error: "no pprof endpoint"}},
			Memory: schema.NodeMemory{CapacityBytes: b(32 << 30), AllocatableBytes: b(30 << 30), KubepodsLimitBytes: b(31 << 30),
				UsedBytes: b(int64(20+n%7) << 30), WorkingSetBytes: b(int64(18+n%7) << 30), AvailableBytes: b(int64(14-n%7) << 30), EvictionHardBytes: b(100 << 20)}})
		for p := 0; p < pods; p++ {
			pod := fmt.Sprintf("web-%05d-%03d", n, p)
			uid := fmt.Sprintf("%08x-0000-4000-8000-%012x", n, p)
			base := int64(p%97+1) << 20
			// 125 Deployments ("web" runs pod 0 of every node, the one
			// OOM-killed) and every 50th pod bare: 625 owners in all.
			kind, owner := "Deployment", "web"
			if p%125 != 0 {
				owner = fmt.Sprintf("api-%03d", p%125)
			}
			if p%50 == 49 {
				kind, owner = "", ""
			}
			for c, name := range []string{"", "app", "sidecar", "init"} {
				w := schema.Workload{Bundle: n, Node: node, Namespace: "shop", Pod: pod, PodUID: uid, Container: name, OwnerKind: kind, Owner: owner,
					QoS: "Burstable", Cgroup: "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uid + ".slice",
					UsageBytes: b(base * int64(c+2)), WorkingSetBytes: b(base * int64(c+1)), WorkingSetReportedBytes: b(base * int64(c+1)), AnonBytes: b(base),
					ActiveFileBytes: b(base / 2), InactiveFileBytes: b(base / 3), ShmemBytes: b(0), KernelBytes: b(base / 9), LimitBytes: b(512 << 20)}
				doc.Workloads = append(doc.Workloads, w)
			}
		}
		pod := fmt.Sprintf("web-%05d-000", n)
		group.Nodes = append(group.Nodes, node)
		group.Pods = append(group.Pods, "shop/"+pod)
		group.Findings = append(group.Findings, len(doc.Findings))
		doc.Findings = append(doc.Findings, schema.Finding{Rule: "oom-kill", Severity: schema.Critical, Bundle: n, Node: node,
			Namespace: "shop", Pod: pod, OwnerKind: "Deployment", Owner: "web", Title: "Container shop/web/app was OOM-killed",
			Subject: "shop/" + pod + "/app", Summary: "The kernel killed app at its 512 MiB limit.",
			Evidence: []schema.Evidence{{File: "logs/kernel.log", Key: "line 3", Text: "oom-kill: constraint=CONSTRAINT_MEMCG"}}})
		var lines []schema.ExcerptLine
		for l := 1; l <= 20; l++ {
			lines = append(lines, schema.ExcerptLine{N: l, Text: fmt.Sprintf("[%d.%03d] kernel log line %d of %s", 1000+l, n, l, node)})
		}
		doc.Excerpts = append(doc.Excerpts, schema.Excerpt{Bundle: n, File: "logs/kernel.log", Lines: lines})
	}
	doc.FindingGroups = []schema.FindingGroup{group}
	doc.Owners = Owners(doc)
	return doc
}

// TestClusterHTMLSize: at 100 nodes × 250 pods the HTML stays within 5 MB
// (issue #14) while every node's detail is in the page, compressed, with
// 50 rows of its pods table; the JSON keeps every finding and row.
func TestClusterHTMLSize(t *testing.T) {
	doc := clusterDoc(100, 250)
	html := render(t, "html", doc, Options{Now: testNow})
	if len(html) > 5<<20 {
		t.Errorf("HTML of 100 nodes × 250 pods is %.2f MB, want ≤ 5 MB", float64(len(html))/(1<<20))
	}
	t.Logf("HTML %.2f MB", float64(len(html))/(1<<20))
	if n := bytes.Count(html, []byte(`class="memsnap-node"`)); n != 100/htmlDetailChunk {
		t.Errorf("%d node detail blobs, want %d (%d nodes each)", n, 100/htmlDetailChunk, htmlDetailChunk)
	}
	// The pods tables are not in the page itself, only in the blobs.
	if bytes.Contains(html, []byte("web-00042-007")) {
		t.Errorf("a pod row of node 42 is in the page instead of its detail blob")
	}
	var got schema.Document
	if err := json.Unmarshal(render(t, "json", doc, Options{Now: testNow}), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Findings) != len(doc.Findings) || len(got.Workloads) != len(doc.Workloads) {
		t.Errorf("JSON has %d findings and %d rows, want %d and %d", len(got.Findings), len(got.Workloads), len(doc.Findings), len(doc.Workloads))
	}
}

// TestLazyDetailBlobs: each blob inflates to its chunk of nodes' sections,
// each node's part escaped by the template and holding only that node, with
// its charts; every node is in exactly one chunk, and the page's chart
// block has none of their charts.
func TestLazyDetailBlobs(t *testing.T) {
	const nodes = htmlManyBundles + 3 // the last chunk is short
	page := buildPage(clusterDoc(nodes, 3), Options{})
	if !page.Lazy {
		t.Fatal("a page of more than htmlManyBundles nodes is not Lazy")
	}
	details, err := lazyDetail(page)
	if err != nil {
		t.Fatal(err)
	}
	if want := (nodes + htmlDetailChunk - 1) / htmlDetailChunk; len(details) != want {
		t.Fatalf("%d detail blobs, want %d", len(details), want)
	}
	seen := map[int]int{}
	for _, d := range details {
		blob := inflateDetail(t, d.Data)
		var idx []string
		for _, n := range blob.Nodes {
			seen[n]++
			idx = append(idx, fmt.Sprint(n))
		}
		if strings.Join(idx, " ") != d.Indices {
			t.Errorf("blob lists nodes %q, its element says %q", idx, d.Indices)
		}
		if len(blob.Charts) != len(blob.Nodes) {
			t.Errorf("blob %q: %d chart lists for %d nodes", d.Indices, len(blob.Charts), len(blob.Nodes))
		}
		for section := range lazySections {
			if len(blob.Sections[section]) != len(blob.Nodes) {
				t.Errorf("blob %q: section %q has %d parts for %d nodes", d.Indices, section, len(blob.Sections[section]), len(blob.Nodes))
			}
		}
		for at, n := range blob.Nodes {
			w := blob.Sections["workloads"][at]
			if !strings.Contains(w, fmt.Sprintf("web-%05d-002", n)) || strings.Count(w, "web-") != strings.Count(w, fmt.Sprintf("web-%05d-", n)) {
				t.Errorf("workloads fragment of node %d does not hold exactly its pods:\n%.400s", n, w)
			}
			if len(blob.Charts[at]) == 0 {
				t.Errorf("node %d's detail carries no chart", n)
			}
		}
	}
	for n := 0; n < nodes; n++ {
		if seen[n] != 1 {
			t.Errorf("node %d is in %d detail blobs, want 1", n, seen[n])
		}
	}
	for _, c := range page.Charts {
		if strings.HasPrefix(c.ID, "chart-node-") || strings.HasPrefix(c.ID, "chart-workloads-") {
			t.Errorf("per-node chart %s is in the page's chart block", c.ID)
		}
	}
}

// TestBrowserCluster: a cluster report opens with its summary and grouped
// findings; picking a node (here through the address, #bundle-N, as the
// summary's links do) inflates and shows that node's detail with painted
// charts, and nothing else is requested.
func TestBrowserCluster(t *testing.T) {
	path := writeReport(t, "report-cluster", clusterDoc(htmlManyBundles+5, 60))
	res := browsertest.Check(t, path)
	if !strings.Contains(res.Text, "Choose a node in the node picker") || strings.Contains(res.Text, "web-00003-001") {
		t.Errorf("the cluster page shows node detail before a node is picked")
	}
	res = browsertest.CheckAt(t, path, "bundle-3")
	for _, want := range []string{"web-00003-001", "node-003 · lines 1–20", "no pprof endpoint", "Cluster summary", "Deployment shop/web",
		"Workloads by owner", "api-059"} { // (rows past the first 50 are compressed: TestBrowserOwnersSort)
		if !strings.Contains(res.Text, want) {
			t.Errorf("after picking node-003 the page does not show %q", want)
		}
	}
	if strings.Contains(res.Text, "web-00004-001") {
		t.Errorf("after picking node-003 the page shows node-004's pods")
	}
	if len(res.Charts) < 2 {
		t.Errorf("%d charts after picking node-003, want its memory and workload charts", len(res.Charts))
	}
}

// BenchmarkOpenClusterReport: the time from navigation to the page's ready
// marker in headless Chromium (one browser, a fresh load per iteration).
// The report is MEMSNAP_BENCH_HTML when set (make bench sets it to the
// 100-node report memsnap analyze wrote), else a synthetic 100 × 250.
// Budget (#14): under 5 s.
func BenchmarkOpenClusterReport(b *testing.B) {
	path := os.Getenv("MEMSNAP_BENCH_HTML")
	if path == "" {
		path = filepath.Join(b.TempDir(), "cluster.html")
		if err := os.WriteFile(path, render(b, "html", clusterDoc(100, 250), Options{Now: testNow}), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	info, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	browsertest.BenchOpen(b, path)
	// After BenchOpen: its b.ResetTimer drops metrics reported before it.
	b.ReportMetric(float64(info.Size())/(1<<20), "html_MB")
}

// inflateDetail decodes a node detail blob the way init.js does.
func inflateDetail(t *testing.T, data string) detailBlob {
	t.Helper()
	z, err := base64.RawURLEncoding.DecodeString(data)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(z))
	if err != nil {
		t.Fatal(err)
	}
	js, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	var blob detailBlob
	if err := json.Unmarshal(js, &blob); err != nil {
		t.Fatal(err)
	}
	return blob
}

// TestBrowserXSSCluster: the hostile document's bundles made a cluster
// report, so their strings travel in the compressed node detail and enter
// the page as fragments: picking the node runs nothing, requests nothing,
// and shows the payloads as text.
func TestBrowserXSSCluster(t *testing.T) {
	doc := hostileDoc()
	for len(doc.Bundles) <= htmlManyBundles {
		b := doc.Bundles[len(doc.Bundles)-1]
		b.Index = len(doc.Bundles)
		doc.Bundles = append(doc.Bundles, b)
	}
	// Open every compressed part too (evidence, group lists, rows): their
	// fragments enter the page the same way, and must run nothing either.
	res := browsertest.CheckSteps(t, writeReport(t, "report-xss-cluster", doc), "bundle-0", browsertest.Step{Eval: openAllLazy})
	if res.Evals[0] != "all open" {
		t.Errorf("opening the compressed parts: %s", res.Evals[0])
	}
	shown := 0
	for _, p := range xssPayloads {
		if strings.Contains(res.Text, p) {
			shown++
		}
	}
	if shown == 0 {
		t.Errorf("no payload is shown literally after picking the hostile node")
	}
	if !strings.Contains(res.Text, doc.Findings[0].Evidence[0].Text) {
		t.Errorf("the opened evidence does not show the hostile evidence text literally")
	}
}

// openAllLazy opens every compressed part of a cluster page (each closed
// details.lazy-z, each "Show the other …" button) and resolves when all
// have been inserted, or says what is still empty after 20 s.
const openAllLazy = `new Promise(function (resolve) {
  var ds = document.querySelectorAll("details.lazy-z"), bs = document.querySelectorAll("button[data-rows-of]");
  ds.forEach(function (d) { d.open = true; });
  bs.forEach(function (b) { b.click(); });
  var t0 = Date.now();
  (function poll() {
    var empty = Array.prototype.filter.call(ds, function (d) { return !d.querySelector(".lazy-body").childNodes.length; }).length;
    var rows = Array.prototype.filter.call(bs, function (b) { return !b.parentNode.hidden; }).length;
    if (!empty && !rows) { resolve(ds.length || bs.length ? "all open" : "nothing compressed"); return; }
    if (Date.now() - t0 > 20000) { resolve(empty + " parts empty, " + rows + " row buttons shown"); return; }
    setTimeout(poll, 10);
  })();
})`

// TestBrowserClusterGroupLists: in a cluster report a finding group names
// only its first nodes and pods; its full lists and its other findings are
// compressed in the page and inflated in the browser when the list is
// opened (here through its address, #others-N).
func TestBrowserClusterGroupLists(t *testing.T) {
	doc := clusterDoc(htmlManyBundles+5, 3)
	html := render(t, "html", doc, Options{Now: testNow})
	if bytes.Contains(html, []byte("node-020 · ")) || bytes.Contains(html, []byte("shop/web-00020-000")) {
		t.Errorf("node-020's finding and pod are in the page itself, not in the group's compressed list")
	}
	path := writeReport(t, "report-cluster-groups", doc)
	res := browsertest.Check(t, path)
	if !strings.Contains(res.Text, "on 35 node(s): node-000, node-001") || strings.Contains(res.Text, "node-020 · ") {
		t.Errorf("closed group: want the first nodes named and the others not shown")
	}
	res = browsertest.CheckAt(t, path, "others-0")
	for _, want := range []string{"node-020 · shop/web-00020-000/app", "shop/web-00034-000", "node-034"} {
		if !strings.Contains(res.Text, want) {
			t.Errorf("opened group list does not show %q", want)
		}
	}
}

// TestBrowserClusterEvidence: in a cluster report a finding's evidence
// table is not in the page's markup but compressed in the finding; a real
// click on "Evidence" inflates it in Chromium and shows its rows, with the
// link into the node's excerpt. A small report keeps the table inline.
func TestBrowserClusterEvidence(t *testing.T) {
	doc := clusterDoc(htmlManyBundles+5, 3)
	doc.Findings[0].Evidence = append(doc.Findings[0].Evidence,
		schema.Evidence{File: "cgroup/kubepods.slice/memory.events", Key: "oom_kill", Value: "7", Text: "seven kills counted by the memcg"})
	html := render(t, "html", doc, Options{Now: testNow})
	if bytes.Contains(html, []byte("seven kills counted by the memcg")) || bytes.Contains(html, []byte(`class="grid compact evidence"`)) {
		t.Errorf("a finding's evidence table is in the cluster page's markup, not compressed")
	}
	if !bytes.Contains(html, []byte(`id="finding-0-evidence"`)) {
		t.Fatalf("the lead finding has no compressed evidence")
	}
	small := render(t, "html", richDoc(), Options{Now: testNow})
	if !bytes.Contains(small, []byte(`class="grid compact evidence"`)) || bytes.Contains(small, []byte("lazy-evidence")) {
		t.Errorf("a small report does not keep its evidence tables inline")
	}

	path := writeReport(t, "report-cluster-evidence", doc)
	res := browsertest.CheckSteps(t, path, "", browsertest.Step{
		Eval: `String(document.querySelectorAll("#finding-0-evidence table.evidence tbody tr").length)`,
	}, browsertest.Step{
		Click:   "#finding-0-evidence > summary",
		WaitFor: "#finding-0-evidence table.evidence",
		Eval: `Array.prototype.map.call(document.querySelectorAll("#finding-0-evidence table.evidence tbody tr"), function (r) {
		  return Array.prototype.map.call(r.cells, function (c) { return c.textContent; }).join("|") + "|" + (r.querySelector("a") ? r.querySelector("a").getAttribute("href") : "");
		}).join("\n")`,
	})
	if len(res.Evals) != 2 {
		t.Fatalf("%d step results, want 2", len(res.Evals))
	}
	if res.Evals[0] != "0" {
		t.Errorf("before the click the evidence shows %s rows, want none", res.Evals[0])
	}
	rows := strings.Split(res.Evals[1], "\n")
	if len(rows) != 2 || !strings.Contains(rows[0], "logs/kernel.log|line 3|") || !strings.Contains(rows[0], "CONSTRAINT_MEMCG|#ex-0-0") ||
		!strings.Contains(rows[1], "memory.events|oom_kill|7|seven kills counted by the memcg") {
		t.Errorf("evidence rows after the click:\n%s", res.Evals[1])
	}
	if !strings.Contains(res.Text, "seven kills counted by the memcg") {
		t.Errorf("the page text lacks the inflated evidence")
	}
}

// TestBrowserOwnersSort: clicking a column header of the workloads-by-owner
// table sorts it, over every row: in a cluster report the rows past the
// first travel compressed and are inserted before the sort.
func TestBrowserOwnersSort(t *testing.T) {
	doc := clusterDoc(htmlManyBundles+1, 150) // 125 Deployments + 3 bare pods per node
	total := len(doc.Owners)
	if total <= htmlLazyRowsHead {
		t.Fatalf("%d owners: the document does not exercise the compressed rows", total)
	}
	html := render(t, "html", doc, Options{Now: testNow})
	if !bytes.Contains(html, []byte("data-rest-z=")) {
		t.Fatalf("the owners table carries no compressed rows")
	}
	// Column 3 is the owner's name, column 4 its pod count.
	names := `(function () {
	  var rows = document.querySelectorAll("#owners-table tbody tr");
	  var v = Array.prototype.map.call(rows, function (r) { return r.cells[2].textContent; });
	  var sorted = v.every(function (x, i) { return i === 0 || v[i - 1].localeCompare(x) <= 0; });
	  return rows.length + " " + sorted + " " + v[0] + " " + v[v.length - 1];
	})()`
	pods := `(function () {
	  var v = Array.prototype.map.call(document.querySelectorAll("#owners-table tbody tr"), function (r) { return Number(r.cells[3].getAttribute("data-v")); });
	  var desc = v.every(function (x, i) { return i === 0 || v[i - 1] >= x; });
	  return v.length + " " + desc + " " + v[0] + " " + v[v.length - 1];
	})()`
	res := browsertest.CheckSteps(t, writeReport(t, "report-owners-sort", doc), "",
		browsertest.Step{Eval: names},
		// A sort may wait for the rows to be inflated: wait for its mark.
		browsertest.Step{Click: "#owners-table thead th:nth-child(3) button", WaitFor: `#owners-table th:nth-child(3)[aria-sort="ascending"]`, Eval: names},
		browsertest.Step{Click: "#owners-table thead th:nth-child(4) button", WaitFor: `#owners-table th:nth-child(4)[aria-sort="ascending"]`},
		browsertest.Step{Click: "#owners-table thead th:nth-child(4) button", WaitFor: `#owners-table th:nth-child(4)[aria-sort="descending"]`, Eval: pods},
		browsertest.Step{Eval: `String(document.querySelector('button[data-rows-of="owners-table"]').offsetParent === null)`},
	)
	if len(res.Evals) != 4 {
		t.Fatalf("%d step results, want 4", len(res.Evals))
	}
	if want := fmt.Sprintf("%d false web ", htmlLazyRowsHead); !strings.HasPrefix(res.Evals[0], want) {
		t.Errorf("before sorting: %q, want %q… (the first rows, worst first: web, OOM-killed)", res.Evals[0], want)
	}
	if want := fmt.Sprintf("%d true api-001 ", total); !strings.HasPrefix(res.Evals[1], want) {
		t.Errorf("after clicking Owner: %q, want %q… (every row, by name)", res.Evals[1], want)
	}
	// web and api-001…023 run two pods on every node; a bare pod is one.
	if want := fmt.Sprintf("%d true %d 1", total, 2*(htmlManyBundles+1)); res.Evals[2] != want {
		t.Errorf("after clicking Pods twice: %q, want %q (every row, most pods first)", res.Evals[2], want)
	}
	if res.Evals[3] != "true" {
		t.Errorf("the \"Show the other owners\" button is still shown after every row was inserted")
	}
}

// TestBrowserClusterOOMRows: a cluster report's OOM table shows its first
// rows; the others are compressed in the page and a click on "Show the
// other … kills" inserts them in Chromium.
func TestBrowserClusterOOMRows(t *testing.T) {
	doc := clusterDoc(htmlManyBundles+1, 3)
	const kills = htmlLazyRowsHead + 12
	for k := 0; k < kills; k++ {
		doc.OOMEvents = append(doc.OOMEvents, schema.OOMEvent{Bundle: k % len(doc.Bundles), Node: doc.Bundles[k%len(doc.Bundles)].Node,
			Process: fmt.Sprintf("victim-%03d", k), PID: 1000 + k, File: "logs/kernel.log", Line: 3, Constraint: "CONSTRAINT_MEMCG"})
	}
	html := render(t, "html", doc, Options{Now: testNow})
	// Rows are in the report's order (by node), not the loop's; count the
	// table's cells (the timeline chart's data names every victim).
	if n := bytes.Count(html, []byte(`<td>victim-`)); n != htmlLazyRowsHead {
		t.Errorf("%d kills in the markup, want the first %d (the others compressed)", n, htmlLazyRowsHead)
	}
	count := `String(document.querySelectorAll("#oom-table tbody tr").length)`
	res := browsertest.CheckSteps(t, writeReport(t, "report-cluster-oom", doc), "",
		browsertest.Step{Eval: count},
		browsertest.Step{Click: `button[data-rows-of="oom-table"]`, WaitFor: "#oom-table tbody tr:nth-child(" + fmt.Sprint(kills) + ")", Eval: count})
	if len(res.Evals) != 2 || res.Evals[0] != fmt.Sprint(htmlLazyRowsHead) || res.Evals[1] != fmt.Sprint(kills) {
		t.Errorf("OOM rows before and after the click: %q, want %d then %d", res.Evals, htmlLazyRowsHead, kills)
	}
	for k := 0; k < kills; k++ {
		if v := fmt.Sprintf("victim-%03d pid %d", k, 1000+k); !strings.Contains(res.Text, v) {
			t.Errorf("after the click the table does not show %q", v)
		}
	}

	// With node-003 picked, the inserted rows follow the picker: only its
	// kills (k = 3, 34) are shown.
	res = browsertest.CheckSteps(t, writeReport(t, "report-cluster-oom", doc), "bundle-3",
		browsertest.Step{Click: `button[data-rows-of="oom-table"]`, Eval: `new Promise(function (resolve) {
		  (function poll() {
		    if (document.querySelectorAll("#oom-table tbody tr").length < ` + fmt.Sprint(kills) + `) { setTimeout(poll, 10); return; }
		    resolve(Array.prototype.map.call(document.querySelectorAll("#oom-table tbody tr:not(.hidden-by-picker)"), function (r) {
		      return r.cells[2].textContent;
		    }).join(", "));
		  })();
		})`})
	if want := "victim-003 pid 1003, victim-034 pid 1034"; len(res.Evals) != 1 || res.Evals[0] != want {
		t.Errorf("OOM rows shown with node-003 picked: %q, want %q", res.Evals, want)
	}
}
