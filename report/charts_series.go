package report

import (
	"fmt"

	"github.com/memsnap/memsnap/report/schema"
)

// Time-axis charts (issue #15). The option maps are written here rather
// than through go-echarts: its Line type has no time axis with [ms, value]
// pairs, and the map is what chartSpec carries either way; the page still
// escapes it (chartSpec's JSON block) and init.js formats the byte axis.

const colourAvailable = "#009E73"

func timeLine(name, colour string, pts [][2]int64, dashed bool) map[string]any {
	data := make([][2]int64, len(pts))
	copy(data, pts)
	ls := map[string]any{"width": 2, "color": colour}
	if dashed {
		ls["type"] = "dashed"
	}
	return map[string]any{"name": name, "type": "line", "showSymbol": false, "data": data,
		"lineStyle": ls, "itemStyle": map[string]any{"color": colour}}
}

// flat is a horizontal line at v across [first, last].
func flat(v int64, first, last int64) [][2]int64 {
	return [][2]int64{{first, v}, {last, v}}
}

// eventMarks are vertical lines for restarts and OOM kills.
func eventMarks(evs []schema.SeriesEvent) map[string]any {
	var data []map[string]any
	for _, e := range evs {
		label := "restart"
		if e.Kind == "oom_kill" {
			label = "OOM kill"
		}
		data = append(data, map[string]any{"xAxis": e.MS, "name": label})
	}
	return map[string]any{"symbol": []string{"none", "none"}, "silent": true, "data": data,
		"label":     map[string]any{"formatter": "{b}", "position": "insideEndTop"},
		"lineStyle": map[string]any{"color": "#B00020", "type": "solid", "width": 1}}
}

func timeOption(series []map[string]any) map[string]any {
	return map[string]any{
		"animation": false,
		"aria":      map[string]any{"enabled": true},
		"legend":    map[string]any{"show": true, "type": "scroll", "top": "0"},
		"grid":      map[string]any{"left": "8", "right": "24", "top": "36", "bottom": "8", "containLabel": true},
		"tooltip":   map[string]any{"show": true},
		"xAxis":     map[string]any{"type": "time"},
		"yAxis":     map[string]any{"type": "value"},
		"series":    series,
	}
}

func span2(lines ...[][2]int64) (first, last int64, ok bool) {
	for _, l := range lines {
		if len(l) == 0 {
			continue
		}
		if !ok || l[0][0] < first {
			first = l[0][0]
		}
		if !ok || l[len(l)-1][0] > last {
			last = l[len(l)-1][0]
		}
		ok = true
	}
	return first, last, ok
}

// seriesNodeChart: used, working set and available over time against the
// eviction threshold, restarts and OOM kills marked.
func seriesNodeChart(b schema.Bundle) (chartSpec, bool) {
	s := b.Series
	if s == nil || s.Node == nil {
		return chartSpec{}, false
	}
	n := s.Node
	first, last, ok := span2(n.Used, n.WorkingSet, n.Available)
	if !ok {
		return chartSpec{}, false
	}
	var lines []map[string]any
	if len(n.Used) > 0 {
		lines = append(lines, timeLine("Used (root usage)", colourActiveFile, n.Used, false))
	}
	if len(n.WorkingSet) > 0 {
		lines = append(lines, timeLine("Working set (root)", colourWorkingSet, n.WorkingSet, false))
	}
	if len(n.Available) > 0 {
		lines = append(lines, timeLine("Available (memory.available)", colourAvailable, n.Available, false))
	}
	if n.EvictionThresholdBytes != nil {
		lines = append(lines, timeLine("Eviction threshold", colourLimit, flat(*n.EvictionThresholdBytes, first, last), true))
	}
	if len(s.Events) > 0 {
		lines[0]["markLine"] = eventMarks(s.Events)
	}
	id := fmt.Sprintf("chart-series-node-%d", b.Index)
	return chartSpec{ID: id, BytesAxis: "y", Kind: "time", Height: 300, Option: timeOption(lines),
		Label: "Node memory of " + bundleName(b) + " over time: used, working set and available against the eviction threshold"}, true
}

// seriesContainerChart: one growing container's usage, working set, anon
// and file pages against its limit.
func seriesContainerChart(b schema.Bundle, i int, c schema.SeriesContainer) (chartSpec, bool) {
	first, last, ok := span2(c.Usage, c.WorkingSet, c.Anon, c.FileCache)
	if !ok {
		return chartSpec{}, false
	}
	var lines []map[string]any
	for _, l := range []struct {
		name, colour string
		pts          [][2]int64
	}{{"Usage", colourActiveFile, c.Usage}, {"Working set", colourWorkingSet, c.WorkingSet},
		{"Anon", colourAnon, c.Anon}, {"File (page cache)", colourInactiveFile, c.FileCache}} {
		if len(l.pts) > 0 {
			lines = append(lines, timeLine(l.name, l.colour, l.pts, false))
		}
	}
	if c.LimitBytes != nil {
		lines = append(lines, timeLine("Limit", colourLimit, flat(*c.LimitBytes, first, last), true))
	}
	var mine []schema.SeriesEvent
	for _, e := range b.Series.Events {
		if e.Subject == c.Subject {
			mine = append(mine, e)
		}
	}
	if len(mine) > 0 {
		lines[0]["markLine"] = eventMarks(mine)
	}
	id := fmt.Sprintf("chart-series-%d-%d", b.Index, i)
	return chartSpec{ID: id, BytesAxis: "y", Kind: "time", Height: 240, Option: timeOption(lines),
		Label: truncateRunes(c.Subject, chartLabelRunes) + " over time: usage, working set, anon and file pages against the limit"}, true
}
