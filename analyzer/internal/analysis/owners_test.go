package analysis

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/memsnap/memsnap/analyzer/internal/config"
	"github.com/memsnap/memsnap/analyzer/rules"
	"github.com/memsnap/memsnap/bundle"
	"github.com/memsnap/memsnap/report/schema"
)

// generatedCluster writes three nodes with memsnap-gen (seeds 1–3, 20 pods
// each: the same 20 Deployments, one replica per node, one OOM kill per
// node) and returns their paths.
func generatedCluster(t *testing.T) []string {
	t.Helper()
	dir := t.TempDir()
	gen := filepath.Join(dir, "memsnap-gen")
	if out, err := exec.Command("go", "build", "-o", gen, "../../../tools/memsnap-gen").CombinedOutput(); err != nil {
		t.Fatalf("go build memsnap-gen: %v\n%s", err, out)
	}
	var paths []string
	for seed := 1; seed <= 3; seed++ {
		p := filepath.Join(dir, fmt.Sprintf("node-%d.tar.gz", seed))
		cmd := exec.Command(gen, "--pods", "20", "--kernel-lines", "100", "--seed", fmt.Sprint(seed), "-o", p)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("memsnap-gen seed %d: %v\n%s", seed, err, out)
		}
		paths = append(paths, p)
	}
	return paths
}

// podsJSON reads kubelet/pods.json out of a generated bundle, as the
// kubelet served it: the test's own view of the inputs.
func podsJSON(t *testing.T, path string) corev1.PodList {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s: no kubelet/pods.json: %v", path, err)
		}
		if strings.TrimPrefix(h.Name, "./") == "kubelet/pods.json" {
			var list corev1.PodList
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &list); err != nil {
				t.Fatalf("%s: kubelet/pods.json: %v", path, err)
			}
			return list
		}
	}
}

// TestClusterOwners: three generated nodes analysed together give one owner
// row per Deployment, whose pods, nodes, restarts and requests match the
// pods.json files, whose working set is the sum of its pods' rows and whose
// OOM kills are the kernel-log kills of its pods.
func TestClusterOwners(t *testing.T) {
	paths := generatedCluster(t)
	doc, err := Analyze(context.Background(), paths, Options{Now: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC),
		Version: "test", Reader: bundle.DefaultOptions(), Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		pods, restarts int
		nodes          []string
		request        int64
		allRequest     bool
		workingSet     int64
		oomKills       int
	}
	wants := map[string]*want{} // "ns/Deployment/name"
	ownerOfPod := map[string]string{}
	for _, p := range paths {
		for _, pod := range podsJSON(t, p).Items {
			var rs string
			for _, r := range pod.OwnerReferences {
				if r.Kind == "ReplicaSet" {
					rs = r.Name
				}
			}
			// The Deployment is the ReplicaSet's name without "-<pod-template-hash>".
			dep := strings.TrimSuffix(rs, "-"+pod.Labels["pod-template-hash"])
			if rs == "" || dep == rs {
				t.Fatalf("generated pod %s has no Deployment ReplicaSet", pod.Name)
			}
			key := pod.Namespace + "/Deployment/" + dep
			ownerOfPod[pod.Namespace+"/"+pod.Name] = key
			w := wants[key]
			if w == nil {
				w = &want{allRequest: true}
				wants[key] = w
			}
			w.pods++
			if !slices.Contains(w.nodes, pod.Spec.NodeName) {
				w.nodes = append(w.nodes, pod.Spec.NodeName)
			}
			for _, st := range pod.Status.ContainerStatuses {
				w.restarts += int(st.RestartCount)
			}
			var req int64
			has := false
			for _, c := range pod.Spec.Containers {
				if q, ok := c.Resources.Requests[corev1.ResourceMemory]; ok {
					req += q.Value()
					has = true
				}
			}
			w.request += req
			w.allRequest = w.allRequest && has
		}
	}
	for _, w := range doc.Workloads {
		if k, ok := ownerOfPod[w.Namespace+"/"+w.Pod]; ok && w.Container == "" && w.WorkingSetBytes != nil {
			wants[k].workingSet += *w.WorkingSetBytes
		}
	}
	kills := 0
	for _, e := range doc.OOMEvents {
		if k, ok := ownerOfPod[e.Namespace+"/"+e.Pod]; ok {
			wants[k].oomKills++
			kills++
		}
	}
	if kills != 3 {
		t.Errorf("%d kills of Deployment pods in the kernel logs, want the generator's 3 (one a node)", kills)
	}
	if len(doc.Owners) != len(wants) {
		t.Fatalf("%d owner rows, want %d (one per Deployment in pods.json)", len(doc.Owners), len(wants))
	}
	for _, o := range doc.Owners {
		key := o.Namespace + "/" + o.Kind + "/" + o.Name
		w := wants[key]
		if w == nil {
			t.Errorf("owner %s is not a Deployment of pods.json", key)
			continue
		}
		slices.Sort(w.nodes)
		if o.Pods != w.pods || !slices.Equal(o.Nodes, w.nodes) || o.Restarts != w.restarts || o.OOMKills != w.oomKills {
			t.Errorf("%s: pods %d nodes %v restarts %d kills %d, want %d %v %d %d", key, o.Pods, o.Nodes, o.Restarts, o.OOMKills,
				w.pods, w.nodes, w.restarts, w.oomKills)
		}
		if o.WorkingSetBytes == nil || *o.WorkingSetBytes != w.workingSet {
			t.Errorf("%s: Σ working set %v, want %d", key, o.WorkingSetBytes, w.workingSet)
		}
		switch {
		case w.allRequest && (o.RequestBytes == nil || *o.RequestBytes != w.request):
			t.Errorf("%s: Σ request %v, want %d", key, o.RequestBytes, w.request)
		case !w.allRequest && o.RequestBytes != nil:
			t.Errorf("%s: Σ request %d, want null (a pod requests nothing)", key, *o.RequestBytes)
		}
	}
	if o := doc.Owners[0]; o.OOMKills == 0 || o.Severity != schema.Critical {
		t.Errorf("first owner %s/%s: kills %d severity %q, want the OOM-killed Deployment first", o.Kind, o.Name, o.OOMKills, o.Severity)
	}
}

// TestClusterRightsizingPerOwner: limit-rightsizing findings of three
// generated nodes become one group per owner whose verdict takes the
// highest peak over all the owner's pods (flagged or not), with the
// request and limit the rule's thresholds give for it.
func TestClusterRightsizingPerOwner(t *testing.T) {
	paths := generatedCluster(t)
	doc, err := Analyze(context.Background(), paths, Options{Now: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC),
		Version: "test", Reader: bundle.DefaultOptions(), Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default().Rules.LimitRightsizing
	mi := int64(1 << 20)
	roundUp := func(f float64) int64 { return (int64(f) + mi - 1) / mi * mi }
	owners := map[string]bool{}
	for _, f := range doc.Findings {
		if f.Rule == rules.LimitRightsizing.ID {
			owners[f.Namespace+"/"+f.OwnerKind+"/"+f.Owner] = true
		}
	}
	groups, beyondFlagged := 0, false
	verdicts := map[string]int{}
	for _, g := range doc.FindingGroups {
		if g.Rule != rules.LimitRightsizing.ID {
			continue
		}
		groups++
		key := g.Namespace + "/" + g.OwnerKind + "/" + g.Owner
		if !owners[key] {
			t.Errorf("group %s names no owner of a finding", key)
		}
		if g.Summary == "" || len(g.Rightsizing) == 0 {
			t.Errorf("%s: no grouped verdict (summary %q)", key, g.Summary)
			continue
		}
		for _, r := range g.Rightsizing {
			// The test's own pass over the owner's container rows.
			var peak, limit int64
			var peakPod string
			pods := 0
			for _, w := range doc.Workloads {
				if w.Namespace != g.Namespace || w.OwnerKind != g.OwnerKind || w.Owner != g.Owner || w.Container != r.Container || w.PeakBytes == nil {
					continue
				}
				pods++
				if *w.PeakBytes > peak {
					peak, peakPod = *w.PeakBytes, w.Namespace+"/"+w.Pod
				}
				if w.LimitBytes != nil && !w.Unlimited && *w.LimitBytes > limit {
					limit = *w.LimitBytes
				}
			}
			if r.PeakBytes != peak || r.PeakPod != peakPod || r.Pods != pods || r.LimitBytes == nil || *r.LimitBytes != limit {
				t.Errorf("%s/%s: peak %d in %s over %d pods, limit %v; want %d in %s over %d, limit %d", key, r.Container,
					r.PeakBytes, r.PeakPod, r.Pods, r.LimitBytes, peak, peakPod, pods, limit)
			}
			flagged := 0
			for _, fi := range g.Findings {
				if doc.Findings[fi].Container == r.Container {
					flagged++
				}
			}
			if pods > flagged {
				beyondFlagged = true
			}
			verdict := rules.RightsizeFits
			switch {
			case float64(peak) >= cfg.AtRiskRatio*float64(limit):
				verdict = rules.RightsizeAtRisk
			case float64(peak) <= cfg.WasteRatio*float64(limit) && limit-peak >= int64(cfg.MinWaste):
				verdict = rules.RightsizeOversized
			}
			verdicts[verdict]++
			if r.Verdict != verdict || r.SuggestedRequestBytes != roundUp(float64(peak)*(1+cfg.RequestSlack)) ||
				r.SuggestedLimitBytes != roundUp(float64(peak)*(1+cfg.LimitSlack)) {
				t.Errorf("%s/%s: %s, request %d, limit %d; want %s for peak %d of %d", key, r.Container, r.Verdict,
					r.SuggestedRequestBytes, r.SuggestedLimitBytes, verdict, peak, limit)
			}
			if !strings.Contains(g.Summary, r.Container+" peaked at ") || !strings.Contains(g.Summary, r.PeakPod) {
				t.Errorf("%s: summary does not name %s's peak and pod: %s", key, r.Container, g.Summary)
			}
		}
	}
	if groups != len(owners) {
		t.Errorf("%d limit-rightsizing groups, want one per owner (%d)", groups, len(owners))
	}
	if !beyondFlagged {
		t.Errorf("no group's verdict covers a pod without a finding of its own")
	}
	// The generated nodes hold both cases (seeds 1–3): a workload oversized
	// on every replica, and one flagged on a replica but not as a whole.
	if verdicts[rules.RightsizeOversized] == 0 || verdicts[rules.RightsizeFits] == 0 {
		t.Errorf("verdicts %v: want both oversized and fits among the generated owners", verdicts)
	}
}
