package labfs

import (
	"os"
)

// Mounts reads this process's mount table.
func Mounts() ([]Mount, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseMountinfo("/proc/self/mountinfo", f)
}

// SelfHierarchy detects the memory hierarchy of the running process on
// the real host; v2Base is MEMSNAP_LAB_V2_BASE (see Detect).
func SelfHierarchy(v2Base string) (Hierarchy, error) {
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return Hierarchy{}, err
	}
	defer f.Close()
	pc, err := ParseProcCgroup("/proc/self/cgroup", f)
	if err != nil {
		return Hierarchy{}, err
	}
	mounts, err := Mounts()
	if err != nil {
		return Hierarchy{}, err
	}
	return Detect(pc, mounts, v2Base, os.ReadFile)
}
