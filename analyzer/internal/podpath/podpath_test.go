package podpath

import (
	"strings"
	"testing"
)

const (
	uidDash = "5931aa75-4603-4e65-b552-7c71cf55cfb5"
	uidUnd  = "5931aa75_4603_4e65_b552_7c71cf55cfb5"
	uidStat = "8daa50c3a64c9ff60bb9eab7b44b56fd" // static pod, netdata/netdata#4868
	cid     = "25a38b5b8d556d7983d975577f5ac75ebbcfb4b269e6deaa0a0440c1ffc969ca"
)

func TestParse(t *testing.T) {
	tests := []struct {
		path string
		want Ref
	}{
		// cgroupfs driver, every QoS class.
		{"/kubepods", Ref{KubepodsRoot: "/kubepods", Level: LevelKubepods}},
		{"/kubepods/burstable", Ref{KubepodsRoot: "/kubepods", QoS: QoSBurstable, Level: LevelQoS}},
		{"/kubepods/besteffort/", Ref{KubepodsRoot: "/kubepods", QoS: QoSBestEffort, Level: LevelQoS}},
		{"/kubepods/pod" + uidDash, Ref{KubepodsRoot: "/kubepods", QoS: QoSGuaranteed, PodUID: uidDash, Level: LevelPod}},
		{"/kubepods/burstable/pod22697648-cc63-47d6-ba97-fe420988dfc1", // kubernetes/kubernetes#114142
			Ref{KubepodsRoot: "/kubepods", QoS: QoSBurstable, PodUID: "22697648-cc63-47d6-ba97-fe420988dfc1", Level: LevelPod}},
		{"/kubepods/besteffort/pod" + uidDash + "/" + cid,
			Ref{KubepodsRoot: "/kubepods", QoS: QoSBestEffort, PodUID: uidDash, ContainerID: cid, Level: LevelContainer}},
		{"/kubepods/pod" + uidDash + "/" + cid,
			Ref{KubepodsRoot: "/kubepods", QoS: QoSGuaranteed, PodUID: uidDash, ContainerID: cid, Level: LevelContainer}},
		{"/kubepods/burstable/pod" + uidDash + "/crio-" + cid,
			Ref{KubepodsRoot: "/kubepods", QoS: QoSBurstable, PodUID: uidDash, ContainerID: cid, Runtime: RuntimeCRIO, Level: LevelContainer}},
		// systemd driver, every QoS class and runtime.
		{"/kubepods.slice", Ref{KubepodsRoot: "/kubepods.slice", Level: LevelKubepods}},
		{"/kubepods.slice/kubepods-burstable.slice", Ref{KubepodsRoot: "/kubepods.slice", QoS: QoSBurstable, Level: LevelQoS}},
		{"/kubepods.slice/kubepods-pod" + uidUnd + ".slice",
			Ref{KubepodsRoot: "/kubepods.slice", QoS: QoSGuaranteed, PodUID: uidDash, Level: LevelPod}},
		{"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidUnd + ".slice/cri-containerd-" + cid + ".scope",
			Ref{KubepodsRoot: "/kubepods.slice", QoS: QoSBurstable, PodUID: uidDash, ContainerID: cid, Runtime: RuntimeContainerd, Level: LevelContainer}},
		{"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + uidUnd + ".slice/crio-" + cid + ".scope",
			Ref{KubepodsRoot: "/kubepods.slice", QoS: QoSBestEffort, PodUID: uidDash, ContainerID: cid, Runtime: RuntimeCRIO, Level: LevelContainer}},
		{"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + uidUnd + ".slice/crio-conmon-" + cid + ".scope",
			Ref{KubepodsRoot: "/kubepods.slice", QoS: QoSBestEffort, PodUID: uidDash, Runtime: RuntimeCRIO, Child: "conmon", Level: LevelPod}},
		{"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidUnd + ".slice/docker-" + cid + ".scope",
			Ref{KubepodsRoot: "/kubepods.slice", QoS: QoSBurstable, PodUID: uidDash, ContainerID: cid, Runtime: RuntimeDocker, Level: LevelContainer}},
		{"/kubepods.slice/kubepods-pod" + uidUnd + ".slice/cri-containerd-" + cid + ".scope",
			Ref{KubepodsRoot: "/kubepods.slice", QoS: QoSGuaranteed, PodUID: uidDash, ContainerID: cid, Runtime: RuntimeContainerd, Level: LevelContainer}},
		// Static pods: 32 hex, no dashes.
		{"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidStat + ".slice",
			Ref{KubepodsRoot: "/kubepods.slice", QoS: QoSBurstable, PodUID: uidStat, Level: LevelPod}},
		{"/kubepods/burstable/pod" + uidStat + "/" + cid,
			Ref{KubepodsRoot: "/kubepods", QoS: QoSBurstable, PodUID: uidStat, ContainerID: cid, Level: LevelContainer}},
		// Roots nested under any prefix (leptonai/gpud#70, the scenario lab).
		{"/lxc.payload.x/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidUnd + ".slice",
			Ref{KubepodsRoot: "/lxc.payload.x/kubepods.slice", QoS: QoSBurstable, PodUID: uidDash, Level: LevelPod}},
		{"/process_api/abc/memsnap-lab/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidUnd + ".slice/cri-containerd-" + cid + ".scope",
			Ref{KubepodsRoot: "/process_api/abc/memsnap-lab/kubepods.slice", QoS: QoSBurstable, PodUID: uidDash, ContainerID: cid, Runtime: RuntimeContainerd, Level: LevelContainer}},
		{"/custom-root/kubepods/besteffort/pod" + uidDash,
			Ref{KubepodsRoot: "/custom-root/kubepods", QoS: QoSBestEffort, PodUID: uidDash, Level: LevelPod}},
		// Misconfigured containerd: systemd-style cgroupsPath with the cgroupfs driver.
		{"/system.slice/containerd.service/kubepods-besteffort-pod" + uidUnd + ".slice:cri-containerd:" + cid,
			Ref{QoS: QoSBestEffort, PodUID: uidDash, ContainerID: cid, Runtime: RuntimeContainerd, Level: LevelContainer}},
		// Mangled or unknown QoS slice: the pod UID still counts.
		{"/kubepods.slice/kubepods-burstabl.slice/kubepods-burstabl-pod" + uidUnd + ".slice",
			Ref{KubepodsRoot: "/kubepods.slice", PodUID: uidDash, Level: LevelPod}},
		{"/kubepods/weird/pod" + uidDash + "/" + cid,
			Ref{KubepodsRoot: "/kubepods", PodUID: uidDash, ContainerID: cid, Level: LevelContainer}},
		{`/kubepods.slice/kubepods\x2dburstable.slice/kubepods\x2dburstable\x2dpod` + uidUnd + ".slice",
			Ref{KubepodsRoot: "/kubepods.slice", QoS: QoSBurstable, PodUID: uidDash, Level: LevelPod}},
		// Upper-case hex is lowered.
		{"/kubepods/pod" + strings.ToUpper(uidDash), Ref{KubepodsRoot: "/kubepods", QoS: QoSGuaranteed, PodUID: uidDash, Level: LevelPod}},
		// A child of a pod cgroup is a container whatever its name (seed 003's
		// 58-hex-digit scopes); only a name that parses as a pod is a pod.
		{"/kubepods/burstable/pod" + uidDash + "/sandbox", Ref{KubepodsRoot: "/kubepods", QoS: QoSBurstable, PodUID: uidDash, Child: "sandbox", Level: LevelContainer}},
		{"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + strings.ReplaceAll(uidDash, "-", "_") + ".slice/docker-" + cid[:58] + ".scope",
			Ref{KubepodsRoot: "/kubepods.slice", QoS: QoSBurstable, PodUID: uidDash, Child: "docker-" + cid[:58] + ".scope", Level: LevelContainer}},
		{"/kubepods/burstable/pod" + uidDash + "/" + cid[:58], Ref{KubepodsRoot: "/kubepods", QoS: QoSBurstable, PodUID: uidDash, Child: cid[:58], Level: LevelContainer}},
		{"/kubepods.slice/foo.slice", Ref{KubepodsRoot: "/kubepods.slice", Child: "foo.slice", Level: LevelKubepods}},
		{"/kubepods/pod" + uidDash + "/" + cid + "/init.scope",
			Ref{KubepodsRoot: "/kubepods", QoS: QoSGuaranteed, PodUID: uidDash, ContainerID: cid, Level: LevelContainer}},
		// Outside Kubernetes.
		{"/system.slice/docker-0074aa.scope", Ref{}},
		{"/mem2", Ref{}},
		{"/", Ref{}},
		{"", Ref{}},
		{"/kubepods-burstable.slice", Ref{}}, // a QoS name without the root is not a root
		{"/podnotauid", Ref{}},               // "pod" must be followed by a UID
		{"/kubepods/pod1234/" + cid, Ref{KubepodsRoot: "/kubepods", Child: "pod1234/" + cid, Level: LevelKubepods}},
		{"/user.slice/user-121.slice/session-c1.scope", Ref{}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			tt.want.Path = tt.path
			if got := Parse(tt.path); got != tt.want {
				t.Errorf("Parse(%q)\n got %+v\nwant %+v", tt.path, got, tt.want)
			}
		})
	}
}

func TestScopeOf(t *testing.T) {
	tests := map[string]string{
		"":                    "",
		"/":                   "",
		"/kubepods.slice":     "kubepods",
		"/kubepods/burstable": "kubepods",
		"/kubepods.slice/kubepods-besteffort.slice":        "kubepods",
		"/kubepods/burstable/pod" + uidDash:                "pod",
		"/kubepods/burstable/pod" + uidDash + "/" + cid:    "container",
		"/kubepods.slice/kubepods-pod" + uidUnd + ".slice": "pod",
		"/system.slice/containerd.service":                 "other",
		"/mem2":                                            "other",
		"/leaker":                                          "other",
		"/user.slice/user-121.slice/session-c1.scope":      "other",
		"/a/kubepods.slice/kubepods-pod" + uidUnd + ".slice/cri-containerd-" + cid + ".scope": "container",
	}
	for in, want := range tests {
		if got := ScopeOf(in); got != want {
			t.Errorf("ScopeOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNormalizeUID(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{uidDash, uidDash, true},
		{uidUnd, uidDash, true},
		{uidStat, uidStat, true},
		{"5931AA75_4603_4e65_b552_7c71cf55cfb5", uidDash, true},
		{"5931aa75-4603-4e65-b552-7c71cf55cfbz", "", false},
		{"5931aa75x4603-4e65-b552-7c71cf55cfb5", "", false},
		{"abc", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := NormalizeUID(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("NormalizeUID(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	if got := SystemdUID(uidDash); got != uidUnd {
		t.Errorf("SystemdUID = %q, want %q", got, uidUnd)
	}
}
