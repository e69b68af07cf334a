package oomlog

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/memsnap/memsnap/analyzer/internal/podpath"
	"github.com/memsnap/memsnap/internal/testcorpus"
)

type expectedFile struct {
	MaxEvents         int                          `json:"max_events"`
	PartialOOMReports int                          `json:"partial_oom_reports"`
	Events            []map[string]json.RawMessage `json:"events"`
}

// eventFields projects an event onto the JSON report's oom_events names
// (DESIGN §4), the vocabulary EXPECTED.json uses.
func eventFields(ev Event) map[string]any {
	ref := podpath.Parse(ev.TaskMemcg)
	if ref.PodUID == "" {
		ref = podpath.Parse(ev.OOMMemcg)
	}
	return map[string]any{
		"pid": ev.PID, "process": ev.Process, "constraint": ev.Constraint,
		"oom_memcg": ev.OOMMemcg, "task_memcg": ev.TaskMemcg,
		"limit_scope": LimitScope(ev), "limit_counter": ev.LimitCounter,
		"memcg_usage_bytes": ev.Usage, "memcg_limit_bytes": ev.Limit, "memcg_failcnt": ev.Failcnt,
		"anon_rss_bytes": ev.AnonRSS, "file_rss_bytes": ev.FileRSS, "shmem_rss_bytes": ev.ShmemRSS,
		"filled_by": ev.FilledBy, "pod_uid": ref.PodUID, "container_id": ref.ContainerID,
		// Beyond the JSON report's names, for the synthetic fixtures.
		"qos": ref.QoS, "kubepods_root": ref.KubepodsRoot, "runtime": ref.Runtime,
		"line": ev.Line, "start_line": ev.StartLine, "end_line": ev.EndLine,
		"time": timeString(ev.Time), "time_note": ev.TimeNote, "uptime": ev.Uptime,
		"uid": ev.UID, "global": ev.Global, "kmem_bytes": ev.KmemUsage, "tasks": len(ev.Tasks),
	}
}

func timeString(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func TestCorpusExpected(t *testing.T) {
	raw, err := os.ReadFile(testcorpus.Path(t, "oom-logs", "EXPECTED.json"))
	if err != nil {
		t.Fatal(err)
	}
	var exp struct {
		Files map[string]expectedFile `json:"files"`
	}
	if err := json.Unmarshal(raw, &exp); err != nil {
		t.Fatal(err)
	}
	if len(exp.Files) == 0 {
		t.Fatal("EXPECTED.json lists no files")
	}
	for name, want := range exp.Files {
		t.Run(name, func(t *testing.T) {
			res := parseFile(t, testcorpus.Path(t, "oom-logs", name))
			if len(res.Events) > want.MaxEvents {
				t.Errorf("%d events, want at most %d", len(res.Events), want.MaxEvents)
			}
			if res.PartialReports != want.PartialOOMReports {
				t.Errorf("PartialReports = %d, want %d", res.PartialReports, want.PartialOOMReports)
			}
			for _, we := range want.Events {
				var pid int
				if err := json.Unmarshal(we["pid"], &pid); err != nil {
					t.Fatalf("pid: %v", err)
				}
				ev, ok := findPID(res.Events, pid)
				if !ok {
					t.Errorf("no event for pid %d; got %v", pid, pids(res.Events))
					continue
				}
				got := eventFields(ev)
				keys := make([]string, 0, len(we))
				for k := range we {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				for _, k := range keys {
					g, ok := got[k]
					if !ok {
						t.Errorf("pid %d: EXPECTED.json field %q is not known to the test", pid, k)
						continue
					}
					gj, _ := json.Marshal(g)
					var wv, gv any
					_ = json.Unmarshal(we[k], &wv)
					_ = json.Unmarshal(gj, &gv)
					if !jsonEqual(wv, gv) {
						t.Errorf("pid %d: %s = %s, want %s", pid, k, gj, we[k])
					}
				}
			}
		})
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func parseFile(t *testing.T, path string) *Result {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Parse(bytes.NewReader(data), Options{File: path})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func findPID(evs []Event, pid int) (Event, bool) {
	for _, ev := range evs {
		if ev.PID == pid {
			return ev, true
		}
	}
	return Event{}, false
}

func pids(evs []Event) []int {
	var out []int
	for _, ev := range evs {
		out = append(out, ev.PID)
	}
	return out
}

var namedKilled = regexp.MustCompile(`(?:Killed process |reaped process )(\d+)`)

// TestCorpusTruncated cuts every corpus log after each of its lines: no
// panic, and never an event for a pid the full log does not name as killed.
func TestCorpusTruncated(t *testing.T) {
	files := corpusLogs(t)
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		killed := map[int]bool{}
		for _, m := range namedKilled.FindAllSubmatch(data, -1) {
			pid, _ := strconv.Atoi(string(m[1]))
			killed[pid] = true
		}
		lines := strings.SplitAfter(string(data), "\n")
		for n := 1; n <= len(lines); n++ {
			cut := strings.Join(lines[:n], "")
			res, err := Parse(strings.NewReader(cut), Options{})
			if err != nil {
				t.Fatalf("%s cut after line %d: %v", path, n, err)
			}
			for _, ev := range res.Events {
				if !killed[ev.PID] {
					t.Errorf("%s cut after line %d: event for pid %d, which the log never names as killed", path, n, ev.PID)
				}
				if ev.Line < ev.StartLine || ev.Line > ev.EndLine || ev.EndLine > n {
					t.Errorf("%s cut after line %d: lines %d/%d/%d out of order", path, n, ev.StartLine, ev.Line, ev.EndLine)
				}
			}
		}
	}
}

func corpusLogs(t testing.TB) []string {
	dir := testcorpus.Path(t, "oom-logs")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() && e.Name() != "EXPECTED.json" {
			out = append(out, dir+"/"+e.Name())
		}
	}
	if len(out) == 0 {
		t.Fatal("no corpus logs")
	}
	return out
}
