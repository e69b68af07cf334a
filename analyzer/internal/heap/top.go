package heap

import (
	"sort"

	"github.com/google/pprof/profile"
)

// unknownFunction names a frame without symbol information, as pprof does.
const unknownFunction = "<unknown>"

// Top returns up to n functions by flat value of sampleType, like
// `go tool pprof -sample_index=<sampleType> -top`: a sample's value goes to
// the innermost frame of its first location (Line[0], the innermost inlined
// call). pprof marks inlined frames "(inline)"; the name here has no suffix.
func (p *Profile) Top(sampleType string, n int) []FuncCost {
	if p == nil || p.prof == nil {
		return nil
	}
	i := sampleIndex(p.prof, sampleType)
	if i < 0 {
		return nil
	}
	flat := map[string]int64{}
	for _, s := range p.prof.Sample {
		if len(s.Location) == 0 || i >= len(s.Value) {
			continue
		}
		flat[leafName(s.Location[0])] += s.Value[i]
	}
	out := make([]FuncCost, 0, len(flat))
	for fn, b := range flat {
		if b != 0 {
			out = append(out, FuncCost{Function: fn, Bytes: b})
		}
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].Bytes != out[b].Bytes {
			return out[a].Bytes > out[b].Bytes
		}
		return out[a].Function < out[b].Function
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

func leafName(loc *profile.Location) string {
	if len(loc.Line) > 0 && loc.Line[0].Function != nil && loc.Line[0].Function.Name != "" {
		return loc.Line[0].Function.Name
	}
	return unknownFunction
}

// PathShare returns the share (0..1) of sampleType's total held by samples
// whose call stack contains a function for which match is true, inlined
// frames included: pprof's cum% of those functions without double counting.
// The agent-scrape-pileup rule asks it whether allocation is dominated by the
// scrape path (collectContainersInfo, Gather, promhttp, ServeHTTP of a
// metrics handler; DOMAIN §6). 0 when the profile has no such sample type or
// a non-positive total.
func PathShare(p *Profile, match func(fn string) bool, sampleType string) float64 {
	if p == nil || p.prof == nil {
		return 0
	}
	i := sampleIndex(p.prof, sampleType)
	if i < 0 {
		return 0
	}
	memo := map[uint64]bool{} // location ID → matches; stacks share most frames
	var all, hit int64
	for _, s := range p.prof.Sample {
		if i >= len(s.Value) {
			continue
		}
		v := s.Value[i]
		all += v
		for _, loc := range s.Location {
			m, ok := memo[loc.ID]
			if !ok {
				m = locationMatches(loc, match)
				memo[loc.ID] = m
			}
			if m {
				hit += v
				break
			}
		}
	}
	if all <= 0 {
		return 0
	}
	return float64(hit) / float64(all)
}

func locationMatches(loc *profile.Location, match func(string) bool) bool {
	for _, ln := range loc.Line {
		if ln.Function != nil && match(ln.Function.Name) {
			return true
		}
	}
	return false
}
