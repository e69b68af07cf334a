package kube

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/memsnap/memsnap/analyzer/internal/listing"
	"github.com/memsnap/memsnap/bundle"
)

// PodLogEntry is one /var/log/pods/<ns>_<pod>_<uid>/<container>/<n>.log
// file as listed in logs/pods-index.tsv: names and UIDs for pods the
// kubelet API could not tell us about (DOMAIN §3, offline name mapping).
type PodLogEntry struct {
	Namespace, Pod, UID, Container string
	Restart                        int    // the <n> of <n>.log: the container's restart count then
	ContainerID                    string // that instance's ID (optional 6th column), "" when unknown
	Line                           int
}

// Problem is a line of a listing that could not be read.
type Problem = listing.Problem

// ParsePodsIndex parses logs/pods-index.tsv: namespace, pod, uid,
// container, restart number and, optionally, the container ID of that
// instance (from the /var/log/containers/<pod>_<ns>_<container>-<id>.log
// link pointing at the log); tab-separated, no header, Go-quoted fields
// allowed. Bad lines become problems; the rest is kept.
func ParsePodsIndex(r io.Reader) ([]PodLogEntry, []Problem) {
	var out []PodLogEntry
	problems := listing.ScanTSVRange(r, bundle.PodsIndex, 5, 6, func(line int, f []string) error {
		n, err := strconv.Atoi(f[4])
		if err != nil || n < 0 {
			return fmt.Errorf("restart number %.40q is not a non-negative integer", f[4])
		}
		if f[0] == "" || f[1] == "" || f[2] == "" {
			return fmt.Errorf("empty namespace, pod or uid")
		}
		e := PodLogEntry{Namespace: f[0], Pod: f[1], UID: f[2], Container: f[3], Restart: n, Line: line}
		if len(f) == 6 {
			e.ContainerID = strings.ToLower(f[5])
		}
		out = append(out, e)
		return nil
	})
	return out, problems
}
