package kube

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/memsnap/memsnap/internal/testcorpus"
)

// TestParseTopCorpus: every row of real `kubectl top pods -A` and `top
// nodes` output, its memory read here by hand from the "NNNMi" column.
func TestParseTopCorpus(t *testing.T) {
	for _, tc := range []struct{ file, kind string }{
		{"top-pods-A-kind-multinode.txt", "pod"},
		{"top-nodes-kind-multinode.txt", "node"},
	} {
		path := testcorpus.Path(t, "kubectl", tc.file)
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := ParseTop(f, tc.file)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		data, _ := os.ReadFile(path)
		var want []string // name and bytes, read from the text
		sc := bufio.NewScanner(strings.NewReader(string(data)))
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) < 3 || fs[0] == "NAME" || fs[0] == "NAMESPACE" {
				continue
			}
			name, mem := fs[0], fs[3]
			if tc.kind == "pod" {
				name, mem = fs[0]+"/"+fs[1], fs[3]
			}
			mi, err := strconv.ParseInt(strings.TrimSuffix(mem, "Mi"), 10, 64)
			if err != nil {
				t.Fatalf("corpus row %q", sc.Text())
			}
			want = append(want, name+"="+strconv.FormatInt(mi<<20, 10))
		}
		if len(rows) != len(want) || len(want) == 0 {
			t.Fatalf("%s: %d rows, want %d", tc.file, len(rows), len(want))
		}
		for i, r := range rows {
			name := r.Node
			if tc.kind == "pod" {
				name = r.Namespace + "/" + r.Pod
			}
			if got := name + "=" + strconv.FormatInt(r.Bytes, 10); got != want[i] {
				t.Errorf("%s row %d: %s, want %s", tc.file, i, got, want[i])
			}
		}
	}
}

func TestParseTopShapes(t *testing.T) {
	in := "> $ kubectl top pod leak-6b8d9c7f4-q9vxz --containers\n" +
		"> POD                    NAME   CPU(cores)   MEMORY(bytes)\r\n" +
		"> leak-6b8d9c7f4-q9vxz   leak   12m          243Mi\r\n" +
		"> leak-6b8d9c7f4-q9vxz   side   1m           1Gi\n" +
		"some words the customer wrote\n"
	rows, err := ParseTop(strings.NewReader(in), "top.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Pod != "leak-6b8d9c7f4-q9vxz" || rows[0].Container != "leak" || rows[0].Bytes != 243<<20 ||
		rows[1].Container != "side" || rows[1].Bytes != 1<<30 || rows[0].Namespace != "" || rows[0].Line != 3 {
		t.Errorf("rows %+v", rows)
	}
	rows, err = ParseTop(strings.NewReader("NAME  CPU(cores)  MEMORY(bytes)\nweb-0  1m  12Mi\nweb-1  1m  lots\n"), "t.txt")
	if err == nil || !strings.Contains(err.Error(), "t.txt:3") || len(rows) != 1 || rows[0].Pod != "web-0" {
		t.Errorf("bad row: rows %+v err %v, want web-0 kept and an error naming line 3", rows, err)
	}
	if _, err := ParseTop(strings.NewReader("hello\n"), "x.txt"); err == nil {
		t.Error("no header: want an error")
	}
}
