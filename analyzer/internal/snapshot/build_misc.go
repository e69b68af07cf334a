package snapshot

import (
	"encoding/json"
	"io"
	"strconv"
	"strings"

	"github.com/memsnap/memsnap/analyzer/internal/agentlog"
	"github.com/memsnap/memsnap/analyzer/internal/heap"
	"github.com/memsnap/memsnap/analyzer/internal/listing"
	"github.com/memsnap/memsnap/analyzer/internal/procfs"
	"github.com/memsnap/memsnap/bundle"
)

// maxHeapDecompressed caps a heap profile's decompressed size (real Go heap
// profiles are a few MiB; the cap bounds peak memory on a bomb): pprof's
// ParseData would gunzip without a limit (DESIGN §7).
const maxHeapDecompressed = 48 << 20

func (s *Snapshot) buildLogs() {
	opts := agentlog.Options{}
	if !s.Node.Created.IsZero() {
		opts.Year = s.Node.Created.Year()
	}
	if s.parse(bundle.KubeletLog, func(r io.Reader) error {
		l, problems := agentlog.Parse(r, opts)
		s.KubeletLog = l
		for _, p := range problems {
			s.Problemf("%s: %v", bundle.KubeletLog, p)
		}
		return nil
	}) {
		s.setHas(DataKubeletLog)
	}
	if s.parse(bundle.CadvisorLog, func(r io.Reader) error {
		l, problems := agentlog.Parse(r, opts)
		s.AgentLog = l
		for _, p := range problems {
			s.Problemf("%s: %v", bundle.CadvisorLog, p)
		}
		return nil
	}) {
		s.setHas(DataAgentLog)
	}
	if s.parse(bundle.TmpfsVolumes, func(r io.Reader) error {
		t, problems := listing.ParseTmpfs(r)
		problems = listing.InFile(bundle.TmpfsVolumes, problems)
		s.Tmpfs = t
		for _, p := range problems {
			s.Problemf("%v", p)
		}
		return nil
	}) {
		s.setHas(DataTmpfs)
	}
}

func (s *Snapshot) buildHeaps() {
	for _, p := range s.View.List(bundle.PprofDir) {
		rest := strings.TrimPrefix(p, bundle.PprofDir)
		name, file, ok := strings.Cut(rest, "/")
		if !ok || file != bundle.PprofHeapFile {
			continue
		}
		h := &HeapTarget{Name: name, File: p}
		s.parse(bundle.PprofDir+name+"/"+bundle.PprofTargetFile, func(r io.Reader) error {
			var t map[string]any
			if err := json.NewDecoder(io.LimitReader(r, 1<<20)).Decode(&t); err != nil {
				return err
			}
			h.Target = t
			if v, ok := t["pid"].(float64); ok && v > 0 {
				pid := int(v)
				h.PID = &pid
			}
			return nil
		})
		rc := s.open(p)
		if rc == nil {
			continue
		}
		prof, err := heap.Parse(rc, maxHeapDecompressed)
		rc.Close()
		if err != nil {
			h.Err = err.Error()
			s.Problemf("%s: %v (the profile is skipped; other rules still ran)", p, err)
		} else {
			h.Profile = prof
		}
		s.Heaps = append(s.Heaps, h)
	}
	if len(s.Heaps) > 0 {
		s.setHas(DataHeapProfiles)
	}
}

// buildProcs reads proc/<pid>/ and ties processes to container cgroups.
func (s *Snapshot) buildProcs() {
	s.Procs = map[int]*Proc{}
	anyFds := false
	for _, p := range s.View.List(bundle.ProcDir) {
		rest := strings.TrimPrefix(p, bundle.ProcDir)
		pidStr, file, ok := strings.Cut(rest, "/")
		pid, err := strconv.Atoi(pidStr)
		if !ok || err != nil || pid <= 0 {
			continue
		}
		pr := s.Procs[pid]
		if pr == nil {
			pr = &Proc{PID: pid}
			s.Procs[pid] = pr
		}
		switch file {
		case "status":
			s.parse(p, func(r io.Reader) error {
				st, err := procfs.ParseStatus(r)
				if st != nil {
					pr.Name, pr.RSS = st.Name, st.VmRSS
				}
				return err
			})
		case "cgroup":
			s.parse(p, func(r io.Reader) error {
				cg, err := procfs.ParseCgroupFile(r)
				pr.Cgroup = cg
				return err
			})
		case "cmdline":
			s.parse(p, func(r io.Reader) error {
				b, err := io.ReadAll(io.LimitReader(r, 64<<10))
				pr.Cmdline = strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
				pr.Argv = splitArgv(b)
				return err
			})
		case bundle.ProcEnvironFile, "oom_score_adj":
			s.parseProcExtra(pr, p, file)
		case "fds.tsv":
			anyFds = true
			s.parse(p, func(r io.Reader) error {
				fds, problems := listing.ParseFds(r)
				pr.Fds = fds
				for _, pb := range listing.InFile(p, problems) {
					s.Problemf("%v", pb)
				}
				return nil
			})
		}
	}
	if anyFds {
		s.setHas(DataProcFds)
	}
	for _, pr := range s.Procs {
		if pr.Cgroup == "" {
			continue
		}
		if c := s.ContainerByCgroup(pr.Cgroup); c != nil {
			found := false
			for _, p := range c.PIDs {
				found = found || p == pr.PID
			}
			if !found {
				c.PIDs = append(c.PIDs, pr.PID)
			}
		}
	}
}

// ContainerFds lists the open files of a container's processes, largest first.
func (s *Snapshot) ContainerFds(c *Container) []OpenFile {
	var out []OpenFile
	seen := map[string]bool{}
	for _, pid := range c.PIDs {
		if pr := s.Procs[pid]; pr != nil {
			for _, fd := range pr.Fds {
				if !seen[fd.Path] {
					seen[fd.Path] = true
					out = append(out, OpenFile{Path: fd.Path, Size: fd.SizeBytes, Line: fd.Line,
						File: bundle.ProcDir + strconv.Itoa(pid) + "/fds.tsv"})
				}
			}
		}
	}
	sortFds(out)
	return out
}

// attachHeaps ties each profile to the container running the process.
func (s *Snapshot) attachHeaps() {
	for _, h := range s.Heaps {
		if h.PID != nil {
			if pr := s.Procs[*h.PID]; pr != nil && pr.Cgroup != "" {
				h.Container = s.ContainerByCgroup(pr.Cgroup)
			}
		}
		if h.Container != nil {
			continue
		}
		var named []*Container
		for _, p := range s.Pods {
			for _, c := range p.Containers {
				if c.Name == h.Name {
					named = append(named, c)
				}
			}
		}
		if len(named) == 1 {
			h.Container = named[0]
		}
	}
}
