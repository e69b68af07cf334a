package cgroup

import (
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"github.com/memsnap/memsnap/bundle"
)

// Files Load knows (DESIGN §2). Only these are opened; everything else under
// cgroup/ (memory.numa_stat, kmem.slabinfo, ...) is left unread.
var (
	commonFiles = []string{"memory.stat", "cgroup.procs"}
	v1Files     = []string{
		"memory.usage_in_bytes", "memory.limit_in_bytes", "memory.soft_limit_in_bytes",
		"memory.failcnt", "memory.max_usage_in_bytes", "memory.oom_control",
		"memory.memsw.usage_in_bytes", "memory.memsw.limit_in_bytes",
		"memory.memsw.max_usage_in_bytes", "memory.memsw.failcnt", "memory.kmem.usage_in_bytes",
		"memory.kmem.limit_in_bytes", "memory.kmem.failcnt",
	}
	v2Files = []string{
		"memory.current", "memory.max", "memory.high", "memory.min", "memory.low",
		"memory.events", "memory.events.local", "memory.peak", "memory.pressure",
		"memory.swap.current", "memory.swap.max", "memory.swap.events", "cgroup.stat",
	}
)

// maxFileBytes bounds what Load reads of one file. memory.stat is ~2 KiB; the
// largest legitimate file is cgroup.procs of a cgroup with many processes.
const maxFileBytes = 8 << 20

// rawCgroup is what the files of one directory said, before normalisation.
type rawCgroup struct {
	dir    string   // "cgroup/kubepods/"
	files  []string // base names present and known
	single map[string]singleValue
	keyed  map[string]map[string]int64 // memory.stat, memory.events, ...
	psi    *PSI
	procs  []int
	hasPID bool
}

type singleValue struct {
	n     int64
	isMax bool
}

// Load reads the memory files of every cgroup under cgroup/ once and builds
// the tree. version is the hierarchy's cgroup version from the manifest (1 or
// 2), or 0 to detect it from the file names (memory.current, memory.max, ...
// are v2; memory.usage_in_bytes, memory.limit_in_bytes, ... v1) and, failing
// that, from memory.stat keys. Unreadable files and lines become Problems;
// the rest of the tree still loads.
func Load(v bundle.View, version int) (*Tree, []Problem) { return LoadCited(v, version, nil) }

// LoadCited is Load with every Value citing cite(bundle path) instead of the
// bundle path, and single-value files keyed by their name: pasted cgroup
// files (see SplitPasted) are put in a view under made-up cgroup/ paths and
// cite the loose file they were pasted in. cite nil is Load.
func LoadCited(v bundle.View, version int, cite func(string) string) (*Tree, []Problem) {
	var probs []Problem
	raws := map[string]*rawCgroup{}
	votes := [3]int{}
	for _, p := range v.List(bundle.CgroupDir) {
		dir, base := path.Split(strings.TrimPrefix(p, bundle.CgroupDir))
		fileVersion, known := knownFile(base)
		if !known {
			continue
		}
		cgPath := "/" + strings.TrimSuffix(dir, "/")
		if path.Clean(cgPath) != cgPath {
			probs = append(probs, Problem{File: p, Message: "unusual cgroup path; file skipped"})
			continue
		}
		rc := raws[cgPath]
		if rc == nil {
			rc = &rawCgroup{dir: bundle.CgroupDir + dir}
			raws[cgPath] = rc
		}
		rc.files = append(rc.files, base)
		votes[fileVersion]++
	}

	version, vp := chooseVersion(version, votes)
	probs = append(probs, vp...)
	for _, cg := range sortedKeys(raws) {
		rc := raws[cg]
		rc.files = slices.DeleteFunc(rc.files, func(base string) bool {
			fv, _ := knownFile(base)
			return version != 0 && fv != 0 && fv != version
		})
		for _, base := range rc.files {
			probs = append(probs, rc.read(v, base)...)
		}
	}
	if version == 0 {
		version = versionFromStat(raws)
	}

	t := &Tree{Version: version, Nodes: map[string]*Node{}}
	t.Root = t.node("/")
	for cg, rc := range raws {
		n := t.node(cg)
		n.Files = rc.files
		normalise(v, n, rc, version, cite)
	}
	for _, n := range t.Nodes {
		slices.SortFunc(n.Children, func(a, b *Node) int { return strings.Compare(a.Path, b.Path) })
	}
	return t, probs
}

// node returns the node for a cgroup path, creating it and any missing
// ancestors so the tree stays connected through directories without files.
func (t *Tree) node(p string) *Node {
	if n, ok := t.Nodes[p]; ok {
		return n
	}
	n := &Node{Path: p, Dir: bundle.CgroupDir, version: t.Version}
	if p != "/" {
		n.Dir = bundle.CgroupDir + strings.TrimPrefix(p, "/") + "/"
		n.Parent = t.node(path.Dir(p))
		n.Parent.Children = append(n.Parent.Children, n)
	}
	t.Nodes[p] = n
	return n
}

// knownFile reports whether Load reads base and which version it belongs to
// (0 = both).
func knownFile(base string) (version int, ok bool) {
	switch {
	case slices.Contains(commonFiles, base):
		return 0, true
	case slices.Contains(v1Files, base):
		return 1, true
	case slices.Contains(v2Files, base):
		return 2, true
	}
	return 0, false
}

// chooseVersion keeps the caller's version unless the bundle holds no file of
// it and some of the other: a hand-made or mislabelled bundle is then read
// as what its files are, and the report says so.
func chooseVersion(requested int, votes [3]int) (int, []Problem) {
	detected := 0
	switch {
	case votes[1] > 0 && votes[2] > 0:
		detected = 1
		if votes[2] > votes[1] {
			detected = 2
		}
	case votes[1] > 0:
		detected = 1
	case votes[2] > 0:
		detected = 2
	}
	var probs []Problem
	if votes[1] > 0 && votes[2] > 0 {
		probs = append(probs, Problem{File: bundle.CgroupDir, Message: fmt.Sprintf(
			"both v1 (%d) and v2 (%d) memory files present; reading as v%d", votes[1], votes[2], detected)})
	}
	if requested != 1 && requested != 2 {
		return detected, probs
	}
	if votes[requested] == 0 && detected != 0 && detected != requested {
		probs = append(probs, Problem{File: bundle.CgroupDir, Message: fmt.Sprintf(
			"manifest says cgroup v%d but the files are v%d; reading them as v%d", requested, detected, detected)})
		return detected, probs
	}
	return requested, probs
}

// versionFromStat tells v1 from v2 by memory.stat keys when only memory.stat
// and cgroup.procs are present: v1 has total_* keys, v2 has "anon".
func versionFromStat(raws map[string]*rawCgroup) int {
	for _, cg := range sortedKeys(raws) {
		st := raws[cg].keyed["memory.stat"]
		if _, ok := st["total_rss"]; ok {
			return 1
		}
		if _, ok := st["total_cache"]; ok {
			return 1
		}
		if _, ok := st["anon"]; ok {
			return 2
		}
	}
	return 0
}

// read opens one file, parses it by name and stores the result in rc.
func (rc *rawCgroup) read(v bundle.View, base string) []Problem {
	name := rc.dir + base
	f, err := v.Open(name)
	if err != nil {
		return []Problem{{File: name, Message: "open: " + err.Error()}}
	}
	defer f.Close()
	lr := &io.LimitedReader{R: f, N: maxFileBytes}
	var probs []Problem
	switch base {
	case "memory.stat":
		m, ps := ParseStat(lr, name)
		rc.setKeyed(base, m)
		probs = ps
	case "memory.oom_control", "memory.events", "memory.events.local", "memory.swap.events", "cgroup.stat":
		m, ps := ParseFlatKeyed(lr, name)
		rc.setKeyed(base, m)
		probs = ps
	case "memory.pressure":
		p, err := ParsePSI(lr, name)
		if err != nil {
			probs = append(probs, asProblem(err, name))
		}
		rc.psi = p
	case "cgroup.procs":
		rc.procs, probs = ParseProcs(lr, name)
		rc.hasPID = true
	default:
		n, isMax, err := ParseSingle(lr, name)
		if err != nil {
			probs = append(probs, asProblem(err, name))
			break
		}
		if rc.single == nil {
			rc.single = map[string]singleValue{}
		}
		rc.single[base] = singleValue{n: n, isMax: isMax}
	}
	if lr.N == 0 {
		if k, _ := f.Read(make([]byte, 1)); k > 0 {
			probs = append(probs, Problem{File: name, Message: fmt.Sprintf("larger than %d bytes; only the start was read", maxFileBytes)})
		}
	}
	return probs
}

func (rc *rawCgroup) setKeyed(base string, m map[string]int64) {
	if rc.keyed == nil {
		rc.keyed = map[string]map[string]int64{}
	}
	rc.keyed[base] = m
}

func asProblem(err error, file string) Problem {
	var p Problem
	if errors.As(err, &p) {
		return p
	}
	return Problem{File: file, Message: err.Error()}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
