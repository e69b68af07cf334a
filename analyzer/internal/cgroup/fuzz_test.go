package cgroup

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/memsnap/memsnap/internal/testcorpus"
)

// seedCorpus adds every real cgroup sample as a seed, so plain `go test`
// runs each fuzz target over the corpus.
func seedCorpus(f *testing.F, match func(name string) bool) {
	root := testcorpus.Path(f, "cgroup")
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !match(d.Name()) {
			return err
		}
		b, err := os.ReadFile(p)
		if err == nil {
			f.Add(b)
		}
		return err
	})
	if err != nil {
		f.Fatal(err)
	}
}

func isStat(name string) bool { return strings.HasSuffix(name, "memory.stat") }

func FuzzParseStat(f *testing.F) {
	seedCorpus(f, isStat)
	f.Add([]byte("cache 1\nrss -1\nx\n\x00 1\nk 99999999999999999999999\nk 2\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, probs := ParseStat(bytes.NewReader(b), "f")
		if len(m) > maxStatKeys || len(probs) > maxProblemsPerFile+1 {
			t.Fatalf("bounds exceeded: %d keys, %d problems", len(m), len(probs))
		}
		for k, v := range m {
			if v < 0 || !validKey([]byte(k)) {
				t.Fatalf("kept %q = %d", k, v)
			}
		}
		for _, p := range probs {
			if p.File != "f" {
				t.Fatalf("problem without file: %v", p)
			}
		}
	})
}

func FuzzParseFlatKeyed(f *testing.F) {
	seedCorpus(f, func(n string) bool {
		return strings.HasSuffix(n, "events") || strings.HasSuffix(n, "events.local") || strings.HasSuffix(n, "oom_control")
	})
	f.Add([]byte("nr_descendants 3\nnr_dying_descendants 1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, _ := ParseFlatKeyed(bytes.NewReader(b), "f")
		if len(m) > maxFlatKeys {
			t.Fatalf("%d keys", len(m))
		}
	})
}

func FuzzParseSingle(f *testing.F) {
	for _, s := range []string{"max\n", "9223372036854771712\n", "-1", "18446744073709551615", " 7 ", "", "1 2"} {
		f.Add([]byte(s))
	}
	seedCorpus(f, func(n string) bool {
		return strings.HasSuffix(n, "_in_bytes") || n == "memory.current" || n == "memory.max" || n == "memory.high" || n == "memory.low"
	})
	f.Fuzz(func(t *testing.T, b []byte) {
		n, isMax, err := ParseSingle(bytes.NewReader(b), "f")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if n < 0 || isMax && !IsUnlimited(n) {
			t.Fatalf("got %d, max=%v", n, isMax)
		}
	})
}

func FuzzParsePSI(f *testing.F) {
	seedCorpus(f, func(n string) bool { return n == "memory.pressure" })
	f.Add([]byte("some avg10=1.50 avg60=0.75 avg300=0.20 total=81234567\nfull avg10=0.40 avg60=0.10 avg300=0.02 total=20123456\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePSI(bytes.NewReader(b), "f")
		if (p == nil) == (err == nil) {
			t.Fatalf("want exactly one of PSI and error: %v %v", p, err)
		}
		if p != nil {
			for _, l := range []PSILine{p.Some, p.Full} {
				if l.Avg10 < 0 || l.Avg10 > 100 || l.TotalMicros < 0 {
					t.Fatalf("out of range: %+v", l)
				}
			}
		}
	})
}

func FuzzParseProcs(f *testing.F) {
	f.Add([]byte("300\n12\n0\n12\nabc\n"))
	f.Add([]byte("1\n2\n3\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		pids, _ := ParseProcs(bytes.NewReader(b), "f")
		for i, p := range pids {
			if p <= 0 || p > maxPID || i > 0 && pids[i-1] >= p {
				t.Fatalf("pids not sorted, unique and valid: %v", pids)
			}
		}
	})
}

// FuzzLoad feeds whole trees: a txtar archive whose members are bundle files.
func FuzzLoad(f *testing.F) {
	for _, name := range []string{"v1-cgroupfs", "v1-systemd-tmpfs-orphan", "v2-systemd"} {
		b, err := os.ReadFile(filepath.Join("testdata", name+".txtar"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, 0)
	}
	f.Add([]byte("-- cgroup/a//memory.stat --\nanon 1\n-- cgroup/memory.current --\nx\n-- cgroup/b/memory.max --\nmax\n"), 1)
	f.Fuzz(func(t *testing.T, b []byte, version int) {
		tr, probs := Load(viewFromArchive(txtar.Parse(b)), version)
		checkTreeInvariants(t, tr)
		for _, p := range probs {
			if p.File == "" {
				t.Fatalf("problem without file: %v", p)
			}
		}
	})
}
