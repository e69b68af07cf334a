package snapshot

import (
	"errors"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/memsnap/memsnap/analyzer/internal/cgroup"
	"github.com/memsnap/memsnap/analyzer/internal/meminfo"
	"github.com/memsnap/memsnap/analyzer/internal/procfs"
	"github.com/memsnap/memsnap/bundle"
)

// Input is an opened bundle: a view plus its manifest (nil when missing).
type Input interface {
	bundle.View
	Manifest() *bundle.Manifest
}

// Options say where the bundle sits in the report.
type Options struct {
	Index  int
	Source string
}

// Build parses everything the bundle holds. It never fails: what cannot be
// read becomes a problem naming the file, and the rest is still analysed.
func Build(in Input, opts Options) *Snapshot {
	s := &Snapshot{Index: opts.Index, Source: opts.Source, View: in, Manifest: in.Manifest()}
	s.buildNode()
	s.buildCgroups()
	s.buildKube()
	s.buildKubeObjects()
	s.buildPods()
	s.buildPasted()
	s.buildProcs()
	s.buildOOM()
	s.buildLogs()
	s.buildHeaps()
	s.buildMetrics()
	s.buildReported()
	s.attachHeaps()
	s.buildNodeMemory()
	s.buildCatalogue2()
	s.buildSeries()
	s.NodeName = s.nodeName()
	s.NodeNameKnown = s.NodeName != s.sourceBase()
	return s
}

// open returns a reader for path, or nil when the file is absent. Other errors
// are recorded as problems.
func (s *Snapshot) open(p string) io.ReadCloser {
	rc, err := s.View.Open(p)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			s.Problemf("%s: %v", p, err)
		}
		return nil
	}
	return rc
}

// parse opens p and runs fn over it; it reports whether the file existed.
func (s *Snapshot) parse(p string, fn func(io.Reader) error) bool {
	rc := s.open(p)
	if rc == nil {
		return false
	}
	defer rc.Close()
	if err := fn(rc); err != nil {
		s.Problemf("%s: %v (this file is skipped; other rules still ran)", p, err)
		return false
	}
	return true
}

func (s *Snapshot) buildNode() {
	if m := s.Manifest; m != nil {
		s.Node.Hostname = m.Node.Hostname
		s.Node.Kernel = m.Node.Kernel
		s.Node.CgroupVersion = m.Node.CgroupVersion
		s.Node.CgroupDriver = m.Node.CgroupDriver
		s.Node.PageSize = m.Node.PageSize
		if t, err := time.Parse(time.RFC3339, m.Node.BootTime); err == nil {
			s.Node.BootTime = t
		}
		if t, err := time.Parse(time.RFC3339, m.Created); err == nil {
			s.Node.Created = t
		}
	}
	if s.parse(bundle.NodeMeminfo, func(r io.Reader) error {
		mi, err := meminfo.Parse(r)
		s.Meminfo = mi
		return err
	}) && s.Meminfo != nil && s.Meminfo.MemTotal != nil {
		s.setHas(DataMeminfo)
	}
	if s.Node.BootTime.IsZero() {
		s.parse(bundle.NodeStat, func(r io.Reader) error {
			t, err := procfs.ParseStatBtime(r)
			s.Node.BootTime = t
			return err
		})
	}
	if s.Node.Kernel == "" {
		s.parse(bundle.NodeUname, func(r io.Reader) error {
			b, err := io.ReadAll(io.LimitReader(r, 4096))
			s.Node.Kernel = unameRelease(string(b))
			return err
		})
	}
}

// unameRelease takes the release from `uname -a` / `uname -r` output.
func unameRelease(u string) string {
	f := strings.Fields(u)
	switch {
	case len(f) >= 3 && f[0] == "Linux":
		return f[2]
	case len(f) >= 1:
		return f[0]
	}
	return ""
}

func (s *Snapshot) buildCgroups() {
	if len(s.View.List(bundle.CgroupDir)) == 0 {
		return
	}
	tree, problems := cgroup.Load(s.View, s.Node.CgroupVersion)
	for _, p := range problems {
		s.Problemf("%s", p.Error())
	}
	if tree == nil || len(tree.Nodes) == 0 {
		return
	}
	s.Cgroups = tree
	s.setHas(DataCgroups)
	if s.Node.CgroupVersion == 0 {
		s.Node.CgroupVersion = tree.Version
	}
	s.Kubepods = findKubepods(tree)
}

// nodeName follows DESIGN §4: manifest node_name, else hostname, else the pods'
// spec.nodeName, else the bundle's file name.
func (s *Snapshot) nodeName() string {
	if s.Manifest != nil && s.Manifest.Node.NodeName != "" {
		return s.Manifest.Node.NodeName
	}
	if s.Node.Hostname != "" {
		return s.Node.Hostname
	}
	for _, p := range s.Pods {
		if p.Spec != nil && p.Spec.NodeName != "" {
			return p.Spec.NodeName
		}
	}
	if s.Summary != nil && s.Summary.NodeName != "" {
		return s.Summary.NodeName
	}
	if s.KubeNode != nil && s.KubeNode.Name != "" {
		return s.KubeNode.Name
	}
	if n := s.metricsNodeName(); n != "" {
		return n
	}
	if rc := s.open(bundle.KernelLog); rc != nil {
		h := kernelLogHost(rc)
		rc.Close()
		if h != "" {
			return h
		}
	}
	return s.sourceBase()
}

// sourceBase is the input's file name without its archive suffix: the node
// name when no evidence names the node.
func (s *Snapshot) sourceBase() string {
	base := filepath.Base(s.Source)
	for _, ext := range []string{".tar.gz", ".tgz", ".tar.xz", ".tar.zst", ".tar", ".zip"} {
		base = strings.TrimSuffix(base, ext)
	}
	return path.Clean(base)
}

// IsLoose reports whether the input is loose files (a ticket's attachments)
// rather than a bundle.
func (s *Snapshot) IsLoose() bool {
	li, ok := s.View.(interface{ IsLoose() bool })
	return ok && li.IsLoose()
}
