package bundle

import (
	"bytes"
	"io"
	"io/fs"
	"sort"
	"strings"
)

// View is the read-only view of one bundle that parsers and rules see. Paths
// are slash-separated and relative to the bundle root ("cgroup/kubepods/memory.stat").
// Nothing behind a View touches the host file system except the reader's own
// private temp area.
type View interface {
	// Open returns the file's content. The error wraps fs.ErrNotExist when the
	// bundle has no such file. Reading the returned stream checks the file's
	// sha256 against the manifest at EOF and records a mismatch as a problem.
	Open(path string) (io.ReadCloser, error)
	// Size reports the file's size and whether it exists.
	Size(path string) (int64, bool)
	// List returns the sorted paths of all files under prefix ("" = all).
	List(prefix string) []string
}

// ReadFile reads a whole file through a View, at most limit bytes (limit <= 0
// means no limit beyond the reader's own per-file cap). The bool reports
// whether the file was cut at limit.
func ReadFile(v View, path string, limit int64) ([]byte, bool, error) {
	rc, err := v.Open(path)
	if err != nil {
		return nil, false, err
	}
	defer rc.Close()
	if limit <= 0 {
		b, err := io.ReadAll(rc)
		return b, false, err
	}
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if int64(len(b)) > limit {
		return b[:limit], true, err
	}
	return b, false, err
}

// Exists reports whether path is a file in v.
func Exists(v View, path string) bool {
	_, ok := v.Size(path)
	return ok
}

// MapView is an in-memory View, for tests and for fixtures written as txtar.
type MapView map[string][]byte

func (m MapView) Open(path string) (io.ReadCloser, error) {
	b, ok := m[path]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (m MapView) Size(path string) (int64, bool) {
	b, ok := m[path]
	return int64(len(b)), ok
}

func (m MapView) List(prefix string) []string {
	var out []string
	for p := range m {
		if strings.HasPrefix(p, prefix) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// SharedPath returns the View's own copy of path when the View keeps one
// (a *Bundle does: its sorted file list), else path itself. Parsers that cite
// a file in thousands of values (the cgroup tree) store this copy instead of
// a string of their own; at 1,000 pods the cited paths were 12 MB of heap.
func SharedPath(v View, path string) string {
	if s, ok := v.(interface{ sharedPath(string) (string, bool) }); ok {
		if p, ok := s.sharedPath(path); ok {
			return p
		}
	}
	return path
}
