package kubeletconfig

import (
	"bytes"
	"strings"
	"testing"

	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"
)

func mustFile(t *testing.T, name string) *kubeletv1beta1.KubeletConfiguration {
	t.Helper()
	kc, err := ParseConfigFile(bytes.NewReader(readCorpus(t, name)))
	if err != nil {
		t.Fatal(err)
	}
	return kc
}

func mustFlags(t *testing.T, s string) *Flags {
	t.Helper()
	fs, err := ParseFlags(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestParseFlags(t *testing.T) {
	fs := mustFlags(t, "/usr/bin/kubelet\n--config=/var/lib/kubelet/config.yaml\n--cgroup-driver\nsystemd\n--cgroups-per-qos\n--kube-reserved=memory=1Gi,cpu=100m\n\"--node-labels=a=b\\nc\"\n-v=2\n--\n--ignored=1\n")
	want := []Flag{
		{"config", "/var/lib/kubelet/config.yaml", true, 2},
		{"cgroup-driver", "systemd", true, 3},
		{"cgroups-per-qos", "", false, 5},
		{"kube-reserved", "memory=1Gi,cpu=100m", true, 6},
		{"node-labels", "a=b\nc", true, 7},
		{"v", "2", true, 8},
	}
	if len(fs.Args) != len(want) {
		t.Fatalf("args = %+v", fs.Args)
	}
	for i := range want {
		if fs.Args[i] != want[i] {
			t.Errorf("arg %d = %+v, want %+v", i, fs.Args[i], want[i])
		}
	}
	if f, _ := fs.Lookup("kube-reserved"); f.Source() != "kubelet/flags.txt:6 --kube-reserved" {
		t.Errorf("source = %q", f.Source())
	}
}

// A config with no memory settings (EKS AL2 template): everything memory
// related comes from kubelet defaults, and says so.
func TestMergeDefaults(t *testing.T) {
	c, errs := Merge(mustFile(t, "kubelet-config-eks-al2-template.json"), nil, nil)
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	if c.CgroupDriver != "cgroupfs" || c.Sources[KeyCgroupDriver] != "kubelet/config.yaml" || c.CgroupRoot != "/" {
		t.Errorf("driver %q from %q, root %q", c.CgroupDriver, c.Sources[KeyCgroupDriver], c.CgroupRoot)
	}
	if c.EvictionHardMemory == nil || *c.EvictionHardMemory.Bytes != 100<<20 || c.Sources[KeyEvictionHard] != SourceDefault {
		t.Errorf("evictionHard = %+v from %q", c.EvictionHardMemory, c.Sources[KeyEvictionHard])
	}
	if !c.EnforcesPods() || c.Sources[KeyEnforceNodeAllocatable] != SourceDefault || c.Sources[KeyCgroupsPerQOS] != SourceDefault {
		t.Errorf("enforce %v, sources %v", c.EnforceNodeAllocatable, c.Sources)
	}
	if c.KubeReservedMemory != nil || c.SystemReservedMemory != nil || c.EvictionSoftMemory != nil {
		t.Errorf("reservations must be absent: %+v", c)
	}
}

// kubernetes/kubernetes#88197 setup: flags override the file.
func TestMergeFlagsOverrideFile(t *testing.T) {
	fs := mustFlags(t, "kubelet\n--config\n/etc/kubernetes/kubelet.conf\n--cgroup-driver=systemd\n--enforce-node-allocatable=pods\n"+
		"--kube-reserved=cpu=100m,memory=1.5Gi\n--system-reserved=memory=512Mi\n--eviction-hard=memory.available<5%,nodefs.available<10%\n"+
		"--reserved-memory=0:memory=2148Mi,hugepages-2Mi=1Gi;1:memory=100Mi\n")
	c, errs := Merge(mustFile(t, "kubelet-config-openshift-kubelet.conf.json"), nil, fs)
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	if c.CgroupDriver != "systemd" || c.Sources[KeyCgroupDriver] != "kubelet/flags.txt:4 --cgroup-driver" {
		t.Errorf("driver %q from %q", c.CgroupDriver, c.Sources[KeyCgroupDriver])
	}
	if *c.KubeReservedMemory != 1536<<20 || *c.SystemReservedMemory != 512<<20 || c.Sources[KeySystemReserved] != "kubelet/flags.txt:7 --system-reserved" {
		t.Errorf("reserved %d %d %v", *c.KubeReservedMemory, *c.SystemReservedMemory, c.Sources)
	}
	// The file says 200Mi; the flag's map replaces it.
	if c.EvictionHardMemory.Percent == nil || *c.EvictionHardMemory.Percent != 5 || c.EvictionHardMemory.BytesOf(32<<30) != 32<<30/20 {
		t.Errorf("evictionHard = %+v", c.EvictionHardMemory)
	}
	// evictionSoft has no flag: the file's 500Mi stands.
	if *c.EvictionSoftMemory.Bytes != 500<<20 || c.Sources[KeyEvictionSoft] != "kubelet/config.yaml" {
		t.Errorf("evictionSoft = %+v from %q", c.EvictionSoftMemory, c.Sources[KeyEvictionSoft])
	}
	if *c.ReservedMemory != 2248<<20 || c.ReservedHugepages != 1<<30 || c.ConfigPath != "/etc/kubernetes/kubelet.conf" {
		t.Errorf("reservedMemory %d hugepages %d config %q", *c.ReservedMemory, c.ReservedHugepages, c.ConfigPath)
	}
	if !c.EnforcesPods() {
		t.Error("pods enforcement lost")
	}
}

func TestMergeConfigzWins(t *testing.T) {
	configz := &kubeletv1beta1.KubeletConfiguration{
		CgroupDriver:           "systemd",
		EnforceNodeAllocatable: []string{"pods"},
		KubeReserved:           map[string]string{"memory": "1Gi"},
		EvictionHard:           map[string]string{"memory.available": "300Mi"},
	}
	fs := mustFlags(t, "--cgroup-driver=cgroupfs\n--kube-reserved=memory=2Gi\n--cgroups-per-qos=false\n")
	c, errs := Merge(mustFile(t, "kubelet-config-eks-al2-template.json"), configz, fs)
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	if c.CgroupDriver != "systemd" || *c.KubeReservedMemory != 1<<30 || *c.EvictionHardMemory.Bytes != 300<<20 ||
		c.Sources[KeyKubeReserved] != "kubelet/configz.json" || c.CgroupRoot != "" {
		t.Errorf("merged = %+v", c)
	}
	// configz is complete: an absent field is empty, not defaulted.
	if c.CgroupsPerQOS != nil || c.Sources[KeyCgroupsPerQOS] != "kubelet/configz.json" {
		t.Errorf("cgroupsPerQOS = %v from %q", c.CgroupsPerQOS, c.Sources[KeyCgroupsPerQOS])
	}
}

// Setting evictionHard without memory.available drops the memory default
// (kubernetes/kubernetes#119985) unless mergeDefaultEvictionSettings.
func TestMergePartialEvictionHard(t *testing.T) {
	file := &kubeletv1beta1.KubeletConfiguration{EvictionHard: map[string]string{"nodefs.available": "10%"}}
	c, _ := Merge(file, nil, nil)
	if c.EvictionHardMemory != nil || !strings.Contains(c.Sources[KeyEvictionHard], "119985") {
		t.Errorf("evictionHard = %+v, %q", c.EvictionHardMemory, c.Sources[KeyEvictionHard])
	}
	file.MergeDefaultEvictionSettings = ptr(true)
	c, _ = Merge(file, nil, nil)
	if c.EvictionHardMemory == nil || *c.EvictionHardMemory.Bytes != 100<<20 || c.Sources[KeyEvictionHard] != SourceDefault {
		t.Errorf("merged default: %+v", c.EvictionHardMemory)
	}
	// 0% disables the threshold (kubernetes/kubernetes#59681).
	c, _ = Merge(&kubeletv1beta1.KubeletConfiguration{EvictionHard: map[string]string{"memory.available": "0%"}}, nil, nil)
	if c.EvictionHardMemory != nil {
		t.Errorf("0%% threshold = %+v", c.EvictionHardMemory)
	}
}

func TestMergeBadValues(t *testing.T) {
	fs := mustFlags(t, "--kube-reserved=memory=lots\n--eviction-hard=memory.available<-5%\n--cgroups-per-qos=maybe\n--system-reserved=memory\n--reserved-memory=x\n")
	c, errs := Merge(nil, nil, fs)
	if len(errs) != 5 {
		t.Fatalf("errs = %v", errs)
	}
	if !strings.HasPrefix(errs[len(errs)-1].Error(), "kubelet/flags.txt:") {
		t.Errorf("error does not name the flag: %v", errs)
	}
	if c.KubeReservedMemory != nil || c.EvictionHardMemory != nil || c.CgroupsPerQOS == nil || !*c.CgroupsPerQOS {
		t.Errorf("bad values must stay unset (defaults apply): %+v", c)
	}
}

func FuzzParseFlags(f *testing.F) {
	f.Add([]byte("/usr/bin/kubelet\n--kube-reserved=memory=1Gi,cpu=100m\n--eviction-hard\nmemory.available<100Mi,nodefs.available<10%\n--cgroups-per-qos\n--reserved-memory=0:memory=1Gi\n"))
	f.Add([]byte("--enforce-node-allocatable=\n--eviction-soft=memory.available<1e400%\n-\n--=\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fs, _ := ParseFlags(bytes.NewReader(data))
		if fs == nil {
			return
		}
		c, _ := Merge(nil, nil, fs)
		c.EnforcesPods()
		c.EvictionHardMemory.BytesOf(1 << 30)
	})
}

func FuzzParseConfigFile(f *testing.F) {
	for _, name := range corpusConfigs {
		f.Add(readCorpus(f, name))
	}
	f.Add([]byte("kind: KubeletConfiguration\nevictionHard: {memory.available: 5%}\nkubeReserved: {memory: 1Gi}\nreservedMemory: [{numaNode: 0, limits: {memory: 1Gi}}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		kc, err := ParseConfigFile(bytes.NewReader(data))
		if err != nil {
			return
		}
		Merge(kc, nil, nil)
		Merge(nil, kc, nil)
	})
}

func FuzzParseConfigz(f *testing.F) {
	f.Add([]byte(`{"kubeletconfig": ` + string(readCorpus(f, corpusConfigs[1])) + `}`))
	f.Add([]byte(`{"kubeletconfig": null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if kc, err := ParseConfigz(bytes.NewReader(data)); err == nil {
			Merge(nil, kc, nil)
		}
	})
}

func FuzzParseVersion(f *testing.F) {
	f.Add([]byte("Kubernetes v1.20.11\n"))
	f.Add([]byte("v1.29.4-eks-036c24b+meta"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ParseVersion(bytes.NewReader(data))
	})
}
