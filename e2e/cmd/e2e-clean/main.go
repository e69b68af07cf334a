// Command e2e-clean removes what interrupted e2e runs left behind (make
// e2e-clean): cgroups and run directories of memsnap-e2e-<pid> runs whose
// process is gone. Processes, mounts and namespaces die with a run's PID
// and mount namespaces (testbed.Main), so there is nothing else to find.
package main

import (
	"fmt"
	"os"

	"github.com/memsnap/memsnap/e2e/testbed"
)

func main() {
	parents := os.Args[1:]
	if d := os.Getenv("MEMSNAP_E2E_DIR"); d != "" && len(parents) == 0 {
		parents = []string{d}
	}
	if err := testbed.CleanStale(os.Stdout, parents...); err != nil {
		fmt.Fprintln(os.Stderr, "e2e-clean:", err)
		os.Exit(1)
	}
}
