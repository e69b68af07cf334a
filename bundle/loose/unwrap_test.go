package loose

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memsnap/memsnap/internal/testcorpus"
)

func unwrapString(t *testing.T, w Wrapper, in string) string {
	t.Helper()
	out, err := io.ReadAll(Unwrap(w, strings.NewReader(in)))
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestDetectWrapper(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     Wrapper
	}{
		{"cri", "2026-12-03T10:00:00.123456789Z stdout F hello\n2026-12-03T10:00:01+01:00 stderr P par\n2026-12-03T10:00:01Z stderr F t\n", CRI},
		{"docker", `{"log":"a\n","stream":"stdout","time":"2026-12-03T10:00:00.1Z"}` + "\n" + `{"log":"b\n","stream":"stderr","time":"2026-12-03T10:00:00.2Z"}` + "\n", DockerJSON},
		{"journal", `{"__REALTIME_TIMESTAMP":"1764756000000000","MESSAGE":"x","_TRANSPORT":"kernel"}` + "\n", JournalJSON},
		{"plain dmesg", "[    1.000000] Linux version 6.1\n[    2.000000] x\n", ""},
		{"json object", `{"kind":"PodList","items":[]}`, ""},
		{"mostly plain", "a\nb\nc\n2026-12-03T10:00:00Z stdout F x\n", ""},
		// A person's header line before the records does not hide them.
		{"cri under a header", "logs of node-agent:\n" + strings.Repeat("2026-12-03T10:00:00Z stdout F x\n", 5), CRI},
	} {
		if got := DetectWrapper([]byte(tc.in)); got != tc.want {
			t.Errorf("%s: DetectWrapper = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestUnwrapCRI(t *testing.T) {
	in := "2026-12-03T10:00:00.1Z stdout F first line\n" +
		"2026-12-03T10:00:00.2Z stderr P a line the runtime \n" +
		"2026-12-03T10:00:00.3Z stderr P split in \n" +
		"2026-12-03T10:00:00.4Z stderr F three\r\n" +
		"not a CRI record\n" +
		"2026-12-03T10:00:00.5Z stdout F \n"
	want := "first line\na line the runtime split in three\nnot a CRI record\n\n"
	if got := unwrapString(t, CRI, in); got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestUnwrapDocker(t *testing.T) {
	in := `{"log":"whole\n","stream":"stdout","time":"2026-12-03T10:00:00Z"}` + "\n" +
		`{"log":"sixteen KiB pie","stream":"stdout","time":"2026-12-03T10:00:00Z"}` + "\n" +
		`{"log":"ces \u003cjoined\u003e\n","stream":"stdout","time":"2026-12-03T10:00:00Z"}` + "\n" +
		`{"log": broken` + "\n"
	want := "whole\nsixteen KiB pieces <joined>\n{\"log\": broken\n"
	if got := unwrapString(t, DockerJSON, in); got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestUnwrapJournal(t *testing.T) {
	in := `{"__REALTIME_TIMESTAMP":"1764756000123456","_HOSTNAME":"worker-3","_TRANSPORT":"kernel","SYSLOG_IDENTIFIER":"kernel","MESSAGE":"Memory cgroup out of memory: Killed process 42 (java)"}` + "\n" +
		// A message that is not valid UTF-8 arrives as an array of bytes.
		`{"__REALTIME_TIMESTAMP":"1764756001000000","_HOSTNAME":"worker-3","_TRANSPORT":"kernel","MESSAGE":[111,111,109,255]}` + "\n" +
		`{"__REALTIME_TIMESTAMP":"1764756002000000","_HOSTNAME":"worker-3","_TRANSPORT":"stdout","SYSLOG_IDENTIFIER":"kubelet","_PID":"812","MESSAGE":"I1203 10:00:02.000000     812 kubelet.go:1] two\nlines"}` + "\n" +
		`{"__REALTIME_TIMESTAMP":"x","MESSAGE":null}` + "\n"
	want := "2025-12-03T10:00:00.123456Z worker-3 kernel: Memory cgroup out of memory: Killed process 42 (java)\n" +
		"2025-12-03T10:00:01.000000Z worker-3 kernel: oom\xff\n" +
		"2025-12-03T10:00:02.000000Z worker-3 kubelet[812]: I1203 10:00:02.000000     812 kubelet.go:1] two lines\n" +
		"- localhost unknown: \n"
	if got := unwrapString(t, JournalJSON, in); got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// A line longer than MaxWrappedLine is cut there and the next line is kept:
// a 2 GB single line is never held whole.
func TestUnwrapLongLine(t *testing.T) {
	long := "2026-12-03T10:00:00Z stdout F " + strings.Repeat("x", 3*MaxWrappedLine) + "\n"
	in := long + "2026-12-03T10:00:01Z stdout F after\n"
	got := unwrapString(t, CRI, in)
	if !strings.HasSuffix(got, "\nafter\n") {
		t.Fatalf("the line after the long one is lost: ...%q", got[max(0, len(got)-20):])
	}
	if len(got) > MaxWrappedLine+len("after\n")+1 {
		t.Errorf("unwrapped %d bytes, want at most one line's cap", len(got))
	}
}

// wrapCRI puts every line of text in CRI records, a long line split into
// partial records as the runtime does.
func wrapCRI(text string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		for len(l) > 40 {
			b.WriteString("2026-12-03T10:00:00.000000001Z stderr P " + l[:40] + "\n")
			l = l[40:]
		}
		b.WriteString("2026-12-03T10:00:00.000000001Z stderr F " + l + "\n")
	}
	return b.String()
}

// TestClassifyWrapped: a corpus kernel log in each envelope is still a
// kernel log, with the wrapper named.
func TestClassifyWrapped(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testcorpus.Path(t, "oom-logs"), "k8s-v1-docker-memcg-oom-anon-4.18.log"))
	if err != nil {
		t.Fatal(err)
	}
	var docker bytes.Buffer
	for _, l := range strings.SplitAfter(string(data), "\n") {
		if l != "" {
			docker.WriteString(`{"log":` + jsonString(l) + `,"stream":"stdout","time":"2026-12-03T10:00:00Z"}` + "\n")
		}
	}
	journal := `{"__REALTIME_TIMESTAMP":"1764756000000000","_TRANSPORT":"kernel","MESSAGE":"java invoked oom-killer: gfp_mask=0x6000c0(GFP_KERNEL), order=0, oom_score_adj=916"}` + "\n" +
		`{"__REALTIME_TIMESTAMP":"1764756000000001","_TRANSPORT":"kernel","MESSAGE":"Memory cgroup out of memory: Kill process 164878 (java) score 1955 or sacrifice child"}` + "\n"
	klog := `{"__REALTIME_TIMESTAMP":"1764756000000000","_TRANSPORT":"stdout","SYSLOG_IDENTIFIER":"kubelet","_PID":"9","MESSAGE":"I1203 10:00:00.000000       9 kubelet.go:1] a"}` + "\n" +
		`{"__REALTIME_TIMESTAMP":"1764756000000000","_TRANSPORT":"stdout","SYSLOG_IDENTIFIER":"kubelet","_PID":"9","MESSAGE":"E1203 10:00:01.000000       9 eviction_manager.go:1] b"}` + "\n"
	for _, tc := range []struct {
		name string
		in   string
		kind Kind
		w    Wrapper
	}{
		{"cri", wrapCRI(string(data)), KernelLog, CRI},
		{"docker", docker.String(), KernelLog, DockerJSON},
		{"journal kernel", journal, KernelLog, JournalJSON},
		{"journal kubelet", klog, KubeletLog, JournalJSON},
	} {
		r := Classify([]byte(tc.in))
		if r.Kind != tc.kind || r.Wrapper != tc.w {
			t.Errorf("%s: %+v, want kind %s in %s", tc.name, r, tc.kind, tc.w)
		}
	}
	if r := Classify([]byte(wrapCRI("hello\nworld\n"))); r.Kind != "" || !strings.Contains(r.Reason, "CRI") {
		t.Errorf("CRI around chatter: %+v, want ignored naming the wrapper", r)
	}
}

func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteString(`\` + string(r))
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte("0123456789abcdef"[r>>4])
			b.WriteByte("0123456789abcdef"[r&15])
		default:
			b.WriteRune(r)
		}
	}
	return b.String() + `"`
}

// FuzzUnwrap: any bytes in any envelope unwrap without panic; CRI and docker
// output is never larger than the input plus a newline per line.
func FuzzUnwrap(f *testing.F) {
	f.Add([]byte(wrapCRI("a\nbb\n")), uint8(0))
	f.Add([]byte(`{"log":"a\n","stream":"stdout"}`+"\n"), uint8(1))
	f.Add([]byte(`{"__REALTIME_TIMESTAMP":"1","MESSAGE":[1,2,300]}`+"\n"), uint8(2))
	ws := []Wrapper{CRI, DockerJSON, JournalJSON}
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		w := ws[int(which)%len(ws)]
		out, err := io.ReadAll(Unwrap(w, bytes.NewReader(data)))
		if err != nil {
			t.Fatal(err)
		}
		if w != JournalJSON && len(out) > len(data)+bytes.Count(data, []byte("\n"))+1 {
			t.Fatalf("%s: %d bytes out of %d in", w, len(out), len(data))
		}
		_ = DetectWrapper(data)
	})
}
