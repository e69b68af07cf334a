package loose

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/memsnap/memsnap/internal/testcorpus"
)

// FuzzClassify: any bytes classify without panic, as a known kind or with a
// reason, and only the prefix is looked at.
func FuzzClassify(f *testing.F) {
	for _, dir := range []string{"oom-logs", "kubectl", "kubelet-summary", "cgroup", "systemd"} {
		files, _ := filepath.Glob(filepath.Join(testcorpus.Path(f, dir), "*"))
		for _, p := range files {
			if data, err := os.ReadFile(p); err == nil {
				f.Add(data)
			}
		}
	}
	f.Add([]byte("==> memory.stat <==\ncache 1\nrss 2\n"))
	f.Add([]byte{0x0a, 0x04, 0x08, 0x01, 0x10, 0x02})
	known := map[Kind]bool{}
	for _, k := range Kinds {
		known[k.Kind] = true
	}
	known[HeapProfile] = true
	f.Fuzz(func(t *testing.T, data []byte) {
		r := Classify(data)
		if r.Kind == "" && r.Reason == "" {
			t.Fatal("ignored without a reason")
		}
		if r.Kind != "" && !known[r.Kind] {
			t.Fatalf("unknown kind %q", r.Kind)
		}
		if len(data) > PrefixBytes {
			if Classify(data[:PrefixBytes]) != r {
				t.Fatal("classification looked past the prefix")
			}
		}
	})
}
