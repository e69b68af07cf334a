package promtext

import (
	"bytes"
	"os"
	"testing"

	"github.com/memsnap/memsnap/internal/testcorpus"
)

func FuzzParse(f *testing.F) {
	for _, name := range []string{"cadvisor-golden-prometheus_metrics.txt", "nri-kubernetes-k8s-1_16-kubelet-metrics-cadvisor.txt"} {
		b, err := os.ReadFile(testcorpus.Path(f, "cadvisor-metrics", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[:min(len(b), 32<<10)]) // a prefix: fuzzing mutates small inputs best
	}
	f.Add([]byte("container_memory_rss{id=\"/a\"} 1 2\n# TYPE container_memory_rss gauge\n{\"container_memory_rss\"} 3\n"))
	f.Add([]byte("container_memory_rss{id=\"a\\\"b\\\\c\\n\"} NaN\ncontainer_memory_cache 1e400\n"))
	f.Add([]byte("container_memory_rss_bucket{le=\"+Inf\"} 1\ncontainer_memory_rss_sum 2\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, probs := parse(bytes.NewReader(data), MemoryFamilies, 50)
		lines := bytes.Count(data, []byte("\n")) + 1
		n := 0
		for name, fam := range m.Families {
			if !MemoryFamilies(name) && !MemoryFamilies(name[:max(0, len(name)-len("_bucket"))]) &&
				!MemoryFamilies(name[:max(0, len(name)-len("_sum"))]) && !MemoryFamilies(name[:max(0, len(name)-len("_count"))]) {
				t.Errorf("family %q kept", name)
			}
			for _, s := range fam.Samples {
				for i := 1; i < len(s.Labels); i++ {
					if s.Labels[i-1].Name > s.Labels[i].Name {
						t.Errorf("labels not sorted: %v", s.Labels)
					}
				}
			}
			n += len(fam.Samples)
		}
		if n != m.Series || n > 50 {
			t.Errorf("Series = %d, samples = %d, cap 50", m.Series, n)
		}
		for _, p := range probs {
			if p.Line < 0 || p.Line > lines {
				t.Errorf("problem on line %d of %d: %v", p.Line, lines, p)
			}
		}
	})
}
