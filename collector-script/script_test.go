package main

import (
	"bytes"
	"context"
	"encoding/json"
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
	if environPath.MatchString(p) {
		return true // collect.sh keeps the runtime settings of container processes too
	}
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
			bin, scr := collectBoth(t, h, k)
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

// TestScriptFindingsMatchBinary runs the real analyzer over the script's and
// the binary's bundles of one fixture host: the sorted (rule, subject,
// severity) lists are the same, apart from missing-source and the rules the
// script's bundle could not run for lack of a source it does not collect
// (volumes, cadvisor, pprof, the kubelet API) — exactly what missing-source
// reports there.
func TestScriptFindingsMatchBinary(t *testing.T) {
	memsnap := filepath.Join(t.TempDir(), "memsnap")
	if out, err := exec.Command("go", "build", "-o", memsnap, "../analyzer/cmd/memsnap").CombinedOutput(); err != nil {
		t.Fatalf("building the analyzer: %v\n%s", err, out)
	}
	h, k := fixture(t, 1, "systemd", hostfixture.KubeletOptions{})
	o := testOptions(t, h, k)
	if code := Run(context.Background(), o); code != exitOK {
		t.Fatalf("binary exit %d", code)
	}
	scriptOut := filepath.Join(t.TempDir(), "script.tar.gz")
	if out, err := exec.Command("sh", "collect.sh", "--host-root", h.Root, "-o", scriptOut).CombinedOutput(); err != nil {
		t.Fatalf("collect.sh: %v\n%s", err, out)
	}
	binary, _ := analyzeBundle(t, memsnap, o.Output)
	script, skipped := analyzeBundle(t, memsnap, scriptOut)
	var want []string
	serious := 0
	for _, f := range binary {
		rule := strings.SplitN(f, "\t", 2)[0]
		if rule == "missing-source" || skipped[rule] {
			continue
		}
		want = append(want, f)
		if strings.HasSuffix(f, "\twarning") || strings.HasSuffix(f, "\tcritical") {
			serious++
		}
	}
	var got []string
	for _, f := range script {
		if !strings.HasPrefix(f, "missing-source\t") {
			got = append(got, f)
		}
	}
	if serious < 2 {
		t.Fatalf("the fixture yields %d warning-or-worse findings from the script's sources; want ≥ 2: %v", serious, binary)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings differ\nscript: %q\nbinary: %q (rules skipped on the script's bundle: %v)", got, want, skipped)
	}
}

// analyzeBundle returns sorted "rule\tsubject\tseverity" lines and the rules skipped.
func analyzeBundle(t *testing.T, memsnap, bundlePath string) ([]string, map[string]bool) {
	t.Helper()
	out, err := exec.Command(memsnap, "analyze", "--format", "json", "-o", "-", "--now", "2026-01-01T00:00:00Z", bundlePath).Output()
	if err != nil {
		t.Fatalf("memsnap analyze %s: %v", bundlePath, err)
	}
	var doc struct {
		Rules []struct {
			ID, Status string
		} `json:"rules"`
		Findings []struct {
			Rule, Subject, Severity string
		} `json:"findings"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	skipped := map[string]bool{}
	for _, r := range doc.Rules {
		if r.Status == "skipped" {
			skipped[r.ID] = true
		}
	}
	var lines []string
	for _, f := range doc.Findings {
		lines = append(lines, f.Rule+"\t"+f.Subject+"\t"+f.Severity)
	}
	sort.Strings(lines)
	return lines, skipped
}

// collectBoth collects the fixture host with the binary and with collect.sh
// and reads both bundles back, for tests that compare the two.
func collectBoth(t *testing.T, h *hostfixture.Host, k *hostfixture.Kubelet) (bin, scr readBack) {
	t.Helper()
	o := testOptions(t, h, k)
	if code := Run(context.Background(), o); code != exitOK {
		t.Fatalf("binary exit %d", code)
	}
	bin = readBundle(t, o.Output)
	out := filepath.Join(t.TempDir(), "script.tar.gz")
	cmd := exec.Command("sh", "collect.sh", "--host-root", h.Root, "-o", out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("collect.sh: %v\n%s", err, stderr.String())
	}
	return bin, readBundle(t, out)
}
