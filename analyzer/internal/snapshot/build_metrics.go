package snapshot

import (
	"io"

	"github.com/memsnap/memsnap/analyzer/internal/promtext"
	"github.com/memsnap/memsnap/bundle"
)

// metricsPaths are the Prometheus expositions a bundle may carry (DESIGN §2):
// kubelet's embedded cAdvisor, kubelet's resource metrics, and a standalone
// cAdvisor.
var metricsPaths = []string{bundle.KubeletMetricsCadvisor, bundle.KubeletMetricsResource, bundle.CadvisorMetrics}

// buildMetrics keeps the memory families of each exposition. promtext drops
// every other family before parsing and caps the series it keeps
// (promtext.MaxSeries), so a label-cardinality explosion in a stranger's
// bundle costs time but not memory; what it skipped is a problem naming the
// file and line.
func (s *Snapshot) buildMetrics() {
	for _, p := range metricsPaths {
		s.parse(p, func(r io.Reader) error {
			m, problems := promtext.Parse(r, promtext.MemoryFamilies)
			for _, pr := range problems {
				s.Problemf("%s: %v", p, pr)
			}
			if s.Metrics == nil {
				s.Metrics = map[string]*promtext.Metrics{}
			}
			s.Metrics[p] = m
			if p != bundle.KubeletMetricsResource && m != nil && len(m.Samples("container_memory_working_set_bytes")) > 0 {
				s.setHas(DataCadvisorMetrics)
			}
			return nil
		})
	}
}
