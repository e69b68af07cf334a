// Package testcorpus locates ../shared/corpus (real public samples kept beside
// the repository, never copied into it) for tests. A missing corpus fails the
// test loudly: it is never a reason to skip.
package testcorpus

import (
	"os"
	"path/filepath"
	"testing"
)

// RepoRoot returns the directory holding go.mod, walking up from the test's
// working directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod above the test directory")
		}
		dir = parent
	}
}

// Dir returns the corpus directory, or fails the test when it is missing.
// MEMSNAP_CORPUS overrides the location.
func Dir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("MEMSNAP_CORPUS")
	if dir == "" {
		dir = filepath.Join(RepoRoot(t), "..", "shared", "corpus")
	}
	if _, err := os.Stat(filepath.Join(dir, "SOURCES.md")); err != nil {
		t.Fatalf("corpus not found at %s (expected ../shared/corpus beside the repository, or set MEMSNAP_CORPUS): %v", dir, err)
	}
	return dir
}

// Path joins elements below the corpus directory.
func Path(t testing.TB, elem ...string) string {
	t.Helper()
	return filepath.Join(append([]string{Dir(t)}, elem...)...)
}
