package kube

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/memsnap/memsnap/analyzer/internal/units"
)

// TopRow is one row of `kubectl top pod` (with or without --containers and
// -A) or `kubectl top node`: the memory metrics-server reports, which is the
// working set the kubelet's resource metrics give it
// (kubernetes-sigs/metrics-server docs: "memory ... working set"), printed
// by kubectl rounded to whole Mi (kubectl pkg/metricsutil printMemory).
type TopRow struct {
	Namespace string // "" when the table had no NAMESPACE column
	Pod       string // "" for a node row
	Container string // with --containers
	Node      string // a node row
	Bytes     int64
	File      string
	Line      int // 1-based line in the file
}

// ParseTop reads `kubectl top pod|node` output: a header naming the columns
// (NAMESPACE, POD, NAME, MEMORY(bytes)), then one row per object. Lines
// before the header (a shell prompt) and quote markers are skipped; a row
// whose memory does not parse is an error naming the line, the other rows
// are kept.
func ParseTop(r io.Reader, file string) ([]TopRow, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var cols []string // the header's columns, each named for what it holds in this table
	var rows []TopRow
	var firstErr error
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(unquoteLine(strings.TrimRight(sc.Text(), "\r")))
		if line == "" || strings.HasPrefix(line, "```") {
			continue
		}
		f := strings.Fields(line)
		if isTopHeader(f) {
			cols = topColumns(f)
			continue
		}
		if cols == nil || len(f) != len(cols) {
			continue // prose, a prompt, a wrapped row
		}
		row := TopRow{File: file, Line: n}
		for i, c := range cols {
			switch c {
			case "NAMESPACE":
				row.Namespace = f[i]
			case "POD":
				row.Pod = f[i]
			case "CONTAINER":
				row.Container = f[i]
			case "NODE":
				row.Node = f[i]
			case "MEMORY(bytes)":
				b, err := units.ParseQuantity(f[i])
				if err != nil || b < 0 {
					if firstErr == nil {
						firstErr = fmt.Errorf("%s:%d: memory %q: not a quantity", file, n, f[i])
					}
					row.Bytes = -1
					continue
				}
				row.Bytes = b
			}
		}
		if row.Bytes >= 0 {
			rows = append(rows, row)
		}
	}
	if err := sc.Err(); err != nil {
		return rows, fmt.Errorf("%s: %v", file, err)
	}
	if cols == nil {
		return nil, fmt.Errorf("%s: no kubectl top header (NAME … MEMORY(bytes))", file)
	}
	return rows, firstErr
}

// topColumns names what NAME holds once per table: a node in `top node`
// (MEMORY%, no POD or NAMESPACE), a container beside POD (--containers), else
// the pod.
func topColumns(header []string) []string {
	cols := slices.Clone(header)
	isNode := !slices.Contains(header, "POD") && !slices.Contains(header, "NAMESPACE") && slices.Contains(header, "MEMORY%")
	for i, c := range cols {
		if c != "NAME" {
			continue
		}
		switch {
		case isNode:
			cols[i] = "NODE"
		case slices.Contains(header, "POD"):
			cols[i] = "CONTAINER"
		default:
			cols[i] = "POD"
		}
	}
	return cols
}

func isTopHeader(f []string) bool {
	return slices.Contains(f, "MEMORY(bytes)") && (slices.Contains(f, "NAME") || slices.Contains(f, "POD"))
}
