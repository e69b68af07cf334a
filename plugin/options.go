// Package plugin is kubectl-memsnap's collection engine (issue #14): it picks
// the nodes that matter, reaches each one either through a short-lived
// privileged pod that runs the embedded collector (node mode) or through the
// API server alone (API mode), and writes one bundle per node plus
// cluster.json into the output directory. Nothing of ours stays in the
// cluster: every pod the run creates is deleted, also on SIGINT/SIGTERM.
package plugin

import (
	"io"
	"time"
)

// Modes a node can be collected in.
const (
	ModeAuto = "auto"
	ModeNode = "node" // a privileged pod on the node runs memsnap-collect
	ModeAPI  = "api"  // the API server's node proxy, Node, pods and events only
)

// Options configure one collection run.
type Options struct {
	// Nodes names the nodes to collect; Selector (a label selector), All and
	// ProblemNodes add to it. At least one of them must be set.
	Nodes        []string
	Selector     string
	All          bool
	ProblemNodes bool
	// Since is the window of --problem-nodes and of the logs collected.
	Since time.Duration

	OutDir string
	Mode   string // auto | node | api

	// Namespace receives node-mode pods.
	Namespace       string
	Image           string
	ImagePullPolicy string
	ServiceAccount  string // "" = none, and no token mounted
	MountToken      bool   // mount the service-account token into the pod
	CollectorArgs   []string
	// Watch and Every run node mode's collector in watch mode
	// (memsnap-collect --watch/--every): samples into series/ for Watch,
	// one every Every. The node's deadline grows by Watch.
	Watch, Every     time.Duration
	Collectors       Collectors
	PodTimeout       time.Duration // a pod still not running after this is deleted: API mode
	NodeTimeout      time.Duration // everything one node may take
	RunTimeout       time.Duration // the whole run
	EndpointTimeout  time.Duration // one API-mode request
	Parallel         int
	MaxEndpointBytes int64

	// Progress receives the progress display; TTY selects the redrawn line.
	Progress io.Writer
	TTY      bool

	// Now is the run's clock (tests).
	Now func() time.Time
	// Version is the plugin's version, written into manifests.
	Version string
}

// Defaults used by the CLI.
const (
	DefaultImage     = "busybox:1.37"
	DefaultNamespace = "default"
)

// nodeBudget is everything one node may take: --node-timeout, plus the
// watch when there is one (the collector samples for that long first).
func (o *Options) nodeBudget() time.Duration { return o.NodeTimeout + max(o.Watch, 0) }

func (o *Options) setDefaults() {
	if o.Mode == "" {
		o.Mode = ModeAuto
	}
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.Image == "" {
		o.Image = DefaultImage
	}
	if o.ImagePullPolicy == "" {
		o.ImagePullPolicy = "IfNotPresent"
	}
	if o.PodTimeout <= 0 {
		o.PodTimeout = 90 * time.Second
	}
	if o.NodeTimeout <= 0 {
		o.NodeTimeout = 5 * time.Minute
	}
	if o.RunTimeout <= 0 {
		o.RunTimeout = 30 * time.Minute
	}
	if o.EndpointTimeout <= 0 {
		o.EndpointTimeout = 30 * time.Second
	}
	if o.Parallel <= 0 {
		o.Parallel = 10
	}
	if o.Since <= 0 {
		o.Since = 24 * time.Hour
	}
	if o.MaxEndpointBytes <= 0 {
		o.MaxEndpointBytes = 512 << 20
	}
	if o.Collectors == nil {
		o.Collectors = EmbeddedCollectors{}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Version == "" {
		o.Version = "dev"
	}
}
