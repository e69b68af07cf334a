package nodegen

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/memsnap/memsnap/bundle"
)

// The host tree of a node is the same model as its bundle, laid out the way
// memsnap-collect finds a node (DESIGN §5: the collector's budgets are
// measured on it):
//
//	DIR/root/     a host root for `memsnap-collect --host-root DIR/root`:
//	              /sys/fs/cgroup, /proc (node files, one directory per
//	              container process and per system service, fd links),
//	              /dev/kmsg as a file of kmsg records, /var/log/pods and
//	              /var/log/containers, /var/lib/kubelet/config.yaml
//	DIR/kubelet/  the kubelet's HTTP answers by URL path (stats/summary,
//	              pods, configz, metrics/cadvisor, metrics/resource) and
//	              the heap profiles: the kubelet's at debug/pprof/heap, the
//	              agents' under agents/<name>/debug/pprof/heap; served by
//	              KubeletHandler
//
// The open log files of fds.tsv are sparse files of their recorded size, so
// the collector's stat of them sees what the bundle says without the tree
// costing disk space; the collector never reads them.
const (
	HostRootDir = "root"
	KubeletDir  = "kubelet"
	AgentsDir   = "agents"
)

// WriteHostTree writes the node described by opt below dir, which must not
// exist or be empty.
func WriteHostTree(dir string, opt Options) (Stats, error) {
	if err := opt.defaults(); err != nil {
		return Stats{}, err
	}
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return Stats{}, fmt.Errorf("%s: not empty", dir)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return Stats{}, err
	}
	n := newNode(opt)
	hs := &hostSink{n: n, root: filepath.Join(dir, HostRootDir), api: filepath.Join(dir, KubeletDir)}
	st, err := n.emit(hs)
	if err != nil {
		return st, err
	}
	return st, hs.finish()
}

// AgentTargets names the agents whose heap profiles the tree serves under
// agents/<name>/ (for memsnap-collect --pprof), in the order of the bundle's
// pprof/ directories. The kubelet's own profile is served at
// /debug/pprof/heap, where the collector fetches it without a flag.
func AgentTargets(opt Options) []string {
	if opt.HeapProfiles == 0 {
		opt.HeapProfiles = defaultHeapProfiles
	}
	var out []string
	for i := 0; i < opt.HeapProfiles; i++ {
		if t := heapTarget(i); t != "kubelet" {
			out = append(out, t)
		}
	}
	return out
}

func heapTarget(i int) string {
	if i < len(heapTargets) {
		return heapTargets[i]
	}
	return fmt.Sprintf("%s-%d", heapTargets[i%len(heapTargets)], i)
}

type hostSink struct {
	n         *node
	root, api string
	mkdirs    map[string]bool
}

func (h *hostSink) write(p string, data []byte) error {
	dir := filepath.Dir(p)
	if !h.mkdirs[dir] {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if h.mkdirs == nil {
			h.mkdirs = map[string]bool{}
		}
		h.mkdirs[dir] = true
	}
	return os.WriteFile(p, data, 0o644)
}

// host writes a file at an absolute host path below the host root.
func (h *hostSink) host(p string, data []byte) error {
	return h.write(filepath.Join(h.root, filepath.FromSlash(p)), data)
}

// memoryMount is where the memory controller is mounted on the host.
func (h *hostSink) memoryMount() string {
	if h.n.opt.CgroupVersion == 2 {
		return "/sys/fs/cgroup"
	}
	return "/sys/fs/cgroup/memory"
}

// nodeHostPaths maps node/* bundle files to the host files they were read
// from (collector-script/source_node.go reads them there).
var nodeHostPaths = map[string]string{
	bundle.NodeMeminfo: "/proc/meminfo", bundle.NodeVmstat: "/proc/vmstat", bundle.NodePressure: "/proc/pressure/memory",
	bundle.NodeUptime: "/proc/uptime", bundle.NodeStat: "/proc/stat", bundle.NodeCmdline: "/proc/cmdline",
	bundle.NodeOSRelease: "/etc/os-release",
}

// kubeletAPIPaths maps kubelet/* bundle files to the kubelet URL paths
// they are fetched from (collector-script/source_kubelet.go).
var kubeletAPIPaths = map[string]string{
	bundle.KubeletSummary: "stats/summary", bundle.KubeletPods: "pods", bundle.KubeletConfigz: "configz",
	bundle.KubeletMetricsCadvisor: "metrics/cadvisor", bundle.KubeletMetricsResource: "metrics/resource",
}

func (h *hostSink) put(source, name string, data []byte) error {
	switch {
	case nodeHostPaths[name] != "":
		return h.host(nodeHostPaths[name], data)
	case name == bundle.NodeUname:
		return h.uname(string(data))
	case strings.HasPrefix(name, bundle.CgroupDir):
		return h.host(path.Join(h.memoryMount(), strings.TrimPrefix(name, bundle.CgroupDir)), data)
	case kubeletAPIPaths[name] != "":
		return h.write(filepath.Join(h.api, filepath.FromSlash(kubeletAPIPaths[name])), data)
	case name == bundle.KubeletFlags:
		return h.service("system.slice/kubelet.service", "kubelet", strings.ReplaceAll(string(data), "\n", "\x00"))
	case name == bundle.KubeletVersion:
		return nil // the collector runs `kubelet --version`; the tree has no binary
	case strings.HasPrefix(name, bundle.PprofDir):
		target, file := path.Split(strings.TrimPrefix(name, bundle.PprofDir))
		if file != "heap.pb.gz" {
			return nil // target.json is the collector's own record of the fetch
		}
		dir := filepath.Join(h.api, AgentsDir, path.Clean(target))
		if path.Clean(target) == "kubelet" {
			dir = h.api // the collector takes the kubelet's heap from its own API
		}
		return h.write(filepath.Join(dir, "debug", "pprof", "heap"), data)
	case name == bundle.KernelLog:
		return h.host("/dev/kmsg", kmsgRecords(data))
	case name == bundle.PodsIndex:
		return h.podLogs()
	case strings.HasPrefix(name, bundle.ProcDir):
		pidDir, file := path.Split(name)
		pid := path.Base(pidDir)
		if file == "fds.tsv" {
			return h.fds(pid, data)
		}
		if file == "cmdline" {
			// A process's comm is its executable's base name, at most 15 bytes.
			exe, _, _ := strings.Cut(string(data), "\x00")
			if err := h.host("/proc/"+pid+"/comm", []byte(comm(path.Base(exe))+"\n")); err != nil {
				return err
			}
		}
		return h.host("/proc/"+pid+"/"+file, data)
	}
	return fmt.Errorf("%s: no host path for this bundle file", name)
}

func comm(s string) string {
	if len(s) > 15 { // TASK_COMM_LEN - 1
		return s[:15]
	}
	return s
}

// uname splits the bundle's uname line into the /proc/sys/kernel files the
// collector reads it from.
func (h *hostSink) uname(line string) error {
	release := "6.8.0-1015-aws"
	version := strings.TrimSpace(line)
	if i := strings.Index(version, ") #"); i >= 0 {
		version = version[i+2:]
	}
	hostname, _, _ := strings.Cut(h.n.name, ".")
	for f, v := range map[string]string{"ostype": "Linux", "osrelease": release, "version": version, "hostname": hostname} {
		if err := h.host("/proc/sys/kernel/"+f, []byte(v+"\n")); err != nil {
			return err
		}
	}
	return nil
}

// fds turns fds.tsv back into /proc/<pid>/fd links and sparse targets.
func (h *hostSink) fds(pid string, tsv []byte) error {
	dir := filepath.Join(h.root, "proc", pid, "fd")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i, line := range strings.Split(strings.TrimSuffix(string(tsv), "\n"), "\n") {
		target, size, ok := strings.Cut(line, "\t")
		n, err := strconv.ParseInt(size, 10, 64)
		if !ok || err != nil || !path.IsAbs(target) {
			return fmt.Errorf("proc/%s/fds.tsv: line %q", pid, line)
		}
		if err := os.Symlink(target, filepath.Join(dir, strconv.Itoa(3+i))); err != nil {
			return err
		}
		p := filepath.Join(h.root, filepath.FromSlash(target))
		if err := h.write(p, nil); err != nil {
			return err
		}
		if err := os.Truncate(p, n); err != nil {
			return err
		}
	}
	return nil
}

// podLogs lays out /var/log/pods/<ns>_<pod>_<uid>/<container>/<restart>.log
// and kubelet's /var/log/containers/<pod>_<ns>_<container>-<id>.log links
// to the running attempt, which the collector turns into pods-index.tsv.
func (h *hostSink) podLogs() error {
	for _, p := range h.n.pods {
		podDir := fmt.Sprintf("/var/log/pods/%s_%s_%s", p.Namespace, p.Name, p.UID)
		for _, c := range p.Containers {
			restarts := 0
			if c.OOMKilled {
				restarts = 1
			}
			for r := 0; r <= restarts; r++ {
				if err := h.host(fmt.Sprintf("%s/%s/%d.log", podDir, c.Name, r), nil); err != nil {
					return err
				}
			}
			link := filepath.Join(h.root, "var/log/containers", fmt.Sprintf("%s_%s_%s-%s.log", p.Name, p.Namespace, c.Name, c.ID))
			if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
				return err
			}
			if err := os.Symlink(fmt.Sprintf("%s/%s/%d.log", podDir, c.Name, restarts), link); err != nil {
				return err
			}
		}
	}
	return nil
}

// service writes /proc/<pid> of the process of a system service cgroup.
func (h *hostSink) service(cgroupPath, name, cmdline string) error {
	c := h.n.byPath[cgroupPath]
	if c == nil || len(c.pids) == 0 {
		return fmt.Errorf("no process for %s", cgroupPath)
	}
	pid := strconv.Itoa(c.pids[0])
	cg := "0::/" + cgroupPath + "\n"
	if h.n.opt.CgroupVersion == 1 {
		cg = fmt.Sprintf("12:memory:/%s\n1:name=systemd:/%s\n0::/%s\n", cgroupPath, cgroupPath, cgroupPath)
	}
	rssK := c.own.anon / kib
	status := fmt.Sprintf("Name:\t%s\nState:\tS (sleeping)\nTgid:\t%s\nPid:\t%s\nPPid:\t1\nVmRSS:\t%8d kB\nRssAnon:\t%8d kB\nThreads:\t24\n", comm(name), pid, pid, rssK+3000, rssK)
	smaps := fmt.Sprintf("Rss:            %8d kB\nPss:            %8d kB\nPss_Anon:       %8d kB\nAnonymous:      %8d kB\n", rssK+3000, rssK+2000, rssK, rssK)
	for f, v := range map[string]string{"cgroup": cg, "cmdline": cmdline, "comm": comm(name) + "\n", "status": status, "smaps_rollup": smaps, "oom_score_adj": "-999\n"} {
		if err := h.host("/proc/"+pid+"/"+f, []byte(v)); err != nil {
			return err
		}
	}
	return os.MkdirAll(filepath.Join(h.root, "proc", pid, "fd"), 0o755)
}

// finish writes what the host has besides the bundle's files: the cgroup
// mount and its controllers, mountinfo, the other system services' processes
// and the kubelet's config file.
func (h *hostSink) finish() error {
	mountinfo := "25 1 259:1 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p1 rw,discard\n" +
		"26 25 0:5 / /dev rw,nosuid,relatime shared:2 - devtmpfs udev rw,size=8155784k,nr_inodes=2038946,mode=755\n" +
		"27 25 0:22 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n" +
		"28 25 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
	if h.n.opt.CgroupVersion == 2 {
		mountinfo += "30 28 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n"
		if err := h.host("/sys/fs/cgroup/cgroup.controllers", []byte("cpuset cpu io memory hugetlb pids rdma misc\n")); err != nil {
			return err
		}
	} else {
		mountinfo += "30 28 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n" +
			"35 30 0:31 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,memory\n"
	}
	if err := h.host("/proc/1/mountinfo", []byte(mountinfo)); err != nil {
		return err
	}
	for cg, name := range map[string]string{"system.slice/containerd.service": "containerd", "system.slice/systemd-journald.service": "systemd-journald", "system.slice/sshd.service": "sshd", "user.slice": "bash"} {
		if err := h.service(cg, name, "/usr/bin/"+name+"\x00"); err != nil {
			return err
		}
	}
	// configz wraps the kubelet's KubeletConfiguration; the file on disk is
	// the same object with its type (JSON is YAML).
	var cz struct {
		KubeletConfig map[string]any `json:"kubeletconfig"`
	}
	if err := json.Unmarshal(h.n.configzJSON(), &cz); err != nil {
		return err
	}
	cz.KubeletConfig["apiVersion"] = "kubelet.config.k8s.io/v1beta1"
	cz.KubeletConfig["kind"] = "KubeletConfiguration"
	cfg, err := json.MarshalIndent(cz.KubeletConfig, "", "  ")
	if err != nil {
		return err
	}
	return h.host("/var/lib/kubelet/config.yaml", append(cfg, '\n'))
}

// kmsgRecords turns dmesg-style lines ("[  123.456789] msg") back into
// /dev/kmsg records ("6,<seq>,<µs>,-;msg"), the format the collector reads
// (collector-script/internal/kmsg; Documentation/ABI/testing/dev-kmsg).
func kmsgRecords(log []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(log) + len(log)/8)
	seq := 0
	for line := range bytes.Lines(log) {
		line = bytes.TrimSuffix(line, []byte("\n"))
		end := bytes.IndexByte(line, ']')
		if len(line) == 0 || line[0] != '[' || end < 0 {
			continue
		}
		sec, err := strconv.ParseFloat(string(bytes.TrimSpace(line[1:end])), 64)
		if err != nil {
			continue
		}
		msg := bytes.TrimPrefix(line[end+1:], []byte(" "))
		fmt.Fprintf(&b, "6,%d,%d,-;%s\n", seq, int64(sec*1e6+0.5), msg)
		seq++
	}
	return b.Bytes()
}
