package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/memsnap/memsnap/bundle"
)

// ClusterFile is the run's record in the output directory.
const ClusterFile = "cluster.json"

// ClusterSchema is cluster.json's "schema" value; fields are only added.
const ClusterSchema = "memsnap-cluster/v1"

// Node statuses in cluster.json.
const (
	NodeOK      = "ok"      // a bundle with everything its mode can give
	NodePartial = "partial" // a bundle, but some of its sources failed
	NodeFailed  = "failed"  // no bundle
)

// NodeResult is one node's line in cluster.json.
type NodeResult struct {
	Name       string   `json:"name"`
	Selected   []string `json:"selected_because,omitempty"`
	Mode       string   `json:"mode,omitempty"` // node | api: how the bundle was collected
	Bundle     string   `json:"bundle,omitempty"`
	Status     string   `json:"status"`
	Error      string   `json:"error,omitempty"`
	Fallback   string   `json:"fallback,omitempty"` // why node mode was not used or did not work
	Pod        string   `json:"pod,omitempty"`
	LeavesOut  string   `json:"leaves_out,omitempty"`
	Problems   []string `json:"problems,omitempty"`
	Started    string   `json:"started"`
	DurationMS int64    `json:"duration_ms"`
	Bytes      int64    `json:"bytes"`
}

// Cluster is cluster.json: which node, which mode, what failed and why.
type Cluster struct {
	Schema        string       `json:"schema"`
	PluginVersion string       `json:"plugin_version"`
	Server        string       `json:"server,omitempty"`
	Started       string       `json:"started"`
	Finished      string       `json:"finished"`
	Mode          string       `json:"mode"` // as asked: auto | node | api
	Namespace     string       `json:"namespace"`
	Access        *Access      `json:"access,omitempty"`
	Interrupted   string       `json:"interrupted,omitempty"`
	Nodes         []NodeResult `json:"nodes"`
	// PodsLeft are pods the run created and could not delete (normally empty).
	PodsLeft []string `json:"pods_left,omitempty"`
}

// Counts of the run's node outcomes.
func (c *Cluster) Counts() (ok, partial, failed int) {
	for _, n := range c.Nodes {
		switch n.Status {
		case NodeOK:
			ok++
		case NodePartial:
			partial++
		default:
			failed++
		}
	}
	return
}

// ExitCode is the plugin's exit status: 0 every node has a bundle, 1 some
// failed, 3 none has one (2, usage, is the CLI's).
func (c *Cluster) ExitCode() int {
	ok, partial, failed := c.Counts()
	switch {
	case ok+partial == 0:
		return 3
	case failed > 0:
		return 1
	}
	return 0
}

// Bundles lists the bundle files written, relative to the output directory.
func (c *Cluster) Bundles() []string {
	var out []string
	for _, n := range c.Nodes {
		if n.Bundle != "" {
			out = append(out, n.Bundle)
		}
	}
	return out
}

// Client is what a run needs from Kubernetes.
type Client struct {
	Kube   kubernetes.Interface
	Exec   Execer
	Server string // for cluster.json
}

// ErrNoNodes says the selection matched nothing.
var ErrNoNodes = errors.New("no node matched: name nodes, or use -l, --all or --problem-nodes")

// Run collects the selected nodes into o.OutDir and writes cluster.json.
// It returns an error only when the run could not start (no output
// directory, the API server unreachable, nothing selected); each node's
// failure is in the Cluster.
func Run(ctx context.Context, c Client, o Options) (*Cluster, error) {
	o.setDefaults()
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	root, err := os.OpenRoot(o.OutDir)
	if err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	defer root.Close()
	ctx, cancel := context.WithTimeoutCause(ctx, o.RunTimeout, fmt.Errorf("the run's deadline (--timeout %s) passed", o.RunTimeout))
	defer cancel()

	cl := &Cluster{Schema: ClusterSchema, PluginVersion: o.Version, Server: c.Server, Mode: o.Mode, Namespace: o.Namespace,
		Started: o.Now().UTC().Format(time.RFC3339), Nodes: []NodeResult{}}
	access, aerr := ReviewAccess(ctx, c.Kube, o.Namespace)
	if aerr != nil && o.Mode == ModeAuto {
		return nil, aerr
	}
	cl.Access = access
	if access == nil {
		access = &Access{}
	}
	sel, err := SelectNodes(ctx, c.Kube, &o)
	if err != nil {
		return nil, err
	}
	if len(sel) == 0 {
		return nil, ErrNoNodes
	}

	runID := rand.String(8)
	tracker := &podTracker{cs: c.Kube, ns: o.Namespace, m: map[string]bool{}}
	api := &apiCollector{cs: c.Kube, opt: &o, access: access}
	nc := &nodeCollector{cs: c.Kube, exec: c.Exec, opt: &o, runID: runID, tracker: tracker}
	prog := newProgress(o.Progress, o.TTY, len(sel))
	defer prog.stop()

	results := make([]NodeResult, len(sel))
	sem := make(chan struct{}, o.Parallel)
	var wg sync.WaitGroup
	for i, s := range sel {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				results[i] = NodeResult{Name: s.Name, Selected: s.Reasons, Status: NodeFailed,
					Error: "not started: " + context.Cause(ctx).Error(), Started: o.Now().UTC().Format(time.RFC3339)}
				prog.done(s.Name, &results[i], false)
				return
			}
			defer func() { <-sem }()
			prog.start()
			r := collectNode(ctx, root, s, &o, access, api, nc, prog.addBytes)
			results[i] = r
			prog.done(s.Name, &r, true)
		})
	}
	wg.Wait()
	for _, err := range tracker.deleteAll() {
		cl.PodsLeft = append(cl.PodsLeft, err.Error())
	}
	if ctx.Err() != nil {
		cl.Interrupted = context.Cause(ctx).Error()
	}
	cl.Nodes = results
	cl.Finished = o.Now().UTC().Format(time.RFC3339)
	if err := writeJSON(root, ClusterFile, cl); err != nil {
		return cl, err
	}
	return cl, nil
}

// collectNode picks the node's mode and collects it, falling back from
// node mode to API mode when the pod cannot run.
func collectNode(ctx context.Context, root *os.Root, s Selected, o *Options, access *Access,
	api *apiCollector, nc *nodeCollector, addBytes func(int64)) (r NodeResult) {
	start := o.Now()
	r = NodeResult{Name: s.Name, Selected: s.Reasons, Started: start.UTC().Format(time.RFC3339)}
	ctx, cancel := context.WithTimeoutCause(ctx, o.nodeBudget(), fmt.Errorf("the node's deadline (--node-timeout %s, plus --watch %s) passed", o.NodeTimeout, o.Watch))
	defer cancel()
	defer func() { r.DurationMS = o.Now().Sub(start).Milliseconds() }()
	var counted atomic.Int64 // API mode fetches endpoints at once
	count := func(n int64) { counted.Add(n); addBytes(n) }
	name := s.Name + ".tar.gz"

	useNode := o.Mode == ModeNode || (o.Mode == ModeAuto && access.Can(ModeNode))
	if o.Mode == ModeAuto && !useNode {
		r.Fallback = "node mode not allowed for this user: needs " + joinOr(access.Missing(ModeNode))
	}
	if useNode {
		err := nodeMode(ctx, root, name, s.Name, nc, count, &r)
		if err == nil {
			r.Bytes = counted.Load()
			return r
		}
		if ctx.Err() != nil {
			r.Status, r.Error = NodeFailed, fmt.Sprintf("node mode: %v (%v)", err, context.Cause(ctx))
			return r
		}
		r.Fallback = "node mode failed: " + err.Error()
		if apierrors.IsNotFound(errors.Unwrap(err)) {
			r.Status, r.Error = NodeFailed, r.Fallback
			return r
		}
	}
	// API mode.
	if m := access.Missing(ModeAPI); len(m) > 0 {
		r.Problems = append(r.Problems, "API mode lacks permissions: "+joinOr(m))
	}
	r.Mode, r.LeavesOut = ModeAPI, APIModeLeavesOut
	problems, err := writeAtomic(root, name, func(f *os.File) error {
		p, err := api.collect(ctx, s.Name, f, filepath.Dir(f.Name()), count)
		r.Problems = append(r.Problems, p...)
		return err
	})
	_ = problems
	r.Bytes = counted.Load()
	if err != nil {
		r.Status, r.Error, r.Mode = NodeFailed, err.Error(), ""
		if ctx.Err() != nil {
			r.Error += " (" + context.Cause(ctx).Error() + ")"
		}
		return r
	}
	r.Bundle, r.Status = name, NodeOK
	if len(r.Problems) > 0 {
		r.Status = NodePartial
	}
	return r
}

// nodeMode runs the collector pod and checks the bundle it streamed back.
func nodeMode(ctx context.Context, root *os.Root, name, node string, nc *nodeCollector, count func(int64), r *NodeResult) error {
	n, err := nc.cs.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("reading the Node: %w", err)
	}
	arch := n.Status.NodeInfo.Architecture
	if arch == "" {
		arch = n.Labels["kubernetes.io/arch"]
	}
	if os := n.Status.NodeInfo.OperatingSystem; os != "" && os != "linux" {
		return &errPodNotRunning{reason: "node runs " + os + ": the collector is for linux"}
	}
	_, err = writeAtomic(root, name, func(f *os.File) error {
		pod, err := nc.collect(ctx, node, arch, f, count)
		r.Pod = pod
		if err != nil {
			return err
		}
		return verifyBundle(ctx, f.Name())
	})
	if err != nil {
		return err
	}
	r.Mode, r.Bundle, r.Status = ModeNode, name, NodeOK
	return nil
}

// verifyBundle opens the streamed bundle and checks every file against
// its manifest's sha256.
func verifyBundle(ctx context.Context, path string) error {
	b, err := bundle.Open(ctx, path, bundle.Options{})
	if err != nil {
		return fmt.Errorf("the bundle streamed back is unreadable: %w", err)
	}
	defer b.Close()
	if b.Manifest() == nil {
		return errors.New("the bundle streamed back has no manifest (the collector was cut off)")
	}
	rep := bundle.Inspect(b)
	for _, f := range rep.Files {
		switch f.Check {
		case bundle.CheckOK, bundle.CheckManifest:
		default:
			return fmt.Errorf("the bundle streamed back fails its sha256 check: %s is %s", f.Path, f.Check)
		}
	}
	return nil
}

// writeAtomic writes name through a temporary file in root and renames it
// into place only when fill succeeds; a failed attempt leaves nothing.
func writeAtomic(root *os.Root, name string, fill func(f *os.File) error) ([]string, error) {
	tmp := "." + name + ".partial-" + rand.String(5)
	f, err := root.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	err = fill(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = root.Rename(tmp, name)
	}
	if err != nil {
		root.Remove(tmp)
	}
	return nil, err
}

func writeJSON(root *os.Root, name string, v any) error {
	_, err := writeAtomic(root, name, func(f *os.File) error {
		enc := json.NewEncoder(f)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	})
	return err
}

func joinOr(s []string) string {
	if len(s) == 0 {
		return "(nothing)"
	}
	out := s[0]
	for _, x := range s[1:] {
		out += ", " + x
	}
	return out
}

// NewClient makes the run's clients from a REST config. Requests are JSON
// both ways: kube/node.json and kube/pods.json are the API server's answers
// as received, and they must be JSON, not protobuf. client-go's default
// 5 QPS would make 100 nodes (about ten requests each) take minutes; the
// API server's own priority and fairness still applies. What the HTTP/2
// connection may buffer ahead of the readers is bounded (transport.go).
func NewClient(cfg *rest.Config) (Client, error) {
	c := rest.CopyConfig(cfg)
	c.ContentType = "application/json"
	c.AcceptContentTypes = "application/json"
	if c.QPS == 0 {
		c.QPS, c.Burst = 100, 200
	}
	c.Wrap(boundReceiveBuffers)
	cs, err := kubernetes.NewForConfig(c)
	if err != nil {
		return Client{}, err
	}
	return Client{Kube: cs, Exec: RESTExecer{Config: c, Client: cs}, Server: c.Host}, nil
}
