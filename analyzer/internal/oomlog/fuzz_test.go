package oomlog

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse is seeded with every corpus log (located through testcorpus, in
// corpusLogs) and every synthetic fixture.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.log")
	seeds = append(seeds, corpusLogs(f)...)
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, max := range []int{0, 64} {
			res, err := Parse(bytes.NewReader(data), Options{MaxLineBytes: max, MaxTasks: 8, Year: 2024})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			lines := bytes.Count(data, []byte("\n")) + 1
			for _, ev := range res.Events {
				checkEventInvariants(t, ev, lines)
			}
			if len(res.Problems) > maxProblems+1 {
				t.Fatalf("%d problems, cap is %d", len(res.Problems), maxProblems+1)
			}
		}
	})
}

func checkEventInvariants(t *testing.T, ev Event, lines int) {
	t.Helper()
	if ev.PID <= 0 {
		t.Fatalf("event with pid %d", ev.PID)
	}
	if ev.StartLine < 1 || ev.Line < ev.StartLine || ev.EndLine < ev.Line || ev.EndLine > lines {
		t.Fatalf("lines %d/%d/%d of %d", ev.StartLine, ev.Line, ev.EndLine, lines)
	}
	if len(ev.Tasks) > 8 {
		t.Fatalf("%d tasks kept, cap 8", len(ev.Tasks))
	}
	switch ev.FilledBy {
	case FilledAnon, FilledShmem, FilledFile, FilledKernel, FilledUnknown:
	default:
		t.Fatalf("FilledBy %q", ev.FilledBy)
	}
	switch ev.LimitCounter {
	case "", "memory", "memsw", "swap":
	default:
		t.Fatalf("LimitCounter %q", ev.LimitCounter)
	}
	switch LimitScope(ev) {
	case "node", "container", "pod", "kubepods", "other":
	default:
		t.Fatalf("LimitScope %q", LimitScope(ev))
	}
	if ev.Global && (ev.LimitCounter != "" || ev.FilledBy != FilledUnknown) {
		t.Fatalf("global event with counter %q filled_by %q", ev.LimitCounter, ev.FilledBy)
	}
}

// BenchmarkParse reads a generated 50,000-line kernel log (DESIGN §5's
// reference node) holding a few OOM reports among ordinary kernel chatter.
func BenchmarkParse(b *testing.B) {
	data := generatedLog(b, 50_000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		res, err := Parse(bytes.NewReader(data), testOpts)
		if err != nil || len(res.Events) != 5 {
			b.Fatalf("events %d, err %v", len(res.Events), err)
		}
	}
}

func generatedLog(tb testing.TB, lines int) []byte {
	tb.Helper()
	report, err := os.ReadFile("testdata/v2-memcg-6.8-tasks.log")
	if err != nil {
		tb.Fatal(err)
	}
	reportLines := strings.Split(strings.TrimSuffix(string(report), "\n"), "\n")
	noise := []string{
		"IPv6: ADDRCONF(NETDEV_CHANGE): cali%x: link becomes ready",
		"EXT4-fs (nvme%dn1): mounted filesystem with ordered data mode. Opts: (null). Quota mode: none.",
		"audit: type=1400 audit(1700000000.%d:2): apparmor=\"STATUS\" operation=\"profile_replace\" name=\"cri-containerd.apparmor.d\"",
		"cni0: port %d(veth1a2b3c4d) entered forwarding state",
		"TCP: request_sock_TCP: Possible SYN flooding on port %d. Sending cookies.",
	}
	var buf bytes.Buffer
	n, up := 0, 10.0
	every := lines / 6 // five reports
	for n < lines {
		if n > 0 && n%every == 0 && n+len(reportLines) < lines {
			for _, l := range reportLines {
				_, msg, _ := strings.Cut(l, "] ")
				fmt.Fprintf(&buf, "[%12.6f] %s\n", up, msg)
				n++
			}
			continue
		}
		up += 0.0137
		fmt.Fprintf(&buf, "[%12.6f] "+noise[n%len(noise)]+"\n", up, n)
		n++
	}
	return buf.Bytes()
}
