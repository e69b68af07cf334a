package cgroup

import (
	"bytes"
	"testing"
)

// twoFields must split exactly as bytes.Fields did before it.
func checkTwoFields(t *testing.T, line []byte) {
	t.Helper()
	want := bytes.Fields(line)
	a, b, n := twoFields(line)
	if n != len(want) {
		t.Fatalf("%q: %d fields, bytes.Fields has %d", line, n, len(want))
	}
	if n >= 1 && !bytes.Equal(a, want[0]) {
		t.Fatalf("%q: first field %q, want %q", line, a, want[0])
	}
	if n >= 2 && !bytes.Equal(b, want[1]) {
		t.Fatalf("%q: second field %q, want %q", line, b, want[1])
	}
}

func TestTwoFields(t *testing.T) {
	for _, l := range []string{"", " ", "anon 123", "  anon\t123  ", "a b c", "a", "a\vb\fc\r",
		"anon\u00a0123", "anon\u2003123 x", "\x85anon 1", "k\xff 1"} {
		checkTwoFields(t, []byte(l))
	}
}

func FuzzTwoFields(f *testing.F) {
	f.Add([]byte("anon 123"))
	f.Add([]byte("a\u00a0b c"))
	f.Fuzz(func(t *testing.T, line []byte) { checkTwoFields(t, line) })
}

func TestInternSharesAndBounds(t *testing.T) {
	in := &interner{m: map[string]string{}}
	a := in.intern([]byte("inactive_file"))
	b := in.intern([]byte("inactive_file"))
	if a != "inactive_file" || b != a {
		t.Fatalf("intern: %q %q", a, b)
	}
	if len(in.m) != 1 {
		t.Fatalf("interner holds %d keys, want 1", len(in.m))
	}
	for i := range maxInterned + 100 {
		in.intern([]byte{byte(i), byte(i >> 8), 'k'})
	}
	if len(in.m) > maxInterned {
		t.Fatalf("interner grew to %d keys, bound %d", len(in.m), maxInterned)
	}
	if s := in.intern([]byte("past the bound")); s != "past the bound" {
		t.Fatalf("intern past the bound: %q", s)
	}
}
