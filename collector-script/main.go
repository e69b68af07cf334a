// Command memsnap-collect gathers a node's memory evidence into one bundle
// (DESIGN §2): a static binary that runs on a node that may already be out
// of memory, so it stays small, bounds everything and never hangs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/memsnap/memsnap/internal/redact"
)

// version is stamped by the build: -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(mainArgs(os.Args[1:], os.Stdout, os.Stderr))
}

const usageText = `Usage: memsnap-collect [flags]

Gathers cgroup memory files, kernel log, kubelet data, systemd units, process
and heap-profile data from this node into one bundle for memsnap analyze.

The bundle carries node and pod names, command lines, file paths, log lines
and function names from heap profiles. Secrets (bearer tokens, token- and
password-like argv values and env, keys in configs, credentials in URLs) are
redacted unless --no-redact; the manifest lists every redaction. Review it
with "memsnap inspect BUNDLE" before sending it anywhere.

Exit codes: 0 a bundle was written (possibly partial; see its manifest),
2 usage error, 3 no bundle could be written.

Flags:
`

func mainArgs(args []string, stdout, stderr io.Writer) int {
	opt, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "memsnap-collect: %v\n", err)
		return exitUsage
	}
	opt.Stdout, opt.Stderr = stdout, stderr
	if opt.Output == "-" && isTTY(stdout) {
		fmt.Fprintln(stderr, "memsnap-collect: refusing to write a binary bundle to a terminal; redirect stdout")
		return exitUsage
	}
	opt.Progress = isTTY(stderr)
	protectNode(opt.Log)

	ctx, cancel := context.WithCancelCause(context.Background())
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		s := <-sig
		opt.Log.Warn("signal received: finishing the bundle with what was gathered", "signal", s.String())
		cancel(fmt.Errorf("%w (%s)", errInterrupted, s))
		<-sig
		os.Exit(130) // a second signal means "now"
	}()
	return Run(ctx, opt)
}

func parseFlags(args []string, stderr io.Writer) (*Options, error) {
	fs := flag.NewFlagSet("memsnap-collect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usageText)
		fs.PrintDefaults()
		fmt.Fprintf(stderr, "\nRedaction rules: %s\n", strings.Join(redact.Rules(), ", "))
	}
	o := &Options{Version: version, Now: time.Now}
	var maxBytes, minFree sizeFlag = 1 << 30, 64 << 20
	var verbose, showVersion bool
	fs.StringVar(&o.Output, "o", "", `output file (default memsnap-<node>-<YYYYMMDDTHHMMSSZ>.tar.gz; "-" = stdout)`)
	fs.StringVar(&o.Output, "output", "", "same as -o")
	fs.StringVar(&o.HostRoot, "host-root", "/", "where the host's file system is mounted (/host in a privileged pod)")
	fs.StringVar(&o.NodeName, "node-name", os.Getenv("NODE_NAME"), "Kubernetes node name for the manifest (default $NODE_NAME, else the kubelet's --hostname-override, else the hostname)")
	fs.StringVar(&o.KubeletURL, "kubelet", "https://127.0.0.1:10250", `kubelet API base URL ("off" = do not call it)`)
	fs.StringVar(&o.KubeletTokenFile, "kubelet-token-file", "", "bearer token file for the kubelet API (default: the pod's service-account token when present)")
	fs.StringVar(&o.KubeletCA, "kubelet-ca", "", "CA bundle for the kubelet's serving certificate (default: system roots plus the service-account ca.crt)")
	fs.BoolVar(&o.Insecure, "insecure", false, "do not verify the kubelet's serving certificate")
	fs.StringVar(&o.APIServer, "apiserver", "auto", `API server base URL for this node's Node object ("auto" = in a pod, from $KUBERNETES_SERVICE_HOST; "off" = do not call it)`)
	fs.StringVar(&o.APIServerTokenFile, "apiserver-token-file", "", "bearer token file for the API server (default: the pod's service-account token)")
	fs.StringVar(&o.APIServerCA, "apiserver-ca", "", "CA bundle for the API server (default: system roots plus the service-account ca.crt)")
	fs.StringVar(&o.CadvisorURL, "cadvisor", "", `standalone cAdvisor base URL (default: probe 127.0.0.1:8080 and :4194; "off" = do not)`)
	fs.Func("pprof", "heap profile target NAME=URL[,pid=N] (repeatable); URL without a path gets /debug/pprof/heap", func(v string) error {
		t, err := parsePprofTarget(v)
		if err == nil {
			o.Pprof = append(o.Pprof, t)
		}
		return err
	})
	fs.DurationVar(&o.Since, "since", 24*time.Hour, "kernel and kubelet log window")
	fs.DurationVar(&o.Timeout, "timeout", 10*time.Second, "time limit per source; a source with several endpoints (kubelet, pprof) gives each an even share of what is left, so one hung endpoint cannot starve the rest")
	fs.DurationVar(&o.Deadline, "deadline", 2*time.Minute, "time limit for the whole run")
	fs.Var(&maxBytes, "max-bytes", "total bytes of file content in the bundle (suffixes Ki, Mi, Gi)")
	fs.Var(&minFree, "min-free", "free space the output file system must have before writing")
	fs.StringVar(&o.SpoolDir, "spool-dir", "", "directory for temporary spool files (default: the output's directory; with -o -, $TMPDIR)")
	fs.BoolVar(&o.NoProc, "no-proc", false, "do not collect per-process files")
	fs.BoolVar(&o.NoRedact, "no-redact", false, "do not redact secrets (the bundle may then hold tokens and passwords)")
	fs.DurationVar(&o.Watch, "watch", 0, "watch mode: after a first snapshot, sample every --every for this long (or until SIGINT), then take a final snapshot; samples go to series/ (docs/series.md)")
	fs.DurationVar(&o.Every, "every", 15*time.Second, "sampling interval in --watch mode")
	fs.BoolVar(&o.DryRun, "dry-run", false, "print what would be read and an estimated size; write nothing")
	fs.BoolVar(&verbose, "v", false, "debug logging")
	fs.BoolVar(&showVersion, "version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (see --help)", fs.Arg(0))
	}
	if showVersion {
		fmt.Fprintln(stderr, "memsnap-collect", version)
		return nil, flag.ErrHelp
	}
	if o.Timeout <= 0 || o.Deadline <= 0 || o.Since <= 0 {
		return nil, errors.New("--timeout, --deadline and --since must be positive")
	}
	if o.Watch < 0 || (o.Watch > 0 && (o.Every <= 0 || o.Every > o.Watch)) {
		return nil, errors.New("--watch must be positive and --every between 1ms and --watch")
	}
	if fi, err := os.Stat(o.HostRoot); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("--host-root %s: not a directory", o.HostRoot)
	}
	o.MaxBytes, o.MinFree = int64(maxBytes), int64(minFree)
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	o.Log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	return o, nil
}

// sizeFlag parses 1073741824, 512Mi, 1Gi, 100M.
type sizeFlag int64

func (s *sizeFlag) String() string { return strconv.FormatInt(int64(*s), 10) }

func (s *sizeFlag) Set(v string) error {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"K", 1e3}, {"M", 1e6}, {"G", 1e9}} {
		if n, ok := strings.CutSuffix(v, u.suffix); ok {
			v, mult = n, u.mult
			break
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("invalid size %q", v)
	}
	*s = sizeFlag(n * mult)
	return nil
}

func isTTY(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
