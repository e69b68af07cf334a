package main

import (
	"os"
	"strings"
	"testing"
)

const mountinfoSample = `22 1 253:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
35 30 0:31 / /sys/fs/cgroup/memory rw,nosuid shared:9 - cgroup cgroup rw,memory
120 22 0:120 / /var/lib/kubelet/pods/u1/volumes/kubernetes.io~empty-dir/scratch\040space rw shared:120 - tmpfs tmpfs rw,size=1024k
bad line
`

func TestMountinfo(t *testing.T) {
	m := Mountinfo(strings.NewReader(mountinfoSample))
	if len(m) != 3 {
		t.Fatalf("%+v", m)
	}
	if m[1].FSType != "cgroup" || m[1].Super != "rw,memory" {
		t.Errorf("%+v", m[1])
	}
	if m[2].MountPoint != "/var/lib/kubelet/pods/u1/volumes/kubernetes.io~empty-dir/scratch space" || m[2].FSType != "tmpfs" {
		t.Errorf("%+v", m[2])
	}
}

// FuzzMountinfo: mountinfo from /proc is trusted more than a bundle, but a
// hostile mount point name must not crash the collector.
func FuzzMountinfo(f *testing.F) {
	f.Add([]byte(mountinfoSample))
	if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, m := range Mountinfo(strings.NewReader(string(b))) {
			if m.FSType == "" {
				t.Fatalf("mount without type: %+v", m)
			}
		}
	})
}

func TestFlagValue(t *testing.T) {
	argv := []string{"/usr/bin/kubelet", "--config=/etc/k.yaml", "-v", "2", "--root-dir", "/data/kubelet", "--hostname-override="}
	for flag, want := range map[string]string{"config": "/etc/k.yaml", "v": "2", "root-dir": "/data/kubelet", "hostname-override": ""} {
		if got, ok := FlagValue(argv, flag); !ok || got != want {
			t.Errorf("%s = %q %v, want %q", flag, got, ok, want)
		}
	}
	if _, ok := FlagValue(argv, "kubeconfig"); ok {
		t.Error("absent flag found")
	}
}

func TestTSVQuoting(t *testing.T) {
	if got := tsv("/var/log/a b.log", "12"); got != "/var/log/a b.log\t12\n" {
		t.Errorf("%q", got)
	}
	if got := tsv("/tmp/a\tb", "1"); got != `"/tmp/a\tb"`+"\t1\n" {
		t.Errorf("%q", got)
	}
	if got := tsv("/tmp/\xff", "1"); got != `"/tmp/\xff"`+"\t1\n" {
		t.Errorf("%q", got)
	}
}

func TestParsePprofTarget(t *testing.T) {
	tg, err := parsePprofTarget("cadvisor=http://127.0.0.1:8080,pid=42")
	if err != nil || tg.URL != "http://127.0.0.1:8080/debug/pprof/heap" || tg.PID != 42 || tg.Name != "cadvisor" {
		t.Errorf("%+v %v", tg, err)
	}
	for _, bad := range []string{"noequals", "../x=http://a", "kubelet=http://a", "a=ftp://x", "a=http://x,pid=-1"} {
		if _, err := parsePprofTarget(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"--bogus"}, {"--host-root", "/nonexistent-dir"}, {"--timeout", "0s"}, {"extra-arg"}, {"--max-bytes", "12X"}} {
		if code := mainArgs(args, os.Stdout, &strings.Builder{}); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
}

// TestHostMountPoint: mounts below a --host-root whose /proc is the
// collector's own (the lab) lose the root prefix; host paths stay as they are.
func TestHostMountPoint(t *testing.T) {
	for _, tc := range []struct{ root, in, want string }{
		{"/", "/var/lib/kubelet/pods/u1", "/var/lib/kubelet/pods/u1"},
		{"/host", "/var/lib/kubelet/pods/u1", "/var/lib/kubelet/pods/u1"},
		{"/tmp/labroot", "/tmp/labroot/var/lib/kubelet/pods/u1/volumes/x", "/var/lib/kubelet/pods/u1/volumes/x"},
		{"/tmp/labroot/", "/tmp/labroot/var/lib/kubelet/pods/u1", "/var/lib/kubelet/pods/u1"},
		{"/tmp/labroot", "/tmp/labrootx/var/lib/kubelet/pods/u1", "/tmp/labrootx/var/lib/kubelet/pods/u1"},
		{"/tmp/labroot", "/tmp/labroot", "/tmp/labroot"},
	} {
		if got := (Host{Root: tc.root}).HostMountPoint(tc.in); got != tc.want {
			t.Errorf("Host{%q}.HostMountPoint(%q) = %q, want %q", tc.root, tc.in, got, tc.want)
		}
	}
}
