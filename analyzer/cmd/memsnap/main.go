// Command memsnap analyses memsnap bundles offline and writes reports.
package main

import (
	"context"
	"os"
	"runtime/debug"
)

// version is stamped by the Makefile (-ldflags "-X main.version=…").
var version = "dev"

// defaultMemoryLimit is the Go runtime's soft memory limit when GOMEMLIMIT
// is not set. With the default GOGC the heap grows to twice what is live
// between collections; analysing many bundles, the live set is the bundles
// in flight (--jobs) plus the growing document, and doubling it is what
// pushed 100 nodes of 250 pods to 456 MB. With this limit the same run peaks
// at 370 MB for the same CPU time (docs/performance.md, issue #17). It is a
// soft limit: a run whose live heap is larger still completes, with more
// frequent collections (the runtime caps their CPU share).
const defaultMemoryLimit = 350 << 20

func main() {
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	os.Exit(run(context.Background(), os.Args[1:], Streams{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}))
}
