package heap

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/memsnap/memsnap/internal/testcorpus"
)

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(testcorpus.Dir(f), "pprof", "*"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("heap profile: 1: 2 [3: 4] @ heap/1048576\n1: 2 [3: 4] @ 0x1 0x2\n"))
	f.Add([]byte("\x1f\x8b\x08\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(bytes.NewReader(data), 4<<20)
		if err != nil {
			return
		}
		for _, top := range [][]FuncCost{p.TopInuse, p.TopAlloc} {
			if len(top) > TopN || !sort.SliceIsSorted(top, func(i, j int) bool {
				return top[i].Bytes > top[j].Bytes || top[i].Bytes == top[j].Bytes && top[i].Function < top[j].Function
			}) {
				t.Errorf("top list unsorted or too long: %v", top)
			}
		}
		for _, st := range p.SampleTypes {
			if s := PathShare(p, func(string) bool { return true }, st); s < 0 && s != 0 {
				t.Errorf("negative share %v", s)
			}
		}
	})
}
