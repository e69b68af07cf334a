// Package rulestest runs one rule over fixture bundles and compares its
// findings with the expectations kept beside each fixture, like
// golang.org/x/tools/go/analysis/analysistest.
//
// A fixture is testdata/<rule-id>/<case>.txtar: every file of the txtar is a
// bundle file (path relative to the bundle root) except "want", whose lines are
//
//	<severity> <subject> <regexp matching the summary>
//	skipped <regexp matching the skip reason>
//
// A file whose name ends in ".base64" holds binary content (a heap profile) and
// is stored under the name without that suffix, decoded. The bundle is
// analysed as if given on the command line as "node-a", so findings about the
// node read node:node-a unless the fixture's manifest names it.
//
// An empty want means the rule ran and found nothing. Any finding without a
// matching want line, and any want line without a finding, fails the test.
package rulestest

import (
	"bufio"
	"encoding/base64"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/memsnap/memsnap/analyzer/internal/config"
	"github.com/memsnap/memsnap/analyzer/internal/snapshot"
	"github.com/memsnap/memsnap/analyzer/rules"
	"github.com/memsnap/memsnap/bundle"
)

// Want is one expected line.
type Want struct {
	Severity, Subject string
	Summary           *regexp.Regexp
	Skipped           *regexp.Regexp
	Line              int
}

// Case is one parsed fixture.
type Case struct {
	Name string
	View bundle.MapView
	Want []Want
}

type input struct {
	bundle.MapView
	m *bundle.Manifest
}

func (i input) Manifest() *bundle.Manifest { return i.m }

// Load reads a txtar fixture.
func Load(t testing.TB, path string) Case {
	t.Helper()
	ar, err := txtar.ParseFile(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	c := Case{Name: strings.TrimSuffix(filepath.Base(path), ".txtar"), View: bundle.MapView{}}
	for _, f := range ar.Files {
		if f.Name == "want" {
			c.Want = parseWant(t, path, string(f.Data))
			continue
		}
		if name, ok := strings.CutSuffix(f.Name, ".base64"); ok {
			data, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(f.Data)), ""))
			if err != nil {
				t.Fatalf("%s: %s: %v", path, f.Name, err)
			}
			c.View[name] = data
			continue
		}
		c.View[f.Name] = f.Data
	}
	return c
}

func parseWant(t testing.TB, path, text string) []Want {
	var out []Want
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "skipped "); ok {
			out = append(out, Want{Skipped: regexp.MustCompile(rest), Line: n})
			continue
		}
		parts := strings.SplitN(line, " ", 3)
		if len(parts) < 2 {
			t.Fatalf("%s: want line %d: need <severity> <subject> [regexp]", path, n)
		}
		w := Want{Severity: parts[0], Subject: parts[1], Line: n}
		if len(parts) == 3 {
			re, err := regexp.Compile(parts[2])
			if err != nil {
				t.Fatalf("%s: want line %d: %v", path, n, err)
			}
			w.Summary = re
		}
		out = append(out, w)
	}
	return out
}

// Snapshot builds the fixture's snapshot.
func (c Case) Snapshot() *snapshot.Snapshot {
	in := input{MapView: c.View}
	if b, ok := c.View[bundle.ManifestPath]; ok {
		if m, err := bundle.ParseManifest(strings.NewReader(string(b))); err == nil {
			in.m = m
		}
	}
	return snapshot.Build(in, snapshot.Options{Source: "node-a"})
}

// Fixtures lists testdata/<rule-id>/*.txtar below dir.
func Fixtures(t testing.TB, dir, ruleID string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, ruleID, "*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	return files
}

// Run runs r over every fixture of r under dir and checks the wants.
func Run(t *testing.T, dir string, r *rules.Rule) {
	files := Fixtures(t, dir, r.ID)
	if len(files) == 0 {
		t.Fatalf("no fixtures in %s/%s", dir, r.ID)
	}
	for _, file := range files {
		file := file
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			c := Load(t, file)
			snap := c.Snapshot()
			pass := rules.Execute(r, snap, config.Default(), rules.All)
			check(t, file, c, pass, snap)
		})
	}
}

func check(t *testing.T, file string, c Case, pass *rules.Pass, snap *snapshot.Snapshot) {
	t.Helper()
	used := make([]bool, len(c.Want))
	if why := pass.Skipped(); why != "" {
		for i, w := range c.Want {
			if w.Skipped != nil && w.Skipped.MatchString(why) {
				used[i] = true
			}
		}
		if !anyTrue(used) {
			t.Errorf("%s: rule skipped (%s); problems: %v", file, why, snap.Problems())
		}
	}
	for _, f := range pass.Findings() {
		matched := false
		for i, w := range c.Want {
			if used[i] || w.Skipped != nil {
				continue
			}
			if w.Severity == f.Severity && w.Subject == f.Subject && (w.Summary == nil || w.Summary.MatchString(f.Summary)) {
				used[i], matched = true, true
				break
			}
		}
		if !matched {
			t.Errorf("%s: unexpected finding: %s %s %q", file, f.Severity, f.Subject, f.Summary)
		}
		if len(f.Evidence) == 0 && f.Severity != "info" {
			t.Errorf("%s: finding %s %s cites no evidence", file, f.Severity, f.Subject)
		}
	}
	for i, w := range c.Want {
		if !used[i] {
			if w.Skipped != nil {
				t.Errorf("%s: want line %d: rule was not skipped", file, w.Line)
			} else {
				t.Errorf("%s: want line %d: no finding %s %s %v", file, w.Line, w.Severity, w.Subject, w.Summary)
			}
		}
	}
	if t.Failed() {
		t.Logf("snapshot problems: %v", snap.Problems())
		for _, f := range pass.Findings() {
			t.Logf("got: %s %s %s", f.Severity, f.Subject, f.Summary)
		}
	}
}

func anyTrue(b []bool) bool {
	for _, x := range b {
		if x {
			return true
		}
	}
	return false
}
