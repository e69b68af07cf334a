package oomlog

import (
	"testing"
	"time"
)

func TestSplitPrefix(t *testing.T) {
	const msg = "oom-kill:constraint=CONSTRAINT_MEMCG"
	tests := []struct {
		name, line string
		prevKmsg   bool
		kind       int
		msg        string
		uptime     float64 // -1 = none
		wall       string  // RFC 3339 in UTC, "" = none
	}{
		{"dmesg", "[ 7063.247407] " + msg, false, kindKernel, msg, 7063.247407, ""},
		{"dmesg caller id", "[   49.921978][ T6736] " + msg, false, kindKernel, msg, 49.921978, ""},
		{"dmesg caller id cpu", "[   49.921978][    C1] " + msg, false, kindKernel, msg, 49.921978, ""},
		{"journal short-monotonic", "[ 7063.247407] node-1 kernel: " + msg, false, kindKernel, msg, 7063.247407, ""},
		{"level", "<6>[39291577.009363] " + msg, false, kindKernel, msg, 39291577.009363, ""},
		{"dmesg -T", "[Thu Dec  7 00:05:14 2017] " + msg, false, kindKernel, msg, -1, "2017-12-07T00:05:14Z"},
		{"journal short", "Jun 29 07:24:44 compute-11 kernel: " + msg, false, kindKernel, msg, -1, "2024-06-29T07:24:44Z"},
		{"journal short-precise", "Aug 30 06:58:55.050705 host kernel: " + msg, false, kindKernel, msg, -1, "2024-08-30T06:58:55.050705Z"},
		{"short-iso", "2024-08-30T06:58:55+0000 host kernel: " + msg, false, kindKernel, msg, -1, "2024-08-30T06:58:55Z"},
		{"short-iso colon zone", "2024-08-30T08:58:55+02:00 host kernel: " + msg, false, kindKernel, msg, -1, "2024-08-30T06:58:55Z"},
		{"short-iso-precise", "2024-08-30T06:58:55.050705+00:00 host kernel: " + msg, false, kindKernel, msg, -1, "2024-08-30T06:58:55.050705Z"},
		{"syslog + printk", "Dec 30 18:08:17 front kernel: [606280.177800] " + msg, false, kindKernel, msg, 606280.1778, "2024-12-30T18:08:17Z"},
		{"syslog no host", "Jan  5 15:19:27 kernel: [ 5864.708440] " + msg, false, kindKernel, msg, 5864.70844, "2024-01-05T15:19:27Z"},
		{"syslog level after tag", "Jan  5 15:19:27 host kernel: <4>[ 5864.708440] " + msg, false, kindKernel, msg, 5864.70844, "2024-01-05T15:19:27Z"},
		{"syslog other tag", "Oct 12 19:00:20 host containerd[2388]: " + msg, false, kindOther, msg, -1, "2024-10-12T19:00:20Z"},
		{"syslog other tag no host", "Jan  5 15:19:01 CRON[14500]: " + msg, false, kindOther, msg, -1, "2024-01-05T15:19:01Z"},
		{"kmsg", "6,339,5140900,-;" + msg, false, kindKernel, msg, 5.1409, ""},
		{"kmsg extra fields", "6,339,5140900,-,caller=T1;" + msg, false, kindKernel, msg, 5.1409, ""},
		{"kmsg from systemd", "30,340,5140901,-;systemd[1]: " + msg, false, kindOther, "systemd[1]: " + msg, 5.140901, ""},
		{"kmsg continuation", " SUBSYSTEM=pci", true, kindKmsgCont, "", -1, ""},
		{"dmesg continuation", "                active_file:140909", false, kindKernel, "                active_file:140909", -1, ""},
		{"bare", msg, false, kindKernel, msg, -1, ""},
		{"not a stamp", "[pid] " + msg, false, kindKernel, "[pid] " + msg, -1, ""},
	}
	p := newParser(Options{Year: 2024})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, st, kind, _ := p.splitPrefix(tt.line, tt.prevKmsg)
			if kind != tt.kind || m != tt.msg {
				t.Errorf("kind %d msg %q, want %d %q", kind, m, tt.kind, tt.msg)
			}
			if (tt.uptime >= 0) != st.hasUp || (st.hasUp && st.uptime != tt.uptime) {
				t.Errorf("uptime %v (%v), want %v", st.uptime, st.hasUp, tt.uptime)
			}
			wall := ""
			if !st.wall.IsZero() {
				wall = st.wall.UTC().Format(time.RFC3339Nano)
			}
			if wall != tt.wall {
				t.Errorf("wall %q, want %q", wall, tt.wall)
			}
		})
	}
}

func TestSyslogWithoutYear(t *testing.T) {
	p := newParser(Options{})
	_, st, kind, _ := p.splitPrefix("Jun 29 07:24:44 compute-11 kernel: x", false)
	if kind != kindKernel || !st.wall.IsZero() {
		t.Errorf("kind %d wall %v: a stamp without a year must give no wall time", kind, st.wall)
	}
}

func TestLocation(t *testing.T) {
	loc := time.FixedZone("UTC+2", 2*3600)
	p := newParser(Options{Year: 2024, Location: loc})
	_, st, _, _ := p.splitPrefix("Jun 29 07:24:44 compute-11 kernel: x", false)
	if got := st.wall.UTC().Format(time.RFC3339); got != "2024-06-29T05:24:44Z" {
		t.Errorf("wall %s", got)
	}
	if st.wallNote != "year taken from the bundle's creation date; time zone UTC+2 assumed" {
		t.Errorf("note %q", st.wallNote)
	}
}
