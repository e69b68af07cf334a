// Command kubectl-memsnap is the kubectl plugin `kubectl memsnap` (issue
// #14): it collects memory evidence from the nodes that matter — through a
// short-lived privileged pod per node running the embedded collector, or
// through the API server alone — and analyses the bundles into one cluster
// report. It lives below analyzer/ so --analyze runs the analyzer in
// process; it is the only program of the product that links client-go.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// version is stamped by the Makefile (-ldflags "-X main.version=…").
var version = "dev"

// memoryLimit is the Go runtime's soft memory limit unless GOMEMLIMIT says
// otherwise. A run streams every answer to disk and bounds what its HTTP/2
// connection buffers (plugin/transport.go), so 20–30 MiB is live at 100 nodes
// × 50 pods and --parallel 10; with the default GOGC the heap would grow to
// twice that between collections (docs/plugin.md, Figures).
const memoryLimit = 32 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		s := <-sig
		// The run stops, deletes every pod it created and writes what it
		// collected; a second signal exits at once.
		os.Stderr.WriteString("\nkubectl-memsnap: " + s.String() + ": stopping, deleting the pods this run created\n")
		cancel(errInterrupted{s})
		<-sig
		os.Exit(130)
	}()
	os.Exit(run(ctx, os.Args[1:], streams{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}))
}

type errInterrupted struct{ s os.Signal }

func (e errInterrupted) Error() string { return "interrupted by " + e.s.String() }
