package e2e

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The e2e module cannot import the product's report/schema: requiring
// github.com/memsnap/memsnap would raise golang.org/x/sys, x/net,
// protobuf and prometheus/common under all of k8s.io/kubernetes v1.37.2
// (its release pins older ones), so the JSON report (DESIGN §4,
// "memsnap-report/v1", fields never renamed) is read here with just the
// fields the scenarios assert.
type report struct {
	Schema  string `json:"schema"`
	Bundles []struct {
		Node     string `json:"node"`
		Manifest bool   `json:"manifest"`
		Sources  []struct {
			Name, Status, Error string
		} `json:"sources"`
		Problems []string `json:"problems"`
	} `json:"bundles"`
	Rules []struct {
		ID, Status, Reason string
	} `json:"rules"`
	Findings  []finding  `json:"findings"`
	OOMEvents []oomEvent `json:"oom_events"`
	Workloads []workload `json:"workloads"`
}

type finding struct {
	Rule      string `json:"rule"`
	Severity  string `json:"severity"`
	Subject   string `json:"subject"`
	Namespace string `json:"namespace"`
	Pod       string `json:"pod"`
	PodUID    string `json:"pod_uid"`
	Container string `json:"container"`
	Cgroup    string `json:"cgroup"`
	Summary   string `json:"summary"`
	Evidence  []struct {
		File  string          `json:"file"`
		Key   string          `json:"key"`
		Value json.RawMessage `json:"value"`
		Text  string          `json:"text"`
	} `json:"evidence"`
}

type oomEvent struct {
	PID             int    `json:"pid"`
	Process         string `json:"process"`
	Constraint      string `json:"constraint"`
	OOMMemcg        string `json:"oom_memcg"`
	TaskMemcg       string `json:"task_memcg"`
	Pod             string `json:"pod"`
	PodUID          string `json:"pod_uid"`
	Container       string `json:"container"`
	ContainerID     string `json:"container_id"`
	LimitScope      string `json:"limit_scope"`
	FilledBy        string `json:"filled_by"`
	MemcgLimitBytes *int64 `json:"memcg_limit_bytes"`
}

type workload struct {
	PodUID          string `json:"pod_uid"`
	Container       string `json:"container"`
	WorkingSetBytes *int64 `json:"working_set_bytes"`
	AnonBytes       *int64 `json:"anon_bytes"`
	ShmemBytes      *int64 `json:"shmem_bytes"`
	LimitBytes      *int64 `json:"limit_bytes"`
}

// analyze runs the real analyzer on a bundle and decodes its JSON report.
func analyze(t *testing.T, memsnap, bundle string) *report {
	t.Helper()
	cmd := exec.Command(memsnap, "analyze", "--format", "json", "-o", "-", bundle)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) { // 1 = findings at --fail-on
		t.Fatalf("memsnap analyze %s: %v\n%s", bundle, err, stderr.String())
	}
	var r report
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("memsnap analyze %s: JSON report: %v", bundle, err)
	}
	if r.Schema != "memsnap-report/v1" || len(r.Bundles) != 1 {
		t.Fatalf("memsnap analyze %s: schema %q with %d bundles", bundle, r.Schema, len(r.Bundles))
	}
	return &r
}

func (r *report) findings(rule, podUID string) []finding {
	var out []finding
	for _, f := range r.Findings {
		if f.Rule == rule && (podUID == "" || f.PodUID == podUID) {
			out = append(out, f)
		}
	}
	return out
}

// requireFinding returns the first finding of rule for the pod (any pod
// when podUID is empty), failing with what did appear otherwise.
func (r *report) requireFinding(t *testing.T, rule, podUID string) finding {
	t.Helper()
	fs := r.findings(rule, podUID)
	if len(fs) == 0 {
		var got, status []string
		for _, f := range r.Findings {
			got = append(got, f.Rule+" "+f.Subject)
		}
		for _, s := range r.Rules {
			if s.ID == rule {
				status = append(status, s.Status+": "+s.Reason)
			}
		}
		t.Fatalf("no %s finding for pod %q; rule %v; findings: %v", rule, podUID, status, got)
	}
	t.Logf("finding %s (%s) %s: %s", rule, fs[0].Severity, fs[0].Subject, fs[0].Summary)
	return fs[0]
}

func (r *report) oomEvents(podUID string) []oomEvent {
	var out []oomEvent
	for _, ev := range r.OOMEvents {
		if ev.PodUID == podUID {
			out = append(out, ev)
		}
	}
	return out
}

func (r *report) workload(podUID, container string) *workload {
	for i := range r.Workloads {
		if w := &r.Workloads[i]; w.PodUID == podUID && w.Container == container {
			return w
		}
	}
	return nil
}

func (f finding) evidenceInt(key string) (int64, bool) {
	for _, ev := range f.Evidence {
		if ev.Key == key {
			var n int64
			s := strings.Trim(string(ev.Value), `"`)
			if _, err := fmt.Sscan(s, &n); err == nil {
				return n, true
			}
		}
	}
	return 0, false
}

// bundleFiles reads a collected .tar.gz bundle into memory (the e2e
// bundles are a few MiB), keyed by path.
func bundleFiles(t *testing.T, name string) map[string][]byte {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	tr := tar.NewReader(zr)
	files := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("%s: %s: %v", name, h.Name, err)
		}
		files[h.Name] = b // the collector writes entries at the bundle root
	}
	return files
}
