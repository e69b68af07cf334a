package rules

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"

	"github.com/memsnap/memsnap/analyzer/internal/cgroup"
	"github.com/memsnap/memsnap/analyzer/internal/snapshot"
	"github.com/memsnap/memsnap/analyzer/internal/units"
	"github.com/memsnap/memsnap/report/schema"
)

// cite turns a cgroup value into evidence: the file, the key and the exact number.
func cite(v *cgroup.Value, what string) schema.Evidence {
	if v == nil {
		return schema.Evidence{Text: what + ": not in the bundle"}
	}
	return schema.Evidence{File: v.File, Key: v.Key, Value: num(v.N),
		Text: fmt.Sprintf("%s = %s (%s)", keyOr(v.Key, what), strconv.FormatInt(v.N, 10), units.Bytes(v.N))}
}

// citeFigure turns a node figure into evidence.
func citeFigure(f *snapshot.Figure, what string) schema.Evidence {
	if f == nil {
		return schema.Evidence{Text: what + ": not in the bundle"}
	}
	text := fmt.Sprintf("%s = %s (%s)", what, strconv.FormatInt(f.Bytes, 10), units.Bytes(f.Bytes))
	if f.Note != "" {
		text += "; " + f.Note
	}
	return schema.Evidence{File: f.File, Key: f.Key, Value: num(f.Bytes), Text: text}
}

// citeLine cites one line of a log file.
func citeLine(file string, line int, text string) schema.Evidence {
	return schema.Evidence{File: file, Key: "line " + strconv.Itoa(line), Text: clip(text, 400)}
}

func num(n int64) json.Number { return json.Number(strconv.FormatInt(n, 10)) }

func keyOr(k, alt string) string {
	if k != "" {
		return k
	}
	return alt
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func val(v *cgroup.Value) int64 {
	if v == nil {
		return 0
	}
	return v.N
}

func pct(part, whole int64) string {
	if whole <= 0 {
		return "?"
	}
	return fmt.Sprintf("%.0f %%", 100*float64(part)/float64(whole))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
