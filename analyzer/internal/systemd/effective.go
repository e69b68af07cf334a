package systemd

import (
	"bytes"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/memsnap/memsnap/bundle"
)

// searchPath is the system manager's unit search path, highest priority
// first (systemd.unit(5), "System Unit Search Path"; /lib/systemd/system
// for split-/usr distributions). kubelet's kubepods.slice is a transient
// unit (/run/systemd/transient); `systemctl set-property --runtime` writes
// drop-ins to /run/systemd/system.control, older systemd to
// /run/systemd/system/<unit>.d/50-<Property>.conf as in #88197.
var searchPath = []string{
	"etc/systemd/system.control",
	"run/systemd/system.control",
	"run/systemd/transient",
	"run/systemd/generator.early",
	"etc/systemd/system",
	"etc/systemd/system.attached",
	"run/systemd/system",
	"run/systemd/system.attached",
	"run/systemd/generator",
	"usr/local/lib/systemd/system",
	"usr/lib/systemd/system",
	"lib/systemd/system",
	"run/systemd/generator.late",
}

// Limit is the memory limit systemd applies to a unit, with its evidence.
type Limit struct {
	Unit string
	// Property is the setting systemd applies: MemoryMax when any of the
	// unified settings (MemoryMin/Low/High/Max/SwapMax) is set, else
	// MemoryLimit (systemd/systemd:src/core/cgroup.c,
	// cgroup_context_has_unified_memory_config).
	Property string
	// Value is that property's final setting; Value.File is the bundle path
	// that set it, "" when no file did (systemd's default: unlimited).
	Value Setting
	// MemoryLimit and MemoryMax are each property's final setting, when set.
	MemoryLimit, MemoryMax *Setting
	// Files lists the unit file and drop-ins read, in the order applied.
	Files []string
	// Problems are files that could not be read or had bad lines.
	Problems []error
}

// Unlimited reports whether no limit applies.
func (l *Limit) Unlimited() bool {
	_, unlimited := l.Value.Resolve(0)
	return unlimited
}

// EffectiveMemoryLimit reads unit's file and drop-ins from systemd/files/
// in systemd's order — the fragment from the first search-path directory
// that has it, then every <unit>.d/*.conf (and, for slices, the
// <prefix>-.slice.d and slice.d drop-ins) sorted by file name, a name in
// a higher-priority directory masking the same name below — and returns
// the memory limit they configure. The error is set only when the bundle
// has no file for the unit at all.
func EffectiveMemoryLimit(view bundle.View, unit string) (*Limit, error) {
	if unit == "" || strings.Contains(unit, "/") {
		return nil, fmt.Errorf("bad unit name %q", unit)
	}
	files := unitFiles(view, unit)
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no unit file or drop-in for %s", bundle.SystemdFilesDir, unit)
	}
	l := &Limit{Unit: unit, Files: files}
	unified := map[string]bool{}
	for _, p := range files {
		b, cut, err := bundle.ReadFile(view, p, MaxLineBytes*4)
		if err != nil {
			l.Problems = append(l.Problems, fmt.Errorf("%s: %w", p, err))
			continue
		}
		if cut {
			l.Problems = append(l.Problems, fmt.Errorf("%s: larger than %d bytes, read in part", p, MaxLineBytes*4))
		}
		uf, err := ParseUnitFile(bytes.NewReader(b))
		if err != nil {
			l.Problems = append(l.Problems, fmt.Errorf("%s: %w", p, err))
		}
		for _, key := range []string{"MemoryLimit", "MemoryMax"} {
			for _, bad := range uf.Invalid(key) {
				l.Problems = append(l.Problems, fmt.Errorf("%s:%d: %s=%q is not a memory size (systemd ignores it)", p, bad.Line, key, bad.Raw))
			}
			s, ok := uf.Memory(key)
			if !ok {
				continue
			}
			s.File = p
			dst := &l.MemoryLimit
			if key == "MemoryMax" {
				dst = &l.MemoryMax
			}
			*dst = &s
			if s.Reset {
				*dst = nil
			}
		}
		for _, key := range []string{"MemoryMin", "MemoryLow", "MemoryHigh", "MemoryMax", "MemorySwapMax"} {
			if s, ok := uf.Memory(key); ok {
				unified[key] = !s.Reset
			}
		}
	}
	l.Property, l.Value = "MemoryLimit", Setting{Unlimited: true}
	anyUnified := false
	for _, set := range unified {
		anyUnified = anyUnified || set
	}
	chosen := l.MemoryLimit
	if anyUnified {
		l.Property, chosen = "MemoryMax", l.MemoryMax
	}
	if chosen != nil {
		l.Value = *chosen
	}
	return l, nil
}

// unitFiles returns the bundle paths of the unit's fragment and drop-ins
// in the order systemd applies them.
func unitFiles(view bundle.View, unit string) []string {
	var out []string
	for _, dir := range searchPath {
		p := bundle.SystemdFilesDir + dir + "/" + unit
		if bundle.Exists(view, p) {
			out = append(out, p)
			break
		}
	}
	seen := map[string]bool{}
	var dropins []string
	for _, dir := range searchPath {
		for _, d := range dropinDirs(unit) {
			prefix := bundle.SystemdFilesDir + dir + "/" + d + "/"
			for _, p := range view.List(prefix) {
				name := strings.TrimPrefix(p, prefix)
				if strings.Contains(name, "/") || !strings.HasSuffix(name, ".conf") || seen[name] {
					continue
				}
				seen[name] = true
				dropins = append(dropins, p)
			}
		}
	}
	sort.SliceStable(dropins, func(i, j int) bool { return path.Base(dropins[i]) < path.Base(dropins[j]) })
	return append(out, dropins...)
}

// dropinDirs lists the drop-in directory names for unit, most specific
// first: "a-b-c.slice.d", then the prefix drop-ins of dashed names
// "a-b-.slice.d", "a-.slice.d", then the type-wide "slice.d" (both only in
// newer systemd; the first version of each is not verified here, and an
// older systemd simply has no such directories).
func dropinDirs(unit string) []string {
	dirs := []string{unit + ".d"}
	dot := strings.LastIndex(unit, ".")
	if dot <= 0 {
		return dirs
	}
	name, typ := unit[:dot], unit[dot:]
	for i := strings.LastIndex(name, "-"); i > 0; i = strings.LastIndex(name[:i], "-") {
		dirs = append(dirs, name[:i+1]+typ+".d")
	}
	return append(dirs, typ[1:]+".d")
}
