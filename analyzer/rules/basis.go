package rules

import (
	"sort"
	"strings"

	"github.com/memsnap/memsnap/analyzer/internal/snapshot"
	"github.com/memsnap/memsnap/bundle"
	"github.com/memsnap/memsnap/bundle/loose"
	"github.com/memsnap/memsnap/report/schema"
)

// basisOf says what kinds of evidence a finding rests on, from the files its
// evidence cites: one place for every rule, so a rule cannot forget it and a
// finding never claims a source it did not cite. A loose file keeps its own
// name, so its kind comes from what the classifier took it as.
func basisOf(s *snapshot.Snapshot, ev []schema.Evidence) []string {
	kinds := map[string]loose.Kind{}
	if s != nil {
		if li, ok := s.View.(interface{ LooseFiles() []bundle.LooseFile }); ok {
			for _, lf := range li.LooseFiles() {
				kinds[lf.Path] = lf.Kind
			}
		}
	}
	seen := map[string]bool{}
	for _, e := range ev {
		b := basisOfFile(e.File, e.Key+" "+e.Text)
		if e.File == "" && strings.Contains(e.Text, "kubelet default") {
			b = schema.BasisKubeletDefault
		}
		if k, ok := kinds[e.File]; ok && b == "" {
			b = basisOfKind(k, e.Key+" "+e.Text)
		}
		if b != "" {
			seen[b] = true
		}
	}
	out := make([]string, 0, len(seen))
	for b := range seen {
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return schema.BasisRank(out[i]) < schema.BasisRank(out[j]) })
	return out
}

// basisOfFile maps a bundle path (DESIGN §2) to its basis; "" when the path
// is not a bundle path.
func basisOfFile(file, what string) string {
	switch {
	case strings.HasPrefix(file, bundle.SeriesDir):
		return schema.BasisSeries
	case strings.HasPrefix(file, bundle.CgroupDir):
		return schema.BasisCgroup
	case file == bundle.KubeletSummary:
		return schema.BasisKubeletSummary
	case file == bundle.KubeletMetricsCadvisor, file == bundle.CadvisorMetrics:
		return schema.BasisCadvisorMetrics
	case file == bundle.KubeletMetricsResource:
		return schema.BasisResourceMetrics
	case file == bundle.KubeletPods, file == bundle.KubePods:
		return podBasis(what)
	case file == bundle.KubeEvents:
		return schema.BasisEvents
	case file == bundle.KubeNode:
		return schema.BasisNodeObject
	case file == bundle.KernelLog:
		return schema.BasisKernelLog
	case file == bundle.KubeletLog:
		return schema.BasisKubeletLog
	case file == bundle.KubeletConfigz, file == bundle.KubeletConfigYAML, file == bundle.KubeletFlags, file == bundle.KubeletVersion:
		return schema.BasisKubeletConfig
	case file == bundle.CadvisorLog:
		return schema.BasisAgentLog
	case strings.HasPrefix(file, bundle.PprofDir):
		return schema.BasisHeapProfile
	case strings.HasPrefix(file, bundle.SystemdDir):
		return schema.BasisSystemd
	case strings.HasPrefix(file, bundle.ProcDir):
		return schema.BasisProc
	case file == bundle.NodeMeminfo:
		return schema.BasisMeminfo
	case strings.HasPrefix(file, "node/"):
		return schema.BasisNodeProc
	case file == bundle.TmpfsVolumes:
		return schema.BasisVolumes
	case file == bundle.PodsIndex:
		return schema.BasisPodLogs
	}
	return ""
}

// basisOfKind maps a loose file's kind to its basis.
func basisOfKind(k loose.Kind, what string) string {
	switch k {
	case loose.KernelLog:
		return schema.BasisKernelLog
	case loose.KubeletLog:
		return schema.BasisKubeletLog
	case loose.Pods:
		return podBasis(what)
	case loose.Node:
		return schema.BasisNodeObject
	case loose.Events, loose.EventsText:
		return schema.BasisEvents
	case loose.Summary:
		return schema.BasisKubeletSummary
	case loose.Configz, loose.KubeletConfig:
		return schema.BasisKubeletConfig
	case loose.DescribePod, loose.DescribeNode:
		return schema.BasisDescribe
	case loose.TopPod, loose.TopNode, loose.ResourceMetrics:
		return schema.BasisResourceMetrics
	case loose.CadvisorMetrics:
		return schema.BasisCadvisorMetrics
	case loose.HeapProfile:
		return schema.BasisHeapProfile
	case loose.CgroupFiles:
		return schema.BasisCgroup
	case loose.Meminfo, loose.Free:
		return schema.BasisMeminfo
	case loose.SystemdShow:
		return schema.BasisSystemd
	case loose.PromRange:
		return schema.BasisSeries
	}
	return ""
}

// podBasis tells a pod's spec (what was asked: resources, volumes) from its
// status (what happened: reasons, restarts) by the key the evidence cites.
func podBasis(what string) string {
	w := strings.ToLower(what)
	for _, spec := range []string{"spec", "resources.", "volumes[", "emptydir", "limits", "requests"} {
		if strings.Contains(w, spec) {
			return schema.BasisPodSpec
		}
	}
	return schema.BasisPodStatus
}
