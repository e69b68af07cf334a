package rules

import (
	"reflect"
	"testing"

	"github.com/memsnap/memsnap/report/schema"
)

// TestBasisOf: the basis follows the files the evidence cites, in the fixed
// order of schema.Bases, once each; a pod file splits into spec and status by
// the key it cites; a default with no file is named as a default.
func TestBasisOf(t *testing.T) {
	cases := []struct {
		name string
		ev   []schema.Evidence
		want []string
	}{
		{"none", nil, []string{}},
		{"cgroup twice and kernel log", []schema.Evidence{
			{File: "logs/kernel.log", Key: "line 3"},
			{File: "cgroup/kubepods/pod1/c/memory.stat", Key: "anon"},
			{File: "cgroup/kubepods/pod1/memory.max"},
		}, []string{"cgroup", "kernel-log"}},
		{"kubectl only", []schema.Evidence{
			{File: "kube/pods.json", Key: "shop/api resources.limits.memory"},
			{File: "kubelet/pods.json", Key: "lastState.terminated.reason"},
			{File: "kubelet/summary.json", Key: "pods[shop/api].memory.workingSetBytes"},
			{File: "kubelet/metrics-cadvisor.prom", Key: "container_memory_rss{…}"},
			{File: "kube/events.json", Key: "shop/api"},
			{File: "kube/node.json", Key: "status.conditions[MemoryPressure]"},
		}, []string{"kubelet-summary", "cadvisor-metrics", "pod-spec", "pod-status", "events", "node-object"}},
		{"default threshold", []schema.Evidence{
			{Text: "evictionHard memory.available = 104857600 (100 MiB); kubelet default evictionHard memory.available<100Mi"},
			{File: "node/meminfo", Key: "MemTotal"},
		}, []string{"meminfo", "kubelet-default"}},
		{"unknown file", []schema.Evidence{{File: "notes.txt"}}, []string{}},
	}
	for _, c := range cases {
		if got := basisOf(nil, c.ev); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: basis %v, want %v", c.name, got, c.want)
		}
	}
}
