package main

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The plugin links cli-runtime, which links kustomize, whose Go-plugin
// loader imports the standard "plugin" package; a binary that links it
// exports every symbol and keeps every exported method of reachable types,
// ~18 MB more binary for a loader we never call. make plugin builds with
// the Makefile's PLUGIN_TAGS to leave it out; this proves the tags still do.
func TestPluginTagsLeaveOutGoPlugins(t *testing.T) {
	mk, err := os.ReadFile("../../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	var tags string
	for _, line := range strings.Split(string(mk), "\n") {
		if v, ok := strings.CutPrefix(line, "PLUGIN_TAGS :="); ok {
			tags = strings.TrimSpace(v)
		}
	}
	if tags == "" {
		t.Fatal("Makefile: no PLUGIN_TAGS := line")
	}
	deps := func(args ...string) []string {
		out, err := exec.Command("go", append([]string{"list", "-deps"}, append(args, ".")...)...).Output()
		if err != nil {
			t.Fatalf("go list -deps %v: %v", args, err)
		}
		return strings.Fields(string(out))
	}
	if slices.Contains(deps("-tags", tags), "plugin") {
		t.Errorf("with -tags %s the plugin still links the standard plugin package: find who imports it (go list -deps -f '{{.ImportPath}} {{.Imports}}')", tags)
	}
	if !slices.Contains(deps(), "plugin") {
		t.Logf("without -tags %s nothing imports the plugin package any more: the tag may be dropped", tags)
	}
}
