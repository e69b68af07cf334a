package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/memsnap/memsnap/collector-script/internal/hostfixture"
)

// scriptSources are what collect.sh collects; for these the script and the
// binary must write the same paths from the same host. The analyzer's
// findings on both bundles are then the same apart from missing-source
// (the lead's cross-check runs memsnap analyze on both outputs).
var scriptPrefixes = []string{"node/", "cgroup/", "logs/", "systemd/files/", "kubelet/flags.txt", "kubelet/config.yaml", "kubelet/log.txt"}

func inScript(p string) bool {
	for _, pre := range scriptPrefixes {
		if strings.HasPrefix(p, pre) {
			return true
		}
	}
	return false
}

func TestScriptMatchesBinary(t *testing.T) {
	for _, tc := range []struct {
		version int
		driver  string
	}{{1, "systemd"}, {2, "cgroupfs"}} {
		t.Run(tc.driver, func(t *testing.T) {
			h, k := fixture(t, tc.version, tc.driver, hostfixture.KubeletOptions{})
			o := testOptions(t, h, k)
			if code := Run(context.Background(), o); code != exitOK {
				t.Fatalf("binary exit %d", code)
			}
			bin := readBundle(t, o.Output)

			out := filepath.Join(t.TempDir(), "script.tar.gz")
			cmd := exec.Command("sh", "collect.sh", "--host-root", h.Root, "-o", out)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("collect.sh: %v\n%s", err, stderr.String())
			}
			scr := readBundle(t, out)
			if scr.manifest.Collector.Mode != "script" || scr.manifest.Node.CgroupVersion != tc.version ||
				scr.manifest.Node.CgroupDriver != tc.driver || scr.manifest.Node.NodeName != bin.manifest.Node.NodeName {
				t.Errorf("script node %+v\nbinary node %+v", scr.manifest.Node, bin.manifest.Node)
			}
			var binPaths, scrPaths []string
			for p := range bin.files {
				if inScript(p) {
					binPaths = append(binPaths, p)
				}
			}
			for p := range scr.files {
				if p != "manifest.json" && !strings.HasSuffix(p, "/") {
					scrPaths = append(scrPaths, p)
				}
			}
			sort.Strings(binPaths)
			sort.Strings(scrPaths)
			if strings.Join(binPaths, "\n") != strings.Join(scrPaths, "\n") {
				t.Errorf("paths differ:\nbinary only: %v\nscript only: %v", minus(binPaths, scrPaths), minus(scrPaths, binPaths))
			}
			// Raw copies and the converted kernel log are byte-identical.
			for _, p := range binPaths {
				if (strings.HasPrefix(p, "cgroup/") || strings.HasPrefix(p, "logs/") || p == "node/meminfo" || p == "node/uname") &&
					!bytes.Equal(bin.files[p], scr.files[p]) {
					t.Errorf("%s differs:\nbinary %q\nscript %q", p, trim(bin.files[p]), trim(scr.files[p]))
				}
			}
			for _, fe := range scr.manifest.Files {
				if fe.SHA256 == "" || int64(len(scr.files[fe.Path])) != fe.Bytes {
					t.Errorf("script manifest entry %+v", fe)
				}
			}
			for _, s := range hostfixture.Secrets() {
				if bytes.Contains(scr.raw, []byte(s.Value)) {
					t.Errorf("collect.sh leaked %s (%s)", s.Shape, s.Where)
				}
			}
		})
	}
}

func minus(a, b []string) []string {
	in := map[string]bool{}
	for _, x := range b {
		in[x] = true
	}
	var out []string
	for _, x := range a {
		if !in[x] {
			out = append(out, x)
		}
	}
	return out
}

func trim(b []byte) []byte {
	if len(b) > 300 {
		return b[:300]
	}
	return b
}
