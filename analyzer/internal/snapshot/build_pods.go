package snapshot

import (
	"io"
	"sort"
	"strings"

	"github.com/memsnap/memsnap/bundle"

	"github.com/memsnap/memsnap/analyzer/internal/cgroup"
	"github.com/memsnap/memsnap/analyzer/internal/kube"
	"github.com/memsnap/memsnap/analyzer/internal/podpath"
)

// findKubepods returns the shallowest cgroup that is a kubepods root. It may be
// nested under any prefix (/lxc.payload.x/, a test's own cgroup).
func findKubepods(t *cgroup.Tree) *cgroup.Node {
	var best *cgroup.Node
	for _, n := range t.Sorted() {
		ref := podpath.Parse(n.Path)
		if ref.KubepodsRoot == "" {
			continue
		}
		if k := t.Nodes[ref.KubepodsRoot]; k != nil {
			if best == nil || depth(k.Path) < depth(best.Path) {
				best = k
			}
		}
	}
	return best
}

func depth(p string) int { return strings.Count(strings.Trim(p, "/"), "/") }

// buildPods joins what the cgroup paths say (UIDs, container IDs, QoS) with
// names from pods.json, else the summary, else logs/pods-index.tsv.
func (s *Snapshot) buildPods() {
	s.PodsByUID = map[string]*Pod{}
	get := func(uid string) *Pod {
		p := s.PodsByUID[uid]
		if p == nil {
			p = &Pod{UID: uid}
			s.PodsByUID[uid] = p
		}
		return p
	}
	byID := map[string]*Container{}
	if s.Cgroups != nil {
		for _, n := range s.Cgroups.Sorted() {
			ref := podpath.Parse(n.Path)
			if ref.PodUID == "" {
				continue
			}
			p := get(ref.PodUID)
			if p.QoS == "" {
				p.QoS = ref.QoS
			}
			switch ref.Level {
			case podpath.LevelPod:
				if ref.Child == "" { // not CRI-O's conmon cgroup inside it
					p.Cgroup = n
				}
			case podpath.LevelContainer:
				c := &Container{Pod: p, ID: ref.ContainerID, Cgroup: n, PIDs: n.Procs}
				p.Containers = append(p.Containers, c)
				if c.ID != "" {
					byID[c.ID] = c
				}
			}
		}
	}
	if s.PodList != nil {
		for i := range s.PodList.Pods {
			sp := &s.PodList.Pods[i]
			var p *Pod
			if sp.UID != "" {
				p = get(sp.UID)
			} else {
				// A pod known only by name (kubectl describe without an
				// event naming its UID): keyed by namespace/name, which no
				// UID spells, its UID left empty.
				key := sp.Namespace + "/" + sp.Name
				if p = s.PodsByUID[key]; p == nil {
					p = &Pod{}
					s.PodsByUID[key] = p
				}
			}
			p.Spec = sp
			p.Namespace, p.Name = sp.Namespace, sp.Name
			if sp.QoS != "" {
				p.QoS = strings.ToLower(sp.QoS)
			}
			for i := range sp.Containers {
				sc := &sp.Containers[i]
				c := byID[sc.ID]
				if c == nil {
					c = &Container{Pod: p, ID: sc.ID}
					p.Containers = append(p.Containers, c)
				}
				c.Name, c.Spec = sc.Name, sc
			}
			// With the spec known, the one unnamed container cgroup is the sandbox.
			var unnamed []*Container
			for _, c := range p.Containers {
				if c.Name == "" {
					unnamed = append(unnamed, c)
				}
			}
			if len(unnamed) == 1 {
				unnamed[0].Sandbox, unnamed[0].Name = true, "POD"
			}
		}
	}
	if s.Summary != nil {
		for i := range s.Summary.Pods {
			ps := &s.Summary.Pods[i]
			p := s.PodsByUID[ps.UID]
			if p == nil && s.Cgroups == nil && ps.UID != "" {
				// No cgroup tree (kubectl-only evidence): the summary is
				// what says which pods and containers run here.
				p = get(ps.UID)
			}
			if p == nil {
				continue // a pod the summary knows but the cgroups and pod list do not: keep it out of attribution
			}
			p.Stats = ps
			if p.Name == "" {
				p.Namespace, p.Name = ps.Namespace, ps.Name
			}
			for j := range ps.Containers {
				cs := &ps.Containers[j]
				found := false
				for _, c := range p.Containers {
					if c.Name == cs.Name {
						c.Stats, found = cs, true
					}
				}
				if !found && s.Cgroups == nil && cs.Name != "" {
					p.Containers = append(p.Containers, &Container{Pod: p, Name: cs.Name, Stats: cs})
				}
			}
		}
	}
	// Without pods.json the log index names pods, and containers too when it
	// carries their IDs; the one container cgroup it does not name is then
	// the sandbox.
	named := map[*Pod]bool{}
	for _, e := range s.PodsIndex {
		p := s.PodsByUID[e.UID]
		if p == nil {
			continue
		}
		if p.Name == "" {
			p.Namespace, p.Name = e.Namespace, e.Pod
		}
		if c := byID[e.ContainerID]; c != nil && c.Pod == p && c.Name == "" && p.Spec == nil {
			c.Name = e.Container
			named[p] = true
		}
	}
	for p := range named {
		var unnamed []*Container
		for _, c := range p.Containers {
			if c.Name == "" {
				unnamed = append(unnamed, c)
			}
		}
		if len(unnamed) == 1 {
			unnamed[0].Sandbox, unnamed[0].Name = true, "POD"
		}
	}
	for _, p := range s.PodsByUID {
		sort.SliceStable(p.Containers, func(i, j int) bool {
			a, b := p.Containers[i], p.Containers[j]
			if a.Sandbox != b.Sandbox {
				return !a.Sandbox
			}
			if a.Name != b.Name {
				return a.Name < b.Name
			}
			return a.ID < b.ID
		})
		s.Pods = append(s.Pods, p)
	}
	sortPods(s.Pods)
}

// sortPods orders pods by namespace, name, UID.
func sortPods(pods []*Pod) {
	sort.Slice(pods, func(i, j int) bool {
		a, b := pods[i], pods[j]
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.UID < b.UID
	})
}

// ContainerByID finds a container by its 64-hex ID.
func (s *Snapshot) ContainerByID(id string) *Container {
	if id == "" {
		return nil
	}
	for _, p := range s.Pods {
		for _, c := range p.Containers {
			if c.ID == id {
				return c
			}
		}
	}
	return nil
}

// ContainerByCgroup finds the container whose cgroup is path.
func (s *Snapshot) ContainerByCgroup(path string) *Container {
	for _, p := range s.Pods {
		for _, c := range p.Containers {
			if c.Cgroup != nil && c.Cgroup.Path == path {
				return c
			}
		}
	}
	return nil
}

func (s *Snapshot) buildKube() {
	if s.parse("kubelet/pods.json", func(r io.Reader) error {
		pl, err := kube.ParsePods(r)
		s.PodList = pl
		return err
	}) && s.PodList != nil {
		s.setHas(DataPods)
	}
	if s.parse("kubelet/summary.json", func(r io.Reader) error {
		sm, err := kube.ParseSummary(r)
		s.Summary = sm
		return err
	}) && s.Summary != nil {
		s.setHas(DataSummary)
	}
	s.parse(bundle.KubeNode, func(r io.Reader) error {
		n, err := kube.ParseNode(r)
		s.KubeNode, s.KubeNodeFile = n, bundle.KubeNode
		return err
	})
	s.parse("logs/pods-index.tsv", func(r io.Reader) error {
		entries, problems := kube.ParsePodsIndex(r)
		s.PodsIndex = entries
		for _, p := range problems {
			s.Problemf("logs/pods-index.tsv: %v", p)
		}
		return nil
	})
	s.buildKubeletConfig()
	s.buildSystemd()
}
