package bundle

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// readDir indexes a bundle directory in place: nothing is copied, files are
// read through an os.Root on the directory when opened. os.Root refuses to
// leave the directory; the walk's own Lstat types refuse links, devices and
// FIFOs as in an archive.
func (b *Bundle) readDir(ctx context.Context, dir string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	b.inputDir = root
	return fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if err != nil {
			if p == "." {
				return err
			}
			b.problem(shown(p), "unreadable: %v", err)
			return nil
		}
		if p == "." {
			return nil
		}
		raw := rawEntry{name: p, kind: modeKind(d.Type())}
		switch raw.kind {
		case kindDir:
			if _, why := cleanName(p); why != "" {
				b.problem(shown(p), "directory %q refused: %s", p, why)
				return fs.SkipDir
			}
		case kindSymlink:
			raw.link, _ = root.Readlink(p)
		case kindRegular:
			info, err := d.Info()
			if err != nil {
				b.problem(shown(p), "unreadable: %v", err)
				return nil
			}
			raw.size, raw.dirInfo = info.Size(), info
		}
		return b.addEntry(raw)
	})
}

// addDirFile indexes one regular file of a directory bundle under the same
// limits as an archive entry.
func (b *Bundle) addDirFile(name string, r rawEntry) error {
	size, cut := r.size, false
	if size > b.opts.MaxFileBytes {
		size, cut = b.opts.MaxFileBytes, true
	}
	if b.readBytes+size > b.opts.MaxTotalBytes {
		return b.totalLimitReached(name, false)
	}
	b.readBytes += size
	b.files[name] = &entry{size: size, dirPath: r.name, dirInfo: r.dirInfo, cut: cut}
	if cut {
		b.problem(name, "larger than the per-file limit: cut at %d bytes", b.opts.MaxFileBytes)
	}
	return nil
}

// openDirFileRaw opens a directory bundle's file and checks it is still the
// regular file the walk saw: a file swapped for a FIFO would block, one
// swapped for a symlink would alias another file.
func (b *Bundle) openDirFileRaw(e *entry) (*os.File, error) {
	f, err := b.inputDir.OpenFile(e.dirPath, os.O_RDONLY|openNonBlock, 0)
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !info.Mode().IsRegular() || !os.SameFile(info, e.dirInfo) {
		f.Close()
		return nil, fmt.Errorf("changed since the bundle was opened (now %v)", info.Mode().Type())
	}
	return f, nil
}

func (b *Bundle) openDirFile(e *entry) (io.ReadCloser, error) {
	f, err := b.openDirFileRaw(e)
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(f, e.size), f}, nil
}
