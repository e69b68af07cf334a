// Command gen writes the sample bundles in samples/ (one per founding case
// in shared/seeds plus two healthy nodes) as reviewable directory bundles.
//
//	go run ./samples/internal/gen -o samples
//
// Every number is derived from one model per node (cgroup tree, pods,
// processes), so memory.stat, usage files, the kubelet summary, meminfo and
// the kernel OOM report agree with each other the way they do on a real node.
// The output is deterministic: IDs are hashes of names, times are fixed.
//
// Files produced by a real program run (sample 004's heap profile and
// cAdvisor-style log, see samples/scripts/make-sample-004.sh) are adopted
// byte for byte from the existing sample directory, never regenerated.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// sample is one bundle directory under samples/.
type sample struct {
	name  string
	build func() *bundleFiles
}

var samples = []sample{
	{"seed-000-page-cache", buildSeed000},
	{"seed-001-anon-oom", buildSeed001},
	{"seed-002-kubepods-drift", buildSeed002},
	{"seed-003-tmpfs-restart", buildSeed003},
	{"seed-004-cadvisor-oom", buildSeed004},
	{"incident-system-oom", buildSystemOOM},
	{"incident-dirty-writeback", buildDirtyWriteback},
	{"incident-kmem-leak", buildKmemLeak},
	{"incident-fragmentation-oom", buildFragmentation},
	{"incident-swap-and-hugepages", buildSwapHugepages},
	{"healthy-v1", buildHealthyV1},
	{"healthy-v2", buildHealthyV2},
}

func main() {
	out := flag.String("o", "samples", "directory receiving one sub-directory per sample")
	only := flag.String("only", "", "write only the sample with this name")
	flag.Parse()
	for _, s := range samples {
		if *only != "" && s.name != *only {
			continue
		}
		dir := filepath.Join(*out, s.name)
		b := s.build()
		if err := b.adoptCaptured(dir); err != nil {
			fmt.Fprintf(os.Stderr, "gen: %s: %v\n", s.name, err)
			os.Exit(1)
		}
		if err := b.writeDir(dir); err != nil {
			fmt.Fprintf(os.Stderr, "gen: %s: %v\n", s.name, err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "gen: wrote %s (%d files)\n", dir, len(b.files)+1)
	}
}

// sortedKeys returns the map's keys in order, for byte-stable output.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
