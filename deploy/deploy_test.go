// Package deploy holds the Kubernetes manifests for memsnap-collect; this
// test decodes every one of them with the k8s.io/api types, strictly.
package deploy

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

func documents(t *testing.T, file string) [][]byte {
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var docs [][]byte
	for _, d := range bytes.Split(b, []byte("\n---\n")) {
		if len(bytes.TrimSpace(d)) > 0 {
			docs = append(docs, d)
		}
	}
	return docs
}

func decode(t *testing.T, file string, doc []byte) any {
	t.Helper()
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var obj any
	switch tm.Kind {
	case "Namespace":
		obj = &corev1.Namespace{}
	case "ServiceAccount":
		obj = &corev1.ServiceAccount{}
	case "ClusterRole":
		obj = &rbacv1.ClusterRole{}
	case "ClusterRoleBinding":
		obj = &rbacv1.ClusterRoleBinding{}
	case "RoleBinding":
		obj = &rbacv1.RoleBinding{}
	case "DaemonSet":
		obj = &appsv1.DaemonSet{}
	case "Job":
		obj = &batchv1.Job{}
	default:
		t.Fatalf("%s: unexpected kind %q", file, tm.Kind)
	}
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		t.Fatalf("%s: %s: %v", file, tm.Kind, err)
	}
	return obj
}

func TestManifestsDecode(t *testing.T) {
	files, _ := filepath.Glob("*.yaml")
	if len(files) < 3 {
		t.Fatalf("manifests: %v", files)
	}
	kinds := map[string]int{}
	var role *rbacv1.ClusterRole
	var pods []corev1.PodSpec
	for _, f := range files {
		if f == "rbac-plugin.yaml" {
			continue // the kubectl plugin's roles: TestPluginRoles
		}
		for _, doc := range documents(t, f) {
			switch o := decode(t, f, doc).(type) {
			case *rbacv1.ClusterRole:
				role = o
				kinds["ClusterRole"]++
			case *appsv1.DaemonSet:
				pods = append(pods, o.Spec.Template.Spec)
				kinds["DaemonSet"]++
			case *batchv1.Job:
				pods = append(pods, o.Spec.Template.Spec)
				kinds["Job"]++
			}
		}
	}
	if kinds["ClusterRole"] != 1 || kinds["DaemonSet"] != 1 || kinds["Job"] != 1 {
		t.Fatalf("kinds %v", kinds)
	}
	granted := map[string]bool{}
	for _, r := range role.Rules {
		for _, res := range r.Resources {
			granted[res] = true
		}
	}
	for _, need := range []string{"nodes/stats", "nodes/metrics", "nodes/proxy", "nodes"} {
		if !granted[need] {
			t.Errorf("ClusterRole lacks %s", need)
		}
	}
	for _, p := range pods {
		if !p.HostPID || p.ServiceAccountName != "memsnap-collect" {
			t.Errorf("pod spec: hostPID=%v sa=%q", p.HostPID, p.ServiceAccountName)
		}
		c := p.Containers[0]
		if c.Resources.Limits.Memory().IsZero() || c.Resources.Limits.Cpu().IsZero() {
			t.Error("collector container without resource limits")
		}
		hostRoot := false
		for _, m := range c.VolumeMounts {
			hostRoot = hostRoot || (m.MountPath == "/host" && m.ReadOnly)
		}
		for _, v := range p.Volumes {
			if v.HostPath != nil && v.HostPath.Path == "/" && !hostRoot {
				t.Error("host / not mounted read-only at /host")
			}
		}
		if !strings.Contains(strings.Join(append(c.Command, c.Args...), " "), "sleep") {
			t.Error("the pod must stay up so the bundle can be fetched")
		}
	}
}

// TestPluginRoles checks deploy/rbac-plugin.yaml grants what kubectl-memsnap
// asks SelfSubjectAccessReview about (plugin/access.go), and nothing that
// writes outside the node-mode role's pods.
func TestPluginRoles(t *testing.T) {
	roles := map[string]map[string]bool{} // role → "verb resource"
	for _, doc := range documents(t, "rbac-plugin.yaml") {
		if r, ok := decode(t, "rbac-plugin.yaml", doc).(*rbacv1.ClusterRole); ok {
			roles[r.Name] = map[string]bool{}
			for _, rule := range r.Rules {
				for _, res := range rule.Resources {
					for _, v := range rule.Verbs {
						roles[r.Name][v+" "+res] = true
					}
				}
			}
		}
	}
	want := map[string][]string{
		"memsnap-api":  {"get nodes", "list nodes", "get nodes/proxy", "list pods", "list events"},
		"memsnap-node": {"create pods", "get pods", "delete pods", "create pods/exec"},
	}
	for role, perms := range want {
		for _, p := range perms {
			if !roles[role][p] {
				t.Errorf("%s lacks %s", role, p)
			}
		}
	}
	for p := range roles["memsnap-api"] {
		if !strings.HasPrefix(p, "get ") && !strings.HasPrefix(p, "list ") {
			t.Errorf("memsnap-api may %s: API mode only reads", p)
		}
	}
	if len(roles) != 2 {
		t.Errorf("roles %v", roles)
	}
}

// TestKrewManifest: one archive per supported platform, each with a sha256
// slot make release fills and the binary krew links as kubectl-memsnap.
func TestKrewManifest(t *testing.T) {
	b, err := os.ReadFile("krew/memsnap.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Spec struct {
			Version          string `json:"version"`
			Homepage         string `json:"homepage"`
			ShortDescription string `json:"shortDescription"`
			Description      string `json:"description"`
			Caveats          string `json:"caveats"`
			Platforms        []struct {
				Selector struct {
					MatchLabels map[string]string `json:"matchLabels"`
				} `json:"selector"`
				URI    string `json:"uri"`
				SHA256 string `json:"sha256"`
				Bin    string `json:"bin"`
			} `json:"platforms"`
		} `json:"spec"`
	}
	if err := yaml.UnmarshalStrict(b, &m); err != nil {
		t.Fatal(err)
	}
	if m.Kind != "Plugin" || m.Metadata.Name != "memsnap" || !strings.HasPrefix(m.Spec.Version, "v") {
		t.Errorf("manifest head: %+v", m)
	}
	seen := map[string]bool{}
	for _, p := range m.Spec.Platforms {
		os, arch := p.Selector.MatchLabels["os"], p.Selector.MatchLabels["arch"]
		key := os + "_" + arch
		seen[key] = true
		if !strings.HasSuffix(p.URI, "/"+m.Spec.Version+"/kubectl-memsnap_"+key+".tar.gz") {
			t.Errorf("%s: uri %s", key, p.URI)
		}
		if len(p.SHA256) != 64 || strings.Trim(p.SHA256, "0123456789abcdef") != "" {
			t.Errorf("%s: sha256 %q", key, p.SHA256)
		}
		want := "kubectl-memsnap"
		if os == "windows" {
			want += ".exe"
		}
		if p.Bin != want {
			t.Errorf("%s: bin %q", key, p.Bin)
		}
	}
	for _, os := range []string{"linux", "darwin", "windows"} {
		for _, arch := range []string{"amd64", "arm64"} {
			if !seen[os+"_"+arch] {
				t.Errorf("no archive for %s/%s", os, arch)
			}
		}
	}
}
