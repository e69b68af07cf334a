package analysis

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/memsnap/memsnap/bundle"
	"github.com/memsnap/memsnap/report/schema"
)

// writeTree writes files (bundle path → content) as a directory bundle.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, c := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func nodeMemoryOf(t *testing.T, dir string) schema.NodeMemory {
	t.Helper()
	doc, err := Analyze(context.Background(), []string{dir}, Options{Now: time.Unix(0, 0), Reader: bundle.DefaultOptions()})
	if err != nil {
		t.Fatal(err)
	}
	return doc.Bundles[0].Memory
}

// TestKubepodsLimitStates: a node whose cgroup tree has no kubepods cgroup
// says so instead of showing the root's "unlimited" sentinel (8 EiB) or a
// dash; an unlimited kubepods cgroup is null plus a flag, as DESIGN §4 has
// it for every limit.
func TestKubepodsLimitStates(t *testing.T) {
	const unlimitedV1 = "9223372036854771712\n"
	root := map[string]string{
		"node/meminfo":                              "MemTotal:       16384000 kB\nMemFree:         8192000 kB\n",
		"cgroup/memory.usage_in_bytes":              "4096000000\n",
		"cgroup/memory.limit_in_bytes":              unlimitedV1,
		"cgroup/memory.stat":                        "total_rss 100\ntotal_inactive_file 200\n",
		"cgroup/system.slice/memory.stat":           "total_rss 100\n",
		"cgroup/system.slice/memory.limit_in_bytes": unlimitedV1,
	}
	m := nodeMemoryOf(t, writeTree(t, root))
	if !m.KubepodsAbsent || m.KubepodsLimitBytes != nil || m.KubepodsCgroup != "" {
		t.Errorf("no kubepods: absent=%v limit=%v cgroup=%q, want absent, null, empty", m.KubepodsAbsent, m.KubepodsLimitBytes, m.KubepodsCgroup)
	}

	withKubepods := map[string]string{}
	for k, v := range root {
		withKubepods[k] = v
	}
	withKubepods["cgroup/kubepods/memory.limit_in_bytes"] = unlimitedV1
	withKubepods["cgroup/kubepods/memory.usage_in_bytes"] = "1000\n"
	withKubepods["cgroup/kubepods/memory.stat"] = "total_rss 100\n"
	m = nodeMemoryOf(t, writeTree(t, withKubepods))
	if m.KubepodsAbsent || !m.KubepodsUnlimited || m.KubepodsLimitBytes != nil || m.KubepodsCgroup != "/kubepods" {
		t.Errorf("unlimited kubepods: absent=%v unlimited=%v limit=%v cgroup=%q", m.KubepodsAbsent, m.KubepodsUnlimited, m.KubepodsLimitBytes, m.KubepodsCgroup)
	}

	withKubepods["cgroup/kubepods/memory.limit_in_bytes"] = "8589934592\n"
	m = nodeMemoryOf(t, writeTree(t, withKubepods))
	if m.KubepodsUnlimited || m.KubepodsLimitBytes == nil || *m.KubepodsLimitBytes != 8<<30 {
		t.Errorf("8 GiB kubepods: unlimited=%v limit=%v", m.KubepodsUnlimited, m.KubepodsLimitBytes)
	}

	// Without a cgroup tree the bundle says nothing about kubepods.
	m = nodeMemoryOf(t, writeTree(t, map[string]string{"node/meminfo": root["node/meminfo"]}))
	if m.KubepodsAbsent || m.KubepodsUnlimited {
		t.Errorf("no cgroup tree: absent=%v unlimited=%v, want neither", m.KubepodsAbsent, m.KubepodsUnlimited)
	}
}
