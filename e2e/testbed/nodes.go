package testbed

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// KubeletPort is where kubelets (real and stand-in) serve, as on a real
// node; every node has its own address, so they all use it.
const KubeletPort = 10250

// NodeSpec is what RegisterNode writes into a Node object.
type NodeSpec struct {
	Name        string
	IP          string // InternalIP, where the API server's node proxy connects
	Port        int    // status.daemonEndpoints.kubeletEndpoint.Port
	MemoryBytes int64  // capacity; allocatable is capacity − 1 GiB − 100 MiB eviction
	CPU         string // capacity, e.g. "8"
	Version     string // status.nodeInfo.kubeletVersion
}

// RegisterNode creates a Node with a status a kubelet would report: capacity,
// allocatable, Ready and pressure conditions, addresses and the kubelet
// endpoint. With no controller-manager nothing marks it NotReady later.
func (b *Bed) RegisterNode(s NodeSpec) (*corev1.Node, error) {
	if s.CPU == "" {
		s.CPU = "8"
	}
	if s.Version == "" {
		s.Version = "v1.37.2"
	}
	ctx := b.ctx
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: s.Name, Labels: map[string]string{
		"kubernetes.io/hostname": s.Name, "kubernetes.io/os": "linux", "memsnap.e2e/stand-in": "true",
	}}}
	created, err := b.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		created, err = b.Client.CoreV1().Nodes().Get(ctx, s.Name, metav1.GetOptions{})
	}
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", s.Name, err)
	}
	now := metav1.NewTime(time.Now())
	mem := resource.NewQuantity(s.MemoryBytes, resource.BinarySI)
	alloc := resource.NewQuantity(s.MemoryBytes-(1<<30)-(100<<20), resource.BinarySI)
	cond := func(t corev1.NodeConditionType, st corev1.ConditionStatus, reason, msg string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: t, Status: st, Reason: reason, Message: msg, LastHeartbeatTime: now, LastTransitionTime: now}
	}
	created.Status = corev1.NodeStatus{
		Capacity: corev1.ResourceList{
			corev1.ResourceMemory: *mem, corev1.ResourceCPU: resource.MustParse(s.CPU), corev1.ResourcePods: resource.MustParse("110"),
		},
		Allocatable: corev1.ResourceList{
			corev1.ResourceMemory: *alloc, corev1.ResourceCPU: resource.MustParse(s.CPU), corev1.ResourcePods: resource.MustParse("110"),
		},
		Conditions: []corev1.NodeCondition{
			cond(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
			cond(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
			cond(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
			cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "memsnap e2e stand-in kubelet is posting ready status"),
		},
		Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: s.IP},
			{Type: corev1.NodeHostName, Address: s.Name},
		},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(s.Port)}},
		NodeInfo: corev1.NodeSystemInfo{
			KubeletVersion: s.Version, OperatingSystem: "linux", Architecture: "amd64",
			ContainerRuntimeVersion: "containerd://1.6.20", KernelVersion: "6.1.0-memsnap-e2e", OSImage: "memsnap e2e stand-in",
		},
	}
	updated, err := b.Client.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("node %s status: %w", s.Name, err)
	}
	return updated, nil
}

// StandinOptions shape a stand-in node's generated contents.
type StandinOptions struct {
	Pods, ContainersPerPod int
	Seed                   uint64
	// Faults are memsnap-gen --fault values (MODE[:PATH]): hang, reset,
	// 500, slow.
	Faults []string
}

// StandinNode is a Node object backed by memsnap-gen --serve --tls on its
// own address: a kubelet stand-in serving a generated node.
type StandinNode struct {
	Name string
	IP   string
	// Tree is the generated host tree; Tree/kubelet/<path> is what the
	// stand-in serves at /<path>.
	Tree string
	// URL is https://IP:10250; CertFile its self-signed certificate.
	URL      string
	CertFile string
	proc     *process
}

// File is what the stand-in serves at path ("stats/summary", "pods", …).
func (n *StandinNode) File(path string) ([]byte, error) {
	return os.ReadFile(filepath.Join(n.Tree, "kubelet", filepath.FromSlash(path)))
}

// AddStandinNodes adds one stand-in per shape, named standin-a, standin-b, …
// on NodeIP(0), NodeIP(1), …; tests then add their special nodes after them.
func (b *Bed) AddStandinNodes(shapes ...StandinOptions) ([]*StandinNode, error) {
	var nodes []*StandinNode
	for i, o := range shapes {
		n, err := b.AddStandinNode(fmt.Sprintf("standin-%c", 'a'+i), i, o)
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
	return nodes, nil
}

// AddStandinNode generates node i's tree (memsnap-gen --host-tree), serves
// it with TLS on NodeIP(i):10250 and registers the Node.
func (b *Bed) AddStandinNode(name string, i int, o StandinOptions) (*StandinNode, error) {
	if o.Pods == 0 {
		o.Pods = 5
	}
	if o.ContainersPerPod == 0 {
		o.ContainersPerPod = 2
	}
	if o.Seed == 0 {
		o.Seed = uint64(i + 1)
	}
	ip := NodeIP(i)
	if err := AddAddress(ip); err != nil {
		return nil, err
	}
	n := &StandinNode{Name: name, IP: ip, Tree: filepath.Join(b.Dir, "node-"+name)}
	gen := b.Bin.Path("memsnap-gen")
	shape := []string{"--pods", strconv.Itoa(o.Pods), "--containers-per-pod", strconv.Itoa(o.ContainersPerPod),
		"--cgroup", "v1", "--driver", "cgroupfs", "--seed", strconv.FormatUint(o.Seed, 10), "--kernel-lines", "500"}
	if out, err := runCmd(b.ctx, gen, append([]string{"--host-tree", n.Tree}, shape...)...); err != nil {
		return nil, fmt.Errorf("memsnap-gen --host-tree: %v\n%s", err, out)
	}
	argv := append([]string{gen, "--serve", n.Tree, "--addr", fmt.Sprintf("%s:%d", ip, KubeletPort), "--tls"}, shape...)
	for _, f := range o.Faults {
		argv = append(argv, "--fault", f)
	}
	p, err := startProcess(b.Dir, "standin-"+name, nil, argv...)
	if err != nil {
		return nil, err
	}
	n.proc = p
	b.track(p)
	// The first line of its output is the collector's arguments, written
	// once it listens.
	err = p.waitFor(b.ctx, "stand-in "+name+" listening", 30*time.Second, func() (bool, error) {
		f, err := os.Open(p.log)
		if err != nil {
			return false, err
		}
		defer f.Close()
		line, err := bufio.NewReader(f).ReadString('\n')
		if err != nil {
			return false, nil
		}
		fs := strings.Fields(line)
		for j := 0; j+1 < len(fs); j++ {
			switch fs[j] {
			case "--kubelet":
				n.URL = fs[j+1]
			case "--kubelet-ca":
				n.CertFile = fs[j+1]
			}
		}
		return n.URL != "", nil
	})
	if err != nil {
		return nil, err
	}
	mem, err := memTotal(filepath.Join(n.Tree, "root", "proc", "meminfo"))
	if err != nil {
		return nil, err
	}
	if _, err := b.RegisterNode(NodeSpec{Name: name, IP: ip, Port: KubeletPort, MemoryBytes: mem}); err != nil {
		return nil, err
	}
	return n, nil
}

// memTotal reads MemTotal from a meminfo file, in bytes.
func memTotal(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				if err == nil {
					return kb << 10, nil
				}
			}
		}
	}
	return 0, fmt.Errorf("%s: no MemTotal line", path)
}
