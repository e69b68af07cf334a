package oomlog

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/memsnap/memsnap/internal/golden"
)

const (
	p1 = "cfcd2084-95d5-45ef-a6e7-dff9f98764da"
	p2 = "c4ca4238-a0b9-4382-8dcc-509a6f75849b"
	p3 = "c81e728d-9d4c-4f63-af06-7f89cc14862c"
	p4 = "eccbc87e-4b5c-42fe-a830-8fd9f2a7baf3"
	p5 = "a87ff679-a2f3-471d-9181-a67b7542122c"
	p6 = "e4da3b7f-bbce-4345-9777-2b0674a318d5"
	c1 = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
	c2 = "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"
	c3 = "2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6"
	c4 = "18ac3e7343f016890c510e93f935261169d9e3f565436429830faf0934f4f8e4"
	c5 = "3f79bb7b435b05321651daefd374cdc681dc06faa65e374e38337b88ca046dea"
	c6 = "252f10c83610ebca1a059c0bae8255eba2f95be4d1d7bcfa89d7248a82d9f111"
)

var testOpts = Options{
	Year:     2024,
	BootTime: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
}

type fields map[string]any

// TestSynthetic checks the formats DOMAIN §4 quotes, one realistic fixture
// each, field by field; the golden files pin the whole result.
func TestSynthetic(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		file    string
		partial int
		events  []fields // in order
	}{
		{"v2-memcg-6.8-tasks.log", 0, []fields{{
			"pid": 40021, "process": "memhog", "uid": 0, "constraint": "CONSTRAINT_MEMCG",
			"limit_scope": "container", "pod_uid": p1, "container_id": c1, "qos": "guaranteed", "runtime": "containerd",
			// swap.max 0 is kubelet's NoSwap, not the limit that fired
			"limit_counter": "memory", "memcg_usage_bytes": 512 * mib, "memcg_limit_bytes": 512 * mib, "memcg_failcnt": 1873,
			"anon_rss_bytes": 513800 * 1024, "file_rss_bytes": 1012 * 1024, "shmem_rss_bytes": 0, "filled_by": "anon",
			"start_line": 1, "line": 74, "end_line": 75, "uptime": 12345.67903, "time": "2024-01-01T03:25:45.67903Z",
			"tasks": 2,
		}}},
		{"dmesg-T-rhel7-sacrifice-child.log", 0, []fields{{
			"pid": 28438, "process": "java", "uid": nil, "constraint": "CONSTRAINT_MEMCG",
			"limit_scope": "container", "pod_uid": p2, "container_id": c2, "qos": "burstable", "runtime": "",
			"limit_counter": "memory", "memcg_usage_bytes": 2048 * mib, "memcg_failcnt": 5521, "kmem_bytes": 0,
			"anon_rss_bytes": 466160 * 1024, "shmem_rss_bytes": nil, "filled_by": "anon",
			"line": 27, "uptime": nil, "time": "2017-12-07T00:05:15Z", "time_note": "dmesg -T prints local time; time zone UTC assumed",
			"tasks": 3,
		}}},
		{"journal-short-precise-nested-root.log", 0, []fields{{
			"pid": 461754, "process": "pt_main_thread", "constraint": "CONSTRAINT_MEMCG",
			"limit_scope": "pod", "pod_uid": p3, "container_id": c3, "kubepods_root": "/lxc.payload.gpu-node-7/kubepods.slice",
			"limit_counter": "memory", "memcg_usage_bytes": 32768 * mib, "filled_by": "anon",
			"start_line": 1, "line": 35, "end_line": 35, "time": "2024-08-30T06:58:55.050807Z",
			"time_note": "year taken from the bundle's creation date; time zone UTC assumed", "tasks": 3,
		}}},
		{"journal-short-iso-global.log", 0, []fields{{
			"pid": 19227, "process": "entry", "constraint": "CONSTRAINT_NONE", "global": true, "oom_memcg": "",
			"limit_scope": "node", "pod_uid": p4, "container_id": c4, "qos": "besteffort",
			"limit_counter": "", "memcg_usage_bytes": nil, "anon_rss_bytes": 3720480 * 1024, "filled_by": "unknown",
			"line": 36, "end_line": 37, "time": "2024-12-30T18:08:18Z", "time_note": "", "tasks": 3,
		}}},
		{"kmsg-raw-continuation.log", 0, []fields{{
			"pid": 63214, "process": "uwsgi", "limit_scope": "container", "pod_uid": p5, "container_id": c5,
			"kmem_bytes": 9248 * 1024, "limit_counter": "memory", "memcg_failcnt": 1052,
			"shmem_rss_bytes": 92 * 1024, "filled_by": "anon",
			"start_line": 4, "line": 26, "end_line": 27, "uptime": 7063.101899, "time": "2024-01-01T01:57:43.101899Z", "tasks": 2,
		}}},
		{"level-prefix-tmpfs-pod-limit.log", 0, []fields{{
			"pid": 7731, "process": "nginx", "constraint": "CONSTRAINT_MEMCG",
			"oom_memcg": "/kubepods/burstable/pod" + p6, "task_memcg": "/kubepods/burstable/pod" + p6 + "/" + c6,
			"limit_scope": "pod", "container_id": c6, "limit_counter": "memory",
			// summed over the three single-line dumps: shmem 344 MiB beats rss 161 MiB
			"filled_by": "shmem", "line": 24, "end_line": 25, "uptime": 39291577.010188, "tasks": 3,
		}}},
		{"syslog-nohost-memsw.log", 0, []fields{{
			"pid": 8812, "process": "java", "uid": 1000, "limit_scope": "container", "pod_uid": p1, "container_id": c2, "runtime": "docker",
			"limit_counter": "memsw", "memcg_usage_bytes": 1536 * mib, "memcg_limit_bytes": 1536 * mib, "memcg_failcnt": 4211,
			"filled_by": "anon", "start_line": 2, "line": 34, "end_line": 34, "uptime": 3605.118925,
			"time": "2024-06-21T19:22:58Z", "tasks": 2,
		}}},
		{"oomkill-no-cpuset.log", 0, []fields{{
			"pid": 5120, "process": "redis-server", "uid": 999, "constraint": "CONSTRAINT_MEMCG",
			"oom_memcg": "/kubepods/besteffort/pod" + p2 + "/" + c4, "limit_scope": "container", "pod_uid": p2,
			"qos": "besteffort", "filled_by": "anon", "line": 21,
		}}},
		{"reaper-only-victim.log", 0, []fields{{
			"pid": 4242, "process": "python3", "constraint": "CONSTRAINT_MEMCG", "limit_scope": "container",
			"pod_uid": p3, "container_id": c5, "anon_rss_bytes": nil, "filled_by": "anon", "kmem_bytes": 6712 * 1024,
			"start_line": 1, "line": 14, "end_line": 14,
		}}},
		{"group-kill.log", 0, []fields{
			{"pid": 7002, "line": 16, "uid": 1000, "limit_scope": "container", "container_id": c6, "filled_by": "anon", "anon_rss_bytes": 385900 * 1024, "memcg_usage_bytes": 768 * mib},
			{"pid": 7001, "line": 18, "uid": 1000, "limit_scope": "container", "container_id": c6, "filled_by": "anon", "anon_rss_bytes": 19440 * 1024, "memcg_usage_bytes": 768 * mib},
			{"pid": 7003, "line": 20, "uid": 1000, "limit_scope": "container", "container_id": c6, "filled_by": "anon", "anon_rss_bytes": 378580 * 1024, "end_line": 22},
		}},
		{"kubepods-level.log", 0, []fields{{
			"pid": 30117, "process": "node", "oom_memcg": "/kubepods.slice", "limit_scope": "kubepods",
			"pod_uid": p5, "container_id": c3, "memcg_limit_bytes": 13807616 * 1024, "filled_by": "anon",
		}}},
		{"quoted-kills-only.log", 0, nil},
		{"cut-in-half.log", 1, []fields{{
			"pid": 3100, "process": "stress", "limit_scope": "container", "pod_uid": p6, "container_id": c1,
			"start_line": 1, "line": 12, "end_line": 12,
		}}},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.file] = true
		t.Run(tt.file, func(t *testing.T) {
			res := parseFixture(t, tt.file)
			if res.PartialReports != tt.partial {
				t.Errorf("PartialReports = %d, want %d", res.PartialReports, tt.partial)
			}
			if len(res.Events) != len(tt.events) {
				t.Fatalf("%d events %v, want %d", len(res.Events), pids(res.Events), len(tt.events))
			}
			for i, want := range tt.events {
				checkFields(t, res.Events[i], want)
			}
			if len(res.Problems) != 0 {
				t.Errorf("problems: %q", res.Problems)
			}
			checkGolden(t, tt.file, res)
		})
	}
	// Every fixture is covered by the table.
	logs, _ := filepath.Glob("testdata/*.log")
	for _, l := range logs {
		if !seen[filepath.Base(l)] {
			t.Errorf("%s has no expectations in TestSynthetic", l)
		}
	}
}

func parseFixture(t *testing.T, name string) *Result {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Parse(bytes.NewReader(data), testOpts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func checkFields(t *testing.T, ev Event, want fields) {
	t.Helper()
	got := eventFields(ev)
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		g, ok := got[k]
		if !ok {
			t.Errorf("pid %d: unknown field %q", ev.PID, k)
			continue
		}
		gj, _ := json.Marshal(g)
		wj, _ := json.Marshal(want[k])
		if !bytes.Equal(gj, wj) {
			t.Errorf("pid %d: %s = %s, want %s", ev.PID, k, gj, wj)
		}
	}
}

func checkGolden(t *testing.T, name string, res *Result) {
	t.Helper()
	got, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden.Check(t, filepath.Join("testdata", "golden", strings.TrimSuffix(name, ".log")+".json"), got)
}
