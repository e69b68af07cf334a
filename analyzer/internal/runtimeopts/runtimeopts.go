// Package runtimeopts reads a language runtime's own memory ceiling from a
// process's argv and its kept environment (proc/<pid>/environ): the JVM's
// -Xmx / -XX:MaxHeapSize / -XX:MaxRAMPercentage / -XX:MaxRAM, Go's
// GOMEMLIMIT and GOGC, Node.js's --max-old-space-size. The ceiling is what the
// runtime grows its heap to before it collects harder; set at or above the
// cgroup limit, the kernel's OOM killer acts first.
package runtimeopts

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Runtime names.
const (
	JVM  = "jvm"
	Go   = "go"
	Node = "node"
)

// Ceiling is what one process's runtime was told.
type Ceiling struct {
	Runtime string
	// Bytes is the heap ceiling resolved against limit; 0 when none is set
	// (Default then says what the runtime does on its own).
	Bytes int64
	// Setting is the option as written ("-Xmx8g", "GOMEMLIMIT=900MiB") and
	// From where it was found ("argv", "JAVA_TOOL_OPTIONS", ...).
	Setting, From string
	// Default describes the runtime's own choice when nothing is set.
	Default string
	// Notes are other facts worth citing (InitialRAMPercentage, GOGC=off).
	Notes []string
}

// JVM defaults: with no -Xmx, a container-aware JVM (JDK 10+, 8u191+) sizes
// the heap as MaxRAMPercentage (default 25) of the container limit
// (openjdk/jdk:src/hotspot/share/gc/shared/gc_globals.hpp MaxRAMPercentage,
// src/hotspot/share/runtime/arguments.cpp set_heap_size).
const jvmDefaultMaxRAMPercentage = 25.0

// Parse finds the runtime of a process from its argv (argv[0] names java,
// node; a Go binary is recognised by GOMEMLIMIT/GOGC in env only) and
// resolves its ceiling against limit (the container's memory limit in bytes;
// 0 when unlimited). It returns nil when the process is none of these.
func Parse(argv []string, env map[string]string, limit int64) *Ceiling {
	exe := ""
	if len(argv) > 0 {
		exe = argv[0]
		if i := strings.LastIndexByte(exe, '/'); i >= 0 {
			exe = exe[i+1:]
		}
	}
	switch {
	case exe == "java" || strings.HasPrefix(exe, "java"):
		return parseJVM(argv[1:], env, limit)
	case exe == "node" || exe == "nodejs":
		return parseNode(argv[1:], env)
	}
	if _, ok := env["GOMEMLIMIT"]; ok {
		return parseGo(env)
	}
	if _, ok := env["GOGC"]; ok {
		return parseGo(env)
	}
	return nil
}

type opt struct{ text, from string }

// parseJVM applies options in the JVM's order, later ones winning:
// JAVA_TOOL_OPTIONS (read by the VM before the command line), JDK_JAVA_OPTIONS
// (prepended to the arguments by the java launcher, JDK 9+), the command
// line, then _JAVA_OPTIONS (read after it) — openjdk/jdk:
// src/hotspot/share/runtime/arguments.cpp parse_java_tool_options_environment_variable,
// parse_java_options_environment_variable; src/java.base/share/native/libjli/java.c.
func parseJVM(args []string, env map[string]string, limit int64) *Ceiling {
	var opts []opt
	for _, name := range []string{"JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS"} {
		for _, f := range strings.Fields(env[name]) {
			opts = append(opts, opt{f, name})
		}
	}
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			break // the main class or -jar's file: the rest belongs to the program
		}
		opts = append(opts, opt{a, "argv"})
		if a == "-jar" || a == "-cp" || a == "-classpath" {
			break
		}
	}
	for _, f := range strings.Fields(env["_JAVA_OPTIONS"]) {
		opts = append(opts, opt{f, "_JAVA_OPTIONS"})
	}
	c := &Ceiling{Runtime: JVM}
	var xmx *opt
	var xmxBytes int64
	var pct *opt
	var pctVal float64
	var maxRAM int64
	for i := range opts {
		o := &opts[i]
		t := o.text
		switch {
		case strings.HasPrefix(t, "-Xmx"):
			if n, err := jvmSize(t[4:]); err == nil {
				xmx, xmxBytes = o, n
			}
		case strings.HasPrefix(t, "-XX:MaxHeapSize="):
			if n, err := jvmSize(t[len("-XX:MaxHeapSize="):]); err == nil {
				xmx, xmxBytes = o, n
			}
		case strings.HasPrefix(t, "-XX:MaxRAMPercentage="):
			if v, err := strconv.ParseFloat(t[len("-XX:MaxRAMPercentage="):], 64); err == nil && v >= 0 && v <= 100 {
				pct, pctVal = o, v
			}
		case strings.HasPrefix(t, "-XX:MaxRAM="):
			if n, err := jvmSize(t[len("-XX:MaxRAM="):]); err == nil {
				maxRAM = n
				c.Notes = append(c.Notes, fmt.Sprintf("%s (%s)", t, o.from))
			}
		case strings.HasPrefix(t, "-XX:InitialRAMPercentage="), strings.HasPrefix(t, "-Xms"):
			c.Notes = append(c.Notes, fmt.Sprintf("%s (%s)", t, o.from))
		}
	}
	// The RAM the percentage applies to: MaxRAM when given, else the
	// container limit a container-aware JVM reads from the cgroup.
	ram := limit
	if maxRAM > 0 && (ram == 0 || maxRAM < ram) {
		ram = maxRAM
	}
	switch {
	case xmx != nil:
		c.Bytes, c.Setting, c.From = xmxBytes, xmx.text, xmx.from
	case pct != nil && ram > 0:
		c.Bytes, c.Setting, c.From = int64(float64(ram)*pctVal/100), pct.text, pct.from
	case ram > 0:
		c.Bytes = int64(float64(ram) * jvmDefaultMaxRAMPercentage / 100)
		c.Default = fmt.Sprintf("no -Xmx or MaxRAMPercentage: the JVM's default MaxRAMPercentage=%g of the container limit", jvmDefaultMaxRAMPercentage)
	default:
		c.Default = "no -Xmx: the JVM sizes its heap from the host's memory"
	}
	return c
}

// jvmSize parses a HotSpot memory size: digits with an optional k/m/g/t
// suffix, either case (openjdk/jdk:src/hotspot/share/runtime/arguments.cpp
// atojulong).
func jvmSize(s string) (int64, error) {
	if s == "" {
		return 0, fmt.Errorf("empty size")
	}
	mult := int64(1)
	switch s[len(s)-1] {
	case 'k', 'K':
		mult = 1 << 10
	case 'm', 'M':
		mult = 1 << 20
	case 'g', 'G':
		mult = 1 << 30
	case 't', 'T':
		mult = 1 << 40
	}
	if mult != 1 {
		s = s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("size %q", s)
	}
	if n > math.MaxInt64/mult {
		return 0, fmt.Errorf("size %q overflows", s)
	}
	return n * mult, nil
}

// parseGo reads GOMEMLIMIT: a byte count with an optional B, KiB, MiB, GiB
// or TiB suffix, or "off" (go.dev/doc/gc-guide, runtime/debug SetMemoryLimit;
// golang/go:src/runtime/mgcpacer.go readGOMEMLIMIT, parseByteCount).
func parseGo(env map[string]string) *Ceiling {
	c := &Ceiling{Runtime: Go}
	if v, ok := env["GOGC"]; ok {
		c.Notes = append(c.Notes, "GOGC="+v)
	}
	v, ok := env["GOMEMLIMIT"]
	if !ok || v == "off" {
		c.Default = "no GOMEMLIMIT: the Go runtime paces collection by GOGC alone and does not look at the cgroup limit"
		if ok {
			c.Default = "GOMEMLIMIT=off: " + c.Default[len("no GOMEMLIMIT: "):]
		}
		return c
	}
	n, err := goByteCount(v)
	if err != nil {
		c.Default = fmt.Sprintf("GOMEMLIMIT=%q is not a valid limit (the runtime refuses to start with it)", v)
		return c
	}
	c.Bytes, c.Setting, c.From = n, "GOMEMLIMIT="+v, "environ"
	return c
}

func goByteCount(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	if s == "" || strings.ContainsAny(s, "+-") {
		return 0, fmt.Errorf("byte count %q", s)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("byte count %q", s)
	}
	return n * mult, nil
}

// parseNode reads --max-old-space-size=MiB (V8's old generation, where most
// of a Node.js heap lives) from NODE_OPTIONS, then argv (argv wins) —
// nodejs/node:doc/api/cli.md --max-old-space-size, NODE_OPTIONS.
func parseNode(args []string, env map[string]string) *Ceiling {
	c := &Ceiling{Runtime: Node}
	var opts []opt
	for _, f := range strings.Fields(env["NODE_OPTIONS"]) {
		opts = append(opts, opt{f, "NODE_OPTIONS"})
	}
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			break
		}
		opts = append(opts, opt{a, "argv"})
	}
	for _, o := range opts {
		t := strings.ReplaceAll(o.text, "_", "-")
		v, ok := strings.CutPrefix(t, "--max-old-space-size=")
		if !ok {
			continue
		}
		mb, err := strconv.ParseInt(v, 10, 64)
		if err != nil || mb <= 0 || mb > math.MaxInt64>>20 {
			continue
		}
		c.Bytes, c.Setting, c.From = mb<<20, o.text, o.from
	}
	if c.Bytes == 0 {
		c.Default = "no --max-old-space-size: V8 picks its old-space limit from the memory it sees, which may be the host's"
	}
	return c
}

// ParseEnviron reads the collector's environ file: KEY=VALUE a line (or NUL
// separated, as /proc/<pid>/environ itself). Lines without "=" are ignored.
func ParseEnviron(b []byte) map[string]string {
	env := map[string]string{}
	s := strings.ReplaceAll(string(b), "\x00", "\n")
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(line, "=")
		if ok && k != "" {
			env[k] = v
		}
	}
	return env
}
