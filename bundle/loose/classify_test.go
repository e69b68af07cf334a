package loose

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memsnap/memsnap/internal/testcorpus"
)

// TestClassifyCorpus: every corpus file memsnap reads is taken as what it
// is, by content (the corpus names are not looked at).
func TestClassifyCorpus(t *testing.T) {
	want := map[string]Kind{
		"oom-logs/cadvisor-containerOomExampleLog.txt":                                       KernelLog,
		"oom-logs/cadvisor-systemOomExampleLog.txt":                                          KernelLog,
		"oom-logs/lkml-memcg-oom-caller-id-timestamps-5.3-rc3.log":                           KernelLog,
		"oom-logs/hotsos-ubuntu-5.4-global-oom-sysrq-kernlog.log":                            KernelLog,
		"oom-logs/aks-container-limit-oom-cgroupv2-syslog.log":                               KernelLog,
		"oom-logs/k8s-v1-docker-memcg-oom-anon-4.18.log":                                     KernelLog,
		"kernel-failures/lkml-cgroupv1-memcg-oom-all-file-dirty-6.8-rc6-dmesg-T-wrapped.log": KernelLog,
		"kubelet-summary/nri-kubernetes-k8s-1_28-stats-summary.json":                         Summary,
		"kubelet-summary/nri-kubernetes-k8s-1_16-stats-summary.json":                         Summary,
		"kubectl/stats-summary-gke-2017-beats.json":                                          Summary,
		"cadvisor-metrics/nri-kubernetes-k8s-1_16-kubelet-metrics-cadvisor.txt":              CadvisorMetrics,
		"cadvisor-metrics/cadvisor-golden-prometheus_metrics.txt":                            CadvisorMetrics,
		"pprof/parca-k8s-operator-heap.pb.gz":                                                HeapProfile,
		"pprof/google-pprof-gobench-legacy-text.heap":                                        HeapProfile,
		"cgroup/docker-v1-root-memory.stat":                                                  CgroupFiles,
		"cgroup/docker-v1-container-memory.stat":                                             CgroupFiles,
		"cgroup/oomd-fixture-v2-early-memory.stat":                                           CgroupFiles,
		"cgroup/docker-v2-container-scope/memory.stat":                                       CgroupFiles,
		"cgroup/docker-v2-container-scope/memory.events":                                     CgroupFiles,
		"systemd/systemctl-show-containerd.service-ubuntu20.04-k8s-master.txt":               SystemdShow,
		"systemd/kubelet-config-eks-al2-template.json":                                       KubeletConfig,
		"kubectl/get-pods-json-minikube-job-oomkilled.json":                                  Pods,
		"kubectl/describe-node-eks-1.30-t3.medium-mem-limits-163pct.txt":                     DescribeNode,
		"kubectl/describe-node-charmed-k8s-1.23-openstack.txt":                               DescribeNode,
		"kubectl/describe-node-events-aks-systemoom-oomkilling.txt":                          EventsText, // only its Events section
		"kubectl/describe-pod-oomkilled-kind-busybox-tail-dev-zero-50Mi.txt":                 DescribePod,
		"kubectl/describe-pod-oomkilled-kind-memory-eater-100Mi.txt":                         DescribePod,
		"kubectl/top-nodes-kind-multinode.txt":                                               TopNode,
		"kubectl/top-pods-A-kind-multinode.txt":                                              TopPod,
		"kubectl/get-events-A-aks-evicted-memory-pressure-taint.txt":                         EventsText,
	}
	for rel, kind := range want {
		t.Run(rel, func(t *testing.T) {
			dir, file := filepath.Split(rel)
			data, err := os.ReadFile(testcorpus.Path(t, strings.TrimSuffix(dir, "/"), file))
			if err != nil {
				t.Fatal(err)
			}
			if file == "parca-k8s-operator-heap.pb.gz" {
				data = gunzipPrefix(t, data)
			}
			got := Classify(data)
			if got.Kind != kind {
				t.Errorf("taken as %q (%s%s), want %q", got.Kind, got.What, got.Reason, kind)
			}
		})
	}
}

func gunzipPrefix(t *testing.T, data []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(io.LimitReader(zr, PrefixBytes))
	return out
}
