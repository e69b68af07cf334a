package lab

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/memsnap/memsnap/bundle"
	"github.com/memsnap/memsnap/lab/internal/labfs"
)

// The trimmed export (make samples-from-lab). A lab bundle is a real
// collection of the machine the lab ran on: on a shared host its cgroup/,
// proc/ and kernel log also describe other people's processes and other
// runs' OOM kills. The committed samples/lab-<scenario>/ keep only the
// lab's own evidence, in a bundle the analyzer reads exactly like the
// original (DESIGN §2 paths, a manifest that matches every file).

// exportScope is what belongs to one lab run.
type exportScope struct {
	// Root is the lab root cgroup, relative to the memory mount
	// ("/<own cgroup>/memsnap-lab-<random>"): the lab created it and
	// everything below it, kubepods.slice included.
	Root string
	// Dir is the lab's private directory: mounts below it are the lab's
	// (its --host-root binds and tmpfs emptyDirs).
	Dir string
	// PIDs are the processes the lab started.
	PIDs map[int]bool
	// Started is when the lab was opened; nothing of this run is older.
	Started time.Time
}

// exportScope describes this lab for the export.
func (l *Lab) exportScope() exportScope {
	l.mu.Lock()
	defer l.mu.Unlock()
	pids := map[int]bool{}
	for _, p := range l.procs {
		pids[p.PID] = true
	}
	return exportScope{Root: l.Root, Dir: l.Dir, PIDs: pids, Started: l.Started}
}

// ownsCgroup reports whether cg (relative to the memory mount) is the lab
// root or below it.
func (sc exportScope) ownsCgroup(cg string) bool {
	return cg == sc.Root || strings.HasPrefix(cg, sc.Root+"/")
}

// trimStats counts what the export dropped, for the test log and review.
type trimStats struct {
	FilesBefore, FilesAfter           int
	CgroupDirsBefore, CgroupDirsAfter int
	PIDsBefore, PIDsAfter             int
	LogLinesBefore, LogLinesAfter     int
	OOMReportsKept, OOMReportsDropped int
	MountsBefore, MountsAfter         int
}

func (s trimStats) String() string {
	return fmt.Sprintf("files %d → %d; cgroup dirs with files %d → %d; processes %d → %d; kernel.log lines %d → %d (OOM reports kept %d, dropped %d); mountinfo lines %d → %d",
		s.FilesBefore, s.FilesAfter, s.CgroupDirsBefore, s.CgroupDirsAfter, s.PIDsBefore, s.PIDsAfter,
		s.LogLinesBefore, s.LogLinesAfter, s.OOMReportsKept, s.OOMReportsDropped, s.MountsBefore, s.MountsAfter)
}

// maxExportFile bounds one file read for the export; a lab bundle's
// largest file is the kernel log tail (the collector caps it at 16 MiB).
const maxExportFile = 64 << 20

// trimBundle returns the files of the trimmed export of v, manifest.json
// rewritten to describe them. m is v's manifest.
func trimBundle(v bundle.View, m *bundle.Manifest, sc exportScope) (map[string][]byte, trimStats, error) {
	var st trimStats
	if m == nil {
		return nil, st, fmt.Errorf("bundle has no manifest: the export rewrites it and needs the original")
	}
	if sc.Root == "" || sc.Root == "/" || !strings.HasPrefix(sc.Root, "/") {
		return nil, st, fmt.Errorf("lab root cgroup %q: want an absolute path below the mount root", sc.Root)
	}
	read := func(p string) ([]byte, error) {
		b, cut, err := bundle.ReadFile(v, p, maxExportFile)
		if err == nil && cut {
			err = fmt.Errorf("larger than %d bytes", maxExportFile)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		return b, nil
	}
	keepPID, err := procsToKeep(v, read, sc, &st)
	if err != nil {
		return nil, st, err
	}
	out := map[string][]byte{}
	cgDirsBefore, cgDirsAfter := map[string]bool{}, map[string]bool{}
	for _, p := range v.List("") {
		if p == bundle.ManifestPath {
			continue
		}
		st.FilesBefore++
		keep := true
		switch {
		case strings.HasPrefix(p, bundle.CgroupDir):
			dir, base := path.Split(strings.TrimPrefix(p, bundle.CgroupDir))
			cg := "/" + strings.TrimSuffix(dir, "/")
			cgDirsBefore[cg] = true
			keep = keepCgroupFile(sc, cg, base)
			if keep {
				cgDirsAfter[cg] = true
			}
		case strings.HasPrefix(p, bundle.SeriesFirstDir+bundle.CgroupDir):
			// The watch's first snapshot: the same rule as the final one.
			dir, base := path.Split(strings.TrimPrefix(p, bundle.SeriesFirstDir+bundle.CgroupDir))
			keep = keepCgroupFile(sc, "/"+strings.TrimSuffix(dir, "/"), base)
		case strings.HasPrefix(p, bundle.ProcDir):
			pidStr, _, _ := strings.Cut(strings.TrimPrefix(p, bundle.ProcDir), "/")
			pid, err := strconv.Atoi(pidStr)
			keep = err == nil && keepPID[pid]
		}
		if !keep {
			continue
		}
		b, err := read(p)
		if err != nil {
			return nil, st, err
		}
		switch p {
		case bundle.KernelLog:
			b = trimKernelLog(b, sc, kernelLogClock(v, m), &st)
		case bundle.NodeMountinfo:
			b = trimMountinfo(b, sc, &st)
		case bundle.NodeCmdline:
			b = kernelCmdline(b)
		case bundle.SeriesCgroups, bundle.SeriesEvents:
			if b, err = trimSeries(b, sc); err != nil {
				return nil, st, fmt.Errorf("%s: %w", p, err)
			}
		}
		out[p] = b
	}
	st.CgroupDirsBefore, st.CgroupDirsAfter = len(cgDirsBefore), len(cgDirsAfter)
	st.FilesAfter = len(out)
	man, err := json.MarshalIndent(trimmedManifest(m, out, sc, st), "", "  ")
	if err != nil {
		return nil, st, err
	}
	out[bundle.ManifestPath] = append(man, '\n')
	return out, st, nil
}

// keepCgroupFile decides for one file of cgroup/<cg>/<base>. The lab's
// subtree is kept whole. The root cgroup's memory files are the node's own
// numbers (the kubelet's memory.available is MemTotal − root working set)
// and say no more about the host than node/meminfo, which stays; its
// cgroup.procs lists every process in the root cgroup and goes. The
// cgroups between the root and the lab root (this sandbox's session
// cgroups, whose totals and cgroup.procs are other people's work) keep no
// file: no rule reads them, and the analyzer's tree stays connected
// through file-less directories (cgroup.Load), so the nested kubepods
// root is found at the same path.
func keepCgroupFile(sc exportScope, cg, base string) bool {
	switch {
	case sc.ownsCgroup(cg):
		return true
	case cg == "/":
		return base != "cgroup.procs" && base != "tasks"
	}
	return false
}

// procsToKeep picks the processes whose proc/<pid>/ stays: those whose
// memory cgroup is in the lab subtree (the collector takes every process
// under a kubepods root, and another run's nested kubepods is one too),
// those the lab started, and those a kept heap profile names by pid
// (heap-profile-top reads the target's RSS from proc/<pid>/status).
// Node agents of the host (a real kubelet or containerd) are not the lab's
// and go: the lab's kubelet is its own httptest server.
func procsToKeep(v bundle.View, read func(string) ([]byte, error), sc exportScope, st *trimStats) (map[int]bool, error) {
	keep := map[int]bool{}
	for pid := range sc.PIDs {
		keep[pid] = true
	}
	for _, p := range v.List(bundle.PprofDir) {
		dir, base := path.Split(p)
		if base != bundle.PprofTargetFile || !bundle.Exists(v, dir+bundle.PprofHeapFile) {
			continue
		}
		b, err := read(p)
		if err != nil {
			return nil, err
		}
		var target struct {
			PID int `json:"pid"`
		}
		if json.Unmarshal(b, &target) == nil && target.PID > 0 {
			keep[target.PID] = true
		}
	}
	seen := map[int]bool{}
	for _, p := range v.List(bundle.ProcDir) {
		pidStr, file, _ := strings.Cut(strings.TrimPrefix(p, bundle.ProcDir), "/")
		pid, err := strconv.Atoi(pidStr)
		if err != nil {
			continue
		}
		seen[pid] = true
		if file != "cgroup" {
			continue
		}
		b, err := read(p)
		if err != nil {
			return nil, err
		}
		pc, err := labfs.ParseProcCgroup(p, bytes.NewReader(b))
		if err != nil {
			continue // unreadable membership: not provably the lab's
		}
		cg, ok := pc.V1Memory, pc.HasV1Memory
		if !ok {
			cg, ok = pc.V2, pc.HasV2
		}
		if ok && sc.ownsCgroup(cg) {
			keep[pid] = true
		}
	}
	st.PIDsBefore = len(seen)
	for pid := range seen {
		if keep[pid] {
			st.PIDsAfter++
		}
	}
	return keep, nil
}

// trimMountinfo keeps the mounts that explain this bundle: "/" (the disk
// under the page-cache scenario's log file), /proc, /sys and the cgroup
// mounts (which hierarchy carries memory: the manifest's cgroup_mode), and
// the lab's own mounts below its directory (the --host-root binds and the
// tmpfs emptyDirs the collector lists in volumes/tmpfs.tsv). The rest is
// this sandbox's plumbing and other runs' lab mounts; the analyzer does not
// read node/mountinfo at all, so nothing it reports changes.
func trimMountinfo(b []byte, sc exportScope, st *trimStats) []byte {
	var out bytes.Buffer
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		st.MountsBefore++
		ms, err := labfs.ParseMountinfo(bundle.NodeMountinfo, strings.NewReader(line))
		if err != nil || len(ms) != 1 {
			continue
		}
		p := ms[0].Point
		if p == "/" || p == "/proc" || p == "/sys" || p == "/sys/fs/cgroup" || strings.HasPrefix(p, "/sys/fs/cgroup/") ||
			strings.HasPrefix(p, sc.Dir+"/") {
			out.WriteString(line)
			st.MountsAfter++
		}
	}
	return out.Bytes()
}

// kernelCmdline keeps the kernel's parameters and drops what follows
// " -- ": those words are passed to init (on this sandbox, its control
// process's listen addresses and flags), not to the kernel, and no memsnap
// rule reads them.
func kernelCmdline(b []byte) []byte {
	s := strings.TrimRight(string(b), "\n")
	if k, _, ok := strings.Cut(s, " -- "); ok {
		return []byte(k + "\n")
	}
	return b
}

// trimmedManifest is m describing the files that remain: every file with
// its size and sha256 in the original order, each source's file and byte
// counts recounted over its paths, redactions of dropped files removed, and
// a warning saying the bundle was trimmed — an existing manifest field
// (memsnap inspect prints warnings), so no reader needs to learn a new one.
func trimmedManifest(m *bundle.Manifest, files map[string][]byte, sc exportScope, st trimStats) *bundle.Manifest {
	nm := *m
	nm.Files = nil
	listed := map[string]bool{}
	entry := func(p string) bundle.FileEntry {
		sum := sha256.Sum256(files[p])
		return bundle.FileEntry{Path: p, Bytes: int64(len(files[p])), SHA256: hex.EncodeToString(sum[:])}
	}
	for _, f := range m.Files {
		if _, ok := files[f.Path]; ok && !listed[f.Path] {
			nm.Files = append(nm.Files, entry(f.Path))
			listed[f.Path] = true
		}
	}
	var extra []string
	for p := range files {
		if !listed[p] && p != bundle.ManifestPath {
			extra = append(extra, p)
		}
	}
	sort.Strings(extra)
	for _, p := range extra {
		nm.Files = append(nm.Files, entry(p))
	}
	nm.Sources = make([]bundle.Source, len(m.Sources))
	for i, s := range m.Sources {
		s.Paths = slices.Clone(s.Paths)
		s.Files, s.Bytes = 0, 0
		for p, b := range files {
			if p != bundle.ManifestPath && underAny(p, s.Paths) {
				s.Files++
				s.Bytes += int64(len(b))
			}
		}
		nm.Sources[i] = s
	}
	nm.Redactions = nil
	for _, r := range m.Redactions {
		if _, ok := files[r.Path]; ok {
			nm.Redactions = append(nm.Redactions, r)
		}
	}
	if nm.Redactions == nil {
		nm.Redactions = []bundle.Redaction{}
	}
	nm.Warnings = append(slices.Clone(m.Warnings), fmt.Sprintf(
		"trimmed by the memsnap scenario lab's sample export (lab/export.go, make samples-from-lab): %d of %d files kept. "+
			"cgroup/ holds the lab subtree %s and the root cgroup's memory files; proc/ the lab's processes; "+
			"logs/kernel.log the lines from %s on, without OOM reports of cgroups outside the lab subtree; "+
			"node/mountinfo the root, /proc, /sys, cgroup and lab mounts; node/cmdline the kernel's parameters. "+
			"files and sources[].files/bytes describe what is left",
		st.FilesAfter, st.FilesBefore, sc.Root, sc.Started.UTC().Format(time.RFC3339)))
	return &nm
}

// underAny reports whether a bundle path belongs to one of a source's
// paths ("cgroup/" is a directory, "logs/kernel.log" a file).
func underAny(p string, paths []string) bool {
	for _, sp := range paths {
		if p == sp || (strings.HasSuffix(sp, "/") && strings.HasPrefix(p, sp)) {
			return true
		}
	}
	return false
}

// writeSample writes files as a directory bundle at dst, replacing what
// was there.
func writeSample(dst string, files map[string][]byte) error {
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if strings.Contains(name, "..") || path.IsAbs(name) {
			return fmt.Errorf("bundle entry %q: refusing to write it", name)
		}
		p := filepath.Join(dst, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, files[name], 0o644); err != nil {
			return err
		}
	}
	return nil
}

// trimSeries keeps the rows of a watch series file (docs/series.md) whose
// cgroup is the root or in the lab's subtree, by the same rule as
// keepCgroupFile.
func trimSeries(gz []byte, sc exportScope) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	col := -1
	for i, line := range strings.SplitAfter(string(raw), "\n") {
		if line == "" {
			continue
		}
		cells := strings.Split(strings.TrimSuffix(line, "\n"), "\t")
		if i == 0 {
			for j, c := range cells {
				if c == "cgroup" {
					col = j
				}
			}
			if col < 0 {
				return nil, fmt.Errorf("no cgroup column")
			}
			zw.Write([]byte(line))
			continue
		}
		if col >= len(cells) {
			continue
		}
		cg := cells[col]
		if u, err := strconv.Unquote(cg); err == nil {
			cg = u
		}
		if cg == "/" || sc.ownsCgroup(cg) {
			zw.Write([]byte(line))
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
