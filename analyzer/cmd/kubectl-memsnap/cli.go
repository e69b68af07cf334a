package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/memsnap/memsnap/analyzer/internal/analysis"
	"github.com/memsnap/memsnap/bundle"
	"github.com/memsnap/memsnap/internal/cliexit"
	"github.com/memsnap/memsnap/plugin"
	"github.com/memsnap/memsnap/report"
)

type streams struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

func run(ctx context.Context, args []string, st streams) int {
	return cliexit.Run(newRoot(ctx, st), "kubectl-memsnap", args, st.Stdin, st.Stdout, st.Stderr)
}

func newRoot(ctx context.Context, st streams) *cobra.Command {
	root := &cobra.Command{
		Use:           "kubectl-memsnap",
		Short:         "Collect and analyse Kubernetes node memory evidence across a cluster",
		SilenceUsage:  true,
		SilenceErrors: true,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl memsnap"},
	}
	kube := genericclioptions.NewConfigFlags(true)
	kube.AddFlags(root.PersistentFlags())
	root.AddCommand(newCollect(ctx, st, kube), &cobra.Command{
		Use: "version", Short: "Print the version", Args: cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) { fmt.Fprintln(st.Stdout, "kubectl-memsnap", version) },
	})
	return root
}

type collectFlags struct {
	opt        plugin.Options
	analyze    bool
	formats    []string
	collectors []string
}

const collectLong = `Collect one bundle per node into DIR, plus DIR/cluster.json (which node, which
mode, what failed and why). Nodes are named as arguments, chosen by -l, --all, or
--problem-nodes (MemoryPressure, recent OOMKilling/SystemOOM/Evicted events, pods
whose last termination was OOMKilled within --since).

Each node is reached one of two ways:
  node mode  a pod pinned to the node (privileged, hostPID, hostNetwork, the host's /
             at /host) receives the embedded collector over exec stdin and streams
             the full bundle back over stdout; the pod is deleted afterwards.
  api mode   the API server only: the node proxy's kubelet endpoints, the Node, the
             node's pods and events. No pod, least privilege; no cgroup files,
             kernel log or /proc.
--mode auto (default) asks the API server (SelfSubjectAccessReview) what you may do
and picks per node; a node whose pod does not run within --pod-timeout falls back
to api mode.

Ctrl-C or SIGTERM stops the run, deletes every pod it created and writes what was
collected. Exit codes: 0 every node collected, 1 some failed, 2 usage, 3 none.`

func newCollect(ctx context.Context, st streams, kube *genericclioptions.ConfigFlags) *cobra.Command {
	var f collectFlags
	cmd := &cobra.Command{
		Use:   "collect [NODE...] [-l SELECTOR] [--all] [--problem-nodes] -o DIR",
		Short: "Collect a bundle from each selected node",
		Long:  collectLong,
		RunE: func(cmd *cobra.Command, args []string) error {
			f.opt.Nodes = args
			return collect(ctx, st, kube, &f)
		},
	}
	fl := cmd.Flags()
	o := &f.opt
	fl.StringVarP(&o.OutDir, "output", "o", "", "output directory (required)")
	fl.StringVarP(&o.Selector, "selector", "l", "", "collect nodes matching this label selector")
	fl.BoolVar(&o.All, "all", false, "collect every node")
	fl.BoolVar(&o.ProblemNodes, "problem-nodes", false, "collect nodes with MemoryPressure, OOM or eviction events, or OOMKilled pods within --since")
	fl.DurationVar(&o.Since, "since", 24*time.Hour, "window of --problem-nodes and of the logs collected")
	fl.StringVar(&o.Mode, "mode", plugin.ModeAuto, "auto | node | api")
	fl.StringVar(&o.Image, "image", plugin.DefaultImage, "image of the node-mode pod: any image with /bin/sh, cat, chmod and wc (name one from your registry when air-gapped)")
	fl.StringVar(&o.ImagePullPolicy, "image-pull-policy", "IfNotPresent", "Always | IfNotPresent | Never")
	fl.StringVar(&o.ServiceAccount, "service-account", "", "service account of the node-mode pod (default: the namespace's default)")
	fl.BoolVar(&o.MountToken, "mount-token", false, "mount the service-account token into the node-mode pod (the collector then authenticates to the kubelet with it)")
	fl.StringArrayVar(&o.CollectorArgs, "collector-arg", nil, "extra memsnap-collect flag for node mode, e.g. --collector-arg=--insecure (repeatable)")
	fl.StringArrayVar(&f.collectors, "collector", nil, "ARCH=FILE: use FILE as the linux/ARCH collector instead of the embedded one (repeatable)")
	fl.IntVar(&o.Parallel, "parallel", 10, "nodes collected at once")
	fl.DurationVar(&o.PodTimeout, "pod-timeout", 90*time.Second, "a node-mode pod not running after this is deleted and the node falls back to api mode")
	fl.DurationVar(&o.NodeTimeout, "node-timeout", 5*time.Minute, "time limit for one node")
	fl.DurationVar(&o.Watch, "watch", 0, "node mode: run the collector in watch mode for this long (memsnap-collect --watch; samples into series/); nodes in api mode give one snapshot")
	fl.DurationVar(&o.Every, "every", 0, "with --watch: time between samples (memsnap-collect --every; its default when 0)")
	fl.DurationVar(&o.RunTimeout, "timeout", 30*time.Minute, "time limit for the whole run")
	fl.DurationVar(&o.EndpointTimeout, "endpoint-timeout", 30*time.Second, "time limit for one API-mode request (a hung kubelet is cut here)")
	fl.BoolVar(&f.analyze, "analyze", false, "analyse the bundles into the cluster report DIR/memsnap-report.<ext>")
	fl.StringArrayVar(&f.formats, "format", nil, "report format with --analyze: html (default) | json | text | markdown | sarif | junit; repeatable")
	return cmd
}

func collect(ctx context.Context, st streams, kube *genericclioptions.ConfigFlags, f *collectFlags) error {
	o := f.opt
	switch {
	case o.OutDir == "":
		return cliexit.Usage("-o DIR is required")
	case len(o.Nodes) == 0 && o.Selector == "" && !o.All && !o.ProblemNodes:
		return cliexit.Usage("name nodes, or use -l SELECTOR, --all or --problem-nodes")
	case !slices.Contains([]string{plugin.ModeAuto, plugin.ModeNode, plugin.ModeAPI}, o.Mode):
		return cliexit.Usage("--mode %q: want auto, node or api", o.Mode)
	case o.Watch < 0 || o.Every < 0 || o.Every > 0 && o.Watch == 0:
		return cliexit.Usage("--watch %s --every %s: want a positive --watch, and --every only with it", o.Watch, o.Every)
	case o.Watch > 0 && o.Mode == plugin.ModeAPI:
		return cliexit.Usage("--watch needs node mode (the collector samples on the node); --mode api gives one snapshot")
	case o.Parallel < 1:
		return cliexit.Usage("--parallel %d: want 1 or more", o.Parallel)
	case !slices.Contains([]string{"Always", "IfNotPresent", "Never"}, o.ImagePullPolicy):
		return cliexit.Usage("--image-pull-policy %q: want Always, IfNotPresent or Never", o.ImagePullPolicy)
	}
	formats := f.formats
	if len(formats) == 0 {
		formats = []string{"html"}
	}
	for _, fm := range formats {
		if !slices.Contains(report.Formats, fm) {
			return cliexit.Usage("unknown --format %q (want one of %s)", fm, strings.Join(report.Formats, ", "))
		}
	}
	if len(f.collectors) > 0 {
		m := plugin.CollectorMap{}
		for _, c := range f.collectors {
			arch, file, ok := strings.Cut(c, "=")
			if !ok {
				return cliexit.Usage("--collector %q: want ARCH=FILE", c)
			}
			b, err := os.ReadFile(file)
			if err != nil {
				return cliexit.Usage("--collector: %v", err)
			}
			m[arch] = b
		}
		o.Collectors = m
	}
	ns, _, err := kube.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return cliexit.Usage("kubeconfig: %v", err)
	}
	o.Namespace = ns
	cfg, err := kube.ToRESTConfig()
	if err != nil {
		return cliexit.Usage("kubeconfig: %v", err)
	}
	client, err := plugin.NewClient(cfg)
	if err != nil {
		return cliexit.Usage("kubeconfig: %v", err)
	}
	o.Progress = st.Stderr
	o.TTY = isTTY(st.Stderr)
	o.Version = version
	cl, err := plugin.Run(ctx, client, o)
	if err != nil {
		code := 3
		if errors.Is(err, plugin.ErrNoNodes) {
			code = 2
		}
		return &cliexit.Error{Code: code, Err: err}
	}
	okN, partial, failed := cl.Counts()
	fmt.Fprintf(st.Stderr, "kubectl-memsnap: %d nodes: %d ok, %d partial, %d failed; wrote %s\n", len(cl.Nodes), okN, partial, failed,
		filepath.Join(o.OutDir, plugin.ClusterFile))
	if cl.Interrupted != "" {
		fmt.Fprintf(st.Stderr, "kubectl-memsnap: %s\n", cl.Interrupted)
	}
	for _, p := range cl.PodsLeft {
		fmt.Fprintf(st.Stderr, "kubectl-memsnap: could not delete: %s\n", p)
	}
	if f.analyze && len(cl.Bundles()) > 0 && ctx.Err() == nil {
		if err := analyzeBundles(ctx, st, o.OutDir, cl.Bundles(), formats); err != nil {
			return &cliexit.Error{Code: 1, Err: fmt.Errorf("--analyze: %w", err)}
		}
	}
	if code := cl.ExitCode(); code != 0 {
		return &cliexit.Error{Code: code}
	}
	return nil
}

// analyzeBundles writes the cluster report beside the bundles.
func analyzeBundles(ctx context.Context, st streams, dir string, bundles []string, formats []string) error {
	paths := make([]string, len(bundles))
	for i, b := range bundles {
		paths[i] = filepath.Join(dir, b)
	}
	now := time.Now().UTC()
	doc, err := analysis.Analyze(ctx, paths, analysis.Options{Now: now, Version: version, Reader: bundle.DefaultOptions()})
	if err != nil {
		return err
	}
	ropts := report.Options{Formats: formats, Now: now, NoColor: true}
	for _, fm := range formats {
		out := filepath.Join(dir, "memsnap-report."+report.Extension(fm))
		if err := writeFile(out, func(w io.Writer) error { return report.Render(w, fm, doc, ropts) }); err != nil {
			return err
		}
		fmt.Fprintf(st.Stderr, "kubectl-memsnap: wrote %s\n", out)
	}
	return nil
}

func writeFile(path string, render func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".memsnap-report-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := render(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func isTTY(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
