package bundle

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// unwrapNested opens the one level of nesting DESIGN §2 allows: a bundle whose
// only file is itself a bundle archive, as when a customer re-zips the
// collector's tarball. The outer archive's problems are kept; its single file
// is replaced by the inner archive's files. A second level is an error rather
// than a recursion: each level can multiply the work a hostile input costs.
func (b *Bundle) unwrapNested(ctx context.Context) error {
	name, e := b.nestedCandidate(ctx)
	if e == nil {
		return nil
	}
	if b.level >= 1 {
		return fmt.Errorf("%s: %w", name, errNestedTwice)
	}
	b.level++
	r, closer, err := b.readerAt(e)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer closer.Close()
	b.files, b.dirs = map[string]*entry{}, map[string]bool{}
	b.entries, b.readBytes = 0, 0
	outerLabel := b.arcLabel
	b.arcLabel = outerLabel + ": " + name
	err = b.readArchive(ctx, r)
	b.release(e)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if inner, e := b.nestedCandidate(ctx); e != nil {
		return fmt.Errorf("%s: %s: %w", name, inner, errNestedTwice)
	}
	return nil
}

// nestedCandidate returns the bundle's only file when it is a tar or zip
// archive (possibly compressed) outside the known bundle paths. Anything else,
// heap.pb.gz included, is data and never opened.
func (b *Bundle) nestedCandidate(ctx context.Context) (string, *entry) {
	if len(b.files) != 1 {
		return "", nil
	}
	var name string
	var e *entry
	for n, only := range b.files {
		name, e = n, only
	}
	first, _, _ := strings.Cut(name, "/")
	if knownTopDirs[first] || name == ManifestPath {
		return "", nil
	}
	r, closer, err := b.readerAt(e)
	if err != nil {
		return "", nil
	}
	defer closer.Close()
	kind, _, _, err := identify(ctx, io.LimitReader(r, 1<<20))
	if err != nil || (kind != inputTar && kind != inputZip) {
		return "", nil
	}
	return name, e
}
