package listing

import (
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"github.com/memsnap/memsnap/bundle"
)

// OpenFile is one open regular file of a process (proc/<pid>/fds.tsv).
type OpenFile struct {
	Path      string
	SizeBytes int64
	Line      int // line in fds.tsv, for evidence
}

// ParseFds parses proc/<pid>/fds.tsv: "path<TAB>size bytes" per line. The
// collector lists open regular files so rules can name the files whose page
// cache fills a working set (seed 000). Problems carry no Path: the caller
// knows which process the listing belongs to (see InFile).
func ParseFds(r io.Reader) ([]OpenFile, []Problem) {
	var files []OpenFile
	problems := ScanTSV(r, "", 2, func(line int, f []string) error {
		size, err := parseBytes(f[1], "size")
		if err != nil {
			return err
		}
		if f[0] == "" {
			return fmt.Errorf("empty path")
		}
		files = append(files, OpenFile{Path: f[0], SizeBytes: size, Line: line})
		return nil
	})
	return files, problems
}

// TmpfsMount is one tmpfs mounted under the kubelet pods directory
// (volumes/tmpfs.tsv): a memory-medium emptyDir, a projected volume, a secret.
type TmpfsMount struct {
	Path      string
	SizeBytes int64 // the mount's size= (statfs total), DOMAIN §7
	UsedBytes int64 // pages held, charged to the pod's memcg as shmem
	Line      int
}

// ParseTmpfs parses volumes/tmpfs.tsv: "path<TAB>size bytes<TAB>used bytes".
func ParseTmpfs(r io.Reader) ([]TmpfsMount, []Problem) {
	var mounts []TmpfsMount
	problems := ScanTSV(r, bundle.TmpfsVolumes, 3, func(line int, f []string) error {
		size, err := parseBytes(f[1], "size")
		if err != nil {
			return err
		}
		used, err := parseBytes(f[2], "used")
		if err != nil {
			return err
		}
		if f[0] == "" {
			return fmt.Errorf("empty path")
		}
		mounts = append(mounts, TmpfsMount{Path: f[0], SizeBytes: size, UsedBytes: used, Line: line})
		return nil
	})
	return mounts, problems
}

func parseBytes(s, what string) (int64, error) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%s %.40q is not a byte count", what, s)
	}
	return v, nil
}

// emptyDirPlugin is the escaped plugin directory of emptyDir volumes:
// kubelet stores a volume of plugin "kubernetes.io/empty-dir" under
// /var/lib/kubelet/pods/<uid>/volumes/kubernetes.io~empty-dir/<volume>
// (kubernetes/kubernetes:pkg/volume/emptydir/empty_dir.go, the "/" of the
// plugin name escaped as "~"; DOMAIN §3).
const emptyDirPlugin = "kubernetes.io~empty-dir"

// PodUIDFromVolumePath returns the pod UID and volume name of an emptyDir
// path such as /var/lib/kubelet/pods/<uid>/volumes/kubernetes.io~empty-dir/<vol>.
// The kubelet root directory may differ (--root-dir), so the match is on the
// "pods/<uid>/volumes/kubernetes.io~empty-dir/<vol>" tail wherever it sits.
// A path below the volume (a file an fds.tsv lists) maps to the same volume.
// Paths of other volume plugins return ok false.
func PodUIDFromVolumePath(p string) (uid, volume string, ok bool) {
	parts := strings.Split(path.Clean(p), "/")
	for i := 0; i+5 <= len(parts); i++ {
		if parts[i] != "pods" || parts[i+2] != "volumes" || parts[i+3] != emptyDirPlugin {
			continue
		}
		uid, volume = parts[i+1], parts[i+4]
		if !isPodUID(uid) || volume == "" {
			return "", "", false
		}
		return uid, volume, true
	}
	return "", "", false
}

// isPodUID accepts the dashed UUID form and the 32-hex form of static pods
// (DOMAIN §3: static/mirror pod UIDs are 32 hex chars without dashes).
func isPodUID(s string) bool {
	switch len(s) {
	case 32:
		return isHex(s)
	case 36:
		for i := 0; i < len(s); i++ {
			if i == 8 || i == 13 || i == 18 || i == 23 {
				if s[i] != '-' {
					return false
				}
			} else if !isHexByte(s[i]) {
				return false
			}
		}
		return true
	}
	return false
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isHexByte(s[i]) {
			return false
		}
	}
	return true
}

func isHexByte(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
