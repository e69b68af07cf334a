// Package heap reads Go heap profiles (pprof/<target>/heap.pb.gz in a
// bundle) with github.com/google/pprof/profile and summarises them the way
// `go tool pprof -top` does: flat bytes per function.
package heap

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/google/pprof/profile"
)

// TopN is how many functions TopInuse and TopAlloc list.
const TopN = 10

// Sample type names of a Go heap profile (runtime/pprof writes
// alloc_objects, alloc_space, inuse_objects, inuse_space).
const (
	InuseSpace = "inuse_space"
	AllocSpace = "alloc_space"
)

// FuncCost is one function's flat bytes: what was allocated with that
// function as the innermost frame (inlined frames count as their own
// function, as in pprof).
type FuncCost struct {
	Function string
	Bytes    int64
}

// Profile is the summary of one heap profile.
type Profile struct {
	Format            string   // "protobuf" or "legacy text" (the debug=1 /debug/pprof/heap form)
	SampleTypes       []string // e.g. alloc_objects, alloc_space, inuse_objects, inuse_space
	DefaultSampleType string

	// Totals over all samples; nil when the profile has no such sample type.
	InuseBytes, AllocBytes     *int64
	InuseObjects, AllocObjects *int64

	TopInuse, TopAlloc []FuncCost // sorted by bytes desc, ties by name; at most TopN

	TimeNanos     int64  // when the profile was taken (0 = not recorded)
	DurationNanos int64  // 0 for a heap snapshot
	PeriodType    string // "space/bytes" for Go heap profiles
	Period        int64  // sampling rate: runtime.MemProfileRate, 512 KiB by default
	Symbolized    bool   // false when frames are bare addresses (legacy text without symbols)

	prof *profile.Profile
}

// Parse reads a heap profile: gzip-compressed protobuf as /debug/pprof/heap
// serves it, plain protobuf, or a legacy text profile. maxDecompressed caps
// the decompressed size: profile.ParseData gunzips without any limit, so a
// small hostile file could expand to gigabytes inside it; decompressing here
// first, through the cap, bounds memory by maxDecompressed.
func Parse(r io.Reader, maxDecompressed int64) (*Profile, error) {
	data, err := readCapped(r, maxDecompressed)
	if err != nil {
		return nil, err
	}
	if isGzip(data) {
		// ParseData would gunzip this inner layer without a cap.
		return nil, errors.New("heap profile is gzip inside gzip; refused (not what a Go runtime writes)")
	}
	prof, format, err := parseData(data)
	if err != nil {
		return nil, err
	}
	return summarise(prof, format), nil
}

func readCapped(r io.Reader, max int64) ([]byte, error) {
	br := bufio.NewReader(r)
	head, _ := br.Peek(2)
	src, what := io.Reader(br), "is larger than"
	if isGzip(head) {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("heap profile: bad gzip header: %v", err)
		}
		defer gz.Close()
		src, what = gz, "decompresses beyond"
	}
	data, err := io.ReadAll(io.LimitReader(src, max+1))
	if int64(len(data)) > max {
		return nil, fmt.Errorf("heap profile %s %s (limit); refused", what, mib(max))
	}
	if err != nil {
		return nil, fmt.Errorf("heap profile: reading: %v", err)
	}
	if len(data) == 0 {
		return nil, errors.New("heap profile is empty")
	}
	return data, nil
}

func mib(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

func isGzip(b []byte) bool { return len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b }

// parseData calls profile.ParseData, turning a panic inside the third-party
// decoder into an error: the bytes come from a stranger's bundle.
// ParseUncompressed is tried first to learn the format; ParseData then tries
// the legacy text parsers.
func parseData(data []byte) (p *profile.Profile, format string, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("heap profile: unreadable (decoder failed: %v)", r)
		}
	}()
	format = "protobuf"
	if p, err = profile.ParseUncompressed(data); err == nil {
		err = p.CheckValid()
	}
	if err != nil {
		format = "legacy text"
		p, err = profile.ParseData(data)
	}
	if err != nil {
		return nil, "", fmt.Errorf("heap profile: not a pprof protobuf or legacy text profile: %v", err)
	}
	if len(p.SampleType) == 0 {
		return nil, "", errors.New("heap profile has no sample types")
	}
	if sampleIndex(p, InuseSpace) < 0 && sampleIndex(p, AllocSpace) < 0 {
		return nil, "", fmt.Errorf("not a heap profile: sample types %s", strings.Join(typeNames(p), ", "))
	}
	return p, format, nil
}

func summarise(p *profile.Profile, format string) *Profile {
	out := &Profile{
		Format:            format,
		SampleTypes:       typeNames(p),
		DefaultSampleType: p.DefaultSampleType,
		TimeNanos:         p.TimeNanos,
		DurationNanos:     p.DurationNanos,
		Period:            p.Period,
		Symbolized:        len(p.Function) > 0,
		prof:              p,
	}
	if p.PeriodType != nil {
		out.PeriodType = p.PeriodType.Type + "/" + p.PeriodType.Unit
	}
	out.InuseBytes = total(p, InuseSpace)
	out.AllocBytes = total(p, AllocSpace)
	out.InuseObjects = total(p, "inuse_objects")
	out.AllocObjects = total(p, "alloc_objects")
	out.TopInuse = out.Top(InuseSpace, TopN)
	out.TopAlloc = out.Top(AllocSpace, TopN)
	return out
}

func typeNames(p *profile.Profile) []string {
	names := make([]string, len(p.SampleType))
	for i, st := range p.SampleType {
		names[i] = st.Type
	}
	return names
}

func sampleIndex(p *profile.Profile, sampleType string) int {
	for i, st := range p.SampleType {
		if st.Type == sampleType {
			return i
		}
	}
	return -1
}

func total(p *profile.Profile, sampleType string) *int64 {
	i := sampleIndex(p, sampleType)
	if i < 0 {
		return nil
	}
	var sum int64
	for _, s := range p.Sample {
		if i < len(s.Value) {
			sum += s.Value[i]
		}
	}
	return &sum
}
