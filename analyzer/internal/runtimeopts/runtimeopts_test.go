package runtimeopts

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	const gi = int64(1) << 30
	for _, tc := range []struct {
		name    string
		argv    string
		env     map[string]string
		limit   int64
		runtime string
		bytes   int64
		from    string
	}{
		{"xmx argv", "java -Xmx8g -jar app.jar", nil, 16 * gi, JVM, 8 * gi, "argv"},
		{"xmx after jar is the program's", "java -jar app.jar -Xmx64g", nil, 16 * gi, JVM, 4 * gi, ""},
		{"percentage", "/usr/bin/java -XX:MaxRAMPercentage=75.0 -cp x Main", nil, 4 * gi, JVM, 3 * gi, "argv"},
		{"tool options", "java Main", map[string]string{"JAVA_TOOL_OPTIONS": "-Xmx2G"}, 4 * gi, JVM, 2 * gi, "JAVA_TOOL_OPTIONS"},
		{"argv beats tool options", "java -Xmx1g Main", map[string]string{"JAVA_TOOL_OPTIONS": "-Xmx2G"}, 4 * gi, JVM, gi, "argv"},
		{"_JAVA_OPTIONS beats argv", "java -Xmx1g Main", map[string]string{"_JAVA_OPTIONS": "-Xmx3g"}, 4 * gi, JVM, 3 * gi, "_JAVA_OPTIONS"},
		{"xmx beats percentage", "java -Xmx1g -XX:MaxRAMPercentage=90 Main", nil, 4 * gi, JVM, gi, "argv"},
		{"maxram", "java -XX:MaxRAM=2g -XX:MaxRAMPercentage=50 Main", nil, 4 * gi, JVM, gi, "argv"},
		{"jvm default", "java Main", nil, 4 * gi, JVM, gi, ""},
		{"gomemlimit", "/app/server", map[string]string{"GOMEMLIMIT": "900MiB"}, gi, Go, 900 << 20, "environ"},
		{"gomemlimit plain", "/app/server", map[string]string{"GOMEMLIMIT": "1073741824"}, gi, Go, gi, "environ"},
		{"gomemlimit off", "/app/server", map[string]string{"GOMEMLIMIT": "off", "GOGC": "100"}, gi, Go, 0, ""},
		{"node", "node --max-old-space-size=4096 server.js", nil, 2 * gi, Node, 4 * gi, "argv"},
		{"node options", "node server.js", map[string]string{"NODE_OPTIONS": "--max_old_space_size=512"}, 2 * gi, Node, 512 << 20, "NODE_OPTIONS"},
		{"none", "/bin/sh -c x", nil, gi, "", 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Parse(strings.Fields(tc.argv), tc.env, tc.limit)
			if tc.runtime == "" {
				if c != nil {
					t.Fatalf("got %+v, want nil", c)
				}
				return
			}
			if c == nil || c.Runtime != tc.runtime || c.Bytes != tc.bytes || c.From != tc.from {
				t.Fatalf("got %+v, want %s %d from %q", c, tc.runtime, tc.bytes, tc.from)
			}
			if c.Setting == "" && c.Default == "" {
				t.Errorf("neither setting nor default: %+v", c)
			}
		})
	}
}

func TestParseEnviron(t *testing.T) {
	env := ParseEnviron([]byte("GOGC=50\nJAVA_TOOL_OPTIONS=-Xmx1g -Dx=a=b\n\nbroken\n"))
	if env["GOGC"] != "50" || env["JAVA_TOOL_OPTIONS"] != "-Xmx1g -Dx=a=b" || len(env) != 2 {
		t.Errorf("%v", env)
	}
	if env := ParseEnviron([]byte("A=1\x00B=2\x00")); env["B"] != "2" {
		t.Errorf("%v", env)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("java -Xmx8g -XX:MaxRAMPercentage=75 -jar x", "JAVA_TOOL_OPTIONS=-Xmx99999999999999999t\nGOMEMLIMIT=1GiB", int64(1<<30))
	f.Add("node --max-old-space-size=99999999999999999", "NODE_OPTIONS=--max_old_space_size=-1", int64(0))
	f.Fuzz(func(t *testing.T, argv, environ string, limit int64) {
		if limit < 0 {
			limit = -limit
		}
		c := Parse(strings.Fields(argv), ParseEnviron([]byte(environ)), limit)
		if c != nil && c.Bytes < 0 {
			t.Fatalf("negative ceiling %+v", c)
		}
	})
}
