package plugin

import (
	"embed"
	"fmt"
	"io/fs"
)

// The static collectors for the node architectures the plugin supports are
// embedded, so node mode needs no image of ours: any image with /bin/sh
// receives the collector over exec stdin (issue #14). The Makefile builds them
// into collectors/ before the plugin; README.md keeps the pattern non-empty
// for a plain `go build ./...`.
//
//go:embed collectors
var embedded embed.FS

// Collectors yields the collector binary for a node's architecture
// (the Node's status.nodeInfo.architecture: "amd64", "arm64").
type Collectors interface {
	Collector(arch string) ([]byte, error)
}

// EmbeddedCollectors are the ones built into this binary.
type EmbeddedCollectors struct{}

// Collector returns the embedded memsnap-collect for linux/arch.
func (EmbeddedCollectors) Collector(arch string) ([]byte, error) {
	b, err := fs.ReadFile(embedded, "collectors/memsnap-collect-linux-"+arch)
	if err != nil {
		return nil, fmt.Errorf("this kubectl-memsnap has no collector for linux/%s embedded (build it with make build)", arch)
	}
	return b, nil
}

// CollectorMap serves collectors from memory (tests, --collector FILE).
type CollectorMap map[string][]byte

// Collector returns the binary for arch.
func (m CollectorMap) Collector(arch string) ([]byte, error) {
	if b, ok := m[arch]; ok {
		return b, nil
	}
	return nil, fmt.Errorf("no collector for linux/%s", arch)
}
