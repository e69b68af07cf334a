package podpath

import (
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"/kubepods/burstable/pod" + uidDash + "/" + cid,
		"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidUnd + ".slice/cri-containerd-" + cid + ".scope",
		"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + uidUnd + ".slice/crio-conmon-" + cid + ".scope",
		"/system.slice/containerd.service/kubepods-besteffort-pod" + uidUnd + ".slice:cri-containerd:" + cid,
		"/lxc.payload.x/kubepods.slice/kubepods-pod" + uidStat + ".slice/docker-" + cid + ".scope",
		`/kubepods.slice/kubepods\x2dburstable.slice`,
		"/mem2", "/", "", "pod", "kubepods//pod:::",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		r := Parse(p)
		if r.Path != p {
			t.Fatalf("Path = %q, want the input", r.Path)
		}
		if r.PodUID != "" {
			if u, ok := NormalizeUID(r.PodUID); !ok || u != r.PodUID {
				t.Fatalf("PodUID %q is not normalised", r.PodUID)
			}
		}
		if r.ContainerID != "" && !isContainerID(r.ContainerID) {
			t.Fatalf("ContainerID %q is not 64 hex", r.ContainerID)
		}
		if (r.Level >= LevelPod) != (r.PodUID != "") {
			t.Fatalf("Level %v with PodUID %q", r.Level, r.PodUID)
		}
		// A container is named by its ID, or (any other child of a pod
		// cgroup) by Child; conmon is a child but no container, and Child
		// above the pod level names what no pod cgroup parses as.
		container := r.ContainerID != "" || r.PodUID != "" && r.Child != "" && r.Child != "conmon"
		if (r.Level == LevelContainer) != container {
			t.Fatalf("Level %v with ContainerID %q, Child %q", r.Level, r.ContainerID, r.Child)
		}
		if r.ContainerID != "" && r.Child != "" {
			t.Fatalf("both ContainerID %q and Child %q", r.ContainerID, r.Child)
		}
		switch r.QoS {
		case "", QoSGuaranteed, QoSBurstable, QoSBestEffort:
		default:
			t.Fatalf("QoS %q", r.QoS)
		}
		if r.KubepodsRoot != "" && !strings.HasSuffix(r.KubepodsRoot, "kubepods") && !strings.HasSuffix(r.KubepodsRoot, "kubepods.slice") {
			t.Fatalf("KubepodsRoot %q", r.KubepodsRoot)
		}
		switch ScopeOf(p) {
		case "", "container", "pod", "kubepods", "other":
		default:
			t.Fatalf("ScopeOf(%q) = %q", p, ScopeOf(p))
		}
	})
}
