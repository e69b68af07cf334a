package snapshot

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/memsnap/memsnap/analyzer/internal/cgroup"
	"github.com/memsnap/memsnap/analyzer/internal/podpath"
	"github.com/memsnap/memsnap/bundle"
)

// Pasted cgroup files (loose.CgroupFiles) become cgroup nodes of the pod
// they belong to, so the rules that read memory.stat and the usage files
// (working-set-page-cache, pod-orphaned-memory, tmpfs-memory through shmem)
// decide from a paste as from a bundle, every number citing the pasted file.
//
// Which cgroup a paste is:
//   - a "==> …/kubepods…/pod<uid>…/memory.stat <==" header (run on the node)
//     names the pod, and a container below it, by the path itself (podpath);
//   - a header without a pod in its path (/sys/fs/cgroup/memory/memory.stat,
//     /sys/fs/cgroup/memory.stat) or no header at all is what a shell inside
//     the container sees: the container's own cgroup, mounted at the root of
//     its cgroup namespace (cgroup-v2.rst "Namespace"; on v1 the runtime
//     bind-mounts the container's memcg at /sys/fs/cgroup/memory).
//
// The pod is the one its UID names, else the only pod the evidence holds; the
// container the one its ID names, else the pod's only app container.

// pastedGroup is the files of one cgroup out of one paste.
type pastedGroup struct {
	file  string // the loose file
	dir   string // the header's directory, "" without one
	ref   podpath.Ref
	level podpath.Level // LevelPod or LevelContainer
	files []cgroup.PastedFile
}

// readPasted splits one loose cgroup paste into per-cgroup groups.
func (s *Snapshot) readPasted(r io.Reader, file string) error {
	files, err := cgroup.SplitPasted(r, file)
	if err != nil {
		return err
	}
	byDir := map[string]*pastedGroup{}
	var order []string
	for _, f := range files {
		g := byDir[f.Dir]
		if g == nil {
			g = &pastedGroup{file: file, dir: f.Dir, level: podpath.LevelContainer}
			g.ref = podpath.Parse(cgroupPathOf(f.Dir))
			if g.ref.Level == podpath.LevelPod && g.ref.Child == "" {
				g.level = podpath.LevelPod
			}
			byDir[f.Dir] = g
			order = append(order, f.Dir)
		}
		g.files = append(g.files, f)
	}
	for _, d := range order {
		s.pasted = append(s.pasted, byDir[d])
	}
	return nil
}

// cgroupPathOf strips the cgroupfs mount point from a header directory.
func cgroupPathOf(dir string) string {
	for _, mnt := range []string{"/sys/fs/cgroup/memory", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"} {
		if rest, ok := strings.CutPrefix(dir, mnt); ok && (rest == "" || rest[0] == '/') {
			if rest == "" {
				return "/"
			}
			return rest
		}
	}
	return dir
}

// buildPasted attaches the pasted cgroups to pods and containers, after
// buildPods. A bundle with a cgroup tree of its own keeps it: pastes are
// then listed, not used.
func (s *Snapshot) buildPasted() {
	if len(s.pasted) == 0 {
		return
	}
	if s.Cgroups != nil {
		for _, g := range s.pasted {
			s.Problemf("%s: pasted cgroup files not used: the bundle has its own cgroup tree", g.file)
		}
		return
	}
	type target struct {
		pod        *Pod
		podGroup   *pastedGroup
		containers map[*Container]*pastedGroup
	}
	targets := map[*Pod]*target{}
	var podOrder []*Pod
	for _, g := range s.pasted {
		p := s.pastedPod(g)
		if p == nil {
			continue
		}
		t := targets[p]
		if t == nil {
			t = &target{pod: p, containers: map[*Container]*pastedGroup{}}
			targets[p] = t
			podOrder = append(podOrder, p)
		}
		if g.level == podpath.LevelPod {
			if t.podGroup != nil {
				s.Problemf("%s: a second paste of pod %s's cgroup; %s is used", g.file, p.label(), t.podGroup.file)
				continue
			}
			t.podGroup = g
			continue
		}
		c := s.pastedContainer(p, g)
		if c == nil {
			continue
		}
		if have := t.containers[c]; have != nil {
			s.Problemf("%s: a second paste of container %s's cgroup; %s is used", g.file, c.Name, have.file)
			continue
		}
		t.containers[c] = g
	}
	if len(podOrder) == 0 {
		return // nothing attributable; each paste said why
	}
	// One view holds every pasted file under a made-up cgroup path: the
	// pod's own path when a header gave it, else /pasted/<ns>/<pod>.
	view := bundle.MapView{}
	cites := map[string]string{}
	put := func(cg string, g *pastedGroup) {
		for _, f := range g.files {
			p := bundle.CgroupDir + strings.TrimPrefix(cg, "/") + "/" + f.Base
			view[p], cites[p] = f.Data, g.file
		}
	}
	podPath := map[*Pod]string{}
	childPath := map[*Container]string{}
	for _, p := range podOrder {
		t := targets[p]
		name := p.Name
		if name == "" {
			name = p.UID
		}
		pp := "/pasted/" + safeComponent(p.Namespace) + "/" + safeComponent(name)
		if t.podGroup != nil {
			if cg := cgroupPathOf(t.podGroup.dir); cg != "/" {
				pp = cg
			}
			put(pp, t.podGroup)
		}
		podPath[p] = pp
		for c, g := range t.containers {
			leaf := safeComponent(c.Name)
			if g.ref.Level == podpath.LevelContainer {
				cg := cgroupPathOf(g.dir)
				leaf = cg[strings.LastIndexByte(cg, '/')+1:]
			}
			childPath[c] = pp + "/" + leaf
			put(childPath[c], g)
		}
	}
	tree, probs := cgroup.LoadCited(view, 0, func(p string) string {
		if f, ok := cites[p]; ok {
			return f
		}
		return p
	})
	for _, pr := range probs {
		file := pr.File
		if f, ok := cites[file]; ok {
			file = f
		}
		s.Problemf("%s: %s", file, pr.Message)
	}
	if tree == nil {
		return
	}
	for _, p := range podOrder {
		t := targets[p]
		if t.podGroup != nil {
			p.Cgroup = tree.Nodes[podPath[p]]
			s.markUnpasted(tree, p, t.containers)
		}
		for c := range t.containers {
			c.Cgroup = tree.Nodes[childPath[c]]
		}
	}
	sortPods(s.Pods)
	s.Cgroups, s.CgroupsPasted = tree, true
	if s.Node.CgroupVersion == 0 {
		s.Node.CgroupVersion = tree.Version
	}
	s.setHas(DataCgroups)
}

// markUnpasted adds, below a pasted pod cgroup, an empty node for each app
// container of the pod spec whose cgroup was not pasted: the pod's total
// then has a child whose usage is unknown, and pod − Σ children is no
// measure (pod-orphaned-memory skips such a pod). The pause container is
// not in the spec; its charge is a few hundred KiB, far below what that rule
// reports.
func (s *Snapshot) markUnpasted(tree *cgroup.Tree, p *Pod, pasted map[*Container]*pastedGroup) {
	n := tree.Nodes[s.podCgroupPath(p)]
	if n == nil {
		return
	}
	for _, c := range p.Containers {
		if c.Sandbox || c.Spec == nil || c.Spec.Init || pasted[c] != nil {
			continue
		}
		child := &cgroup.Node{Path: n.Path + "/" + safeComponent(c.Name) + ".unpasted", Parent: n, Dir: n.Dir}
		n.Children = append(n.Children, child)
		tree.Nodes[child.Path] = child
	}
	sort.Slice(n.Children, func(i, j int) bool { return n.Children[i].Path < n.Children[j].Path })
}

func (s *Snapshot) podCgroupPath(p *Pod) string {
	if p.Cgroup != nil {
		return p.Cgroup.Path
	}
	return ""
}

// pastedPod is the pod a pasted cgroup belongs to, nil (with a problem) when
// the evidence does not say.
func (s *Snapshot) pastedPod(g *pastedGroup) *Pod {
	if uid := g.ref.PodUID; uid != "" {
		if p := s.PodsByUID[uid]; p != nil {
			return p
		}
		// The pod is known by name only (describe without an event naming
		// its UID): the one such pod is this one.
		var nameOnly []*Pod
		for _, p := range s.Pods {
			if p.UID == "" {
				nameOnly = append(nameOnly, p)
			}
		}
		if len(nameOnly) == 1 && len(s.Pods) == 1 {
			p := nameOnly[0]
			p.UID = uid
			s.PodsByUID[uid] = p
			return p
		}
		p := &Pod{UID: uid, QoS: g.ref.QoS}
		s.PodsByUID[uid] = p
		s.Pods = append(s.Pods, p)
		return p
	}
	if len(s.Pods) == 1 {
		return s.Pods[0]
	}
	s.Problemf("%s: pasted cgroup files%s not used: they do not name their pod and the evidence holds %d pods (paste from the node with the pod cgroup's path, or send one pod's files per ticket)",
		g.file, headerNote(g), len(s.Pods))
	return nil
}

// pastedContainer is the container of p a pasted container cgroup is.
func (s *Snapshot) pastedContainer(p *Pod, g *pastedGroup) *Container {
	if id := g.ref.ContainerID; id != "" {
		for _, c := range p.Containers {
			if c.ID == id || (c.Spec != nil && c.Spec.LastContainerID == id) {
				return c
			}
		}
	}
	var apps []*Container
	for _, c := range p.Containers {
		if !c.Sandbox && (c.Spec == nil || !c.Spec.Init) {
			apps = append(apps, c)
		}
	}
	if len(apps) == 1 && g.ref.ContainerID == "" {
		return apps[0]
	}
	if len(apps) == 0 || g.ref.ContainerID != "" {
		c := &Container{Pod: p, ID: g.ref.ContainerID}
		p.Containers = append(p.Containers, c)
		return c
	}
	s.Problemf("%s: pasted container cgroup%s not used: pod %s has %d containers and the paste does not say which",
		g.file, headerNote(g), p.label(), len(apps))
	return nil
}

func headerNote(g *pastedGroup) string {
	if g.dir == "" {
		return ""
	}
	return fmt.Sprintf(" (%s)", g.dir)
}

// label names a pod for messages: namespace/name, else its UID.
func (p *Pod) label() string {
	if p.Name != "" {
		return p.Namespace + "/" + p.Name
	}
	return p.UID
}

// safeComponent turns a name into one cgroup path component.
func safeComponent(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '/' || r == ' ' || r < 0x20 {
			return '_'
		}
		return r
	}, s)
	if s == "" || s == "." || s == ".." {
		return "_"
	}
	return s
}
