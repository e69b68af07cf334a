package kube

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/memsnap/memsnap/internal/testcorpus"
)

func FuzzParsePods(f *testing.F) {
	f.Add(readTestdata(f, "pods.json"))
	f.Add([]byte(`{"items":[{"metadata":{"uid":"u"},"spec":{"initContainers":[{"name":"i","restartPolicy":"Always"}],"containers":[]}}]}`))
	f.Add([]byte(`{"items":[{"status":{"containerStatuses":[{"containerID":"://","state":{}}]}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		pl, err := ParsePods(bytes.NewReader(data))
		if err != nil {
			return
		}
		pl.UIDIndex()
		for _, p := range pl.Pods {
			for _, c := range p.Containers {
				pl.ContainerByID(c.ID)
			}
			pl.PodByUID(p.UID)
		}
	})
}

func FuzzParseSummary(f *testing.F) {
	for _, name := range summaryFiles {
		b, err := os.ReadFile(testcorpus.Path(f, "kubelet-summary", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"node":{"systemContainers":[{"name":"pods"},{"name":"pods"}]},"pods":[{"volume":[{"pvcRef":{}}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSummary(bytes.NewReader(data))
		if err == nil {
			s.Kubepods()
		}
	})
}

func FuzzParseNode(f *testing.F) {
	f.Add(readTestdata(f, "node.json"))
	f.Add([]byte(`{"status":{"capacity":{"memory":"1e3","hugepages-1Gi":"-1"}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if n, err := ParseNode(bytes.NewReader(data)); err == nil {
			n.Condition("MemoryPressure")
		}
	})
}

func FuzzParsePodsIndex(f *testing.F) {
	f.Add([]byte("shop\tweb-0\t22697648-cc63-47d6-ba97-fe420988dfc1\tapp\t3\n"))
	f.Add([]byte("\"a\\tb\"\tp\tu\tc\t-1\n\t\t\t\t\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, _ := ParsePodsIndex(bytes.NewReader(data))
		for _, e := range entries {
			if e.Restart < 0 || e.UID == "" {
				t.Fatalf("bad entry %+v", e)
			}
		}
	})
}

func FuzzParseDescribe(f *testing.F) {
	for _, name := range []string{"describe-pod-oomkilled-kind-busybox-tail-dev-zero-50Mi.txt",
		"describe-pod-oomkilled-kind-memory-eater-100Mi.txt", "describe-node-charmed-k8s-1.23-openstack.txt",
		"describe-node-events-aks-systemoom-oomkilling.txt"} {
		b, err := os.ReadFile(testcorpus.Path(f, "kubectl", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(describeTmpfsPod))
	f.Add([]byte("Name: a\nContainers:\n    deep:\n  c:\n    State: Terminated\n      Exit Code: 99999999999\nVolumes:\n  v:\n    Type: EmptyDir\n    SizeLimit: 1e9\n"))
	f.Add([]byte("> Name:\n>Conditions:\n>   x\n>  Type  Status\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if pl, err := ParseDescribePods(bytes.NewReader(data), "f.txt"); err == nil {
			if len(pl.Pods) == 0 {
				t.Fatal("no error and no pod")
			}
			for _, p := range pl.Pods {
				for _, c := range p.Containers {
					if c.RestartCount < 0 {
						t.Fatalf("negative restart count %d", c.RestartCount)
					}
					pl.ContainerByID(c.ID)
				}
			}
		} else if !strings.HasPrefix(err.Error(), "f.txt: ") {
			t.Fatalf("error does not name the file: %v", err)
		}
		if n, err := ParseDescribeNode(bytes.NewReader(data), "f.txt"); err == nil {
			n.Condition("MemoryPressure")
		} else if !strings.HasPrefix(err.Error(), "f.txt: ") {
			t.Fatalf("error does not name the file: %v", err)
		}
	})
}

// FuzzParseTop: any text parses without panic; every row kept has a name
// and a non-negative memory figure.
func FuzzParseTop(f *testing.F) {
	f.Add([]byte("NAMESPACE NAME CPU(cores) MEMORY(bytes)\nkube-system coredns-1 2m 13Mi\n"))
	f.Add([]byte("POD NAME CPU(cores) MEMORY(bytes)\np c 1m 1e3\n"))
	f.Add([]byte("NAME CPU(cores) CPU% MEMORY(bytes) MEMORY%\nn1 1m 0% 1Gi 2%\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, _ := ParseTop(bytes.NewReader(data), "fuzz")
		for _, r := range rows {
			if r.Bytes < 0 || r.Pod == "" && r.Node == "" && r.Container == "" {
				t.Fatalf("row %+v", r)
			}
		}
	})
}
