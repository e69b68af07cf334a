package series

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// The collector's series files (docs/series.md): a header line naming the
// columns — ts_ms, for cgroups the cgroup path, then one column per file or
// file:key exactly as the kernel printed it — and one row per sample. The
// reader maps columns by name, so a newer collector may add columns.

const maxTSVLine = 1 << 20

// table reads a header and calls row for each data line, with line numbers
// for errors. Bad lines are counted, not fatal.
func table(r io.Reader, file string, row func(cells [][]byte) error, onHeader func([]string)) (header []string, problems []string, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxTSVLine)
	line, bad := 0, 0
	var cells [][]byte
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if header == nil {
			for _, h := range bytes.Split(b, []byte("\t")) {
				header = append(header, string(h))
			}
			if len(header) < 2 || header[0] != "ts_ms" {
				return nil, nil, fmt.Errorf("%s:1: header must start with ts_ms and name the columns", file)
			}
			onHeader(header)
			continue
		}
		cells = splitTabs(cells[:0], b)
		if len(cells) != len(header) {
			bad++
			if bad <= 3 {
				problems = append(problems, fmt.Sprintf("%s:%d: %d cells under a header of %d (line skipped)", file, line, len(cells), len(header)))
			}
			continue
		}
		if err := row(cells); err != nil {
			bad++
			if bad <= 3 {
				problems = append(problems, fmt.Sprintf("%s:%d: %v (line skipped)", file, line, err))
			}
		}
	}
	if bad > 3 {
		problems = append(problems, fmt.Sprintf("%s: %d bad lines in all", file, bad))
	}
	if err := sc.Err(); err != nil {
		// A cut gzip stream (--max-bytes, a truncated upload) keeps the
		// samples read so far.
		problems = append(problems, fmt.Sprintf("%s:%d: %v (the samples before it are kept)", file, line+1, err))
	}
	if header == nil {
		return nil, problems, fmt.Errorf("%s: empty", file)
	}
	return header, problems, nil
}

func splitTabs(dst [][]byte, b []byte) [][]byte {
	for {
		i := bytes.IndexByte(b, '\t')
		if i < 0 {
			return append(dst, b)
		}
		dst = append(dst, b[:i])
		b = b[i+1:]
	}
}

func colIndex(header []string) map[string]int {
	m := make(map[string]int, len(header))
	for i, h := range header {
		if _, dup := m[h]; !dup {
			m[h] = i
		}
	}
	return m
}

// v1Unlimited: v1 prints "no limit" as PAGE_COUNTER_MAX pages, about 2^63
// rounded down to a page (torvalds/linux:mm/memcontrol-v1.c).
const v1Unlimited = 1 << 62

// cellValue parses a number cell; ok is false for an empty or "max" cell.
func cellValue(c []byte) (float64, bool, error) {
	if len(c) == 0 || string(c) == "max" {
		return 0, false, nil
	}
	v, err := strconv.ParseFloat(string(c), 64)
	if err != nil {
		return 0, false, fmt.Errorf("%q is not a number", truncate(c))
	}
	return v, true, nil
}

func truncate(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}

func parseTS(c []byte) (int64, error) {
	ts, err := strconv.ParseInt(string(c), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("timestamp %q is not Unix milliseconds", truncate(c))
	}
	return ts, nil
}

func unquotePath(c []byte) (string, error) {
	if len(c) > 0 && c[0] == '"' {
		s, err := strconv.Unquote(string(c))
		if err != nil {
			return "", fmt.Errorf("bad quoted path %s", truncate(c))
		}
		return s, nil
	}
	if len(c) == 0 {
		return "", errors.New("empty cgroup path")
	}
	return string(c), nil
}

// source is one metric's candidate columns: the first present wins; sum
// adds all present candidates instead (refaults are split anon/file).
type source struct {
	m     Metric
	cols  []string
	scale float64
	sum   bool
}

var cgroupSources = []source{
	{m: Usage, cols: []string{"memory.current", "memory.usage_in_bytes"}},
	{m: Limit, cols: []string{"memory.max", "memory.limit_in_bytes"}},
	{m: Peak, cols: []string{"memory.peak", "memory.max_usage_in_bytes"}},
	{m: Anon, cols: []string{"memory.stat:anon", "memory.stat:total_rss"}},
	{m: File, cols: []string{"memory.stat:file", "memory.stat:total_cache"}},
	{m: ActiveFile, cols: []string{"memory.stat:active_file", "memory.stat:total_active_file"}},
	{m: InactiveFile, cols: []string{"memory.stat:inactive_file", "memory.stat:total_inactive_file"}},
	{m: Shmem, cols: []string{"memory.stat:shmem", "memory.stat:total_shmem"}},
	{m: Kernel, cols: []string{"memory.stat:kernel", "memory.kmem.usage_in_bytes"}},
	{m: OOMKill, cols: []string{"memory.events:oom_kill", "memory.oom_control:oom_kill"}},
	{m: OOM, cols: []string{"memory.events:oom"}},
	{m: HighEvents, cols: []string{"memory.events:high"}},
	{m: Refault, cols: []string{"memory.stat:workingset_refault_anon", "memory.stat:workingset_refault_file",
		"memory.stat:total_workingset_refault_anon", "memory.stat:total_workingset_refault_file"}, sum: true},
	{m: Refault, cols: []string{"memory.stat:total_workingset_refault"}},
	{m: PSISome, cols: []string{"memory.pressure:some.total"}},
	{m: PSIFull, cols: []string{"memory.pressure:full.total"}},
}

var nodeSources = []source{
	{m: MemTotal, cols: []string{"meminfo:MemTotal"}, scale: 1024}, // kB = KiB (fs/proc/meminfo.c show_val_kb)
	{m: MemAvailable, cols: []string{"meminfo:MemAvailable"}, scale: 1024},
	{m: MemFree, cols: []string{"meminfo:MemFree"}, scale: 1024},
	{m: InactiveFile, cols: []string{"meminfo:Inactive(file)"}, scale: 1024},
	{m: ActiveFile, cols: []string{"meminfo:Active(file)"}, scale: 1024},
	{m: Anon, cols: []string{"meminfo:AnonPages"}, scale: 1024},
	{m: Shmem, cols: []string{"meminfo:Shmem"}, scale: 1024},
	{m: Refault, cols: []string{"vmstat:workingset_refault_anon", "vmstat:workingset_refault_file"}, sum: true},
	{m: Refault, cols: []string{"vmstat:workingset_refault"}},
	{m: OOMKill, cols: []string{"vmstat:oom_kill"}},
	{m: PSISome, cols: []string{"pressure:some.total"}},
	{m: PSIFull, cols: []string{"pressure:full.total"}},
}

type boundSource struct {
	source
	idx []int
}

func bind(srcs []source, cols map[string]int) []boundSource {
	var out []boundSource
	have := map[Metric]bool{}
	for _, s := range srcs {
		if have[s.m] {
			continue // an earlier candidate list already bound this metric
		}
		b := boundSource{source: s}
		for _, c := range s.cols {
			if i, ok := cols[c]; ok {
				b.idx = append(b.idx, i)
			}
		}
		if len(b.idx) > 0 {
			out = append(out, b)
			have[s.m] = true
		}
	}
	return out
}

// fill appends one point per bound metric of the row to t.
func fill(t *Track, ts int64, cells [][]byte, srcs []boundSource) error {
	for _, s := range srcs {
		var v float64
		found := false
		for _, i := range s.idx {
			x, ok, err := cellValue(cells[i])
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			if s.m == Limit && x >= v1Unlimited {
				continue
			}
			if s.sum {
				v += x
				found = true
				continue
			}
			v, found = x, true
			break
		}
		if !found {
			continue
		}
		if s.scale != 0 {
			v *= s.scale
		}
		t.Metrics[s.m] = append(t.Metrics[s.m], Point{ts, v})
	}
	return nil
}

// ReadCgroups reads series/cgroups.tsv.gz (already gunzipped) into one track
// per cgroup path.
func ReadCgroups(r io.Reader, file string, o Options) ([]*Track, []string, error) {
	o = o.withDefaults()
	byPath := map[string]*Track{}
	var srcs []boundSource
	cgCol := -1
	var problems []string
	tooMany := false
	_, probs, err := table(r, file, func(cells [][]byte) error {
		if srcs == nil {
			return nil
		}
		ts, err := parseTS(cells[0])
		if err != nil {
			return err
		}
		p, err := unquotePath(cells[cgCol])
		if err != nil {
			return err
		}
		t := byPath[p]
		if t == nil {
			if len(byPath) >= o.MaxTracks {
				tooMany = true
				return nil
			}
			t = newTrack(Key{Cgroup: p}, file)
			byPath[p] = t
		}
		return fill(t, ts, cells, srcs)
	}, func(h []string) {
		cols := colIndex(h)
		if i, ok := cols["cgroup"]; ok {
			cgCol = i
			srcs = bind(cgroupSources, cols)
		}
	})
	problems = append(problems, probs...)
	if err != nil {
		return nil, problems, err
	}
	if cgCol < 0 {
		return nil, problems, fmt.Errorf("%s:1: no cgroup column in the header", file)
	}
	if tooMany {
		problems = append(problems, fmt.Sprintf("%s: more than %d cgroups; the rest are skipped", file, o.MaxTracks))
	}
	var out []*Track
	var d dropped
	for _, t := range byPath {
		d.add(cleanTrack(t, o))
		deriveWorkingSet(t)
		if len(t.Metrics) > 0 {
			out = append(out, t)
		}
	}
	if p := d.problem(file); p != "" {
		problems = append(problems, p)
	}
	sortTracks(out)
	return out, problems, nil
}

// deriveWorkingSet is cAdvisor's working set: usage − inactive_file,
// floored at 0 (google/cadvisor:container/libcontainer/handler.go
// setMemoryStats), at every sample that has both.
func deriveWorkingSet(t *Track) {
	if len(t.Metrics[WorkingSet]) > 0 {
		return
	}
	usage, inactive := t.Metrics[Usage], t.Metrics[InactiveFile]
	if len(usage) == 0 || len(inactive) == 0 {
		return
	}
	var ws []Point
	j := 0
	for _, u := range usage {
		for j < len(inactive) && inactive[j].T < u.T {
			j++
		}
		if j < len(inactive) && inactive[j].T == u.T {
			ws = append(ws, Point{u.T, max(0, u.V-inactive[j].V)})
		}
	}
	if len(ws) > 0 {
		t.Metrics[WorkingSet] = ws
	}
}

// ReadNode reads series/node.tsv.gz (gunzipped) into the node's track.
func ReadNode(r io.Reader, file string, o Options) (*Track, []string, error) {
	o = o.withDefaults()
	t := newTrack(Key{}, file)
	var srcs []boundSource
	_, problems, err := table(r, file, func(cells [][]byte) error {
		ts, err := parseTS(cells[0])
		if err != nil {
			return err
		}
		return fill(t, ts, cells, srcs)
	}, func(h []string) { srcs = bind(nodeSources, colIndex(h)) })
	if err != nil {
		return nil, problems, err
	}
	if p := cleanTrack(t, o).problem(file); p != "" {
		problems = append(problems, p)
	}
	return t, problems, nil
}

// ReadEvents reads series/events.tsv.gz (gunzipped).
func ReadEvents(r io.Reader, file string, o Options) ([]Event, []string, error) {
	var out []Event
	var evCol, cgCol int = -1, -1
	_, problems, err := table(r, file, func(cells [][]byte) error {
		if evCol < 0 || cgCol < 0 {
			return errors.New("header lacks event or cgroup")
		}
		ts, err := parseTS(cells[0])
		if err != nil {
			return err
		}
		kind := string(cells[evCol])
		if kind != "appeared" && kind != "vanished" {
			return fmt.Errorf("unknown event %q", truncate(cells[evCol]))
		}
		p, err := unquotePath(cells[cgCol])
		if err != nil {
			return err
		}
		if len(out) < 1_000_000 {
			out = append(out, Event{T: ts, Kind: kind, Cgroup: p, File: file})
		}
		return nil
	}, func(h []string) {
		cols := colIndex(h)
		if i, ok := cols["event"]; ok {
			evCol = i
		}
		if i, ok := cols["cgroup"]; ok {
			cgCol = i
		}
	})
	return out, problems, err
}
