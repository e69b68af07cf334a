package kmsg

import (
	"bytes"
	"io"
	"syscall"
	"testing"
	"testing/iotest"
)

const sample = "6,339,5140900,-;NET: Registered PF_INET6 protocol family\n" +
	" SUBSYSTEM=net\n" +
	"4,1200,7063247407,-;Memory cgroup out of memory: Killed process 4242 (java) total-vm:1048576kB\n" +
	"3,1201,7063247500,c;oom_reaper: reaped process 4242 (java)\n"

func TestConvert(t *testing.T) {
	out, err := io.ReadAll(NewReader(iotest.HalfReader(bytes.NewReader([]byte(sample))), 0))
	if err != nil {
		t.Fatal(err)
	}
	want := "[    5.140900] NET: Registered PF_INET6 protocol family\n" +
		"[    5.140900] SUBSYSTEM=net\n" +
		"[ 7063.247407] Memory cgroup out of memory: Killed process 4242 (java) total-vm:1048576kB\n" +
		"[ 7063.247500] oom_reaper: reaped process 4242 (java)\n"
	if string(out) != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}

func TestSinceDropsOldRecordsWithTheirDictionary(t *testing.T) {
	r := NewReader(bytes.NewReader([]byte(sample)), 7_000_000_000)
	out, _ := io.ReadAll(r)
	if bytes.Contains(out, []byte("PF_INET6")) || bytes.Contains(out, []byte("SUBSYSTEM")) {
		t.Errorf("old record kept:\n%s", out)
	}
	if r.Records != 2 || r.Dropped != 1 {
		t.Errorf("records %d dropped %d", r.Records, r.Dropped)
	}
}

// deviceReader behaves like /dev/kmsg opened O_NONBLOCK: one record per
// read, an EPIPE once, then EAGAIN.
type deviceReader struct {
	recs [][]byte
	i    int
}

func (d *deviceReader) Read(p []byte) (int, error) {
	if d.i == 1 {
		d.i++
		return 0, syscall.EPIPE
	}
	if d.i >= len(d.recs)+1 {
		return 0, syscall.EAGAIN
	}
	rec := d.recs[min(d.i, len(d.recs)-1)]
	if d.i > 1 {
		rec = d.recs[d.i-1]
	}
	d.i++
	return copy(p, rec), nil
}

func TestDeviceSemantics(t *testing.T) {
	d := &deviceReader{recs: [][]byte{
		[]byte("6,1,1000000,-;first\n"),
		[]byte("6,3,3000000,-;third\n SUBSYSTEM=x\n"),
	}}
	r := NewReader(d, 0)
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("EAGAIN must end the stream cleanly: %v", err)
	}
	if want := "[    1.000000] first\n[    3.000000] third\n[    3.000000] SUBSYSTEM=x\n"; string(out) != want {
		t.Errorf("got %q want %q", out, want)
	}
	if r.Lost != 1 {
		t.Errorf("lost %d, want 1", r.Lost)
	}
}

func FuzzReader(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte("6,1,x,-;bad\n,;\n;\n 6,1,1,-;dict first\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := io.ReadAll(NewReader(bytes.NewReader(in), 0))
		if err != nil {
			t.Fatal(err)
		}
		// Each input line yields at most one output line with a stamp of at most
		// 32 bytes ("[18446744073709.551615] " for the largest µs count).
		if limit := len(in) + 32*(bytes.Count(in, []byte{'\n'})+1) + 1; len(out) > limit {
			t.Fatalf("output %d bytes for %d input bytes", len(out), len(in))
		}
	})
}
