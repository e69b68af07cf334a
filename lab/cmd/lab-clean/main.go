// Command lab-clean removes what an interrupted scenario lab left behind
// (make lab-clean): mounts inside memsnap-lab-* directories, memsnap-lab-*
// cgroups anywhere in the memory hierarchy (killing the processes inside
// them, which only the lab ever puts there) and memsnap-lab-* directories
// in the lab's temp directory. It touches nothing whose name lacks the
// prefix.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/memsnap/memsnap/lab/internal/labfs"
)

func main() {
	failed := false
	report := func(what string, err error) {
		if err != nil {
			failed = true
			fmt.Fprintf(os.Stderr, "lab-clean: %s: %v\n", what, err)
		} else {
			fmt.Fprintf(os.Stderr, "lab-clean: %s\n", what)
		}
	}
	mounts, err := labfs.Mounts()
	if err != nil {
		report("read mounts", err)
	}
	for _, m := range labfs.LabMounts(mounts) {
		report("umount "+m, labfs.Unmount(m))
	}
	h, err := labfs.SelfHierarchy(os.Getenv("MEMSNAP_LAB_V2_BASE"))
	if err != nil {
		report("memory cgroup hierarchy", err)
	} else {
		roots, err := h.LeftoverCgroups(200000)
		if err != nil {
			report("walk "+h.Mount, err)
		}
		for _, r := range roots {
			report("remove cgroup "+r, h.RemoveLeftover(r))
		}
	}
	dir := os.Getenv("MEMSNAP_LAB_DIR")
	if dir == "" {
		dir = os.TempDir()
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, labfs.Prefix+"*"))
	for _, d := range leftovers {
		report("remove "+d, labfs.RemoveDir(d))
	}
	if failed {
		os.Exit(1)
	}
}
