package bundle

import (
	"bytes"
	"strings"
	"testing"
	"testing/iotest"
)

// TestStoreHeaderSizes: an archive header's size chooses where content
// goes but is never trusted: content shorter than the header is a cut
// entry, longer content is kept up to the limits, and either way exactly
// the bytes that were there are stored.
func TestStoreHeaderSizes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		content string
		hint    int64
		cut     bool
		err     bool
	}{
		{"exact", "hello", 5, false, false},
		{"empty", "", 0, false, false},
		{"short", "hel", 5, true, true},
		{"nothing", "", 5, true, true},
		{"long", "hello world", 5, false, false},
		{"unknown", "hello", -1, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &Bundle{opts: Options{}.withDefaults()}
			e, err := b.store("x", iotest.HalfReader(strings.NewReader(tc.content)), tc.hint)
			if (err != nil) != tc.err {
				t.Fatalf("err %v, want error %v", err, tc.err)
			}
			if e == nil {
				t.Fatal("no entry")
			}
			if e.cut != tc.cut || e.size != int64(len(tc.content)) || !bytes.Equal(e.data, []byte(tc.content)) {
				t.Errorf("entry size %d cut %v data %q, want %q cut %v", e.size, e.cut, e.data, tc.content, tc.cut)
			}
			if b.memBytes != int64(len(tc.content)) {
				t.Errorf("memBytes %d, want %d", b.memBytes, len(tc.content))
			}
			// A right header gets a buffer of exactly its size (the analyzer
			// holds tens of thousands of entries).
			if tc.hint == int64(len(tc.content)) && cap(e.data) != len(tc.content) {
				t.Errorf("cap %d for %d bytes: slack per entry", cap(e.data), len(tc.content))
			}
		})
	}
}
