package procfs

import (
	"bytes"
	"errors"
	"io"
	"strings"
)

// CgroupFile is /proc/<pid>/cgroup reduced to what locates the process's
// memory cgroup: "hierarchy-ID:controller-list:path" lines, v1 ones like
// "4:memory:/kubepods/..." and the v2 one "0::/kubepods/..."
// (torvalds/linux:Documentation/admin-guide/cgroup-v2.rst, DOMAIN §1.6).
type CgroupFile struct {
	V1Memory    string // path of the v1 line whose controllers include memory
	HasV1Memory bool
	Unified     string // path of the "0::" line
	HasUnified  bool
}

// MemoryPath returns the cgroup path of the memory controller: the v1
// memory line when there is one (a hybrid host mounts memory on v1 beside an
// empty unified hierarchy), else the unified path.
func (c *CgroupFile) MemoryPath() (path string, version int, ok bool) {
	switch {
	case c.HasV1Memory:
		return c.V1Memory, 1, true
	case c.HasUnified:
		return c.Unified, 2, true
	}
	return "", 0, false
}

// ParseCgroupFile returns the memory cgroup path of a process from
// /proc/<pid>/cgroup (see CgroupFile.MemoryPath). A file with neither a v1
// memory line nor a unified line is an error; so is a malformed line, but the
// path is still returned when one was found.
func ParseCgroupFile(r io.Reader) (string, error) {
	c, err := ParseCgroupMembership(r)
	p, _, ok := c.MemoryPath()
	if !ok && err == nil {
		err = errors.New("no memory controller line and no unified (0::) line")
	}
	return p, err
}

// ParseCgroupMembership reads /proc/<pid>/cgroup keeping both the v1 memory
// path and the unified one. The path is everything after the second colon, so
// paths that contain colons survive (a misconfigured containerd writes
// ".../kubepods-besteffort-pod<uid>.slice:cri-containerd:<id>", DOMAIN §3).
func ParseCgroupMembership(r io.Reader) (*CgroupFile, error) {
	c := &CgroupFile{}
	var le lineErrors
	err := eachLine(r, kvMaxLine, func(n int, line []byte, tooLong bool) bool {
		if tooLong {
			le.add(n, "longer than %d bytes", kvMaxLine)
			return true
		}
		if len(bytes.TrimSpace(line)) == 0 {
			return true
		}
		parts := strings.SplitN(string(line), ":", 3)
		if len(parts) != 3 || parts[0] == "" || !strings.HasPrefix(parts[2], "/") {
			le.add(n, "want \"id:controllers:/path\", got %.60q", line)
			return true
		}
		id, controllers, path := parts[0], parts[1], parts[2]
		switch {
		case id == "0" && controllers == "":
			if !c.HasUnified {
				c.Unified, c.HasUnified = path, true
			}
		case hasController(controllers, "memory"):
			if !c.HasV1Memory {
				c.V1Memory, c.HasV1Memory = path, true
			}
		}
		return true
	})
	if err != nil {
		le.errs = append(le.errs, err)
	}
	return c, le.err()
}

func hasController(list, name string) bool {
	for c := range strings.SplitSeq(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}
