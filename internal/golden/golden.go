// Package golden compares test output with golden files under testdata/,
// and rewrites them when the tests run with -update (the habit of Go's own
// tools: go test ./pkg -run TestX -update, then review the diff).
//
// It registers the -update flag, so it is imported only by tests.
package golden

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files (and generated test trees) instead of comparing with them")

// Update reports whether the tests run with -update.
func Update() bool { return *update }

// Check compares got with the file at path. With -update it writes got
// there instead (creating directories). A difference fails the test with
// the first differing line.
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (go test -run %s -update accepts it):\n%s", path, t.Name(), FirstDiff(want, got))
	}
}

// FirstDiff describes where two texts part: the first differing line of
// each, with two lines of context before it.
func FirstDiff(want, got []byte) string {
	if bytes.Equal(want, got) {
		return ""
	}
	w, g := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	i := 0
	for i < len(w) && i < len(g) && w[i] == g[i] {
		i++
	}
	var b strings.Builder
	for j := max(i-2, 0); j < i; j++ {
		fmt.Fprintf(&b, "  %d    %.300s\n", j+1, w[j])
	}
	if i < len(w) {
		fmt.Fprintf(&b, "  %d  - %.300s\n", i+1, w[i])
	}
	if i < len(g) {
		fmt.Fprintf(&b, "  %d  + %.300s\n", i+1, g[i])
	}
	if i == len(w) && i == len(g) {
		b.WriteString("  (same lines, different bytes)\n")
	}
	fmt.Fprintf(&b, "  (golden %d lines, output %d lines)", len(w), len(g))
	return b.String()
}
