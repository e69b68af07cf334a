// Command memsnap analyses memsnap bundles offline and writes reports.
package main

import (
	"context"
	"os"
)

// version is stamped by the Makefile (-ldflags "-X main.version=…").
var version = "dev"

func main() {
	os.Exit(run(context.Background(), os.Args[1:], Streams{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}))
}
