package report

import (
	"fmt"
	"html/template"
	"strconv"
	"strings"

	"github.com/memsnap/memsnap/report/schema"
)

// htmlPage is everything the HTML template shows. Strings from the bundle
// stay plain strings here: html/template escapes them for the context they
// land in; only our own assets are typed as template.CSS/JS.
type htmlPage struct {
	CSP            string
	CSS            template.CSS
	EChartsJS      template.JS
	InitJS         template.JS
	EChartsLicense string
	EChartsNotice  string

	Generated string
	Version   string
	Verdict   verdictView
	Multi     bool
	Summary   []summaryRow
	Findings  []findingView
	Suppr     []findingView
	OOM       []oomView
	OOMCount  int // rows of the OOM table, OOMRest included
	// OOMRestZ (a cluster page): the OOM rows past the first
	// htmlLazyRowsHead, compressed like OwnersRestZ.
	OOMRestZ  string
	OOMRest   int
	OOMChart  *chartSpec
	Bundles   []bundleView
	Notes     []string // caps that applied
	Charts    []chartSpec
	AnySeries bool // some bundle has a time axis
	// Lazy: a cluster report. The per-node sections are not in the page;
	// each node's part is in Detail, compressed, and inserted when the
	// reader picks the node (issue #14: 100 nodes within 5 MB).
	Lazy   bool
	Detail []nodeDetail
	// FindingsZ (a cluster page): the findings' closed parts, see
	// lazyFindings.
	FindingsZ string
	// Owners is the cluster workloads view (Document.Owners), worst first,
	// at most htmlOwnerRows; OwnersTotal counts them all.
	Owners      []ownerView
	OwnersTotal int
	// OwnersRestZ (a cluster page): the owner rows past the first
	// htmlOwnerRowsHead, the rendered "owner-rows", gzip + base64url;
	// OwnersRest counts them.
	OwnersRestZ string
	OwnersRest  int
}

// ownerView is one row of the workloads-by-owner table.
type ownerView struct {
	schema.Owner
	SevRank   int // for sorting the severity column
	NodeCount int
}

// nodeDetail is a chunk of nodes' per-node sections and charts, rendered
// by the same templates as a small report and compressed (see lazyDetail).
type nodeDetail struct {
	Indices string // the chunk's bundle indices, space-separated
	Data    string // base64url of the gzip of a detailBlob in JSON
}

type verdictView struct {
	Severity string // critical | warning | info | ok
	Headline string
	Detail   string
}

type summaryRow struct {
	Memory  schema.NodeMemory
	Index   int
	Node    string
	Source  string
	Tally   tally
	OOM     int
	Missing int
}

type findingView struct {
	schema.Finding
	Anchor   string
	Evidence []evidenceView
	More     int // evidence items not shown
	// EvidenceLazy (a cluster page): the evidence table travels in the
	// page's FindingsZ, inflated when the reader opens it.
	EvidenceLazy bool
	// Group is set, with several nodes, on the one finding shown for a
	// FindingGroup: the nodes and pods it spans and the others in brief.
	Group *groupView
}

type groupView struct {
	// Bundles lists the group's bundle indices, space-separated: the node
	// picker shows the group when any of them is picked.
	Bundles string
	Subject string
	Nodes   []string
	Pods    []string
	Others  []otherFinding
	More    int // findings of the group not listed
	// Lazy (a cluster page): the header names only the first few nodes and
	// pods; the full lists and the other findings travel in the page's
	// FindingsZ (the rendered "group-others-body", gzip + base64url like a
	// node's detail) and are inflated when the reader opens the list.
	// Repeated for every group, they were most of a 100-node page.
	Lazy      bool
	ID        string // "others-<lead finding>", an address that opens the list
	NodeCount int
	PodCount  int
	HeadNodes []string
	HeadPods  []string
	// Rightsizing is set on a limit-rightsizing group of an owner: the
	// group's own verdict per container (its summary replaces the first
	// finding's, whose per-pod evidence is left to the JSON).
	Rightsizing []schema.Rightsizing
}

type otherFinding struct {
	Node, Subject, Summary string
}

// htmlGroupOthers bounds the other findings listed under a group.
const htmlGroupOthers = 50

type evidenceView struct {
	schema.Evidence
	Link string // "#ex-<bundle>-<k>" when the excerpt viewer has the file
}

type oomView struct {
	schema.OOMEvent
	NodeLabel string
	Workload  string
	Link      string
}

type bundleView struct {
	schema.Bundle
	Name        string
	Tally       tally
	MemoryChart *chartSpec
	MemoryRows  []memoryRow
	WorkChart   *chartSpec
	// The time axis (Series): the node's lines, charts of the fastest
	// growing containers, and every container in the table.
	SeriesNodeChart *chartSpec
	SeriesCharts    []chartSpec
	SeriesRows      []schema.SeriesContainer
	SeriesTotal     int
	Workloads       []schema.Workload
	WorkTotal       int
	Heap            []heapView
	Skipped         []schema.RuleStatus
	Excerpts        []excerptView
	ExcerptMore     int
	// charts of this node, kept aside in a Lazy page (they travel in its
	// detail blob, not the page's chart block).
	charts []chartSpec
}

type memoryRow struct {
	Label string
	Value *int64
	Note  string
	Say   string // shown instead of Value ("unlimited", "no kubepods cgroup")
}

type heapView struct {
	schema.HeapProfile
	Index      int
	InuseChart *chartSpec
	AllocChart *chartSpec
	TopInuse   []schema.FuncCost
	TopAlloc   []schema.FuncCost
	NoCharts   bool // left out: too many profiles in the report
}

type excerptView struct {
	Anchor    string
	File      string
	Range     string
	Lines     []excerptLine
	Truncated bool
	Cut       int
}

type excerptLine struct {
	N    int
	Text string
	Hit  bool
}

func buildPage(doc *schema.Document, opts Options) *htmlPage {
	p := &htmlPage{Generated: generated(doc, opts), Version: doc.MemsnapVersion, Multi: len(doc.Bundles) > 1}
	all := countFindings(doc, -1)
	p.Verdict = verdict(doc, all)

	// Excerpt anchors first: findings link to them.
	anchors := map[string]string{} // bundle \x00 file -> anchor
	excerpts := map[int][]excerptView{}
	excerptMore := map[int]int{}
	hits := citedLines(doc)
	exBudget := &byteBudget{left: htmlExcerptBytes}
	for k, e := range doc.Excerpts {
		if len(excerpts[e.Bundle]) >= htmlExcerptCap || exBudget.left == 0 {
			excerptMore[e.Bundle]++
			continue
		}
		ev := excerptView{Anchor: fmt.Sprintf("ex-%d-%d", e.Bundle, k), File: truncateRunes(e.File, htmlFieldRunes), Truncated: e.Truncated}
		for i, l := range e.Lines {
			text := truncateRunes(l.Text, htmlLineRunes)
			if i == htmlExcerptLineCap || !exBudget.take(len(text)+60) {
				ev.Cut = len(e.Lines) - i
				break
			}
			ev.Lines = append(ev.Lines, excerptLine{N: l.N, Text: text, Hit: hits[citeKey(e.Bundle, e.File, l.N)]})
		}
		if len(ev.Lines) > 0 {
			ev.Range = fmt.Sprintf("lines %d–%d", ev.Lines[0].N, ev.Lines[len(ev.Lines)-1].N)
		}
		key := strconv.Itoa(e.Bundle) + "\x00" + e.File
		if _, ok := anchors[key]; !ok {
			anchors[key] = "#" + ev.Anchor
		}
		excerpts[e.Bundle] = append(excerpts[e.Bundle], ev)
	}

	// With several nodes, a FindingGroup is told once: its first finding in
	// full, the others in one line each (the JSON keeps every finding).
	shown := map[int]*groupView{}
	groupSays := map[int]schema.FindingGroup{} // lead finding → its group's own summary
	if len(doc.FindingGroups) > 0 {
		for _, g := range doc.FindingGroups {
			if len(g.Findings) == 0 || g.Findings[0] >= len(doc.Findings) {
				continue
			}
			gv := &groupView{Subject: truncateRunes(g.Subject, htmlFieldRunes), Nodes: capStrings(g.Nodes, htmlGroupOthers), Pods: capStrings(g.Pods, htmlGroupOthers)}
			seen := map[int]bool{}
			var idx []string
			for _, fi := range g.Findings {
				if fi < len(doc.Findings) && !seen[doc.Findings[fi].Bundle] {
					seen[doc.Findings[fi].Bundle] = true
					idx = append(idx, strconv.Itoa(doc.Findings[fi].Bundle))
				}
			}
			gv.Bundles = strings.Join(idx, " ")
			for k, fi := range g.Findings[1:] {
				if k == htmlGroupOthers {
					gv.More = len(g.Findings) - 1 - k
					break
				}
				if fi < len(doc.Findings) {
					o := doc.Findings[fi]
					gv.Others = append(gv.Others, otherFinding{Node: o.Node, Subject: truncateRunes(o.Subject, htmlFieldRunes), Summary: truncateRunes(o.Summary, htmlFieldRunes)})
				}
			}
			if g.Summary != "" {
				gv.Rightsizing = g.Rightsizing
			}
			gv.NodeCount, gv.PodCount = len(g.Nodes), len(g.Pods)
			gv.HeadNodes, gv.HeadPods = gv.Nodes, gv.Pods
			if len(doc.Bundles) > htmlManyBundles {
				gv.ID = fmt.Sprintf("others-%d", g.Findings[0])
				lazyGroup(gv)
			}
			shown[g.Findings[0]] = gv
			if g.Summary != "" {
				groupSays[g.Findings[0]] = g
			}
		}
	}
	// A cluster page (issue #14: 100 nodes within 5 MB) carries what the
	// reader opens on demand compressed: per-node detail, group lists,
	// evidence tables, owner rows past the first.
	lazy := len(doc.Bundles) > htmlManyBundles
	fBudget := &byteBudget{left: htmlFindingBytes}
	for i, f := range doc.Findings {
		gv, lead := shown[i]
		if len(doc.FindingGroups) > 0 && !lead && f.Suppressed == nil {
			continue
		}
		if g, ok := groupSays[i]; ok {
			// The group speaks for all its pods: its summary and fix, no
			// single pod's evidence.
			f.Subject, f.Summary, f.Evidence = g.Subject, g.Summary, nil
			if g.Remediation != "" {
				f.Remediation = g.Remediation
			}
		}
		fv := findingView{Finding: f, Anchor: fmt.Sprintf("finding-%d", i), Group: gv}
		fv.Title = truncateRunes(f.Title, htmlFieldRunes)
		fv.Subject = truncateRunes(f.Subject, htmlFieldRunes)
		fv.Summary = truncateRunes(f.Summary, htmlFieldRunes)
		fv.Remediation = truncateRunes(f.Remediation, htmlFieldRunes)
		size := 800 + len(fv.Title) + len(fv.Subject) + len(fv.Summary) + len(fv.Remediation)
		for j, e := range f.Evidence {
			if j == htmlEvidenceCap {
				fv.More = len(f.Evidence) - j
				break
			}
			e.File = truncateRunes(e.File, htmlFieldRunes)
			e.Key = truncateRunes(e.Key, htmlFieldRunes)
			e.Text = truncateRunes(e.Text, htmlFieldRunes)
			size += 200 + len(e.File) + len(e.Key) + len(e.Text)
			fv.Evidence = append(fv.Evidence, evidenceView{Evidence: e, Link: anchors[strconv.Itoa(f.Bundle)+"\x00"+f.Evidence[j].File]})
		}
		if !fBudget.take(size) {
			p.Notes = append(p.Notes, fmt.Sprintf("Only the first %d of %d findings are shown (worst first); the JSON report has all of them.", i, len(doc.Findings)))
			break
		}
		if f.Suppressed != nil {
			p.Suppr = append(p.Suppr, fv)
		} else {
			p.Findings = append(p.Findings, fv)
		}
	}

	if lazy {
		lazyFindings(p)
	}

	for _, b := range worstBundlesFirst(doc) {
		missing := 0
		for _, s := range b.Sources {
			if s.Status != "ok" {
				missing++
			}
		}
		p.Summary = append(p.Summary, summaryRow{Index: b.Index, Node: bundleName(b), Source: b.Source,
			Tally: countFindings(doc, b.Index), OOM: oomCount(doc, b.Index), Missing: missing, Memory: b.Memory})
	}

	p.OwnersTotal = len(doc.Owners)
	for i, o := range doc.Owners {
		if i == htmlOwnerRows {
			p.Notes = append(p.Notes, fmt.Sprintf("The workloads-by-owner table lists the first %d of %d owners (worst first); the JSON report has all of them.", htmlOwnerRows, len(doc.Owners)))
			break
		}
		o.Namespace, o.Kind, o.Name = truncateRunes(o.Namespace, 253), truncateRunes(o.Kind, 100), truncateRunes(o.Name, 253)
		p.Owners = append(p.Owners, ownerView{Owner: o, SevRank: schema.SeverityRank(o.Severity), NodeCount: len(o.Nodes)})
	}
	if lazy {
		lazyOwners(p)
	}

	for i, e := range doc.OOMEvents {
		if i == htmlOOMRowCap {
			p.Notes = append(p.Notes, fmt.Sprintf("The OOM table lists the first %d of %d kills; the timeline shows all of them.", htmlOOMRowCap, len(doc.OOMEvents)))
			break
		}
		p.OOM = append(p.OOM, oomView{OOMEvent: e, NodeLabel: oomNodeLabel(doc, e),
			Workload: workloadName(e.Namespace, e.Pod, e.Container), Link: anchors[strconv.Itoa(e.Bundle)+"\x00"+e.File]})
	}
	p.OOMCount = len(p.OOM)
	if lazy {
		lazyOOM(p)
	}
	if c, ok := oomTimelineChart(doc); ok {
		p.OOMChart = &c
		p.Charts = append(p.Charts, c)
	}

	perBundle := htmlRowBudget
	if n := len(doc.Bundles); n > 0 {
		perBundle = max(htmlRowMinPerBundle, htmlRowBudget/n)
		if n > htmlManyBundles {
			// A cluster: the budget is shared, each node keeps its worst rows.
			perBundle = max(htmlRowMinPerBundleMany, htmlRowBudget/n)
		}
	}
	p.Lazy = lazy
	if p.Lazy {
		// Rows cost only compressed bytes, on demand: each node keeps more.
		perBundle = max(perBundle, htmlRowMinPerBundleLazy)
	}
	var capped, cut []string // per-node cap notes, folded below
	for _, b := range doc.Bundles {
		chartsBefore := len(p.Charts)
		bv := bundleView{Bundle: b, Name: bundleName(b), Tally: countFindings(doc, b.Index),
			Excerpts: excerpts[b.Index], ExcerptMore: excerptMore[b.Index]}
		bv.MemoryRows = memoryRows(b.Memory)
		if c, ok := nodeMemoryChart(b); ok {
			bv.MemoryChart = &c
			p.Charts = append(p.Charts, c)
		}
		if b.Series != nil {
			if c, ok := seriesNodeChart(b); ok {
				bv.SeriesNodeChart = &c
				p.Charts = append(p.Charts, c)
			}
			for i, sc := range b.Series.Containers {
				if c, ok := seriesContainerChart(b, i, sc); ok {
					bv.SeriesCharts = append(bv.SeriesCharts, c)
					p.Charts = append(p.Charts, c)
				}
			}
			bv.SeriesTotal = len(b.Series.Containers)
			bv.SeriesRows = b.Series.Containers
			if len(bv.SeriesRows) > perBundle {
				bv.SeriesRows = bv.SeriesRows[:perBundle]
				p.Notes = append(p.Notes, fmt.Sprintf("%s: the growth table shows the %d fastest of %d containers.", bv.Name, perBundle, bv.SeriesTotal))
			}
			p.AnySeries = true
		}
		var rows []schema.Workload
		for _, w := range doc.Workloads {
			if w.Bundle == b.Index {
				rows = append(rows, w)
			}
		}
		if c, ok := workloadChart(b, rows); ok {
			bv.WorkChart = &c
			p.Charts = append(p.Charts, c)
		}
		bv.WorkTotal = len(rows)
		if len(rows) > perBundle {
			rows = rows[:perBundle]
			capped = append(capped, fmt.Sprintf("%s: the pods table shows %d of %d rows.", bv.Name, perBundle, bv.WorkTotal))
		}
		for i := range rows {
			w := &rows[i] // rows is this function's own slice
			w.Namespace, w.Pod, w.Container = truncateRunes(w.Namespace, 253), truncateRunes(w.Pod, 253), truncateRunes(w.Container, 253)
			w.PodUID, w.Cgroup, w.QoS = truncateRunes(w.PodUID, 253), truncateRunes(w.Cgroup, 500), truncateRunes(w.QoS, 40)
			w.LastTermination = truncateRunes(w.LastTermination, 100)
		}
		bv.Workloads = rows
		for k, h := range doc.HeapProfiles {
			if h.Bundle != b.Index {
				continue
			}
			hv := heapView{HeapProfile: h, Index: k, TopInuse: capFuncs(h.TopInuse), TopAlloc: capFuncs(h.TopAlloc)}
			if len(doc.HeapProfiles) > htmlHeapChartCap {
				// Hundreds of profiles (a cluster): the tables stay, the
				// charts (two per profile) would outweigh the report.
				hv.NoCharts = true
				bv.Heap = append(bv.Heap, hv)
				continue
			}
			if c, ok := heapChart(fmt.Sprintf("chart-heap-%d-inuse", k), "in-use bytes", h.TopInuse); ok {
				hv.InuseChart = &c
				p.Charts = append(p.Charts, c)
			}
			if c, ok := heapChart(fmt.Sprintf("chart-heap-%d-alloc", k), "allocated bytes", h.TopAlloc); ok {
				hv.AllocChart = &c
				p.Charts = append(p.Charts, c)
			}
			bv.Heap = append(bv.Heap, hv)
		}
		for _, r := range doc.Rules {
			if r.Bundle == b.Index && r.Status != "ran" {
				bv.Skipped = append(bv.Skipped, r)
			}
		}
		if bv.ExcerptMore > 0 {
			cut = append(cut, fmt.Sprintf("%s: %d further excerpts are not embedded.", bv.Name, bv.ExcerptMore))
		}
		if p.Lazy {
			bv.charts = append([]chartSpec(nil), p.Charts[chartsBefore:]...)
			p.Charts = p.Charts[:chartsBefore]
		}
		p.Bundles = append(p.Bundles, bv)
	}
	if len(doc.HeapProfiles) > htmlHeapChartCap {
		p.Notes = append(p.Notes, fmt.Sprintf("%d heap profiles: their charts are left out, the tables of top functions stay.", len(doc.HeapProfiles)))
	}
	// A cap that hits several nodes is said once, not once per node.
	if len(capped) > 1 {
		p.Notes = append(p.Notes, fmt.Sprintf("On every node the pods table shows %d rows at most (%d nodes have more); the JSON report has every row.", perBundle, len(capped)))
	} else {
		p.Notes = append(p.Notes, capped...)
	}
	if len(cut) > 1 {
		p.Notes = append(p.Notes, fmt.Sprintf("On %d nodes further excerpts are not embedded.", len(cut)))
	} else {
		p.Notes = append(p.Notes, cut...)
	}
	return p
}

func verdict(doc *schema.Document, all tally) verdictView {
	nodes := len(doc.Bundles)
	switch worst := all.Worst(); worst {
	case "":
		v := verdictView{Severity: "ok", Headline: "No findings", Detail: fmt.Sprintf("%d node(s) analysed; no rule reported a problem.", nodes)}
		if all.Suppressed > 0 {
			v.Detail += fmt.Sprintf(" %d finding(s) were suppressed by configuration and are listed below.", all.Suppressed)
		}
		return v
	default:
		headline := map[string]string{
			schema.Critical: "Critical memory problems found",
			schema.Warning:  "Memory problems found",
			schema.Info:     "Notes, no problems",
		}[worst]
		// Lead with the worst finding's own title: the story at a glance.
		for _, f := range doc.Findings {
			if f.Suppressed == nil && f.Severity == worst && f.Title != "" {
				headline = f.Title
				break
			}
		}
		return verdictView{Severity: worst, Headline: truncateRunes(headline, 300),
			Detail: fmt.Sprintf("%s on %d node(s).", all, nodes)}
	}
}

func memoryRows(m schema.NodeMemory) []memoryRow {
	return []memoryRow{
		{"Capacity (MemTotal)", m.CapacityBytes, "node/meminfo", ""},
		{"Allocatable, reported", m.AllocatableReportedBytes, "Node object / kubelet", ""},
		{"Allocatable, recomputed", m.AllocatableBytes, "capacity − reserved − eviction threshold", ""},
		{"kubepods limit, expected", m.ExpectedKubepodsBytes, "capacity − kube-reserved − system-reserved", ""},
		{"kubepods limit, cgroup file", m.KubepodsLimitBytes, "what the kernel enforces", kubepodsLimit(m)},
		{"kubepods limit, systemd", m.SystemdLimitBytes, "systemctl show kubepods.slice", ""},
		{"Hard eviction threshold", m.EvictionHardBytes, "memory.available", ""},
		{"Used (root usage)", m.UsedBytes, "", ""},
		{"Working set (root)", m.WorkingSetBytes, "usage − inactive_file", ""},
		{"kubepods working set", m.KubepodsWorkingSetBytes, "", ""},
		{"Anon", m.AnonBytes, "", ""},
		{"Available", m.AvailableBytes, "MemTotal − root working set", ""},
	}
}

func capFuncs(fs []schema.FuncCost) []schema.FuncCost {
	if len(fs) > htmlFuncRows {
		fs = fs[:htmlFuncRows]
	}
	out := make([]schema.FuncCost, len(fs))
	for i, f := range fs {
		out[i] = schema.FuncCost{Function: truncateRunes(f.Function, 300), Bytes: f.Bytes}
	}
	return out
}

// citedLines are the (bundle, file, line) triples that evidence cites with a
// "line N" key; the excerpt viewer highlights them.
func citedLines(doc *schema.Document) map[string]bool {
	hits := map[string]bool{}
	for _, f := range doc.Findings {
		for _, e := range f.Evidence {
			if m := lineKey.FindStringSubmatch(e.Key); m != nil {
				n, _ := strconv.Atoi(m[1])
				hits[citeKey(f.Bundle, e.File, n)] = true
			}
		}
	}
	for _, e := range doc.OOMEvents {
		if e.Line > 0 {
			file := e.File
			if file == "" {
				file = "logs/kernel.log"
			}
			hits[citeKey(e.Bundle, file, e.Line)] = true
		}
	}
	return hits
}

func citeKey(bundle int, file string, line int) string {
	return strings.Join([]string{strconv.Itoa(bundle), file, strconv.Itoa(line)}, "\x00")
}

// capStrings keeps at most n items, saying how many more there were.
func capStrings(items []string, n int) []string {
	if len(items) <= n {
		return items
	}
	return append(append([]string{}, items[:n]...), fmt.Sprintf("… %d more", len(items)-n))
}
