// Package systemd reads systemd's view of a unit from a bundle: the
// `systemctl show` output (systemd/<unit>.show) and the unit files and
// drop-ins (systemd/files/...), and works out which MemoryLimit=/MemoryMax=
// systemd applies — the value a daemon-reload writes back to the cgroup
// (kubernetes/kubernetes#88197, DOMAIN §5).
package systemd

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/memsnap/memsnap/analyzer/internal/listing"
)

// MaxLineBytes bounds one line of systemd output or unit file; longer
// lines (huge Environment= values) are skipped.
const MaxLineBytes = 1 << 20

// maxProperties bounds one parse; `systemctl show --all` of every unit on
// a busy node has a few hundred thousand lines.
const maxProperties = 1 << 20

// Unit is one block of `systemctl show` output: Key=Value properties.
type Unit struct {
	Props map[string]string
	Line  map[string]int // line of each property, for evidence
	// Malformed lists lines that were not Key=Value (or were too long).
	Malformed []int
}

// Bytes is a memory property: a byte count, or Unlimited ("infinity").
type Bytes struct {
	Value     uint64
	Unlimited bool
}

func (b Bytes) String() string {
	if b.Unlimited {
		return "infinity"
	}
	return strconv.FormatUint(b.Value, 10)
}

// ParseShow parses `systemctl show <unit>` output and returns the first
// unit (blocks are separated by blank lines when several units are shown).
func ParseShow(r io.Reader) (*Unit, error) {
	units, err := ParseShowAll(r)
	if len(units) == 0 {
		if err == nil {
			err = fmt.Errorf("no Key=Value properties")
		}
		return nil, err
	}
	return units[0], err
}

// ParseShowAll parses every blank-line-separated block. Errors carry line
// numbers; the caller adds the bundle path.
func ParseShowAll(r io.Reader) ([]*Unit, error) {
	var units []*Unit
	var cur *Unit
	total := 0
	err := listing.Lines(r, MaxLineBytes, func(n int, line []byte, tooLong bool) bool {
		s := string(line)
		if strings.TrimSpace(s) == "" && !tooLong {
			cur = nil
			return true
		}
		if cur == nil {
			cur = &Unit{Props: map[string]string{}, Line: map[string]int{}}
			units = append(units, cur)
		}
		k, v, ok := strings.Cut(s, "=")
		if tooLong || !ok || k == "" || strings.ContainsAny(k, " \t") {
			cur.Malformed = append(cur.Malformed, n)
			return true
		}
		cur.Props[k], cur.Line[k] = v, n
		total++
		return total < maxProperties
	})
	if err != nil {
		return units, fmt.Errorf("read: %w", err)
	}
	if total >= maxProperties {
		return units, fmt.Errorf("more than %d properties, the rest skipped", maxProperties)
	}
	return units, nil
}

// Get returns a property's raw value.
func (u *Unit) Get(key string) (string, bool) {
	v, ok := u.Props[key]
	return v, ok
}

func (u *Unit) ID() string           { return u.Props["Id"] }
func (u *Unit) ControlGroup() string { return u.Props["ControlGroup"] }
func (u *Unit) ActiveState() string  { return u.Props["ActiveState"] }
func (u *Unit) FragmentPath() string { return u.Props["FragmentPath"] }

// DropInPaths is the space-separated DropInPaths property.
func (u *Unit) DropInPaths() []string { return strings.Fields(u.Props["DropInPaths"]) }

// MemoryLimit is the cgroup v1 property (deprecated alias of MemoryMax on
// v2, DOMAIN §5). ok is false when absent or not a byte count.
func (u *Unit) MemoryLimit() (Bytes, bool) { return u.limit("MemoryLimit") }
func (u *Unit) MemoryMax() (Bytes, bool)   { return u.limit("MemoryMax") }
func (u *Unit) MemoryHigh() (Bytes, bool)  { return u.limit("MemoryHigh") }

// MemoryCurrent is the unit's cgroup usage. systemd prints "[not set]" or
// UINT64_MAX when accounting is off; both are absent, not unlimited.
func (u *Unit) MemoryCurrent() (Bytes, bool) {
	b, ok := u.limit("MemoryCurrent")
	if !ok || b.Unlimited {
		return Bytes{}, false
	}
	return b, true
}

// limit reads a limit property: "infinity" and UINT64_MAX (what older
// systemd prints for CGROUP_LIMIT_MAX) are unlimited.
func (u *Unit) limit(key string) (Bytes, bool) {
	v, ok := u.Props[key]
	if !ok {
		return Bytes{}, false
	}
	if v == "infinity" {
		return Bytes{Unlimited: true}, true
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return Bytes{}, false
	}
	if n == math.MaxUint64 {
		return Bytes{Unlimited: true}, true
	}
	return Bytes{Value: n}, true
}
