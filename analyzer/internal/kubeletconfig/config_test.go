package kubeletconfig

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/memsnap/memsnap/internal/testcorpus"
)

var corpusConfigs = []string{"kubelet-config-eks-al2-template.json", "kubelet-config-openshift-kubelet.conf.json"}

func readCorpus(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(testcorpus.Path(t, "systemd", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestParseConfigFileCorpus compares the parsed fields with the file's own
// values read by a generic decode.
func TestParseConfigFileCorpus(t *testing.T) {
	for _, name := range corpusConfigs {
		t.Run(name, func(t *testing.T) {
			data := readCorpus(t, name)
			var raw map[string]any
			if err := json.Unmarshal(data, &raw); err != nil {
				t.Fatal(err)
			}
			kc, err := ParseConfigFile(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if kc.CgroupDriver != raw["cgroupDriver"] || kc.CgroupRoot != raw["cgroupRoot"] || kc.CgroupDriver == "" {
				t.Errorf("cgroupDriver %q cgroupRoot %q, file has %v %v", kc.CgroupDriver, kc.CgroupRoot, raw["cgroupDriver"], raw["cgroupRoot"])
			}
			for _, m := range []struct {
				key string
				got map[string]string
			}{{"evictionHard", kc.EvictionHard}, {"evictionSoft", kc.EvictionSoft}} {
				want, _ := raw[m.key].(map[string]any)
				if len(m.got) != len(want) {
					t.Errorf("%s = %v, file has %v", m.key, m.got, want)
				}
				for k, v := range want {
					if m.got[k] != v {
						t.Errorf("%s[%s] = %q, file has %v", m.key, k, m.got[k], v)
					}
				}
			}
		})
	}
}

// The same configuration as YAML: sigs.k8s.io/yaml keeps the camelCase
// fields that yaml.v3 would drop.
func TestParseConfigFileYAML(t *testing.T) {
	in := `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
cgroupsPerQOS: true
enforceNodeAllocatable: [pods, kube-reserved]
kubeReserved:
  memory: 1536Mi
  cpu: 100m
evictionHard:
  memory.available: 250Mi
`
	kc, err := ParseConfigFile(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if kc.CgroupDriver != "systemd" || kc.KubeReserved["memory"] != "1536Mi" || kc.EvictionHard["memory.available"] != "250Mi" ||
		len(kc.EnforceNodeAllocatable) != 2 || kc.CgroupsPerQOS == nil || !*kc.CgroupsPerQOS {
		t.Fatalf("config = %+v", kc)
	}
	c, errs := Merge(kc, nil, nil)
	if len(errs) != 0 || *c.KubeReservedMemory != 1536<<20 || *c.EvictionHardMemory.Bytes != 250<<20 || c.Sources[KeyKubeReserved] != "kubelet/config.yaml" {
		t.Fatalf("merged = %+v, %v", c, errs)
	}
}

func TestParseConfigFileErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"json syntax", "{\n  \"cgroupDriver\": systemd\n}", "kubelet/config.yaml: invalid JSON at byte 21 (line 2)"},
		{"yaml", "cgroupDriver: [\n", "kubelet/config.yaml: "},
		{"yaml type", "cgroupsPerQOS: maybe\n", "kubelet/config.yaml: "},
		{"empty", "\n", "kubelet/config.yaml: empty file"},
		{"deep json", strings.Repeat("{\"a\":", 100000), "kubelet/config.yaml: invalid JSON"},
		{"deep yaml", "a: " + strings.Repeat("[", 100000), "kubelet/config.yaml: "},
		{"aliases", "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\n", "kubelet/config.yaml: "},
	} {
		_, err := ParseConfigFile(strings.NewReader(tc.in))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want prefix %q", tc.name, err, tc.want)
		}
	}
}

func TestParseConfigz(t *testing.T) {
	data := readCorpus(t, corpusConfigs[1])
	kc, err := ParseConfigz(bytes.NewReader(append(append([]byte(`{"kubeletconfig": `), data...), '}')))
	if err != nil || kc.CgroupDriver != "systemd" || kc.EvictionHard["memory.available"] != "200Mi" {
		t.Fatalf("configz = %+v, %v", kc, err)
	}
	if _, err := ParseConfigz(strings.NewReader(`{"other": {}}`)); err == nil || !strings.Contains(err.Error(), `kubelet/configz.json: no "kubeletconfig"`) {
		t.Fatalf("error = %v", err)
	}
}

func TestParseVersion(t *testing.T) {
	for _, tc := range []struct {
		in                  string
		major, minor, patch int
		pre, build          string
	}{
		{"Kubernetes v1.20.11\n", 1, 20, 11, "", ""},
		{"v1.29.4-eks-036c24b", 1, 29, 4, "eks-036c24b", ""},
		{"Kubernetes v1.28.3+k3s1", 1, 28, 3, "", "k3s1"},
		{"v1.31.0-rc.1", 1, 31, 0, "rc.1", ""},
		{"1.22", 1, 22, 0, "", ""},
	} {
		v, err := ParseVersion(strings.NewReader(tc.in))
		if err != nil || v.Major != tc.major || v.Minor != tc.minor || v.Patch != tc.patch || v.Pre != tc.pre || v.Build != tc.build {
			t.Errorf("ParseVersion(%q) = %+v, %v", tc.in, v, err)
		}
	}
	if v, _ := ParseVersionString("v1.20.11"); v.AtLeast(1, 22) || !v.AtLeast(1, 20) {
		t.Errorf("AtLeast wrong for %v", v)
	}
	if _, err := ParseVersion(strings.NewReader("kubelet: command not found")); err == nil || !strings.HasPrefix(err.Error(), "kubelet/version.txt: no version") {
		t.Errorf("error = %v", err)
	}
}
