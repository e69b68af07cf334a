package report

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// detailBlob is what init.js reads from one chunk of nodes' detail: for
// each per-node section (keyed by the section's data-section name) the
// HTML of each node's part, in the order of Nodes, and each node's chart
// specs.
//
// The fragments are the output of the same html/template definitions a
// small report uses inline, so they are escaped for their context exactly
// as the page is; the browser inserts them as HTML into the page's own
// placeholders. CSP still forbids any script that is not ours, so markup in
// a fragment cannot run code (the XSS browser test covers a Lazy page).
type detailBlob struct {
	Nodes    []int               `json:"nodes"`
	Sections map[string][]string `json:"sections"`
	Charts   [][]chartSpec       `json:"charts"`
}

// htmlDetailChunk is how many nodes share one detail blob. Each section's
// fragments of those nodes lie side by side in the JSON, so gzip (whose
// window is 32 KiB, RFC 1951 §2) finds one node's rows, heap tables and
// chart options in its neighbour's: at 100 generated nodes the blobs
// shrink from 1.76 MB (one per node) to ~1.37 MB. Picking a node inflates
// its chunk, ~1.5 MB of JSON for ten nodes, which the browser does in
// milliseconds.
const htmlDetailChunk = 10

// lazySections maps each placeholder of a Lazy page to the template that
// renders one node's part of it.
var lazySections = map[string]string{
	"nodes":     "node-memory",
	"series":    "node-series",
	"workloads": "node-workloads",
	"heap":      "node-heap",
	"sources":   "node-sources",
	"evidence":  "node-evidence",
}

// lazyDetail renders the nodes' detail blobs, htmlDetailChunk nodes each:
// JSON, gzip (the browser's DecompressionStream inflates it, no library of
// ours), base64url so the text needs no escaping in the page. Markup
// repeats row after row, so it shrinks ~10× and a 100-node page stays
// within its 5 MB.
func lazyDetail(page *htmlPage) ([]nodeDetail, error) {
	var out []nodeDetail
	var frag bytes.Buffer
	for start := 0; start < len(page.Bundles); start += htmlDetailChunk {
		chunk := page.Bundles[start:min(start+htmlDetailChunk, len(page.Bundles))]
		blob := detailBlob{Sections: map[string][]string{}}
		var idx []string
		for _, bv := range chunk {
			blob.Nodes = append(blob.Nodes, bv.Index)
			idx = append(idx, strconv.Itoa(bv.Index))
			charts := bv.charts
			if charts == nil {
				charts = []chartSpec{}
			}
			blob.Charts = append(blob.Charts, charts)
			for section, name := range lazySections {
				frag.Reset()
				if err := pageTemplate.ExecuteTemplate(&frag, name, bv); err != nil {
					return nil, fmt.Errorf("report: node %s, section %s: %w", bv.Name, section, err)
				}
				blob.Sections[section] = append(blob.Sections[section], frag.String())
			}
		}
		js, err := json.Marshal(blob) // map keys sorted: deterministic
		if err != nil {
			return nil, err
		}
		z, err := gzipBase64(js)
		if err != nil {
			return nil, err
		}
		out = append(out, nodeDetail{Indices: strings.Join(idx, " "), Data: z})
	}
	return out, nil
}

// htmlGroupHead is how many nodes and pods a lazy group names in its header.
const htmlGroupHead = 5

// lazyGroup marks a finding group of a cluster page Lazy: its header
// names the first few nodes and pods, its full lists and other findings
// go into the page's shared findings blob (lazyFindings).
func lazyGroup(gv *groupView) {
	if len(gv.Others) == 0 && len(gv.Nodes) <= htmlGroupHead && len(gv.Pods) <= htmlGroupHead {
		return
	}
	gv.Lazy = true // the body then carries the full node and pod lists
	gv.HeadNodes, gv.HeadPods = headStrings(gv.Nodes), headStrings(gv.Pods)
}

// lazyFindings renders what the shown findings of a cluster page keep
// closed, each group's full lists and other findings
// ("group-others-body") and each finding's evidence table
// ("finding-evidence"), into one blob: JSON of the fragments by the id of
// the <details> that shows them, gzip, base64url. One blob, not one per
// finding: the groups repeat the same node names and sentences, which
// gzip only finds within its 32 KiB window (RFC 1951 §2), so side by side
// they shrink ~25 % more (1.02 → 0.75 MB at 100 generated nodes). It is
// inflated when the reader first opens one of them. If anything cannot be
// rendered the page keeps it all inline and loses nothing.
func lazyFindings(p *htmlPage) {
	frags := map[string]string{}
	var frag bytes.Buffer
	ok := true
	for _, list := range [][]findingView{p.Findings, p.Suppr} {
		for i := range list {
			fv := &list[i]
			if gv := fv.Group; gv != nil && gv.Lazy {
				frag.Reset()
				ok = ok && pageTemplate.ExecuteTemplate(&frag, "group-others-body", gv) == nil
				frags[gv.ID] = frag.String()
			}
			if len(fv.Evidence) > 0 {
				fv.EvidenceLazy = true
				frag.Reset()
				ok = ok && pageTemplate.ExecuteTemplate(&frag, "finding-evidence", fv) == nil
				frags[fv.Anchor+"-evidence"] = frag.String()
			}
		}
	}
	var z string
	if js, err := json.Marshal(frags); ok && err == nil && len(frags) > 0 { // keys sorted: deterministic
		z, err = gzipBase64(js)
		ok = err == nil
	}
	if z == "" || !ok {
		for _, list := range [][]findingView{p.Findings, p.Suppr} {
			for i := range list {
				list[i].EvidenceLazy = false
				if gv := list[i].Group; gv != nil && gv.Lazy {
					gv.Lazy = false
					gv.HeadNodes, gv.HeadPods = gv.Nodes, gv.Pods
				}
			}
		}
		return
	}
	p.FindingsZ = z
}

// htmlLazyRowsHead is how many rows of the owners and OOM tables a
// cluster page shows inline.
const htmlLazyRowsHead = 50

// lazyOwners keeps the first htmlLazyRowsHead owner rows in the page and
// moves the others into OwnersRestZ. Each row names its owner's nodes (a
// Deployment on 100 nodes: 100 names), so rows are ~4 KB apiece on a
// cluster.
func lazyOwners(p *htmlPage) {
	p.Owners, p.OwnersRestZ, p.OwnersRest = lazyRows(p.Owners, "owner-rows")
}

// lazyOOM does the same for the OOM table's rows (OOMRestZ).
func lazyOOM(p *htmlPage) {
	p.OOM, p.OOMRestZ, p.OOMRest = lazyRows(p.OOM, "oom-rows")
}

// lazyRows renders the rows past htmlLazyRowsHead with the template tmpl,
// compressed, and returns the rows to keep inline, the blob and how many
// rows it holds. Rows that cannot be rendered all stay inline.
func lazyRows[T any](rows []T, tmpl string) ([]T, string, int) {
	if len(rows) <= htmlLazyRowsHead {
		return rows, "", 0
	}
	rest := rows[htmlLazyRowsHead:]
	var frag bytes.Buffer
	if err := pageTemplate.ExecuteTemplate(&frag, tmpl, rest); err != nil {
		return rows, "", 0
	}
	z, err := gzipBase64(frag.Bytes())
	if err != nil {
		return rows, "", 0
	}
	return rows[:htmlLazyRowsHead], z, len(rest)
}

func headStrings(items []string) []string {
	if len(items) <= htmlGroupHead {
		return items
	}
	return append(append([]string{}, items[:htmlGroupHead]...), "…")
}

func gzipBase64(data []byte) (string, error) {
	var zbuf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&zbuf, gzip.BestCompression)
	if _, err := zw.Write(data); err != nil {
		return "", err
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(zbuf.Bytes()), nil
}
