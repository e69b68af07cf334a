package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"strings"
)

const msgNoManifest = "no manifest.json: analysed from the known paths"

// loadManifest parses manifest.json, if any, and indexes its file list. A
// bundle without a usable manifest is still analysed from the known paths
// (DESIGN §2); the Problem says so.
func (b *Bundle) loadManifest() {
	rc, _, err := b.openRaw(ManifestPath)
	if err != nil {
		b.problem(ManifestPath, msgNoManifest)
		return
	}
	defer rc.Close()
	m, err := ParseManifest(rc)
	switch {
	case err != nil:
		b.problem(ManifestPath, "invalid manifest (%v): analysed from the known paths", err)
		return
	case m.FormatVersion < 1:
		b.problem(ManifestPath, "invalid manifest (format_version missing or below 1): analysed from the known paths")
		return
	case m.FormatVersion > FormatVersion:
		b.problem(ManifestPath, "newer format_version %d: analysed by the known paths", m.FormatVersion)
	}
	b.manifest = m
	// The map holds indexes into m.Files, and each listed path that the
	// bundle holds is replaced by the file list's copy of the same string:
	// at 1,000 pods (93,000 files) the map's FileEntry copies and the
	// decoded paths were 13 MB of the live heap.
	b.manifestFiles = make(map[string]int32, len(m.Files))
	for i := range m.Files {
		f := &m.Files[i]
		if p, ok := b.sharedPath(f.Path); ok {
			f.Path = p
		}
		if _, dup := b.manifestFiles[f.Path]; dup {
			b.problem(shown(f.Path), "listed twice in manifest.json: the first entry is used")
			continue
		}
		b.manifestFiles[f.Path] = int32(i)
		if _, ok := b.files[f.Path]; !ok {
			b.problem(shown(f.Path), "listed in manifest.json (%d bytes) but absent from the bundle", f.Bytes)
		}
	}
}

// verifyingReader hashes a file while it is read and, at EOF, compares the
// digest with the manifest's; a mismatch becomes a Problem (DESIGN §2:
// analyze checks each file it reads, while reading it).
type verifyingReader struct {
	b    *Bundle
	path string
	want FileEntry
	rc   io.ReadCloser
	h    hash.Hash
	n    int64
	done bool
}

func newVerifyingReader(b *Bundle, path string, want FileEntry, rc io.ReadCloser) *verifyingReader {
	return &verifyingReader{b: b, path: path, want: want, rc: rc, h: sha256.New()}
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	n, err := v.rc.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if err == io.EOF && !v.done {
		v.done = true
		v.b.checkDigest(v.path, v.want, hex.EncodeToString(v.h.Sum(nil)), v.n)
	}
	return n, err
}

func (v *verifyingReader) Close() error { return v.rc.Close() }

// checkDigest compares a computed digest with the manifest's entry and
// records a mismatch; it reports whether they agree.
func (b *Bundle) checkDigest(path string, want FileEntry, got string, size int64) bool {
	if strings.EqualFold(want.SHA256, got) {
		return true
	}
	if size != want.Bytes {
		b.problem(path, "sha256 mismatch: manifest.json says %s (%d bytes), the file hashes to %s (%d bytes)",
			shown(want.SHA256), want.Bytes, got, size)
	} else {
		b.problem(path, "sha256 mismatch: manifest.json says %s, the file hashes to %s", shown(want.SHA256), got)
	}
	return false
}

// manifestEntry is the manifest's entry for path, if it lists it.
func (b *Bundle) manifestEntry(path string) (FileEntry, bool) {
	i, ok := b.manifestFiles[path]
	if !ok {
		return FileEntry{}, false
	}
	return b.manifest.Files[i], true
}
