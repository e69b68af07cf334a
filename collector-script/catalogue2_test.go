package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/memsnap/memsnap/bundle"
	"github.com/memsnap/memsnap/collector-script/internal/hostfixture"
)

var environPath = regexp.MustCompile(`^proc/[0-9]+/environ$`)

// TestRuntimeEnviron: of a container process's environment only the runtime
// memory settings reach the bundle — from the binary and from collect.sh —
// and the credential beside them never does; processes outside kubepods
// (kubelet, bash) get no environ file at all.
func TestRuntimeEnviron(t *testing.T) {
	h, k := fixture(t, 2, "systemd", hostfixture.KubeletOptions{})
	bin, scr := collectBoth(t, h, k)

	want := "JAVA_TOOL_OPTIONS=" + hostfixture.EnvJavaToolOptions + "\n"
	for name, rb := range map[string]readBack{"binary": bin, "collect.sh": scr} {
		n := 0
		for p, b := range rb.files {
			if !environPath.MatchString(p) {
				continue
			}
			n++
			if string(b) != want {
				t.Errorf("%s: %s = %q, want %q", name, p, b, want)
			}
			if p == "proc/900/environ" || p == "proc/1000/environ" {
				t.Errorf("%s: %s collected for a process outside kubepods", name, p)
			}
		}
		if n != 1 {
			t.Errorf("%s: %d environ files, want 1 (the java container's)", name, n)
		}
		for _, s := range hostfixture.Secrets() {
			if bytes.Contains(rb.raw, []byte(s.Value)) {
				t.Errorf("%s: %s (%s) leaked", name, s.Shape, s.Where)
			}
		}
		if bytes.Contains(rb.raw, []byte("HOSTNAME=fixture")) || bytes.Contains(rb.raw, []byte("PATH=/usr/bin")) {
			t.Errorf("%s: an environment variable outside the kept list reached the bundle", name)
		}
	}
}

// TestCatalogue2NodeFiles: the free lists, cgroup counts and THP policy are
// copied verbatim by both collectors.
func TestCatalogue2NodeFiles(t *testing.T) {
	h, k := fixture(t, 1, "systemd", hostfixture.KubeletOptions{})
	o := testOptions(t, h, k)
	if code := Run(context.Background(), o); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	bin := readBundle(t, o.Output)
	for p, sub := range map[string]string{
		bundle.NodeBuddyinfo:    "zone   Normal  48211",
		bundle.NodePagetypeinfo: "Page block order: 9",
		bundle.NodeCgroups:      "memory\t4\t112\t1",
		bundle.NodeTHPEnabled:   "[madvise]",
		bundle.NodeTHPDefrag:    "defer+madvise",
	} {
		if !strings.Contains(string(bin.files[p]), sub) {
			t.Errorf("%s = %q, want it to contain %q", p, bin.files[p], sub)
		}
	}
	var kmem bool
	for p := range bin.files {
		kmem = kmem || strings.HasSuffix(p, "/memory.kmem.limit_in_bytes")
	}
	if !kmem {
		t.Error("no memory.kmem.limit_in_bytes collected on cgroup v1")
	}
}
