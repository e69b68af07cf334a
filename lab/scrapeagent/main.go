// Command scrapeagent reproduces the shape of seed 004's incident: a
// monitoring agent whose /metrics handler allocates a full per-container
// snapshot and walks container directories slowly on every request, with
// no in-flight limit, so concurrent Prometheus scrapes pile up in memory.
// It exposes net/http/pprof so its real heap profile can back sample 004
// (samples/scripts/make-sample-004.sh) and the scenario lab.
//
// It listens on 127.0.0.1 by default and only ever reads -root.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "listen address (keep it on loopback)")
	root := flag.String("root", "", "host root to walk for disk usage: <root>/DATA/docker/{overlay2/<id>/diff,containers/<id>}")
	scanDelay := flag.Duration("scan-delay", 2*time.Millisecond, "pause per directory entry walked (an IO-throttled du)")
	containers := flag.Int("containers", 150, "containers reported per scrape")
	history := flag.Int("history", 60, "stats samples kept per container")
	logPID := flag.Int("log-pid", os.Getpid(), "thread id printed in log lines (cAdvisor in a pod is pid 1)")
	addrFile := flag.String("addr-file", "", "write the bound address here once listening (for scripts using port 0)")
	logClock := flag.String("log-clock", "", "RFC 3339 time the log clock starts at (durations stay measured); default now")
	flag.Parse()
	if *root == "" {
		fmt.Fprintln(os.Stderr, "scrapeagent: -root is required")
		os.Exit(2)
	}
	a := newAgent(config{root: *root, scanDelay: *scanDelay, containers: *containers, history: *history, logPID: *logPID}, os.Stderr)
	if *logClock != "" {
		// A sample bundle needs log stamps on its own timeline; only the
		// origin moves, every duration is still measured.
		origin, err := time.Parse(time.RFC3339, *logClock)
		if err != nil {
			fmt.Fprintf(os.Stderr, "scrapeagent: -log-clock: %v\n", err)
			os.Exit(2)
		}
		started := time.Now()
		a.now = func() time.Time { return origin.Add(time.Since(started)) }
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("scrapeagent: %v", err)
	}
	if *addrFile != "" {
		if err := os.WriteFile(*addrFile, []byte(ln.Addr().String()), 0o644); err != nil {
			log.Fatalf("scrapeagent: %v", err)
		}
	}
	a.logf("manager.go:192", "Starting scrape agent on %s with %d containers, %d container dirs below %s", ln.Addr(), *containers, len(a.dirs), a.displayPath(*root))
	srv := &http.Server{Handler: a.handler(), ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.Serve(ln))
}
