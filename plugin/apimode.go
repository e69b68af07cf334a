package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"

	"github.com/memsnap/memsnap/bundle"
	"github.com/memsnap/memsnap/internal/redact"
)

// Paths API mode adds to the bundle layout (docs/bundle-format.md §2).
const (
	// KubePods is the API server's view of the node's pods (a v1 PodList
	// with ownerReferences, which the kubelet's /pods also has, but from the
	// API server it exists even when the kubelet is unreachable).
	KubePods = "kube/pods.json"
	// KubeEvents are the Events of the node and of its pods (a v1 EventList).
	KubeEvents = "kube/events.json"
	// pprof target name of the kubelet's own heap profile, as the collector
	// names it.
	kubeletPprofTarget = "kubelet"
)

// endpoint is one kubelet answer fetched through the API server's node
// proxy (https://kubernetes.io/docs/concepts/architecture/control-plane-node-communication/#api-server-to-nodes-pods-and-services).
type endpoint struct {
	source string
	path   string // below /api/v1/nodes/NAME/proxy
	query  url.Values
	file   string
	// optional endpoints (pprof, log query) depend on kubelet settings: a 404
	// or 403 from them is a note, not a failure of the kubelet source.
	optional bool
	note     string
}

func apiEndpoints(since time.Time) []endpoint {
	return []endpoint{
		{source: bundle.SourceKubelet, path: "/stats/summary", file: bundle.KubeletSummary},
		{source: bundle.SourceKubelet, path: "/pods", file: bundle.KubeletPods},
		{source: bundle.SourceKubelet, path: "/configz", file: bundle.KubeletConfigz},
		{source: bundle.SourceKubelet, path: "/metrics/cadvisor", file: bundle.KubeletMetricsCadvisor},
		{source: bundle.SourceKubelet, path: "/metrics/resource", file: bundle.KubeletMetricsResource},
		// Node log query: kubelet feature gate NodeLogQuery and
		// enableSystemLogQuery (https://kubernetes.io/docs/concepts/cluster-administration/system-logs/#log-query).
		{source: bundle.SourceKubelet, path: "/logs/", query: url.Values{"query": {"kubelet"}, "sinceTime": {since.UTC().Format(time.RFC3339)}},
			file: bundle.KubeletLog, optional: true, note: "node log query (kubelet feature gate NodeLogQuery, enableSystemLogQuery)"},
		// The kubelet serves /debug/pprof only with enableProfilingHandler (default true).
		{source: bundle.SourcePprof, path: "/debug/pprof/heap", file: bundle.PprofDir + kubeletPprofTarget + "/" + bundle.PprofHeapFile,
			optional: true, note: "kubelet heap profile (enableProfilingHandler)"},
	}
}

// sourcesNodeOnly are the sources only a process on the node can read.
var sourcesNodeOnly = []struct{ name, path string }{
	{bundle.SourceNode, "node/"}, {bundle.SourceCgroup, bundle.CgroupDir}, {bundle.SourceLogs, "logs/"},
	{bundle.SourceProc, bundle.ProcDir}, {bundle.SourceSystemd, bundle.SystemdDir}, {bundle.SourceVolumes, "volumes/"},
	{bundle.SourceCadvisor, "cadvisor/"},
}

// APIModeLeavesOut is what a bundle collected in API mode cannot contain.
const APIModeLeavesOut = "no cgroup files, kernel log (OOM reports), /proc, systemd units or tmpfs volumes: only a pod on the node can read them"

// apiCollector writes API-mode bundles. One per run: the cluster's events
// are listed once and shared between nodes.
type apiCollector struct {
	cs     kubernetes.Interface
	opt    *Options
	access *Access

	eventsOnce sync.Once
	events     *eventIndex
	eventsErr  error
}

// sourceState accumulates one manifest source.
type sourceState struct {
	mu   sync.Mutex
	src  bundle.Source
	errs []string
}

func (s *sourceState) fail(msg string, hard bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs = append(s.errs, msg)
	if hard {
		if s.src.Status == bundle.StatusOK {
			s.src.Status = bundle.StatusPartial
		}
	}
}

func (s *sourceState) add(fe bundle.FileEntry, truncated bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.src.Files++
	s.src.Bytes += fe.Bytes
	s.src.Truncated = s.src.Truncated || truncated
}

func (s *sourceState) final() bundle.Source {
	out := s.src
	if out.Files == 0 && out.Status != bundle.StatusSkipped {
		out.Status = bundle.StatusFailed
	}
	out.Error = strings.Join(s.errs, "; ")
	return out
}

// collect writes node's API-mode bundle to out. It returns what it could not
// get; an error means no bundle could be written at all.
func (a *apiCollector) collect(ctx context.Context, node string, out io.Writer, spoolDir string, bytesRead func(int64)) (problems []string, err error) {
	start := a.opt.Now()
	w, err := bundle.NewWriter(out, bundle.WriterOptions{SpoolDir: spoolDir, ModTime: start})
	if err != nil {
		return nil, err
	}
	m := &bundle.Manifest{
		Collector: bundle.Collector{Name: "kubectl-memsnap", Version: a.opt.Version, Mode: ModeAPI},
		Created:   start.UTC().Format(time.RFC3339),
		Node:      bundle.NodeInfo{NodeName: node, CgroupDriver: "unknown"},
		Warnings: []string{"collected in API mode through the API server (kubectl memsnap --mode api): " + APIModeLeavesOut +
			"; files are the API server's and kubelet's answers, redacted as the collector redacts (heap profiles byte-exact)"},
	}
	var redMu sync.Mutex
	redacted := func(name string, c redact.Counts) {
		redMu.Lock()
		defer redMu.Unlock()
		for _, rule := range c.Names() {
			m.Redactions = append(m.Redactions, bundle.Redaction{Path: name, Rule: rule, Count: c[rule]})
		}
	}
	newSource := func(name string, paths ...string) *sourceState {
		return &sourceState{src: bundle.Source{Name: name, Paths: paths, Status: bundle.StatusOK, Started: a.opt.Now().UTC().Format(time.RFC3339Nano)}}
	}
	kube := newSource(bundle.SourceKube, bundle.KubeNode, KubePods, KubeEvents)
	kubelet := newSource(bundle.SourceKubelet, "kubelet/")
	pprof := newSource(bundle.SourcePprof, bundle.PprofDir)
	sources := map[string]*sourceState{bundle.SourceKube: kube, bundle.SourceKubelet: kubelet, bundle.SourcePprof: pprof}

	// Pod specs carry env values and kubelet answers carry flags: the same
	// secrets the collector redacts on the node (DESIGN §6) must not leave
	// the cluster in API mode either.
	put := func(s *sourceState, name string, b []byte) {
		rr := redact.NewReader(bytes.NewReader(b))
		b, _ = io.ReadAll(rr) // reading bytes cannot fail
		redacted(name, rr.Counts())
		fe, err := w.AddBytes(name, b)
		if err != nil {
			s.fail(fmt.Sprintf("%s: %v", name, err), true)
			return
		}
		s.add(fe, false)
		bytesRead(fe.Bytes)
	}

	// The Node object first: it names the architecture, kernel and kubelet
	// version, and its absence (deleted mid-run) is the node's failure.
	rc := a.cs.CoreV1().RESTClient()
	nodeRaw, nerr := rc.Get().AbsPath("/api/v1/nodes/" + node).Do(ctx).Raw()
	if nerr != nil {
		if apierrors.IsNotFound(nerr) {
			// Deleted (or never there): its pods and events would describe a
			// node that is gone, and its kubelet cannot be reached.
			w.Close(m) // releases the spool; the caller discards the file
			return problems, fmt.Errorf("node %s not found: it no longer exists (deleted during the run?)", node)
		}
		kube.fail(fmt.Sprintf("%s: %v", bundle.KubeNode, nerr), true)
		problems = append(problems, fmt.Sprintf("Node object: %v", nerr))
	} else {
		put(kube, bundle.KubeNode, nodeRaw)
		var n corev1.Node
		if json.Unmarshal(nodeRaw, &n) == nil {
			fillNodeInfo(&m.Node, &n)
			if v := n.Status.NodeInfo.KubeletVersion; v != "" {
				put(kubelet, bundle.KubeletVersion, []byte("Kubernetes "+v+"\n"))
			}
		}
	}

	var wg sync.WaitGroup
	var mu sync.Mutex
	note := func(s string) { mu.Lock(); problems = append(problems, s); mu.Unlock() }

	// The node's pods and events from the API server.
	wg.Go(func() {
		podsRaw, err := rc.Get().AbsPath("/api/v1/pods").Param("fieldSelector", "spec.nodeName="+node).Do(ctx).Raw()
		if err != nil {
			kube.fail(fmt.Sprintf("%s: %v", KubePods, err), true)
			note(fmt.Sprintf("pods: %v", err))
			return
		}
		put(kube, KubePods, podsRaw)
		var pods corev1.PodList
		if err := json.Unmarshal(podsRaw, &pods); err != nil {
			kube.fail(fmt.Sprintf("%s: %v", KubePods, err), true)
			return
		}
		idx, err := a.eventIndex(ctx)
		if err != nil {
			kube.fail(fmt.Sprintf("%s: %v", KubeEvents, err), true)
			note(fmt.Sprintf("events: %v", err))
			return
		}
		b, err := json.Marshal(idx.forNode(node, pods.Items))
		if err != nil {
			kube.fail(fmt.Sprintf("%s: %v", KubeEvents, err), true)
			return
		}
		put(kube, KubeEvents, append(b, '\n'))
	})

	for _, ep := range apiEndpoints(start.Add(-a.opt.Since)) {
		wg.Go(func() {
			s := sources[ep.source]
			msg, hard := a.fetch(ctx, w, node, ep, s, bytesRead, redacted)
			if msg != "" {
				s.fail(msg, hard)
				if hard {
					note(msg)
				}
			}
		})
	}
	wg.Wait()

	for _, s := range []*sourceState{kube, kubelet, pprof} {
		m.Sources = append(m.Sources, s.final())
	}
	for _, s := range sourcesNodeOnly {
		m.Sources = append(m.Sources, bundle.Source{Name: s.name, Paths: []string{s.path}, Status: bundle.StatusSkipped,
			Error: "API mode: only a pod on the node can read it (kubectl memsnap --mode node)"})
	}
	if err := w.Close(m); err != nil {
		return problems, err
	}
	if w.FileCount() == 0 {
		return problems, errors.New("nothing could be read through the API server: " + strings.Join(problems, "; "))
	}
	return problems, nil
}

// fetch streams one node-proxy endpoint into the bundle. It returns a
// message when it failed; hard says the failure counts against the source.
func (a *apiCollector) fetch(ctx context.Context, w *bundle.Writer, node string, ep endpoint, s *sourceState, bytesRead func(int64), redacted func(string, redact.Counts)) (string, bool) {
	ctx, cancel := context.WithTimeout(ctx, a.opt.EndpointTimeout)
	defer cancel()
	started := a.opt.Now()
	req := a.cs.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes/" + node + "/proxy" + ep.path)
	for k, vs := range ep.query {
		for _, v := range vs {
			req = req.Param(k, v)
		}
	}
	body, err := req.Stream(ctx)
	if err != nil {
		return a.fetchError(ep, err, ctx)
	}
	defer body.Close()
	var r io.Reader = &countingReader{r: body, n: bytesRead}
	var rr *redact.Reader
	if ep.source != bundle.SourcePprof { // a heap profile is binary and holds no text secrets
		rr = redact.NewReader(r)
		r = rr
	}
	sp, err := w.Spool(r, a.opt.MaxEndpointBytes)
	if err != nil {
		return a.fetchError(ep, err, ctx)
	}
	if rr != nil {
		redacted(ep.file, rr.Counts())
	}
	truncated := sp.Truncated
	fe, err := w.Commit(ep.file, sp)
	if err != nil {
		return fmt.Sprintf("%s: %v", ep.file, err), true
	}
	s.add(fe, truncated)
	if ep.source == bundle.SourcePprof {
		t, _ := json.Marshal(map[string]any{"name": kubeletPprofTarget, "url": "/api/v1/nodes/" + node + "/proxy" + ep.path,
			"started": started.UTC().Format(time.RFC3339Nano), "duration_ms": a.opt.Now().Sub(started).Milliseconds(),
			"bytes": fe.Bytes, "truncated": truncated})
		if fe2, err := w.AddBytes(bundle.PprofDir+kubeletPprofTarget+"/"+bundle.PprofTargetFile, append(t, '\n')); err == nil {
			s.add(fe2, false)
		}
	}
	if truncated {
		return fmt.Sprintf("%s: cut at %d bytes", ep.file, a.opt.MaxEndpointBytes), false
	}
	return "", false
}

func (a *apiCollector) fetchError(ep endpoint, err error, ctx context.Context) (string, bool) {
	what := "GET nodes/proxy" + ep.path
	switch {
	case ctx.Err() != nil:
		return fmt.Sprintf("%s: no answer within %s (%v)", what, a.opt.EndpointTimeout, err), true
	case apierrors.IsForbidden(err):
		return fmt.Sprintf("%s: forbidden: the user needs get on nodes/proxy (deploy/rbac-plugin.yaml, ClusterRole memsnap-api)", what), true
	case ep.optional && (apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) || apierrors.IsBadRequest(err)):
		return fmt.Sprintf("%s: not served by this kubelet: %s", what, ep.note), false
	}
	return fmt.Sprintf("%s: %v", what, err), true
}

func fillNodeInfo(ni *bundle.NodeInfo, n *corev1.Node) {
	ni.NodeName = n.Name
	ni.Kernel = n.Status.NodeInfo.KernelVersion
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeHostName {
			ni.Hostname = a.Address
		}
	}
	// The kubelet's memory capacity is cAdvisor's MachineInfo.MemoryCapacity,
	// read from MemTotal in /proc/meminfo (google/cadvisor machine/machine.go
	// GetMachineMemoryCapacity).
	if q, ok := n.Status.Capacity[corev1.ResourceMemory]; ok {
		ni.MemTotalBytes = q.Value()
	}
}

type countingReader struct {
	r io.Reader
	n func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.n(int64(n))
	}
	return n, err
}

// eventIndex holds the cluster's events, listed once per run, by what they
// are about.
type eventIndex struct {
	byNode map[string][]corev1.Event
	byUID  map[string][]corev1.Event
}

func (a *apiCollector) eventIndex(ctx context.Context) (*eventIndex, error) {
	a.eventsOnce.Do(func() { a.events, a.eventsErr = listEvents(ctx, a.cs) })
	return a.events, a.eventsErr
}

func listEvents(ctx context.Context, cs kubernetes.Interface) (*eventIndex, error) {
	idx := &eventIndex{byNode: map[string][]corev1.Event{}, byUID: map[string][]corev1.Event{}}
	err := listAll(ctx, func(ctx context.Context, cont string) (string, error) {
		l, err := cs.CoreV1().Events("").List(ctx, listOpts(cont))
		if err != nil {
			return "", err
		}
		for _, e := range l.Items {
			e.ManagedFields = nil
			if e.InvolvedObject.Kind == "Node" {
				idx.byNode[e.InvolvedObject.Name] = append(idx.byNode[e.InvolvedObject.Name], e)
			} else if e.InvolvedObject.UID != "" {
				idx.byUID[string(e.InvolvedObject.UID)] = append(idx.byUID[string(e.InvolvedObject.UID)], e)
			}
		}
		return l.Continue, nil
	})
	return idx, err
}

func (x *eventIndex) forNode(node string, pods []corev1.Pod) *corev1.EventList {
	l := &corev1.EventList{Items: []corev1.Event{}}
	l.Kind, l.APIVersion = "EventList", "v1"
	l.Items = append(l.Items, x.byNode[node]...)
	for _, p := range pods {
		l.Items = append(l.Items, x.byUID[string(p.UID)]...)
	}
	return l
}

// spoolDir is where bundle spools go: beside the output, on disk.
func spoolDir(outDir string) string {
	if fi, err := os.Stat(outDir); err == nil && fi.IsDir() {
		return outDir
	}
	return ""
}
