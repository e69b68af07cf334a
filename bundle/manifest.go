// Package bundle is the contract between memsnap-collect and memsnap: the
// layout of a bundle (paths.go), its manifest (this file), a read-only view
// over its files (view.go) and the safe reader that turns whatever a customer
// sends into such a view. It is a leaf package: the collector cannot import
// analyzer/internal, so everything both programs share lives here.
package bundle

import (
	"encoding/json"
	"fmt"
	"io"
)

// Format and FormatVersion identify bundle format v1 (DESIGN §2).
const (
	Format        = "memsnap-bundle"
	FormatVersion = 1
)

// Source statuses recorded in the manifest.
const (
	StatusOK      = "ok"
	StatusPartial = "partial"
	StatusFailed  = "failed"
	StatusSkipped = "skipped"
)

// Manifest is manifest.json, written last by the collector.
type Manifest struct {
	Format        string      `json:"format"`
	FormatVersion int         `json:"format_version"`
	Collector     Collector   `json:"collector"`
	Created       string      `json:"created"`
	Node          NodeInfo    `json:"node"`
	Sources       []Source    `json:"sources"`
	Files         []FileEntry `json:"files"`
	Redactions    []Redaction `json:"redactions"`
	Warnings      []string    `json:"warnings,omitempty"`
	Watch         *Watch      `json:"watch,omitempty"`
}

// Watch describes a --watch run (docs/series.md): when sampling started and
// ended, how often it sampled, how many samples were taken and what ended it.
type Watch struct {
	Started   string `json:"started"` // RFC 3339 UTC, first sample
	Ended     string `json:"ended"`   // RFC 3339 UTC, last sample
	EveryMS   int64  `json:"every_ms"`
	Samples   int    `json:"samples"`
	StoppedBy string `json:"stopped_by"` // duration | signal | max-bytes | deadline
}

// Collector names the program that wrote the bundle.
type Collector struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Mode    string `json:"mode"` // "binary" or "script"
}

// NodeInfo is what the collector learnt about the node itself.
type NodeInfo struct {
	Hostname      string `json:"hostname"`
	NodeName      string `json:"node_name"`
	Kernel        string `json:"kernel"`
	CgroupMode    string `json:"cgroup_mode"`    // legacy | hybrid | unified
	CgroupVersion int    `json:"cgroup_version"` // version of the hierarchy holding the memory controller
	CgroupDriver  string `json:"cgroup_driver"`  // systemd | cgroupfs | unknown
	PageSize      int64  `json:"page_size"`
	MemTotalBytes int64  `json:"mem_total_bytes"`
	BootTime      string `json:"boot_time"`
}

// Source is one collector source's outcome.
type Source struct {
	Name       string   `json:"name"`
	Paths      []string `json:"paths"`
	Status     string   `json:"status"`
	Error      string   `json:"error,omitempty"`
	Started    string   `json:"started,omitempty"`
	DurationMS int64    `json:"duration_ms"`
	Files      int      `json:"files"`
	Bytes      int64    `json:"bytes"`
	Truncated  bool     `json:"truncated"`
}

// FileEntry lets the analyzer check each file's integrity while reading it.
type FileEntry struct {
	Path   string `json:"path"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// Redaction says that a rule replaced Count spans in Path.
type Redaction struct {
	Path  string `json:"path"`
	Rule  string `json:"rule"`
	Count int    `json:"count"`
}

// maxManifestBytes bounds manifest.json: a 1,000-pod node lists ~20,000 files
// at ~150 bytes each; anything far larger is hostile.
const maxManifestBytes = 64 << 20

// ParseManifest decodes manifest.json. It never fails on unknown fields (a
// newer collector may add some); it fails on invalid JSON or a wrong format
// name. A newer format_version is returned with a nil error: the caller warns.
func ParseManifest(r io.Reader) (*Manifest, error) {
	dec := json.NewDecoder(io.LimitReader(r, maxManifestBytes))
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if m.Format != "" && m.Format != Format {
		return nil, fmt.Errorf("format is %q, want %q", m.Format, Format)
	}
	return &m, nil
}
