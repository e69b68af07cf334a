// Package labfs is the scenario lab's contact with the host: it finds the
// memory cgroup hierarchy this process lives in, creates and removes the
// lab's own cgroups and mounts, and recognises leftovers by their prefix.
// Everything it creates carries Prefix in its name so that cleanup can
// never mistake someone else's cgroup or mount for the lab's.
package labfs

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Prefix names every cgroup, directory and mount the lab creates.
const Prefix = "memsnap-lab-"

// ProcCgroup is /proc/<pid>/cgroup reduced to what the lab needs.
type ProcCgroup struct {
	V1Memory    string // path in the v1 hierarchy that carries "memory"
	HasV1Memory bool
	V2          string // path in the unified hierarchy ("0::/path")
	HasV2       bool
}

// ParseProcCgroup reads /proc/<pid>/cgroup (cgroups(7)): one
// "hierarchy-ID:controller-list:cgroup-path" per line; v2 is "0::path".
// name says which file the text came from, for errors.
func ParseProcCgroup(name string, r io.Reader) (ProcCgroup, error) {
	var pc ProcCgroup
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 64<<10)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if text == "" {
			continue
		}
		id, rest, ok := strings.Cut(text, ":")
		ctrls, path, ok2 := strings.Cut(rest, ":")
		if !ok || !ok2 || !strings.HasPrefix(path, "/") {
			return ProcCgroup{}, fmt.Errorf("%s:%d: want ID:CONTROLLERS:/PATH, got %q", name, line, clip(text))
		}
		if id == "0" && ctrls == "" {
			pc.V2, pc.HasV2 = path, true
			continue
		}
		for _, c := range strings.Split(ctrls, ",") {
			if c == "memory" {
				pc.V1Memory, pc.HasV1Memory = path, true
			}
		}
	}
	if err := sc.Err(); err != nil {
		return ProcCgroup{}, fmt.Errorf("%s:%d: %w", name, line+1, err)
	}
	return pc, nil
}

// Mount is one mountinfo line (proc(5)).
type Mount struct {
	Point  string // mount point, octal escapes decoded
	FSType string
	Source string
	Super  string // super options; v1 cgroup mounts list their controllers here
}

// ParseMountinfo reads /proc/<pid>/mountinfo. Lines without the " - "
// separator are an error naming the line: the lab must not act on a
// mount table it misread.
func ParseMountinfo(name string, r io.Reader) ([]Mount, error) {
	var out []Mount
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		sep := -1
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || len(f) < sep+3 {
			return nil, fmt.Errorf("%s:%d: no \" - fstype source\" part in %q", name, line, clip(sc.Text()))
		}
		m := Mount{Point: unescapeOctal(f[4]), FSType: f[sep+1], Source: unescapeOctal(f[sep+2])}
		if len(f) > sep+3 {
			m.Super = f[sep+3]
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, line+1, err)
	}
	return out, nil
}

// unescapeOctal decodes the \040-style escapes the kernel writes for
// blanks, tabs, newlines and backslashes in mountinfo paths
// (torvalds/linux:fs/proc_namespace.c, mangle()).
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// ParseMemoryStat reads a cgroup memory.stat ("key value" per line; v1
// and v2 alike). Keys are kept as printed; the kernel adds keys between
// releases, so nothing is required here.
func ParseMemoryStat(name string, r io.Reader) (map[string]int64, error) {
	out := map[string]int64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 64<<10)
	line := 0
	for sc.Scan() {
		line++
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		if !ok {
			if k == "" {
				continue
			}
			return nil, fmt.Errorf("%s:%d: want \"key value\", got %q", name, line, clip(sc.Text()))
		}
		n, err := parseInt(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %s: %v", name, line, k, err)
		}
		out[k] = n
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, line+1, err)
	}
	return out, nil
}
