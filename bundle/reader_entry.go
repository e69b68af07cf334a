package bundle

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
)

// entryKind is what an archive or directory entry is, whatever its format.
type entryKind int

const (
	kindRegular entryKind = iota
	kindDir
	kindSymlink
	kindHardlink
	kindDevice
	kindFIFO
	kindSocket
	kindOther
)

// refusal says why a non-regular, non-directory entry is not kept. Links are
// refused whatever their target: a bundle holds raw bytes only (DESIGN §3),
// and a link inside it, even to a sibling, could only alias or escape.
var refusal = map[entryKind]string{
	kindSymlink:  "symbolic link",
	kindHardlink: "hard link",
	kindDevice:   "device node",
	kindFIFO:     "named pipe (FIFO)",
	kindSocket:   "socket",
	kindOther:    "unsupported entry type",
}

func tarKind(h *tar.Header) entryKind {
	// archive/tar's Reader already turns the old '\x00' regular-file flag
	// into TypeReg (or TypeDir for a trailing slash).
	switch h.Typeflag {
	case tar.TypeReg:
		return kindRegular
	case tar.TypeDir:
		return kindDir
	case tar.TypeSymlink:
		return kindSymlink
	case tar.TypeLink:
		return kindHardlink
	case tar.TypeChar, tar.TypeBlock:
		return kindDevice
	case tar.TypeFifo:
		return kindFIFO
	}
	// GNU sparse files among others: tar expands holes to zeros, a free bomb.
	return kindOther
}

func modeKind(m fs.FileMode) entryKind {
	switch {
	case m.IsRegular():
		return kindRegular
	case m.IsDir():
		return kindDir
	case m&fs.ModeSymlink != 0:
		return kindSymlink
	case m&fs.ModeDevice != 0:
		return kindDevice
	case m&fs.ModeNamedPipe != 0:
		return kindFIFO
	case m&fs.ModeSocket != 0:
		return kindSocket
	}
	return kindOther
}

// rawEntry is one entry as an archive or a directory walk presents it.
type rawEntry struct {
	name    string
	kind    entryKind
	link    string
	size    int64     // as the header or the walk claims it
	content io.Reader // archive content, charged to the total budget
	dirInfo fs.FileInfo
}

// addEntry applies the limits and the refusals to one entry and stores it. It
// returns nil to go on, fs.SkipAll to end the pass (a limit, reported), or a
// *damageError when the archive's content failed to read (reported).
func (b *Bundle) addEntry(r rawEntry) error {
	b.entries++
	if b.entries > b.opts.MaxEntries {
		b.problem("", "%s: more than %d entries (the entry limit): entry %q and all after it are skipped",
			b.arcLabel, b.opts.MaxEntries, r.name)
		return fs.SkipAll
	}
	name, why := cleanName(r.name)
	if why == "" && name != "" {
		if what, refused := refusal[r.kind]; refused {
			why = what
			if r.link != "" {
				why += fmt.Sprintf(" to %q", r.link)
			}
		}
	}
	switch {
	case why != "":
		b.problem(shown(r.name), "entry %q refused: %s", r.name, why)
		return nil
	case name == "":
		return nil
	case r.kind == kindDir:
		b.dirs[name] = true
		return nil
	}
	if _, dup := b.files[name]; dup {
		b.problem(name, "duplicate entry: the first copy is kept, this one is skipped")
		return nil
	}
	if r.dirInfo != nil {
		return b.addDirFile(name, r)
	}
	e, err := b.store(name, r.content, r.size)
	var de *damageError
	switch {
	case errors.Is(err, errTotalLimit):
		if e != nil {
			b.files[name] = e
		}
		return b.totalLimitReached(name, e != nil)
	case errors.As(err, &de):
		if e != nil {
			b.files[name] = e
		}
		b.problem(name, "cut: the archive is damaged inside this entry (%v)", de.cause)
		return err
	case err != nil:
		if e != nil {
			b.release(e)
		}
		b.problem(name, "skipped: %v", err)
		return nil
	}
	b.files[name] = e
	if e.cut {
		b.problem(name, "larger than the per-file limit: cut at %d bytes", b.opts.MaxFileBytes)
	}
	return nil
}

// totalLimitReached reports the end of the pass; cut says that the entry
// being read was stored in part.
func (b *Bundle) totalLimitReached(name string, cut bool) error {
	b.problem("", "%s: total size limit of %d bytes reached in entry %q: the rest of the archive is skipped",
		b.arcLabel, b.opts.MaxTotalBytes, name)
	if e, ok := b.files[name]; ok && cut {
		e.cut = true
		b.problem(name, "cut by the total size limit at %d bytes", e.size)
	}
	return fs.SkipAll
}

// afterContent classifies the outcome of skipping what addEntry left unread.
func (b *Bundle) afterContent(rawName string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errTotalLimit):
		return b.totalLimitReached(rawName, false)
	default:
		return &damageError{cause: err}
	}
}
