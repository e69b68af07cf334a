package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
	"github.com/go-echarts/go-echarts/v2/types"

	"github.com/memsnap/memsnap/report/schema"
)

// Chart options are built with go-echarts' types but never rendered by it
// (DESIGN §7: its pages load ECharts from a CDN and embed the option JSON
// unescaped). chartSpec carries the option map into our own html/template
// page, which JSON-escapes it into a <script type="application/json"> block;
// templates/init.js creates each chart in the element with the fixed ID.
type chartSpec struct {
	ID string `json:"id"`
	// BytesAxis names the value axis ("x" or "y") whose numbers are bytes,
	// so the init script formats its labels and tooltips as KiB/MiB/GiB.
	BytesAxis string `json:"bytesAxis,omitempty"`
	// Kind selects the tooltip: "axis" lists every series at a category,
	// "oom" shows the victim described by the data item's name.
	Kind   string         `json:"kind"`
	Height int            `json:"height"`
	Option map[string]any `json:"option"`
	// Label is the accessible description of the chart element.
	Label string `json:"label"`
}

// Palette: Okabe–Ito colours, distinguishable with the common colour-vision
// deficiencies; every series also has a legend label and the tables carry
// the same numbers, so colour is never the only carrier of meaning.
const (
	colourAnon         = "#0072B2"
	colourActiveFile   = "#E69F00"
	colourInactiveFile = "#F0C75E"
	colourShmem        = "#CC79A7"
	colourKernel       = "#009E73"
	colourLimit        = "#000000"
	colourWorkingSet   = "#D55E00"
	colourReported     = "#56B4E9"
	colourCapacity     = "#5B6770"
)

// Caps that keep a report readable and under the 5 MB budget.
const (
	chartWorkloadCap = 30 // containers in the stacked-bar chart (the table has more)
	chartFuncCap     = 15 // functions per heap-profile chart
	chartLabelRunes  = 60 // category labels; tooltips and tables carry more
)

func baseOpts(id string) []charts.GlobalOpts {
	return []charts.GlobalOpts{
		charts.WithInitializationOpts(opts.Initialization{ChartID: id}),
		charts.WithAnimation(false),
		charts.WithAriaOpts(&opts.Aria{Enabled: types.Bool(ptr(true))}),
		charts.WithTooltipOpts(opts.Tooltip{Show: types.Bool(ptr(true))}),
		charts.WithLegendOpts(opts.Legend{Show: types.Bool(ptr(true)), Type: "scroll", Top: "0"}),
		charts.WithGridOpts(opts.Grid{Left: "8", Right: "24", Top: "36", Bottom: "8", ContainLabel: types.Bool(ptr(true))}),
	}
}

// nodeMemoryChart is the node waterfall: what the node has, what Kubernetes
// may use, what the kubepods cgroup and systemd allow, and what is used.
func nodeMemoryChart(b schema.Bundle) (chartSpec, bool) {
	m := b.Memory
	rows := []struct {
		label  string
		value  *int64
		colour string
	}{
		{"Capacity (MemTotal)", m.CapacityBytes, colourCapacity},
		{"Allocatable (reported)", m.AllocatableReportedBytes, colourReported},
		{"Allocatable (recomputed)", m.AllocatableBytes, colourReported},
		{"kubepods limit (expected)", m.ExpectedKubepodsBytes, colourLimit},
		{"kubepods limit (cgroup)", m.KubepodsLimitBytes, colourLimit},
		{"kubepods limit (systemd)", m.SystemdLimitBytes, colourLimit},
		{"Eviction threshold", m.EvictionHardBytes, colourShmem},
		{"Used (root usage)", m.UsedBytes, colourActiveFile},
		{"Working set (root)", m.WorkingSetBytes, colourWorkingSet},
		{"kubepods working set", m.KubepodsWorkingSetBytes, colourWorkingSet},
		{"Anon", m.AnonBytes, colourAnon},
		{"Available", m.AvailableBytes, colourKernel},
	}
	var cats []string
	var data []opts.BarData
	for _, r := range rows {
		if r.value == nil {
			continue // absent from the bundle: the table beside says so
		}
		cats = append(cats, r.label)
		data = append(data, opts.BarData{Value: *r.value, ItemStyle: &opts.ItemStyle{Color: r.colour}})
	}
	if len(data) == 0 {
		return chartSpec{}, false
	}
	id := fmt.Sprintf("chart-node-memory-%d", b.Index)
	bar := charts.NewBar()
	bar.SetGlobalOptions(baseOpts(id)...)
	bar.SetGlobalOptions(
		charts.WithLegendOpts(opts.Legend{Show: types.Bool(ptr(false))}),
		charts.WithXAxisOpts(opts.XAxis{Type: "value"}),
		charts.WithYAxisOpts(opts.YAxis{Type: "category", Inverse: types.Bool(ptr(true))}),
	)
	bar.SetXAxis(cats).AddSeries("bytes", data)
	bar.XYReversal()
	bar.Validate()
	return chartSpec{
		ID: id, BytesAxis: "x", Kind: "axis", Height: 60 + 28*len(cats), Option: bar.JSON(),
		Label: "Node memory of " + bundleName(b) + ": capacity, allocatable, kubepods and systemd limits, usage",
	}, true
}

// workloadChart stacks each container's memory (anon, active file, inactive
// file, shmem, kernel: disjoint shares of its usage) against its limit, with
// the recomputed and the kubelet-reported working sets as markers.
func workloadChart(b schema.Bundle, rows []schema.Workload) (chartSpec, bool) {
	var ws []schema.Workload
	for _, w := range rows {
		if w.Container != "" && w.Container != "POD" {
			ws = append(ws, w)
		}
	}
	if len(ws) == 0 {
		for _, w := range rows {
			if w.Container == "" {
				ws = append(ws, w) // pod rows only: show those
			}
		}
	}
	if len(ws) == 0 {
		return chartSpec{}, false
	}
	slices.SortStableFunc(ws, func(a, b schema.Workload) int {
		return cmp.Or(-cmp.Compare(deref(a.WorkingSetBytes), deref(b.WorkingSetBytes)), -cmp.Compare(deref(a.UsageBytes), deref(b.UsageBytes)))
	})
	if len(ws) > chartWorkloadCap {
		ws = ws[:chartWorkloadCap]
	}
	cats := make([]string, len(ws))
	for i, w := range ws {
		cats[i] = truncateRunes(workloadName(w.Namespace, w.Pod, w.Container), chartLabelRunes)
		if cats[i] == "" {
			cats[i] = truncateRunes(w.Cgroup, chartLabelRunes)
		}
		// Two rows with one label would merge on a category axis.
		cats[i] = fmt.Sprintf("%d. %s", i+1, cats[i])
	}
	id := fmt.Sprintf("chart-workloads-%d", b.Index)
	bar := charts.NewBar()
	bar.SetGlobalOptions(baseOpts(id)...)
	bar.SetGlobalOptions(
		charts.WithXAxisOpts(opts.XAxis{Type: "value"}),
		charts.WithYAxisOpts(opts.YAxis{Type: "category", Inverse: types.Bool(ptr(true))}),
	)
	bar.SetXAxis(cats)
	stack := []struct {
		name   string
		value  func(schema.Workload) *int64
		colour string
	}{
		{"anon", func(w schema.Workload) *int64 { return w.AnonBytes }, colourAnon},
		{"active file", func(w schema.Workload) *int64 { return w.ActiveFileBytes }, colourActiveFile},
		{"inactive file", func(w schema.Workload) *int64 { return w.InactiveFileBytes }, colourInactiveFile},
		{"shmem", func(w schema.Workload) *int64 { return w.ShmemBytes }, colourShmem},
		{"kernel", func(w schema.Workload) *int64 { return w.KernelBytes }, colourKernel},
	}
	for _, s := range stack {
		data := make([]opts.BarData, len(ws))
		for i, w := range ws {
			data[i] = opts.BarData{Value: valueOrGap(s.value(w))}
		}
		bar.AddSeries(s.name, data,
			charts.WithBarChartOpts(opts.BarChart{Stack: "usage", BarCategoryGap: "35%"}),
			charts.WithItemStyleOpts(opts.ItemStyle{Color: s.colour}))
	}
	markers := []struct {
		name   string
		value  func(schema.Workload) *int64
		symbol string
		colour string
	}{
		{"limit", func(w schema.Workload) *int64 { return w.LimitBytes }, "rect", colourLimit},
		{"working set (recomputed)", func(w schema.Workload) *int64 { return w.WorkingSetBytes }, "diamond", colourWorkingSet},
		{"working set (reported)", func(w schema.Workload) *int64 { return w.WorkingSetReportedBytes }, "triangle", colourReported},
	}
	for _, mk := range markers {
		var data []opts.ScatterData
		for i, w := range ws {
			if v := mk.value(w); v != nil {
				data = append(data, opts.ScatterData{Value: []any{*v, cats[i]}, Symbol: mk.symbol, SymbolSize: 12})
			}
		}
		sc := charts.NewScatter()
		sc.AddSeries(mk.name, data, charts.WithItemStyleOpts(opts.ItemStyle{Color: mk.colour}))
		bar.Overlap(sc)
	}
	bar.XYReversal()
	bar.Validate()
	return chartSpec{
		ID: id, BytesAxis: "x", Kind: "axis", Height: 80 + 26*len(cats), Option: bar.JSON(),
		Label: fmt.Sprintf("Memory of the %d largest containers on %s by working set, against their limits", len(cats), bundleName(b)),
	}, true
}

// oomScopes are the limit scopes of DESIGN §4, one series (colour) each.
var oomScopes = []struct{ scope, colour string }{
	{"container", colourAnon}, {"pod", colourShmem}, {"kubepods", colourWorkingSet},
	{"node", colourLimit}, {"other", colourKernel}, {"", colourCapacity},
}

// oomTimelineChart puts every kill on a time axis, one row per node. When no
// event has a wall time (no btime in the bundle) it falls back to seconds
// since boot; events without either stay in the table only.
func oomTimelineChart(doc *schema.Document) (chartSpec, bool) {
	useUptime := true
	for _, e := range doc.OOMEvents {
		if e.Time != "" {
			useUptime = false
			break
		}
	}
	var nodes []string
	seen := map[string]bool{}
	for _, e := range doc.OOMEvents {
		n := oomNodeLabel(doc, e)
		if !seen[n] {
			seen[n] = true
			nodes = append(nodes, n)
		}
	}
	id := "chart-oom-timeline"
	sc := charts.NewScatter()
	sc.SetGlobalOptions(baseOpts(id)...)
	xType, xName := "time", ""
	if useUptime {
		xType, xName = "value", "seconds since boot"
	}
	sc.SetGlobalOptions(
		charts.WithXAxisOpts(opts.XAxis{Type: xType, Name: xName, Scale: types.Bool(ptr(true))}),
		charts.WithYAxisOpts(opts.YAxis{Type: "category", Data: nodes}),
		charts.WithTooltipOpts(opts.Tooltip{Show: types.Bool(ptr(true)), Trigger: "item"}),
	)
	points := 0
	for _, s := range oomScopes {
		var data []opts.ScatterData
		for _, e := range doc.OOMEvents {
			if e.LimitScope != s.scope {
				continue
			}
			var x any
			switch {
			case useUptime && e.UptimeSeconds != nil:
				x = *e.UptimeSeconds
			case !useUptime && e.Time != "":
				x = e.Time
			default:
				continue
			}
			label := fmt.Sprintf("%s (pid %d) · %s · scope %s · %s", e.Process, e.PID,
				orDash(workloadName(e.Namespace, e.Pod, e.Container)), orDash(e.LimitScope), orDash(e.Time))
			data = append(data, opts.ScatterData{Name: truncateRunes(label, 300), Value: []any{x, oomNodeLabel(doc, e)}, SymbolSize: 14})
		}
		if len(data) == 0 {
			continue
		}
		points += len(data)
		name := "scope " + s.scope
		if s.scope == "" {
			name = "scope unknown"
		}
		sc.AddSeries(name, data, charts.WithItemStyleOpts(opts.ItemStyle{Color: s.colour}))
	}
	if points == 0 {
		return chartSpec{}, false
	}
	sc.Validate()
	return chartSpec{
		ID: id, Kind: "oom", Height: 90 + 40*len(nodes), Option: sc.JSON(),
		Label: fmt.Sprintf("Timeline of %d OOM kills by node and limit scope", points),
	}, true
}

func oomNodeLabel(doc *schema.Document, e schema.OOMEvent) string {
	return truncateRunes(fmt.Sprintf("%d: %s", e.Bundle, bundleNameByIndex(doc, e.Bundle)), chartLabelRunes)
}

// heapChart is one profile's top functions (in-use or allocated bytes).
func heapChart(id, title string, funcs []schema.FuncCost) (chartSpec, bool) {
	if len(funcs) == 0 {
		return chartSpec{}, false
	}
	funcs = slices.Clone(funcs)
	slices.SortStableFunc(funcs, func(a, b schema.FuncCost) int {
		return cmp.Or(-cmp.Compare(a.Bytes, b.Bytes), cmp.Compare(a.Function, b.Function))
	})
	if len(funcs) > chartFuncCap {
		funcs = funcs[:chartFuncCap]
	}
	cats := make([]string, len(funcs))
	data := make([]opts.BarData, len(funcs))
	for i, f := range funcs {
		cats[i] = fmt.Sprintf("%d. %s", i+1, truncateRunes(shortFunc(f.Function), 48))
		data[i] = opts.BarData{Value: f.Bytes}
	}
	bar := charts.NewBar()
	bar.SetGlobalOptions(baseOpts(id)...)
	bar.SetGlobalOptions(
		charts.WithLegendOpts(opts.Legend{Show: types.Bool(ptr(false))}),
		charts.WithXAxisOpts(opts.XAxis{Type: "value"}),
		charts.WithYAxisOpts(opts.YAxis{Type: "category", Inverse: types.Bool(ptr(true))}),
	)
	bar.SetXAxis(cats).AddSeries(title, data, charts.WithItemStyleOpts(opts.ItemStyle{Color: colourAnon}))
	bar.SetGlobalOptions(charts.WithXAxisOpts(opts.XAxis{Type: "value", SplitNumber: 4}))
	bar.XYReversal()
	bar.Validate()
	return chartSpec{
		ID: id, BytesAxis: "x", Kind: "axis", Height: 60 + 24*len(cats), Option: bar.JSON(),
		Label: title + ": top functions",
	}, true
}

// shortFunc drops the import path of a Go symbol for a chart label
// ("github.com/google/cadvisor/fs.(*RealFsInfo).GetDirUsage" becomes
// "fs.(*RealFsInfo).GetDirUsage"); the table beside keeps the full name.
func shortFunc(name string) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 && i < len(name)-1 {
		return name[i+1:]
	}
	return name
}

// valueOrGap is a bar value, or ECharts' "-" (no bar) for an absent number.
func valueOrGap(p *int64) any {
	if p == nil {
		return "-"
	}
	return *p
}

func deref(p *int64) int64 {
	if p == nil {
		return -1
	}
	return *p
}
