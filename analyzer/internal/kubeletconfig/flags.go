package kubeletconfig

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/memsnap/memsnap/analyzer/internal/listing"
	"github.com/memsnap/memsnap/bundle"
)

// Flags is the kubelet's argv from kubelet/flags.txt, one element a line.
type Flags struct {
	Args []Flag
}

// Flag is one command-line flag. Value is empty for a bare boolean flag.
type Flag struct {
	Name     string // without dashes: "kube-reserved"
	Value    string
	HasValue bool
	Line     int // line of the flag in flags.txt, for evidence
}

// Source names the flag as evidence: "kubelet/flags.txt:7 --kube-reserved".
func (f Flag) Source() string {
	return fmt.Sprintf("%s:%d --%s", bundle.KubeletFlags, f.Line, f.Name)
}

// boolFlags are kubelet flags that never take the next argv element as
// their value (pflag NoOptDefVal): "--cgroups-per-qos --foo" is two flags.
var boolFlags = map[string]bool{
	"cgroups-per-qos": true, "fail-swap-on": true, "register-node": true,
	"rotate-certificates": true, "protect-kernel-defaults": true,
	"serialize-image-pulls": true, "exit-on-lock-contention": true,
	"enable-server": true, "enable-debugging-handlers": true,
	"kernel-memcg-notification": true, "allow-privileged": true,
	"rotate-server-certificates": true, "alsologtostderr": true,
	"logtostderr": true, "help": true,
}

// ParseFlags parses kubelet/flags.txt. Both "--flag=value" and
// "--flag value" forms are accepted, as pflag does; the first line may be
// the program path. A line starting with '"' is Go-quoted (an argument
// holding a newline).
func ParseFlags(r io.Reader) (*Flags, error) {
	type argLine struct {
		s    string
		line int
	}
	var argv []argLine
	var bad error
	err := listing.Lines(r, listing.MaxLineBytes, func(n int, line []byte, tooLong bool) bool {
		if tooLong {
			bad = fmt.Errorf("%s:%d: argument longer than %d bytes", bundle.KubeletFlags, n, listing.MaxLineBytes)
			return true // keep the rest: one huge argument hides nothing else
		}
		s := string(line)
		if strings.HasPrefix(s, `"`) {
			if u, err := strconv.Unquote(s); err == nil {
				s = u
			}
		}
		if s != "" {
			argv = append(argv, argLine{s, n})
		}
		if len(argv) > listing.MaxRecords {
			bad = fmt.Errorf("%s: more than %d arguments, the rest skipped", bundle.KubeletFlags, listing.MaxRecords)
			return false
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("%s: read: %w", bundle.KubeletFlags, err)
	}
	out := &Flags{}
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		if a.s == "--" {
			break // pflag: everything after is positional
		}
		if !strings.HasPrefix(a.s, "-") || a.s == "-" {
			continue // program path or a stray positional argument
		}
		name := strings.TrimLeft(a.s, "-")
		f := Flag{Line: a.line}
		if n, v, ok := strings.Cut(name, "="); ok {
			f.Name, f.Value, f.HasValue = n, v, true
		} else {
			f.Name = name
			if i+1 < len(argv) && !boolFlags[name] && !strings.HasPrefix(argv[i+1].s, "-") {
				f.Value, f.HasValue = argv[i+1].s, true
				i++
			}
		}
		if f.Name != "" {
			out.Args = append(out.Args, f)
		}
	}
	return out, bad
}

// Lookup returns the last occurrence of a flag: with pflag, a repeated
// scalar flag keeps the last value.
func (fs *Flags) Lookup(name string) (Flag, bool) {
	if fs == nil {
		return Flag{}, false
	}
	for i := len(fs.Args) - 1; i >= 0; i-- {
		if fs.Args[i].Name == name {
			return fs.Args[i], true
		}
	}
	return Flag{}, false
}

// All returns every occurrence of a flag in order (map-valued flags such
// as --kube-reserved accumulate over repeats).
func (fs *Flags) All(name string) []Flag {
	if fs == nil {
		return nil
	}
	var out []Flag
	for _, f := range fs.Args {
		if f.Name == name {
			out = append(out, f)
		}
	}
	return out
}
