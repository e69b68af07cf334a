package kube

import (
	"bytes"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/memsnap/memsnap/internal/testcorpus"
)

var summaryFiles = []string{
	"nri-kubernetes-k8s-1_16-stats-summary.json",
	"nri-kubernetes-k8s-1_28-stats-summary.json",
}

// generic reads a summary with a plain map decode, independent of the
// parser, so the test compares the parser's numbers with the file's own.
type generic = map[string]any

func num(t *testing.T, m generic, key string) *uint64 {
	t.Helper()
	v, ok := m[key]
	if !ok {
		return nil
	}
	u, err := strconv.ParseUint(string(v.(json.Number)), 10, 64)
	if err != nil {
		t.Fatalf("%s = %v: %v", key, v, err)
	}
	return &u
}

func sub(m generic, key string) generic {
	v, _ := m[key].(generic)
	return v
}

func TestParseSummaryCorpus(t *testing.T) {
	for _, name := range summaryFiles {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(testcorpus.Path(t, "kubelet-summary", name))
			if err != nil {
				t.Fatal(err)
			}
			var raw generic
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.UseNumber()
			if err := dec.Decode(&raw); err != nil {
				t.Fatal(err)
			}
			s, err := ParseSummary(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			node := sub(raw, "node")
			if s.NodeName != node["nodeName"] || s.Node == nil {
				t.Fatalf("node %q / memory %v", s.NodeName, s.Node)
			}
			for _, k := range []struct {
				key string
				got *uint64
			}{
				{"workingSetBytes", s.Node.WorkingSetBytes}, {"usageBytes", s.Node.UsageBytes},
				{"rssBytes", s.Node.RSSBytes}, {"availableBytes", s.Node.AvailableBytes}, {"pageFaults", s.Node.PageFaults},
			} {
				if want := num(t, sub(node, "memory"), k.key); !eqPtr(k.got, want) {
					t.Errorf("node %s = %v, want %v", k.key, show(k.got), show(want))
				}
			}
			for _, sc := range node["systemContainers"].([]any) {
				sc := sc.(generic)
				m := s.SystemContainers[sc["name"].(string)]
				if want := num(t, sub(sc, "memory"), "workingSetBytes"); m == nil || !eqPtr(m.WorkingSetBytes, want) {
					t.Errorf("system container %s = %+v, want ws %v", sc["name"], m, show(want))
				}
			}
			if s.Kubepods() == nil {
				t.Error(`system container "pods" (kubepods) missing`)
			}

			rawPods := raw["pods"].([]any)
			if len(s.Pods) != len(rawPods) || len(s.Pods) == 0 {
				t.Fatalf("%d pods, file has %d", len(s.Pods), len(rawPods))
			}
			volumes := 0
			for i, rp := range rawPods {
				rp := rp.(generic)
				p := s.Pods[i]
				ref := sub(rp, "podRef")
				if p.Name != ref["name"] || p.Namespace != ref["namespace"] || p.UID != ref["uid"] {
					t.Errorf("pod %d = %s/%s %s, want %v", i, p.Namespace, p.Name, p.UID, ref)
				}
				if want := num(t, sub(rp, "memory"), "workingSetBytes"); p.Memory == nil || !eqPtr(p.Memory.WorkingSetBytes, want) {
					t.Errorf("pod %s workingSet = %+v, want %v", p.Name, p.Memory, show(want))
				}
				// Pod cgroups have no limit here: availableBytes is absent, not 0.
				if want := num(t, sub(rp, "memory"), "availableBytes"); p.Memory != nil && !eqPtr(p.Memory.AvailableBytes, want) {
					t.Errorf("pod %s available = %v, want %v", p.Name, show(p.Memory.AvailableBytes), show(want))
				}
				rcs, _ := rp["containers"].([]any)
				if len(p.Containers) != len(rcs) {
					t.Fatalf("pod %s: %d containers, want %d", p.Name, len(p.Containers), len(rcs))
				}
				for j, rc := range rcs {
					rc := rc.(generic)
					c := p.Containers[j]
					want := num(t, sub(rc, "memory"), "workingSetBytes")
					if c.Name != rc["name"] || (c.Memory == nil) != (sub(rc, "memory") == nil) || (c.Memory != nil && !eqPtr(c.Memory.WorkingSetBytes, want)) {
						t.Errorf("pod %s container %d = %+v, want %v ws %v", p.Name, j, c, rc["name"], show(want))
					}
				}
				rvs, _ := rp["volume"].([]any)
				if len(p.Volumes) != len(rvs) {
					t.Fatalf("pod %s: %d volumes, want %d", p.Name, len(p.Volumes), len(rvs))
				}
				for j, rv := range rvs {
					rv := rv.(generic)
					v := p.Volumes[j]
					volumes++
					if v.Name != rv["name"] || !eqPtr(v.UsedBytes, num(t, rv, "usedBytes")) ||
						!eqPtr(v.CapacityBytes, num(t, rv, "capacityBytes")) || !eqPtr(v.AvailableBytes, num(t, rv, "availableBytes")) {
						t.Errorf("pod %s volume %d = %+v, want %v", p.Name, j, v, rv)
					}
				}
			}
			if volumes == 0 {
				t.Error("no volumes compared")
			}
		})
	}
}

func TestParseSummaryAbsentIsNil(t *testing.T) {
	s, err := ParseSummary(strings.NewReader(`{"node": {"nodeName": "n", "memory": {"workingSetBytes": 0}},
	  "pods": [{"podRef": {"name": "p", "namespace": "ns", "uid": "u"}, "containers": [{"name": "c"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.Node.WorkingSetBytes == nil || *s.Node.WorkingSetBytes != 0 || s.Node.UsageBytes != nil || s.Node.AvailableBytes != nil {
		t.Errorf("node memory = %+v: a measured 0 must stay 0, absent must stay nil", s.Node)
	}
	if s.Pods[0].Memory != nil || s.Pods[0].Containers[0].Memory != nil || s.Kubepods() != nil {
		t.Errorf("absent memory sections must be nil: %+v", s.Pods[0])
	}
}
