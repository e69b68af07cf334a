package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"sync"

	"github.com/memsnap/memsnap/bundle"
)

// source is one kind of evidence, in its own file (node_exporter's habit).
// run returns an error only when the source as a whole failed; partial
// problems go to sink.fail, deliberate omissions to sink.skip.
type source struct {
	name  string
	paths []string
	run   func(ctx context.Context, c *collection, s *sink) error
}

// sources run in this order: local files first (fast, and what every rule
// needs), the network last (slow, and the kubelet may be the sick party).
var sources = []source{
	{bundle.SourceNode, []string{"node/"}, collectNode},
	{bundle.SourceCgroup, []string{bundle.CgroupDir}, collectCgroup},
	{bundle.SourceLogs, []string{bundle.KernelLog, bundle.PodsIndex}, collectLogs},
	{bundle.SourceProc, []string{bundle.ProcDir}, collectProc},
	{bundle.SourceVolumes, []string{bundle.TmpfsVolumes}, collectVolumes},
	{bundle.SourceSystemd, []string{bundle.SystemdDir}, collectSystemd},
	{bundle.SourceKubelet, []string{"kubelet/"}, collectKubelet},
	{bundle.SourceKube, []string{"kube/"}, collectKube},
	{bundle.SourceCadvisor, []string{"cadvisor/"}, collectCadvisor},
	{bundle.SourcePprof, []string{bundle.PprofDir}, collectPprof},
}

// dryRun records what a run would read instead of writing it.
type dryRun struct {
	mu      sync.Mutex
	files   map[string]int
	bytes   map[string]int64
	actions []string
}

func (d *dryRun) file(src, name string, n int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.files == nil {
		d.files, d.bytes = map[string]int{}, map[string]int64{}
	}
	d.files[src]++
	d.bytes[src] += n
}

// action records a network request or command that --dry-run does not make.
func (d *dryRun) action(src, format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.actions = append(d.actions, src+": would "+fmt.Sprintf(format, args...))
}

func (d *dryRun) print(w io.Writer, m *bundle.Manifest) {
	var total int64
	fmt.Fprintln(w, "memsnap-collect --dry-run: nothing was written")
	for _, s := range m.Sources {
		fmt.Fprintf(w, "  %-8s %-8s %6d files %12d bytes  %s\n", s.Name, s.Status, s.Files, s.Bytes, s.Error)
		total += s.Bytes
	}
	sort.Strings(d.actions)
	for _, a := range d.actions {
		fmt.Fprintln(w, "  "+a)
	}
	// Text compresses about 5:1 with gzip -6; network answers are not counted.
	fmt.Fprintf(w, "estimated bundle size: %d bytes of files, about %d bytes compressed, plus network answers\n", total, total/5)
}
