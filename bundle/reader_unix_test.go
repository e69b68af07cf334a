//go:build unix

package bundle_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/memsnap/memsnap/bundle"
)

// A directory bundle refuses links and FIFOs as an archive does, and never
// blocks on the FIFO.
func TestOpenDirectoryRefusesLinksAndFIFOs(t *testing.T) {
	files := withManifest(t, map[string][]byte{"node/meminfo": []byte("MemTotal: 1 kB\n")})
	dir := t.TempDir()
	writeTree(t, dir, files)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink("/etc/passwd", filepath.Join(dir, "node", "passwd")))
	must(os.Symlink("meminfo", filepath.Join(dir, "node", "alias")))
	must(os.Symlink("/etc", filepath.Join(dir, "etc")))
	must(syscall.Mkfifo(filepath.Join(dir, "node", "fifo"), 0o644))
	b := mustOpen(t, dir, bundle.Options{})
	assertFiles(t, b, files)
	requireProblem(t, b, "node/passwd", "symbolic link", `"/etc/passwd"`)
	requireProblem(t, b, "node/alias", "symbolic link", `"meminfo"`)
	requireProblem(t, b, "etc", "symbolic link")
	requireProblem(t, b, "node/fifo", "named pipe")
}
