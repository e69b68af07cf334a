package textline

import (
	"io"
	"strings"
	"testing"
)

func TestReader(t *testing.T) {
	in := "short\r\n" + strings.Repeat("x", 100) + "\nafter\nend"
	lr := New(strings.NewReader(in), 10)
	type got struct {
		line    string
		tooLong bool
		n       int
	}
	var out []got
	for {
		l, long, err := lr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, got{string(l), long, lr.Line()})
	}
	want := []got{{"short", false, 1}, {"", true, 2}, {"after", false, 3}, {"end", false, 4}}
	if len(out) != len(want) {
		t.Fatalf("got %+v", out)
	}
	for i := range want {
		if out[i] != want[i] {
			t.Errorf("line %d: got %+v, want %+v", i+1, out[i], want[i])
		}
	}
}
