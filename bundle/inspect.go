package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"sort"
)

// File checks in an InspectReport.
const (
	CheckOK            = "ok"              // sha256 matches the manifest
	CheckMismatch      = "mismatch"        // sha256 differs from the manifest
	CheckMissing       = "missing"         // listed in the manifest, absent from the bundle
	CheckNotInManifest = "not-in-manifest" // in the bundle, not listed (or no manifest)
	CheckNoDigest      = "no-sha256"       // listed without a sha256
	CheckCut           = "cut"             // shortened by a limit or damage: not verifiable
	CheckUnreadable    = "unreadable"      // the stored copy could not be read
	CheckManifest      = "manifest"        // manifest.json itself, which cannot list its own digest
)

// InspectReport is the inventory a sender reviews before sending a bundle
// (`memsnap inspect`), and what a receiver checks first. Every list is sorted.
type InspectReport struct {
	Source        string        `json:"source"`
	Manifest      bool          `json:"manifest"`
	FormatVersion int           `json:"format_version,omitempty"`
	Collector     *Collector    `json:"collector,omitempty"`
	Created       string        `json:"created,omitempty"`
	Node          *NodeInfo     `json:"node,omitempty"`
	Sources       []Source      `json:"sources"`
	Files         []InspectFile `json:"files"`
	Totals        InspectTotals `json:"totals"`
	Redactions    []Redaction   `json:"redactions"`
	Warnings      []string      `json:"warnings"`
	Problems      []Problem     `json:"problems"`
	// Loose lists, for an input that is no bundle, what every file was taken
	// as (or why it was ignored); absent for a bundle.
	Loose []LooseFile `json:"loose_files,omitempty"`
}

// InspectFile is one file of the bundle or of its manifest.
type InspectFile struct {
	Path          string `json:"path"`
	Bytes         *int64 `json:"bytes"`          // in the bundle; null when missing
	ManifestBytes *int64 `json:"manifest_bytes"` // null when not listed
	SHA256        string `json:"sha256,omitempty"`
	Check         string `json:"check"`
}

// InspectTotals counts files by check.
type InspectTotals struct {
	Files  int            `json:"files"`
	Bytes  int64          `json:"bytes"`
	Checks map[string]int `json:"checks"`
}

// Inspect reads every file of b, hashes it and compares it with the manifest.
// Mismatches are also recorded in b.Problems.
func Inspect(b *Bundle) InspectReport {
	r := InspectReport{Source: b.Source(), Totals: InspectTotals{Checks: map[string]int{}}}
	m := b.Manifest()
	if m != nil {
		r.Manifest, r.FormatVersion = true, m.FormatVersion
		r.Collector, r.Node = &m.Collector, &m.Node
		r.Created = m.Created
		r.Sources = append(r.Sources, m.Sources...)
		r.Redactions = append(r.Redactions, m.Redactions...)
		r.Warnings = append(r.Warnings, m.Warnings...)
	}
	for _, path := range b.names { // the input's own files, not the loose view's synthetic paths
		f := b.inspectFile(path)
		r.Files = append(r.Files, f)
		r.Totals.Files++
		r.Totals.Bytes += *f.Bytes
	}
	for path, i := range b.manifestFiles {
		want := b.manifest.Files[i]
		if _, ok := b.Size(path); !ok {
			r.Files = append(r.Files, InspectFile{Path: path, ManifestBytes: ptr(want.Bytes), Check: CheckMissing})
		}
	}
	for _, f := range r.Files {
		r.Totals.Checks[f.Check]++
	}
	sort.Slice(r.Files, func(i, j int) bool { return r.Files[i].Path < r.Files[j].Path })
	sort.SliceStable(r.Sources, func(i, j int) bool { return r.Sources[i].Name < r.Sources[j].Name })
	sort.SliceStable(r.Redactions, func(i, j int) bool {
		if r.Redactions[i].Path != r.Redactions[j].Path {
			return r.Redactions[i].Path < r.Redactions[j].Path
		}
		return r.Redactions[i].Rule < r.Redactions[j].Rule
	})
	r.Problems = b.Problems()
	r.Loose = b.LooseFiles()
	return r
}

func (b *Bundle) inspectFile(path string) InspectFile {
	size, _ := b.Size(path)
	f := InspectFile{Path: path, Bytes: ptr(size)}
	want, listed := b.manifestEntry(path)
	if listed {
		f.ManifestBytes = ptr(want.Bytes)
	}
	rc, e, err := b.openRaw(path)
	if err != nil {
		b.problem(path, "unreadable: %v", err)
		f.Check = CheckUnreadable
		return f
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		b.problem(path, "unreadable: %v", err)
		f.Check = CheckUnreadable
		return f
	}
	f.SHA256 = hex.EncodeToString(h.Sum(nil))
	switch {
	case e.cut:
		f.Check = CheckCut
	case !listed && path == ManifestPath:
		f.Check = CheckManifest
	case !listed:
		f.Check = CheckNotInManifest
	case want.SHA256 == "":
		f.Check = CheckNoDigest
	case b.checkDigest(path, want, f.SHA256, n):
		f.Check = CheckOK
	default:
		f.Check = CheckMismatch
	}
	return f
}

func ptr[T any](v T) *T { return &v }
