package golden

import (
	"os"
	"strings"
	"testing"
)

func TestFirstDiff(t *testing.T) {
	for _, tc := range []struct{ want, got, has string }{
		{"a\nb\nc\n", "a\nb\nc\n", ""},
		{"a\nb\nc\n", "a\nB\nc\n", "  2  - b\n  2  + B\n"},
		{"a\nb\n", "a\nb\nc\n", "  3  - \n  3  + c\n"},
		{"a\n", "a", "  2  - \n"},
	} {
		d := FirstDiff([]byte(tc.want), []byte(tc.got))
		if (tc.has == "") != (d == "") || !strings.Contains(d, tc.has) {
			t.Errorf("FirstDiff(%q, %q) = %q, want it to contain %q", tc.want, tc.got, d, tc.has)
		}
	}
}

// TestCheckFails: a differing or missing golden fails the test.
func TestCheckFails(t *testing.T) {
	if Update() {
		t.Skip("-update rewrites instead of comparing")
	}
	dir := t.TempDir()
	path := dir + "/x.golden"
	for _, write := range []bool{false, true} {
		if write {
			if err := writeFile(path, "old\n"); err != nil {
				t.Fatal(err)
			}
		}
		ft := &fakeT{TB: t}
		func() {
			defer func() { recover() }() // Fatalf of the fake ends the check
			Check(ft, path, []byte("new\n"))
		}()
		if !ft.failed {
			t.Errorf("golden present=%v: Check did not fail", write)
		}
	}
	ft := &fakeT{TB: t}
	Check(ft, path, []byte("old\n"))
	if ft.failed {
		t.Error("equal output failed")
	}
}

type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Helper()               {}
func (f *fakeT) Name() string          { return "TestX" }
func (f *fakeT) Errorf(string, ...any) { f.failed = true }
func (f *fakeT) Fatalf(string, ...any) { f.failed = true; panic("fatal") }
func (f *fakeT) Fatal(...any)          { f.failed = true; panic("fatal") }

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o644) }
