package testbed

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Timeouts of a real node, generous for a loaded 2-core machine (measured
// alone: node Ready ~4.5 s after start, first pod Running ~5 s).
const (
	NodeReadyTimeout = 3 * time.Minute
	containerdReady  = time.Minute
)

// Images every real node has imported; pods use them with
// imagePullPolicy: Never.
const (
	// ToolsImage holds /bin/workload, /bin/scrapeagent and
	// /bin/memsnap-collect (static binaries).
	ToolsImage = "memsnap-e2e/tools:1"
	// ShellImage has /bin/sh and a few tools (busybox, from
	// e2e/scripts/ensure-runtime.sh), for kubectl-memsnap's node mode.
	ShellImage = "memsnap-e2e/shell:1"
	// pauseImage is containerd 1.6's default sandbox_image, so the CRI
	// finds our pause under the name it asks for.
	pauseImage = "registry.k8s.io/pause:3.6"
)

// runtimeFiles are what a real node needs from Debian (installed by
// e2e/scripts/ensure-runtime.sh).
var runtimeFiles = []string{"/usr/bin/containerd", "/usr/bin/containerd-shim-runc-v2", "/usr/bin/ctr", "/usr/sbin/runc",
	"/usr/lib/cni/bridge", "/usr/lib/cni/host-local", "/usr/lib/cni/loopback"}

// sysctls the kubelet sets on start (kubelet/cm/container_manager_linux.go,
// setupKernelTunables: vm.overcommit_memory=1, vm.panic_on_oom=0,
// kernel.panic=10, kernel.panic_on_oops=1, kernel.keys.root_maxkeys,
// root_maxbytes). They are not namespaced: on a shared machine the bed
// lays a file over each in its own mount namespace, so the kubelet's writes
// land there and the host keeps its values.
var maskedSysctls = []string{"vm/overcommit_memory", "vm/panic_on_oom", "kernel/panic", "kernel/panic_on_oops",
	"kernel/keys/root_maxkeys", "kernel/keys/root_maxbytes"}

// KubeletNode is a real node: kubelet v1.37.2 (kube-e2e kubelet) with
// Debian's containerd and runc, registered with the bed's API server.
type KubeletNode struct {
	Name string
	IP   string
	// CgroupRoot is the kubelet's cgroupRoot: below this test's own memory
	// cgroup, created in every hierarchy. Pods' cgroups are
	// CgroupRoot/kubepods/{burstable,besteffort}/pod<uid>/<container id>.
	CgroupRoot string
	Dir        string
	// ConfigFile is the KubeletConfiguration the kubelet runs with.
	ConfigFile string
	kubelet    *process
	containerd *process
	bed        *Bed
}

// StartKubelet starts containerd and a real kubelet as node name on
// NodeIP(i), imports the bed's images and waits for the Node to be Ready.
// A bed has at most one real kubelet: the kubelet's paths under /var and
// /run are fixed.
func (b *Bed) StartKubelet(name string, i int) (*KubeletNode, error) {
	var missing []string
	for _, f := range runtimeFiles {
		if _, err := os.Stat(f); err != nil {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("real kubelet: %s missing: run e2e/scripts/ensure-runtime.sh (make e2e does)", strings.Join(missing, ", "))
	}
	work := os.Getenv(envWork)
	for _, p := range []string{"/var/", "/run/"} {
		if strings.HasPrefix(work+"/", p) {
			return nil, fmt.Errorf("real kubelet: the run directory %s lies below %s, which the node overlays: set MEMSNAP_E2E_DIR elsewhere", work, p)
		}
	}
	base, err := runCgroupBase(os.Getenv(envRun))
	if err != nil {
		return nil, err
	}
	n := &KubeletNode{Name: name, IP: NodeIP(i), Dir: filepath.Join(b.Dir, "kubelet-"+name), CgroupRoot: base + "/" + name, bed: b}
	if err := AddAddress(n.IP); err != nil {
		return nil, err
	}
	for _, d := range []string{"var-upper", "var-work", "run-upper", "run-work", "containerd-root", "kubelet-root", "cni", "sysctl", "images"} {
		if err := os.MkdirAll(filepath.Join(n.Dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	if err := n.privateHostPaths(); err != nil {
		return nil, err
	}
	// Cgroups: created now, removed after the node's processes are gone
	// (cleanups run newest first: this one runs after n.stop).
	if err := makeCgroup(work, n.CgroupRoot); err != nil {
		return nil, err
	}
	b.cleanup(func() error { return n.removeCgroups() })
	b.cleanup(func() error { n.stop(); return nil })

	if err := n.startContainerd(); err != nil {
		return nil, err
	}
	if err := n.importImages(); err != nil {
		return nil, err
	}
	if err := n.startKubelet(); err != nil {
		return nil, err
	}
	return n, nil
}

// privateHostPaths gives the node its own /var and /run (overlays on the
// host's, upper layers in the node's directory), so the kubelet's and
// containerd's fixed paths — /var/lib/kubelet, /var/log/pods,
// /var/lib/cni, /run/containerd, /run/netns — are the bed's alone.
// containerd's root is a plain directory again (its overlayfs snapshotter
// cannot stack on an overlay), and so is the kubelet's, where pods'
// emptyDirs live on a disk as on a node. The kubelet's sysctls are masked.
func (n *KubeletNode) privateHostPaths() error {
	b := n.bed
	for _, d := range []string{"var", "run"} {
		opts := fmt.Sprintf("lowerdir=/%s,upperdir=%s,workdir=%s", d, filepath.Join(n.Dir, d+"-upper"), filepath.Join(n.Dir, d+"-work"))
		if err := b.mount("overlay", "/"+d, "overlay", 0, opts); err != nil {
			return err
		}
	}
	for _, bind := range []struct{ src, dst string }{
		{filepath.Join(n.Dir, "containerd-root"), "/var/lib/containerd"},
		{filepath.Join(n.Dir, "kubelet-root"), "/var/lib/kubelet"},
	} {
		if err := os.MkdirAll(bind.dst, 0o755); err != nil {
			return err
		}
		if err := b.mount(bind.src, bind.dst, "", syscall.MS_BIND, ""); err != nil {
			return err
		}
	}
	for _, s := range maskedSysctls {
		host := filepath.Join("/proc/sys", s)
		v, err := os.ReadFile(host)
		if err != nil {
			return err
		}
		f := filepath.Join(n.Dir, "sysctl", strings.ReplaceAll(s, "/", "."))
		if err := os.WriteFile(f, v, 0o644); err != nil {
			return err
		}
		if err := b.mount(f, host, "", syscall.MS_BIND, ""); err != nil {
			return err
		}
	}
	return nil
}

func (n *KubeletNode) startContainerd() error {
	cniConf := filepath.Join(n.Dir, "cni")
	conflist := fmt.Sprintf(`{
  "cniVersion": "1.0.0",
  "name": "memsnap-e2e",
  "plugins": [
    {"type": "bridge", "bridge": "e2ebr0", "isGateway": true, "ipMasq": false, "hairpinMode": false,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": %q}]], "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "loopback"}
  ]
}
`, PodCIDR)
	if err := os.WriteFile(filepath.Join(cniConf, "10-memsnap-e2e.conflist"), []byte(conflist), 0o644); err != nil {
		return err
	}
	// containerd 1.6 (Debian 12). restrict_oom_score_adj: this machine
	// denies lowering oom_score_adj, and runc then fails with "can't get
	// final child's PID from pipe". The opt plugin would create
	// /opt/containerd on the host's disk; the bed needs none of it.
	cfg := fmt.Sprintf(`version = 2
root = "/var/lib/containerd"
state = "/run/containerd"
oom_score = 0
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "/run/containerd/containerd.sock"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %q
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = %q
`, pauseImage, cniConf)
	cfgFile := filepath.Join(n.Dir, "containerd.toml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		return err
	}
	p, err := startProcess(n.Dir, "containerd", nil, "/usr/bin/containerd", "--config", cfgFile)
	if err != nil {
		return err
	}
	n.containerd = p
	return p.waitFor(n.bed.ctx, "containerd socket", containerdReady, func() (bool, error) {
		out, err := runCmd(n.bed.ctx, "/usr/bin/ctr", "version")
		if err != nil {
			return false, fmt.Errorf("ctr version: %v: %s", err, out)
		}
		return true, nil
	})
}

// busybox is Debian's busybox-static.
const busybox = "/bin/busybox"

// importImages builds the bed's images from its static binaries and
// imports them into containerd's k8s.io namespace (the CRI's).
func (n *KubeletNode) importImages() error {
	bin := n.bed.Bin
	images := []Image{
		{Ref: pauseImage, Entrypoint: []string{"/pause"}, Files: []ImageFile{{Path: "/pause", Src: bin.Path("pause")}}},
		{Ref: ToolsImage, Entrypoint: []string{"/bin/workload"}, Files: []ImageFile{
			{Path: "/bin/workload", Src: bin.Path("workload")},
			{Path: "/bin/scrapeagent", Src: bin.Path("scrapeagent")},
			{Path: "/bin/memsnap-collect", Src: bin.Path("memsnap-collect")},
		}},
	}
	// A shell image, as a customer names one from their registry for
	// kubectl-memsnap's node mode: Debian's static busybox under the names
	// the plugin runs (busybox dispatches on argv[0]).
	if _, err := os.Stat(busybox); err == nil {
		img := Image{Ref: ShellImage, Entrypoint: []string{"/bin/sh"}}
		for _, name := range []string{"sh", "cat", "chmod", "wc", "sleep", "ls"} {
			img.Files = append(img.Files, ImageFile{Path: "/bin/" + name, Src: busybox, Mode: 0o755})
		}
		images = append(images, img)
	}
	for i, img := range images {
		tarFile := filepath.Join(n.Dir, "images", strconv.Itoa(i)+".tar")
		if err := writeImageArchive(tarFile, img); err != nil {
			return err
		}
		if out, err := runCmd(n.bed.ctx, "/usr/bin/ctr", "-n", "k8s.io", "images", "import", tarFile); err != nil {
			return fmt.Errorf("ctr images import %s (%s): %v: %s", tarFile, img.Ref, err, out)
		}
	}
	return nil
}

func (n *KubeletNode) startKubelet() error {
	b := n.bed
	crt, key, err := writeServingCert(n.Dir, "kubelet-serving", n.IP, "127.0.0.1", n.Name)
	if err != nil {
		return err
	}
	// Test-only authentication and authorisation: anonymous requests are
	// allowed and everything is authorised (docs/e2e.md). The API server
	// reaches the kubelet through its node proxy without a client
	// certificate. failCgroupV1: v1.37 refuses cgroup v1 by default, and
	// this machine's memory controller is v1.
	cfg := fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: %s
cgroupsPerQOS: true
enforceNodeAllocatable: ["pods"]
kubeReserved: {memory: 512Mi}
systemReserved: {memory: 512Mi}
evictionHard: {memory.available: 100Mi, nodefs.available: "2%%", imagefs.available: "2%%", nodefs.inodesFree: "1%%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
oomScoreAdj: 0
failSwapOn: false
protectKernelDefaults: false
address: 0.0.0.0
port: %d
readOnlyPort: 0
tlsCertFile: %s
tlsPrivateKeyFile: %s
authentication:
  anonymous: {enabled: true}
  webhook: {enabled: false}
authorization:
  mode: AlwaysAllow
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
volumePluginDir: /var/lib/kubelet/volume-plugins
registerNode: true
serializeImagePulls: false
resolvConf: ""
maxPods: 20
`, n.CgroupRoot, KubeletPort, crt, key)
	n.ConfigFile = filepath.Join(n.Dir, "kubelet-config.yaml")
	if err := os.WriteFile(n.ConfigFile, []byte(cfg), 0o644); err != nil {
		return err
	}
	// Run as "kubelet" (kube-e2e is a multi-call binary): memsnap-collect
	// finds the kubelet by its process name, as on a real node.
	kubeletBin := filepath.Join(n.Dir, "kubelet")
	if err := os.Symlink(b.Bin.Path("kube-e2e"), kubeletBin); err != nil {
		return err
	}
	p, err := startProcess(n.Dir, "kubelet", nil, kubeletBin,
		"--config="+n.ConfigFile,
		"--kubeconfig="+b.Kubeconfig,
		"--hostname-override="+n.Name,
		"--node-ip="+n.IP,
		"--v=2")
	if err != nil {
		return err
	}
	n.kubelet = p
	start := time.Now()
	err = p.waitFor(b.ctx, "node "+n.Name+" Ready", NodeReadyTimeout, func() (bool, error) {
		node, err := b.Client.CoreV1().Nodes().Get(b.ctx, n.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range node.Status.Conditions {
			if c.Type == corev1.NodeReady {
				if c.Status == corev1.ConditionTrue {
					return true, nil
				}
				return false, fmt.Errorf("Ready=%s: %s", c.Status, c.Message)
			}
		}
		return false, errors.New("no Ready condition yet")
	})
	if err != nil {
		return err
	}
	b.t.Logf("testbed: real kubelet %s Ready after %s", n.Name, time.Since(start).Round(100*time.Millisecond))
	return nil
}

// KubeletLog is the kubelet's log file.
func (n *KubeletNode) KubeletLog() string { return n.kubelet.log }

// stop ends the node: the kubelet first (so it restarts nothing), then
// every process in the node's cgroups (the pods' containers), containerd,
// and containerd's shims by the pids they recorded. Everything runs in the
// bed's PID namespace; nothing outside it is touched.
func (n *KubeletNode) stop() {
	if n.kubelet != nil {
		n.kubelet.stop(stopGrace)
	}
	hs, _ := hierarchies()
	for _, h := range hs {
		if h.has("memory") || h.has("pids") {
			killTree(filepath.Join(h.Mount, n.CgroupRoot))
		}
	}
	if n.containerd != nil {
		n.containerd.stop(stopGrace)
	}
	// containerd's shims outlive it by design. Every process in this PID
	// namespace was started by the bed, so a shim here is one of ours.
	for _, pid := range shimProcesses() {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	// Orphans re-parent to the namespace's init, which reaps them; wait
	// until no process of the node is left, within reason.
	deadline := time.Now().Add(stopGrace)
	for time.Now().Before(deadline) && len(otherProcesses()) > 0 {
		time.Sleep(100 * time.Millisecond)
	}
}

// removeCgroups removes the node's cgroups in every hierarchy (the
// kubelet also made some in the unified one).
func (n *KubeletNode) removeCgroups() error {
	hs, err := hierarchies()
	if err != nil {
		return err
	}
	var errs []error
	for _, h := range hs {
		if err := removeTree(filepath.Join(h.Mount, n.CgroupRoot)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// killTree SIGKILLs every task in a cgroup tree.
func killTree(top string) {
	filepath.Walk(top, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.IsDir() {
			killTasks(p)
		}
		return nil
	})
}

// otherProcesses lists the PID namespace's processes other than its init,
// this process and processes the beds still run.
func otherProcesses() []int {
	ents, _ := os.ReadDir("/proc")
	live := map[int]bool{}
	bedsMu.Lock()
	for b := range beds {
		b.mu.Lock()
		if b.apiserver != nil && !b.apiserver.exited() {
			live[b.apiserver.cmd.Process.Pid] = true
		}
		b.mu.Unlock()
	}
	bedsMu.Unlock()
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == 1 || pid == os.Getpid() || live[pid] {
			continue
		}
		if strings.Contains(comm(pid), "containerd-shim") || inCgroupOf(pid, "/kubepods") {
			out = append(out, pid)
		}
	}
	return out
}

// shimProcesses lists this PID namespace's containerd shims by executable.
func shimProcesses() []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == 1 {
			continue
		}
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && strings.HasPrefix(filepath.Base(exe), "containerd-shim") {
			out = append(out, pid)
		}
	}
	return out
}

func inCgroupOf(pid int, part string) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	return err == nil && strings.Contains(string(b), part)
}

// WaitPod polls pod ns/name until cond holds, the timeout passes, or the
// bed closes.
func (b *Bed) WaitPod(ctx context.Context, ns, name string, timeout time.Duration, what string, cond func(*corev1.Pod) (bool, error)) (*corev1.Pod, error) {
	var last *corev1.Pod
	var p *process
	err := p.waitFor(ctx, fmt.Sprintf("pod %s/%s %s", ns, name, what), timeout, func() (bool, error) {
		pod, err := b.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		last = pod
		return cond(pod)
	})
	if err != nil && last != nil {
		err = fmt.Errorf("%w; last status: phase %s, %s", err, last.Status.Phase, containerStates(last))
	}
	return last, err
}

// containerStates summarises a pod's container states for messages.
func containerStates(p *corev1.Pod) string {
	var parts []string
	for _, cs := range p.Status.ContainerStatuses {
		s := cs.Name + ":"
		switch {
		case cs.State.Running != nil:
			s += "running"
		case cs.State.Waiting != nil:
			s += "waiting(" + cs.State.Waiting.Reason + ": " + cs.State.Waiting.Message + ")"
		case cs.State.Terminated != nil:
			s += fmt.Sprintf("terminated(%s, exit %d)", cs.State.Terminated.Reason, cs.State.Terminated.ExitCode)
		}
		s += fmt.Sprintf(" restarts=%d", cs.RestartCount)
		if t := cs.LastTerminationState.Terminated; t != nil {
			s += fmt.Sprintf(" last=(%s, exit %d)", t.Reason, t.ExitCode)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}
