package testbed

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Bin names the programs a bed runs, all in one directory.
type Bin struct {
	Dir string
}

// Path of one program.
func (b Bin) Path(name string) string { return filepath.Join(b.Dir, name) }

// Programs a run needs and where they are built from: module "e2e" is this
// module, "product" the memsnap module one directory up. Static ones go
// into container images.
var programs = []struct {
	name, module, pkg string
	static            bool
}{
	{"kube-e2e", "e2e", "./cmd/kube-e2e", false},
	{"pause", "e2e", "./cmd/pause", true},
	{"memsnap", "product", "./analyzer/cmd/memsnap", false},
	{"memsnap-collect", "product", "./collector-script", true},
	{"memsnap-gen", "product", "./tools/memsnap-gen", false},
	{"kubectl-memsnap", "product", "./analyzer/cmd/kubectl-memsnap", false},
	{"workload", "product", "./lab/workload", true},
	{"scrapeagent", "product", "./lab/scrapeagent", true},
}

// kubeVersionLDFlags stamp the release into kube-e2e as Kubernetes' own
// build does (hack/lib/version.sh sets these variables): a module build
// would otherwise report v0.0.0-master, and the Node's kubeletVersion,
// kubelet --version and the API server's /version all read them.
const kubeVersionLDFlags = "-X k8s.io/component-base/version.gitVersion=v1.37.2 -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37 -X k8s.io/component-base/version.gitTreeState=clean"

// pluginTags reads PLUGIN_TAGS from the product's Makefile, the one place
// the plugin's build tags are set.
func pluginTags(makefile string) (string, error) {
	b, err := os.ReadFile(makefile)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "PLUGIN_TAGS :="); ok && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("%s: no PLUGIN_TAGS := line", makefile)
}

// ensureBinaries returns the directory holding every program: $MEMSNAP_E2E_BIN
// when set (checked), else e2e/.work/bin, brought up to date with go build
// (the Go build cache makes that quick after the first, ~10-minute build of
// kube-e2e). It runs in the outer stage: go may need the module proxy.
func ensureBinaries() (string, error) {
	if dir := os.Getenv(envBin); dir != "" {
		var missing []string
		for _, p := range programs {
			if _, err := os.Stat(filepath.Join(dir, p.name)); err != nil {
				missing = append(missing, p.name)
			}
		}
		if len(missing) > 0 {
			return "", fmt.Errorf("%s=%s lacks %s (make e2e builds them)", envBin, dir, strings.Join(missing, ", "))
		}
		return dir, nil
	}
	e2eRoot, err := moduleRoot()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(e2eRoot, ".work", "bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	for _, p := range programs {
		src := e2eRoot
		if p.module == "product" {
			src = filepath.Dir(e2eRoot)
		}
		start := time.Now()
		// No -trimpath: make e2e's go vet compiles the same packages
		// without it, and the two must share the build cache (with
		// different flags a fresh machine compiles Kubernetes twice).
		args := []string{"build", "-o", filepath.Join(dir, p.name)}
		if p.name == "kube-e2e" {
			args = append(args, "-ldflags", kubeVersionLDFlags)
		}
		if p.name == "kubectl-memsnap" {
			// Built as make plugin builds it, or the bench measures a
			// larger binary than users get.
			tags, err := pluginTags(filepath.Join(src, "Makefile"))
			if err != nil {
				return "", err
			}
			args = append(args, "-tags", tags)
		}
		cmd := exec.Command("go", append(args, p.pkg)...)
		cmd.Dir = src
		cmd.Env = os.Environ()
		if p.static {
			cmd.Env = append(cmd.Env, "CGO_ENABLED=0")
		}
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			hint := ""
			if strings.Contains(out.String(), "templates/vendor/echarts") {
				hint = " (the analyzer embeds ECharts: run make echarts, or make e2e)"
			}
			return "", fmt.Errorf("go build %s (in %s)%s: %v\n%s", p.pkg, src, hint, err, out.String())
		}
		if d := time.Since(start); d > 5*time.Second {
			fmt.Fprintf(os.Stderr, "testbed: built %s in %s\n", p.name, d.Round(time.Second))
		}
	}
	return dir, nil
}

// moduleRoot is the e2e module's directory: the test's working directory
// is its package directory somewhere below it.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		b, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && bytes.HasPrefix(b, []byte("module github.com/memsnap/memsnap/e2e\n")) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("testbed: not inside the e2e module (no go.mod of github.com/memsnap/memsnap/e2e above " + dir + ")")
		}
	}
}
