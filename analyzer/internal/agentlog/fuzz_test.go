package agentlog

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.log")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range bytes.Split(b, []byte("\n")) {
			f.Add(line)
		}
	}
	f.Add([]byte(`2024-03-28T13:43:10Z stderr F I0328 13:43:10.123456       1 fsHandler.go:135] fs: disk usage and inodes count on following dirs took 2s: [/a]; will not log again for this container unless duration exceeds 3s`))
	f.Add([]byte(`{"log":"I0328 x\n","time":"2024-03-28T13:44:00.5Z"}`))
	f.Add([]byte(`"Patch status for pod" pod="a/b" patch="OOMKilled \"name\":\"c\""`))
	f.Fuzz(func(t *testing.T, data []byte) {
		log, probs := Parse(bytes.NewReader(data), Options{Reference: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)})
		lines := bytes.Count(data, []byte("\n")) + 1
		if log.Lines > lines {
			t.Errorf("Lines = %d of %d", log.Lines, lines)
		}
		for _, p := range probs {
			if p.Line < 0 || p.Line > lines {
				t.Errorf("problem line %d of %d", p.Line, lines)
			}
		}
		for _, s := range log.FSScans {
			if s.Line < 1 || s.Line > lines {
				t.Errorf("scan on line %d of %d", s.Line, lines)
			}
		}
		for _, e := range log.Evictions {
			if e.Kind == "" || e.Line < 1 || e.Line > lines {
				t.Errorf("eviction %+v", e)
			}
		}
	})
}
