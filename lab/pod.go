// Package lab is memsnap's scenario lab (DESIGN §8): it reproduces the
// founding incidents on the kernel of the machine it runs on, in a
// kubepods-shaped cgroup subtree below its own cgroup, collects a real
// bundle with memsnap-collect and asserts memsnap analyze's findings
// against the kernel's own numbers. See docs/lab.md.
package lab

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path"
	"strings"
)

// Pod is one lab pod: names, a fresh UID per run (so the lab's kernel
// log events can never be confused with anyone else's) and its cgroups
// laid out as the kubelet's systemd driver names them (DOMAIN §3).
type Pod struct {
	Namespace, Name, UID string
	QoS                  string // "burstable" or "besteffort"
	Cgroup               string // pod cgroup, relative to the hierarchy mount
	LimitBytes           int64  // pod cgroup limit; < 0 = unlimited
	Containers           []*Container
	Volumes              []*Volume
}

// Container is one container cgroup of a lab pod. A restart gives it a
// new ID and cgroup, as the runtime does.
type Container struct {
	Name         string
	ID           string // 64 hex, as containerd names it
	Cgroup       string
	LimitBytes   int64 // < 0 = no limit
	RestartCount int
	LastOOMKill  bool // lastState.terminated.reason = OOMKilled
	// Env is added to the environment of the processes the lab starts in
	// the container ("KEY=VALUE"), as a pod spec's env would be.
	Env []string
}

// Volume is a memory-medium emptyDir: a tmpfs the lab mounts where the
// kubelet would, below <host root>/var/lib/kubelet/pods/<uid>/volumes.
type Volume struct {
	Name      string
	HostPath  string // path as the host sees it (inside the lab's host root)
	NodePath  string // path as the node sees it (/var/lib/kubelet/...)
	SizeBytes int64
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b)
}

// newUID returns a random RFC 4122 version 4 UUID, as the API server
// assigns pod UIDs.
func newUID() string {
	b := []byte(randomHex(16))
	b[12] = '4'
	b[16] = "89ab"[b[16]%4]
	s := string(b)
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

// kubepodsCgroup is the node-allocatable cgroup below a lab root.
func kubepodsCgroup(labRoot string) string { return path.Join(labRoot, "kubepods.slice") }

// qosCgroup is the QoS slice (ConvertCgroupNameToSystemd:
// kubernetes/kubernetes:pkg/kubelet/cm/cgroup_manager_linux.go).
func qosCgroup(labRoot, qos string) string {
	return path.Join(kubepodsCgroup(labRoot), "kubepods-"+qos+".slice")
}

// newPod lays out a pod below a lab root; no cgroup is created yet.
func newPod(labRoot, namespace, name, qos string, limit int64) *Pod {
	uid := newUID()
	return &Pod{
		Namespace: namespace, Name: name, UID: uid, QoS: qos, LimitBytes: limit,
		Cgroup: path.Join(qosCgroup(labRoot, qos), fmt.Sprintf("kubepods-%s-pod%s.slice", qos, strings.ReplaceAll(uid, "-", "_"))),
	}
}

// addContainer lays out a container (its cgroup is a cri-containerd scope).
func (p *Pod) addContainer(name string, limit int64) *Container {
	c := &Container{Name: name, LimitBytes: limit}
	c.newID(p)
	p.Containers = append(p.Containers, c)
	return c
}

// newID gives the container a fresh ID and cgroup, as a restart does.
func (c *Container) newID(p *Pod) {
	c.ID = randomHex(32)
	c.Cgroup = path.Join(p.Cgroup, "cri-containerd-"+c.ID+".scope")
}
